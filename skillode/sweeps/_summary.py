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
        n_exponent: fits of final loss vs N (over N_window), one per alpha.
        step_exponent: fits of loss vs steps at the largest N of N_window, one per alpha.
        chinchilla: Chinchilla fits over (N, steps), one per alpha.
        n_halves: per alpha, the same fit on the lower and the upper half of the N points (None
            with fewer than 6): a single power law has one slope on both.
        n_curved: per alpha, whether the two halves' intervals are disjoint, i.e. the final loss is
            not one power law of N over the window and n_exponent is an average of different slopes.
        N_window: (low, high), the N range of the fits.
    """

    alphas: tuple[float, ...]
    n_exponent: tuple[PowerLawFit, ...]
    step_exponent: tuple[PowerLawFit, ...]
    chinchilla: tuple[ChinchillaFit, ...]
    n_halves: tuple[tuple[PowerLawFit, PowerLawFit] | None, ...] = ()
    n_curved: tuple[bool, ...] = ()
    N_window: tuple[float, float] = (0.0, float("inf"))

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
            "N_window": list(self.N_window),
            "n_halves": [None if h is None else [asdict(f) for f in h] for h in self.n_halves],
            "n_curved": list(self.n_curved),
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


def in_N_window(Ns: np.ndarray, N_window: tuple[float, float] | None) -> tuple[np.ndarray, tuple[float, float]]:
    """(mask of the Ns inside N_window = (low, high), (low, high)); None: every N, (min, max).
    A ValueError names N_window unless 0 < low < high, both finite."""
    Ns = np.asarray(Ns, dtype=np.float64)
    if N_window is None:
        return np.ones(Ns.size, dtype=bool), (float(Ns.min()), float(Ns.max()))
    low, high = (float(v) for v in N_window)
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        raise ValueError(f"N_window must be (low, high) with 0 < low < high, got {N_window!r}")
    return (Ns >= low) & (Ns <= high), (low, high)


def summarize_scaling(
    results: ScalingSweepResults,
    *,
    level: float = 0.95,
    step_window: tuple[float, float] | None = None,
    min_step: int = 10,
    N_window: tuple[float, float] | None = None,
) -> ScalingSummary:
    """Exponents (with CIs) of final loss vs N and of loss vs steps, and Chinchilla fits.

    Loss vs N uses the finished N inside `N_window` = (low, high) (default: all), and is checked
    for curvature: fitted again on the lower and the upper half of those N, it is flagged as not one
    power law when the two intervals are disjoint (the paper preset's loss falls faster than any
    power past N ~ 300, so one slope over 20 .. 1000 means little; the paper fits 40 .. 220).
    Loss vs steps uses the largest finished N of the window; its fit window is `step_window` =
    (first, last) step, or by default `learning_window` of the seed-mean curve (past the transient,
    before the plateau). The Chinchilla fit uses every N of the window and every recorded step >= min_step.
    """
    cfg = results.config
    inside, (low, high) = in_N_window(results.Ns, N_window)
    done = np.array([N not in results.missing for N in cfg.Ns]) & inside
    if done.sum() < 3:
        raise ValueError(f"need at least 3 finished N points to summarise (in N_window), have {int(done.sum())}")
    Ns = results.Ns[done]
    steps = results.steps.astype(np.float64)
    late = steps >= min_step
    nfits, sfits, cfits = [], [], []
    halves: list[tuple[PowerLawFit, PowerLawFit] | None] = []
    curved: list[bool] = []
    half = Ns.size // 2
    for i, _ in enumerate(cfg.alphas):
        tl = results.total_loss[i][done]  # (nN, seeds, n_rec)
        nfits.append(fit_power_law(Ns, tl[:, :, -1], level=level))
        if Ns.size >= 6:
            pair = (
                fit_power_law(Ns[:half], tl[:half, :, -1], level=level),
                fit_power_law(Ns[half:], tl[half:, :, -1], level=level),
            )
            (a_low, a_high), (b_low, b_high) = pair[0].exponent_ci, pair[1].exponent_ci
            halves.append(pair)
            curved.append(bool(a_high < b_low or b_high < a_low))
        else:
            halves.append(None)
            curved.append(False)
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
    return ScalingSummary(
        cfg.alphas, tuple(nfits), tuple(sfits), tuple(cfits), tuple(halves), tuple(curved), (low, high)
    )
