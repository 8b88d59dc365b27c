"""Fits of scaling laws: a power law L = A x^-a and the Chinchilla form L = E + A N^-a + B S^-b."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import least_squares

from .._checks import as_scalar
from .._repr import short_repr


@dataclass(frozen=True)
class PowerLawFit:
    """y ≈ prefactor * x^-exponent, fitted in log-log space.

    Attributes:
        exponent: a; exponent_ci: (low, high) at `level`; stderr: standard error of a.
        prefactor: A; r2: coefficient of determination in log space; n_points: points used.
    """

    exponent: float
    exponent_ci: tuple[float, float]
    stderr: float
    prefactor: float
    r2: float
    n_points: int
    level: float

    def __repr__(self) -> str:
        return short_repr(self)


def fit_power_law(x: Any, y: Any, *, level: float = 0.95, x_range: tuple[float, float] | None = None) -> PowerLawFit:
    """Least-squares fit of log y = log A - a log x.

    Args:
        x: shape (m,), positive abscissae.
        y: shape (m,) or (m, r) with r replicates (seeds) per x, positive.
        level: confidence level of the exponent's t interval.
        x_range: (low, high) inclusive range of x to use.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != x.size:
        raise ValueError(f"y must have {x.size} rows (one per x), got shape {y.shape}")
    level = as_scalar(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if x_range is not None:
        try:
            low, high = (float(v) for v in x_range)
        except (TypeError, ValueError):
            raise ValueError(f"x_range must be a (low, high) pair of numbers, got {x_range!r}") from None
        if not low <= high:
            raise ValueError(f"x_range must have low <= high, got {x_range!r}")
    keep = np.ones(x.size, dtype=bool) if x_range is None else (x >= low) & (x <= high)
    xx = np.repeat(x[keep], y.shape[1])
    yy = y[keep].reshape(-1)
    ok = np.isfinite(yy) & (yy > 0) & (xx > 0)
    xx, yy = np.log(xx[ok]), np.log(yy[ok])
    if xx.size < 3 or np.ptp(xx) == 0:
        raise ValueError("need at least 3 positive points at 2 or more distinct x to fit a power law")
    res = stats.linregress(xx, yy)
    dof = xx.size - 2
    half = stats.t.ppf(0.5 + level / 2, dof) * res.stderr if dof > 0 else math.inf
    a = -res.slope
    return PowerLawFit(
        float(a),
        (float(a - half), float(a + half)),
        float(res.stderr),
        float(math.exp(res.intercept)),
        float(res.rvalue**2),
        int(xx.size),
        level,
    )


@dataclass(frozen=True)
class ChinchillaFit:
    """L(N, S) = E + A N^-a + B S^-b.

    Attributes:
        params: {"E", "A", "a", "B", "b"}; ci: {name: (low, high)} at `level` (normal approximation
            from the Jacobian of the log residuals; NaN for a parameter pinned at its bound, such as
            E = 0 when the data show no floor); rmse_log: RMS of log L residuals.
    """

    params: dict
    ci: dict
    rmse_log: float
    n_points: int
    level: float
    success: bool

    def __repr__(self) -> str:
        # the intervals stay on .ci
        return short_repr(self, ("params", "rmse_log", "n_points", "level", "success"))

    def predict(self, N: Any, S: Any) -> np.ndarray:
        p = self.params
        return p["E"] + p["A"] * np.asarray(N, float) ** -p["a"] + p["B"] * np.asarray(S, float) ** -p["b"]


def fit_chinchilla(N: Any, S: Any, L: Any, *, level: float = 0.95, x0: dict | None = None) -> ChinchillaFit:
    """Fit L = E + A N^-a + B S^-b by least squares on log L.

    Args:
        N, S, L: equal-shape arrays (any shape; flattened) of parameter counts, steps, losses > 0.
        level: confidence level of the intervals.
        x0: optional starting values {"E", "A", "a", "B", "b"}.
    """
    N = np.asarray(N, dtype=np.float64).reshape(-1)
    S = np.asarray(S, dtype=np.float64).reshape(-1)
    L = np.asarray(L, dtype=np.float64).reshape(-1)
    if not (N.size == S.size == L.size):
        raise ValueError(f"N, S and L must have the same size, got {N.size}, {S.size}, {L.size}")
    ok = np.isfinite(L) & (L > 0) & (N > 0) & (S > 0)
    N, S, L = N[ok], S[ok], L[ok]
    if L.size < 6:
        raise ValueError("need at least 6 positive (N, S, L) points to fit 5 parameters")
    level = as_scalar(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    logL = np.log(L)
    start = {"E": 0.5 * L.min(), "A": 1.0, "a": 0.5, "B": 1.0, "b": 0.5}
    for key, value in dict(x0 or {}).items():
        if key not in start:
            raise ValueError(f"x0: {key!r} is not a parameter; choose from E, A, a, B, b")
        if key in ("E", "A", "B"):
            start[key] = as_scalar(value, f"x0[{key!r}]", positive=True)
        else:
            start[key] = as_scalar(value, f"x0[{key!r}]")
            if not 0.0 <= start[key] <= 5.0:
                raise ValueError(f"x0[{key!r}] must lie in [0, 5] (the search bounds), got {start[key]}")
    # E, A, B are positive: fitted as logs; the exponents directly.
    z0 = np.array([math.log(start["E"]), math.log(start["A"]), start["a"], math.log(start["B"]), start["b"]])
    lnN, lnS = np.log(N), np.log(S)

    def residual(z: np.ndarray) -> np.ndarray:
        pred = np.exp(z[0]) + np.exp(z[1] - z[2] * lnN) + np.exp(z[3] - z[4] * lnS)
        return np.log(pred) - logL

    best = None
    for a0, b0 in ((start["a"], start["b"]), (0.3, 0.3), (1.0, 1.0), (0.3, 1.0), (1.0, 0.3)):
        z = z0.copy()
        z[2], z[4] = a0, b0
        fit = least_squares(residual, z, bounds=([-50, -50, 0, -50, 0], [50, 50, 5, 50, 5]))
        if best is None or fit.cost < best.cost:
            best = fit
    assert best is not None  # the loop over start points always runs
    z = best.x
    # A parameter pinned at a bound (typically E -> 0: no visible floor) is reported at the bound
    # with a NaN interval; the others' covariance comes from the remaining Jacobian columns.
    lower, upper = np.array([-50, -50, 0, -50, 0.0]), np.array([50, 50, 5, 50, 5.0])
    influence = np.linalg.norm(best.jac, axis=0)
    free = (z > lower + 1e-6) & (z < upper - 1e-6) & (influence > 1e-8 * influence.max())
    J = best.jac[:, free]
    dof = max(L.size - int(free.sum()), 1)
    s2 = 2 * best.cost / dof
    cov = np.full((5, 5), np.nan)
    try:
        cov[np.ix_(free, free)] = np.linalg.inv(J.T @ J) * s2
    except np.linalg.LinAlgError:
        pass
    q = stats.norm.ppf(0.5 + level / 2)
    names = ("E", "A", "a", "B", "b")
    params, ci = {}, {}
    for i, name in enumerate(names):
        sd = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) and cov[i, i] >= 0 else math.nan
        lo, hi = z[i] - q * sd, z[i] + q * sd
        if name in ("E", "A", "B"):
            params[name] = 0.0 if not free[i] and name == "E" else float(math.exp(z[i]))
            ci[name] = (float(math.exp(lo)), float(math.exp(min(hi, 700.0))))
        else:
            params[name] = float(z[i])
            ci[name] = (float(lo), float(hi))
    return ChinchillaFit(params, ci, float(np.sqrt(np.mean(best.fun**2))), int(L.size), level, bool(best.success))
