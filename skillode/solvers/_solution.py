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
    """

    curves: SkillCurves
    method: str
    message: str
    state: np.ndarray
    tau: np.ndarray | None = None
    nfev: int = 0
    _learning_time: Callable[[float], np.ndarray] | None = field(default=None, repr=False)

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

        Exact solutions invert the closed form, "ode" root-finds on the dense output, "map"
        interpolates between steps; NaN where a skill does not get there within the solved times.
        """
        thr = as_scalar(threshold, "threshold")
        if self._learning_time is None:
            return self.curves.learning_times(thr)
        out = np.asarray(self._learning_time(thr), dtype=np.float64)
        return np.where(out <= self.curves.times[-1] * (1 + 1e-12), out, np.nan)


def _curves(model: Any, t: np.ndarray, loss: np.ndarray, method: str, extra: dict | None = None) -> SkillCurves:
    meta = {"model": model.config(), "solver": method} | (extra or {})
    return SkillCurves(t, loss, model.names, model.p, meta)
