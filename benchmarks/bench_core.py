"""Speed of the Resource-model solvers (run by hand: `make bench` or `python benchmarks/bench_core.py`).

Targets (issue 2): exact solution for 10,000 skills at 1,000 times under 1 s; "ode" for 1,000 skills
over 3,000 steps under 2 s; each compared with a plain per-step Python loop (the paper's notebook style).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import skillode as sk

ETA = 2 * 3e-4 * np.sqrt(1000)


def best_of(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def python_loop(p: list[float], eta: float, N0: float, steps: int) -> list[list[float]]:
    """The per-step, per-skill Python loop of the paper's notebooks (Euler, step 1, clipped at 0)."""
    n = len(p)
    l = [1.0] * n
    out = [l[:]]
    for _ in range(steps):
        den = N0
        for k in range(n):
            den += p[k] * l[k]
        l = [max(l[k] - eta * p[k] * l[k] / den, 0.0) for k in range(n)]
        out.append(l)
    return out


def run() -> dict:
    figures = {}
    p10k = sk.zipf_frequencies(10_000, 2.0)
    times = np.linspace(0, 5e5, 1000)
    model = sk.ResourceModel(p10k, ETA, 0.003)
    figures["exact_10k_skills_1k_times_s"] = best_of(lambda: sk.solve(model, times, method="exact"))

    p1k = sk.zipf_frequencies(1000, 2.0)
    model = sk.ResourceModel(p1k, ETA, 0.003)
    figures["ode_1k_skills_3k_steps_s"] = best_of(lambda: sk.solve(model, steps=3000, method="ode"))
    figures["map_1k_skills_3k_steps_s"] = best_of(lambda: sk.solve(model, steps=3000, method="map"))
    figures["exact_1k_skills_3k_steps_s"] = best_of(lambda: sk.solve(model, steps=3000, method="exact"))
    figures["python_loop_1k_skills_3k_steps_s"] = best_of(lambda: python_loop(p1k.tolist(), ETA, 0.003, 3000), 1)
    loop = figures["python_loop_1k_skills_3k_steps_s"]
    for key in ("ode", "map", "exact"):
        figures[f"speedup_{key}_vs_python_loop"] = loop / figures[f"{key}_1k_skills_3k_steps_s"]
    return figures


@pytest.mark.benchmark
def test_core_solver_speed():
    figures = run()
    for key, value in figures.items():
        print(f"{key:40s} {value:10.4f}")
    assert figures["exact_10k_skills_1k_times_s"] < 1.0
    assert figures["ode_1k_skills_3k_steps_s"] < 2.0


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:40s} {value:10.4f}")
