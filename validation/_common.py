"""Shared pieces of the validation experiments: the result type, learning times, intervals, fits."""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import skillode as sk


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """What an experiment returns.

    Attributes:
        name: registry name ("domino", "compositional", "modularity", "geometry").
        title: a heading for the report.
        config: the experiment's config as a JSON-serialisable dict (seeds included).
        metrics: JSON-serialisable numbers the report quotes (written to metrics.json).
        curves: named SkillCurves: seed-averaged measured curves and the models' curves.
        arrays: named numpy arrays for the figures (per-seed curves, learning times).
        markdown: the report section (figures referenced by file name).
        figures: file names of the PNGs the section references (written by the plot function).
    """

    name: str
    title: str
    config: dict
    metrics: dict
    curves: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    markdown: str = ""
    figures: tuple[str, ...] = ()


def check_seeds(seeds: Sequence[int], name: str = "seeds") -> tuple[int, ...]:
    """A non-empty tuple of distinct non-negative integer seeds."""
    try:
        out = tuple(int(s) for s in seeds)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of integers, got {seeds!r}") from exc
    if not out:
        raise ValueError(f"{name} must hold at least one seed")
    if any(s < 0 for s in out) or any(int(s) != s for s in seeds):
        raise ValueError(f"{name} must be non-negative integers, got {seeds!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {out}")
    return out


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def first_step(values: np.ndarray, threshold: float, *, above: bool) -> np.ndarray:
    """First step index where values[..., t, k] >= threshold (above) or <= threshold (below).

    values has shape (..., n_steps, n_tasks); the result has shape (..., n_tasks), float, NaN
    where the threshold is never reached.
    """
    hit = values >= threshold if above else values <= threshold
    first = np.argmax(hit, axis=-2).astype(np.float64)
    first[~hit.any(axis=-2)] = np.nan
    return first


def first_step_relative(loss: np.ndarray, fraction: float) -> np.ndarray:
    """First step where each loss curve falls to `fraction` of its initial value, (..., n_tasks)."""
    level = fraction * loss[..., :1, :]
    hit = loss <= level
    first = np.argmax(hit, axis=-2).astype(np.float64)
    first[~hit.any(axis=-2)] = np.nan
    return first


