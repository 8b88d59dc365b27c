"""Speed of the exact solver, whose per-skill closed forms come from skillode.closed_forms.

Run by hand: .venv/bin/python benchmarks/bench_exact_closed_forms.py (or pytest -m benchmark).
Target: 10,000 skills x 1,000 times well under 1 s.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import skillode as sk


def _time_exact(loss: str, n_skills: int = 10_000, n_times: int = 1_000, repeats: int = 3) -> float:
    p, _ = sk.closed_forms.zipf_frequencies(n_skills, 1.5)
    model = sk.ResourceModel(p, 1.0, N0=0.0 if loss == "mse" else 0.1, loss=loss)
    times = np.linspace(0.0, 0.9 * n_skills, n_times)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        sk.solve(model, times, method="exact")
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.benchmark
def test_exact_solver_speed():
    for loss in ("mse", "ce"):
        seconds = _time_exact(loss)
        print(f"exact solver, {loss}, 10,000 skills x 1,000 times: {seconds:.3f} s (best of 3)")


if __name__ == "__main__":
    test_exact_solver_speed()
