"""Uncertainty of a fit: Jacobian standard errors, identifiability, residual bootstrap, intervals."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.optimize import OptimizeResult

from ._config import _Param
from ._problem import _Problem


class _Uncertainty(NamedTuple):
    """Uncertainty of the free parameters (k of them), in natural units unless said otherwise."""

    estimates: np.ndarray  # (k,) natural values at the optimum
    stderr: np.ndarray  # (k,) delta-method standard errors (inf where unidentified)
    covariance: np.ndarray  # (k, k) of the internal parameters
    samples: np.ndarray  # (B, k) successful bootstrap refits
    lows: np.ndarray  # (k,) interval bounds at config.level
    highs: np.ndarray
    method: str  # "bootstrap" or "wald"


def _uncertainty(
    problem: _Problem,
    run: Callable[..., OptimizeResult],
    best: OptimizeResult,
    rss: float,
    fitted: list[np.ndarray],
    progress: bool,
) -> _Uncertainty:
    """Jacobian covariance and standard errors at the optimum `best`, then bootstrap (or Wald) intervals.

    cov = s^2 (J^T J)^+ with s^2 = RSS / (m - k), carried to natural units by the delta method;
    intervals are residual-bootstrap percentiles (config.n_bootstrap refits from the optimum,
    seeded by config.seed), or Wald intervals of the internal parameters mapped back when fewer
    than two refits succeed.
    """
    cfg, params, theta = problem.config, problem.params, best.x
    cov, se_internal = _jacobian_covariance(np.asarray(best.jac, dtype=np.float64), rss)
    natural = np.array([p.to_natural(float(u)) for p, u in zip(params, theta)])
    se_natural = np.array([abs(p.dnatural(float(u))) * s for p, u, s in zip(params, theta, se_internal)])
    samples = np.empty((0, theta.size))
    if cfg.n_bootstrap > 0:
        samples = _bootstrap(problem, run, theta, fitted, cfg.n_bootstrap, cfg.seed, progress)
    lows, highs, method = _intervals(params, theta, se_internal, samples, cfg.level)
    return _Uncertainty(natural, se_natural, cov, samples, lows, highs, method)


def _jacobian_covariance(J: np.ndarray, rss: float) -> tuple[np.ndarray, np.ndarray]:
    """cov = RSS / (m - k) * pinv(J^T J), shape (k, k), and the internal standard errors (inf: unidentified)."""
    m, k = J.shape
    dof = max(m - k, 1)
    cov = (rss / dof) * np.linalg.pinv(J.T @ J)
    se_internal = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    se_internal[_unidentified(J)] = np.inf
    return cov, se_internal


def _intervals(
    params: list[_Param], theta: np.ndarray, se_internal: np.ndarray, samples: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """(lows, highs, method): bootstrap percentiles with >= 2 refits, else Wald intervals mapped back."""
    if samples.shape[0] >= 2:
        lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
        lows, highs = np.percentile(samples, lo_q, axis=0), np.percentile(samples, hi_q, axis=0)
        return lows, highs, "bootstrap"
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    lows = np.array([p.to_natural(float(u - z * s)) for p, u, s in zip(params, theta, se_internal)])
    highs = np.array([p.to_natural(float(u + z * s)) for p, u, s in zip(params, theta, se_internal)])
    return lows, highs, "wald"


def _unidentified(J: np.ndarray) -> np.ndarray:
    """Parameters the data do not determine: components along null directions of J (mask, (k,))."""
    w, V = np.linalg.eigh(J.T @ J)
    null = w <= 1e-12 * max(float(w.max()), 1e-300)
    if not null.any():
        return np.zeros(J.shape[1], dtype=bool)
    return np.any(np.abs(V[:, null]) > 1e-6, axis=1)


def _bootstrap(
    problem: _Problem, run, theta: np.ndarray, fitted: list[np.ndarray], n_bootstrap: int, seed: int, progress: bool
) -> np.ndarray:
    """Residual bootstrap: refit to fitted + resampled residuals (per setting), natural values."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    base = []
    pools = []
    for s, data in enumerate(problem.settings):
        cols = problem.fit_columns[s]
        f = fitted[s][:, cols]
        r = (data.loss[:, cols] - f).ravel()
        base.append(f)
        pools.append(r - r.mean())
    out = []
    for _ in tqdm(range(n_bootstrap), desc="bootstrap", disable=not progress, leave=False):
        targets = [b + rng.choice(pool, size=pool.size, replace=True).reshape(b.shape) for b, pool in zip(base, pools)]
        try:
            sol = run(theta, targets)
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
        if sol.status > 0:
            out.append([p.to_natural(float(u)) for p, u in zip(problem.params, sol.x)])
    return np.array(out, dtype=np.float64).reshape(-1, theta.size)