def finite_mean(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean over `axis` of the finite entries (the seeds that learned); NaN where none is finite."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    counts = ok.sum(axis=axis)
    totals = np.where(ok, v, 0.0).sum(axis=axis)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def bootstrap_ci(
    sample_a: np.ndarray,
    sample_b: np.ndarray | None = None,
    *,
    statistic: str = "mean",
    level: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
    paired: bool = False,
) -> tuple[float, float, float]:
    """Point estimate and percentile bootstrap interval of mean(a) or of mean(a) / mean(b).

    NaNs (never learned) are dropped from each sample; with fewer than 2 finite values the
    interval is (nan, nan). The bootstrap uses its own numpy Generator(seed).

    paired=True: a[i] and b[i] come from the same run (e.g. t2 and t1 of one seed). Only the
    runs where both are finite are kept, and runs are resampled as pairs, so the ratio and its
    interval keep the correlation between a[i] and b[i].
    """
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', got {statistic!r}")
    a = np.asarray(sample_a, dtype=np.float64)
    b = None if sample_b is None else np.asarray(sample_b, dtype=np.float64)
    if paired:
        if b is None or a.shape != b.shape:
            raise ValueError(
                f"paired=True needs sample_b of sample_a's shape {a.shape}, got {None if b is None else b.shape}"
            )
        both = np.isfinite(a) & np.isfinite(b)
        a, b = a[both], b[both]
    a = a[np.isfinite(a)]
    if b is not None:
        b = b[np.isfinite(b)]
    if a.size == 0 or (b is not None and b.size == 0):
        return math.nan, math.nan, math.nan
    reduce = np.median if statistic == "median" else np.mean

    def stat(x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        return reduce(x, axis=-1) if y is None else reduce(x, axis=-1) / reduce(y, axis=-1)

    point = float(stat(a, b))
    if a.size < 2 or (b is not None and b.size < 2):
        return point, math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    ra = a[idx]
    if b is None:
        rb = None
    else:
        rb = b[idx] if paired else b[rng.integers(0, b.size, size=(n_boot, b.size))]
    boots = stat(ra, rb)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)


def paired_ratio(
    numerator: np.ndarray, denominator: np.ndarray, *, seed: int, level: float = 0.95, n_boot: int = 4000
) -> dict:
    """mean(numerator) / mean(denominator) over runs that come in pairs, with a paired bootstrap interval.

    numerator[i] and denominator[i] must belong together: two times of one run (t2 and t1 of a
    seed), or one seed's run under two conditions that share that seed's data and initial-weight
    stream (a speed-up between conditions). Only the pairs where both are finite (both learned)
    enter, the same seeds in both means, and the bootstrap resamples seed indices, so a per-seed
    factor common to both (an easy dataset, a lucky initialisation) cancels in the ratio instead
    of widening its interval. This is bootstrap_ci(..., paired=True) plus the bookkeeping the
    reports quote.

    Returns {"ratio": (point, lo, hi), "n_pairs": pairs used, "per_seed": numerator[i] /
    denominator[i] for every i (NaN where either is missing)}.
    """
    a = np.asarray(numerator, dtype=np.float64)
    b = np.asarray(denominator, dtype=np.float64)
    ratio = bootstrap_ci(a, b, seed=seed, level=level, n_boot=n_boot, paired=True)
    both = np.isfinite(a) & np.isfinite(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_seed = np.where(both, a / np.where(both, b, 1.0), np.nan)
    return {"ratio": ratio, "n_pairs": int(both.sum()), "per_seed": per_seed.tolist()}


def resource_learning_times(
    p: Sequence[float],
    eta: float,
    N0: float,
    threshold: float,
    *,
    gates: Any = None,
    names: Sequence[str] | None = None,
    horizon: float = 1e7,
) -> np.ndarray:
    """Steps at which each skill's Resource-model loss (MSE, l(0) = 1) reaches `threshold`.

    Uses the exact solution when there are no gates, else the ODE solver; NaN when a skill
    is not learned by `horizon`.
    """
    model = sk.ResourceModel(p, eta, N0, gates=gates, names=names)
    method = "ode" if model.has_gates else "exact"
    sol = sk.solve(model, times=[0.0, horizon], method=method)
    return np.asarray(sol.learning_times(threshold), dtype=np.float64)


@dataclass(frozen=True)
class TimesCase:
    """Measured learning times of one setting, for fitting the Resource model.

    Attributes:
        p: shape (n,), skill frequencies of the setting.
        times: shape (n,), measured steps at which each skill's loss reached `threshold` of its
            initial value (NaN: not measured, skipped).
        threshold: the loss level (the model's l(0) = 1, so relative and absolute agree).
        gates: the setting's gates (None: independent skills).
    """

    p: tuple[float, ...]
    times: tuple[float, ...]
    threshold: float
    gates: Any = None


def fit_resource_times(cases: Sequence[TimesCase], *, N0_fixed: float | None = None) -> tuple[float, float, float]:
    """Least-squares (eta, N0 >= 0) of the MSE Resource model on log learning times.

    Minimises sum over cases and finite measured times of (log t_model - log t_measured)^2 with
    scipy.optimize.least_squares (trust-region reflective, eta fitted in log space). With
    N0_fixed only eta is fitted. Returns (eta, N0, rms log residual).
    """
    from scipy.optimize import least_squares

    rows = [(c, k, t) for c in cases for k, t in enumerate(c.times) if np.isfinite(t) and t > 0]
    if not rows:
        raise ValueError("cases hold no finite, positive learning time to fit the Resource model to")

    def residuals(theta: np.ndarray) -> np.ndarray:
        eta = math.exp(theta[0])
        n0 = float(theta[1]) if N0_fixed is None else N0_fixed
        out = []
        for c in cases:
            mine = [(k, t) for cc, k, t in rows if cc is c]
            if not mine:
                continue
            pred = resource_learning_times(c.p, eta, n0, c.threshold, gates=c.gates)
            # a skill the model never learns gets a large, finite residual so the fit moves away
            out.extend(math.log(pred[k]) - math.log(t) if np.isfinite(pred[k]) else 10.0 for k, t in mine)
        return np.asarray(out)

    t_min = min(t for _, _, t in rows)
    eta0 = float(sum(len(c.p) for c in cases) / len(cases)) * (1.0 - rows[0][0].threshold) / t_min
    if N0_fixed is None:
        fit = least_squares(residuals, x0=[math.log(eta0), 0.1], bounds=([-30.0, 0.0], [30.0, 1e6]))
        n0 = float(fit.x[1])
    else:
        fit = least_squares(lambda th: residuals(np.array([th[0], N0_fixed])), x0=[math.log(eta0)])
        n0 = float(N0_fixed)
    return math.exp(fit.x[0]), n0, float(np.sqrt(np.mean(fit.fun**2)))


def try_fit_resource_times(cases: Sequence[TimesCase], **kw: Any) -> tuple[float, float, float]:
    """fit_resource_times, or (nan, nan, nan) when no skill was learned in the measured runs."""
    try:
        return fit_resource_times(cases, **kw)
    except ValueError:
        return math.nan, math.nan, math.nan


def model_times_or_nan(p: Sequence[float], eta: float, N0: float, threshold: float, **kw: Any) -> np.ndarray:
    """resource_learning_times, all NaN when the fit failed (eta is NaN)."""
    if not (np.isfinite(eta) and np.isfinite(N0)):
        return np.full(len(p), np.nan)
    return resource_learning_times(p, eta, N0, threshold, **kw)


def environment() -> dict:
    """Versions recorded in every experiment's metadata."""
    import torch

    # torch's own thread setting outside training; the count a run trained with is in its metrics
    # ("threads_used"), as TrainSettings may set another one for the training loop
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "skillode": sk.__version__,
        "torch_default_threads": torch.get_num_threads(),
    }


def fmt(x: float, digits: int = 3) -> str:
    """A number for a Markdown table ('n/a' for NaN)."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"
