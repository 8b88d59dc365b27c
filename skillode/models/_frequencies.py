"""Skill-frequency laws."""

from __future__ import annotations

import numpy as np

from .._checks import as_count, as_scalar


def zipf_frequencies(n: int, alpha: float) -> np.ndarray:
    """p_k = k^-alpha / sum_j j^-alpha, k = 1..n, shape (n,)."""
    n = as_count(n, "n")
    alpha = as_scalar(alpha, "alpha", nonnegative=True)
    p = np.arange(1, n + 1, dtype=np.float64) ** -alpha
    return p / p.sum()
