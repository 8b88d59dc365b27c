"""The result type of every solver: SkillCurves plus the solver's status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import as_scalar
from .._repr import short_repr, verbatim
from ..curves import SkillCurves


@dataclass(frozen=True, eq=False)
class Solution:
    """What a solver returns.

    Attributes:
        curves: the per-skill loss as SkillCurves.
        method: "exact", "ode" or "map".
        message: the solver's status message (a solver that fails raises instead of returning).
        state: shape (n_t, n), the raw state (losses for MSE, logits for CE).
        tau: shape (n_t,), the intrinsic time of the exact solution (l_k = exp(-p_k tau)), or None.
        nfev: right-hand-side evaluations (ode), iterations (map), 0 (exact).
        initial_loss: every skill's loss at t = 0 (1 for MSE, log 2 for CE): learning times
            need a threshold below it.
    """

    curves: SkillCurves
    method: str
    message: str
    state: np.ndarray
    tau: np.ndarray | None = None
    nfev: int = 0
    _learning_time: Callable[[float], np.ndarray] | None = field(default=None, repr=False)
    initial_loss: float = 1.0

    def __repr__(self) -> str:
        # the curves' own repr when it is one short line (it elides their arrays), else their size
        curves = repr(self.curves)
        if "\n" in curves or len(curves) > 160:
            curves = f"<SkillCurves {self.curves.n_times}x{self.curves.n_skills}>"
        return short_repr(
            self,
            (),
            array_items=0,
            values={
                "curves": verbatim(curves),
                "method": self.method,
                "message": self.message,
                "state": self.state,
                "tau": self.tau,
                "nfev": self.nfev,
            },
        )

    def learning_times(self, threshold: float = 0.1) -> np.ndarray:
        """Time at which each skill's loss first reaches threshold, shape (n,).

        threshold: in [0, initial_loss). Every method means the same: the first t with
        l_k(t) <= threshold (threshold 0: the time a loss reaches exactly 0, the horizon n / eta
        of the MSE model with N0 = 0). Exact solutions invert the closed form, "ode" root-finds
        on its interpolant, "map" interpolates between steps; NaN where a skill does not get
        there within the solved times.
        """
        thr = as_scalar(threshold, "threshold", nonnegative=True)
        if thr >= self.initial_loss:
            raise ValueError(
                f"threshold must be below the initial loss {self.initial_loss:.6g}, got {thr:g}: "
                "every skill starts there, so no learning time is defined"
            )
        if self._learning_time is None:
            return self.curves.learning_times(thr)
        out = np.asarray(self._learning_time(thr), dtype=np.float64)
        return np.where(out <= self.curves.times[-1] * (1 + 1e-12), out, np.nan)


def _curves(model: Any, t: np.ndarray, loss: np.ndarray, method: str, extra: dict | None = None) -> SkillCurves:
    meta = {"model": model.config(), "solver": method} | (extra or {})
    return SkillCurves(t, loss, model.names, model.p, meta)
