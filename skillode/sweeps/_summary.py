"""Exponents of a scaling sweep with their intervals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .._repr import short_repr
from ._laws import ChinchillaFit, PowerLawFit, fit_chinchilla, fit_power_law
from ._scaling import ScalingSweepResults


@dataclass(frozen=True)
class ScalingSummary:
    """Exponents per alpha and a Chinchilla fit per alpha, from a finished (or partial) sweep.

    Attributes:
        alphas: shape (n_alphas,).
        n_exponent: fits of final loss vs N, one per alpha.
        step_exponent: fits of loss vs steps at the largest N, one per alpha.
        chinchilla: Chinchilla fits over (N, steps), one per alpha.
    """

    alphas: tuple[float, ...]
    n_exponent: tuple[PowerLawFit, ...]
    step_exponent: tuple[PowerLawFit, ...]
    chinchilla: tuple[ChinchillaFit, ...]

    def __repr__(self) -> str:
        # per alpha: the exponents only; the fits (intervals, prefactors) stay on the attributes
        return short_repr(
            self,
            ("alphas",),
            values={
                "n_exponent": tuple(f.exponent for f in self.n_exponent),
                "step_exponent": tuple(f.exponent for f in self.step_exponent),
                "chinchilla_a": tuple(f.params["a"] for f in self.chinchilla),
                "chinchilla_b": tuple(f.params["b"] for f in self.chinchilla),
            },
        )

    def to_dict(self) -> dict:
        return {
            "alphas": list(self.alphas),
            "n_exponent": [asdict(f) for f in self.n_exponent],
            "step_exponent": [asdict(f) for f in self.step_exponent],
            "chinchilla": [asdict(f) for f in self.chinchilla],
        }


def learning_window(
    steps: np.ndarray, loss: np.ndarray, *, start_below: float = 0.25, saturation: float = 3.0
) -> np.ndarray:
    """Steps where loss(steps) is a power law: past the initial transient, before the plateau.

    Keeps steps whose loss is at most `start_below` times its initial value and at least
    `saturation` times its final value (the plateau set by capacity or the optimizer's noise floor).
    Returns a boolean mask, shape steps.shape.
    """
    loss = np.asarray(loss, dtype=np.float64)
    return (np.asarray(steps) > 0) & (loss <= start_below * loss[0]) & (loss >= saturation * loss[-1])


def summarize_scaling(
    results: ScalingSweepResults,
    *,
    level: float = 0.95,
    step_window: tuple[float, float] | None = None,
    min_step: int = 10,
) -> ScalingSummary:
    """Exponents (with CIs) of final loss vs N and of loss vs steps, and Chinchilla fits.

    Loss vs steps uses the largest N; its fit window is `step_window` = (first, last) step, or by
    default `learning_window` of the seed-mean curve (past the transient, before the plateau).
    The Chinchilla fit uses every N and every recorded step >= min_step.
    """
    cfg = results.config
    done = np.array([N not in results.missing for N in cfg.Ns])
    if done.sum() < 3:
        raise ValueError(f"need at least 3 finished N points to summarise, have {int(done.sum())}")
    Ns = results.Ns[done]
    steps = results.steps.astype(np.float64)
    late = steps >= min_step
    nfits, sfits, cfits = [], [], []
    for i, _ in enumerate(cfg.alphas):
        tl = results.total_loss[i][done]  # (nN, seeds, n_rec)
        nfits.append(fit_power_law(Ns, tl[:, :, -1], level=level))
        curve = tl[-1].mean(axis=0)
        if step_window is None:
            window = learning_window(steps, curve)
            if window.sum() < 3:  # no clear plateau or transient: use every step past the first
                window = steps > 0
        else:
            window = (steps >= step_window[0]) & (steps <= step_window[1]) & (steps > 0)
        sfits.append(fit_power_law(steps[window], tl[-1][:, window].T, level=level))
        NN, SS = np.meshgrid(Ns, steps[late], indexing="ij")
        L = tl[:, :, late].mean(axis=1)
        cfits.append(fit_chinchilla(NN, SS, L, level=level))
    return ScalingSummary(cfg.alphas, tuple(nfits), tuple(sfits), tuple(cfits))
