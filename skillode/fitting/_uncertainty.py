"""Uncertainty of a fit: Jacobian standard errors, identifiability, residual bootstrap."""

from __future__ import annotations

import numpy as np

from ._problem import _Problem


def _unidentified(J: np.ndarray) -> np.ndarray:
    """Parameters the data do not determine: components along null directions of J (mask, (k,))."""
    w, V = np.linalg.eigh(J.T @ J)
    null = w <= 1e-12 * max(float(w.max()), 1e-300)
    if not null.any():
        return np.zeros(J.shape[1], dtype=bool)
    return np.any(np.abs(V[:, null]) > 1e-6, axis=1)



def _bootstrap(problem: _Problem, run, theta: np.ndarray, fitted: list[np.ndarray], n_bootstrap: int,
               seed: int, progress: bool) -> np.ndarray:
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

