"""Speed of fitting (run by hand: `python benchmarks/bench_fit.py` or `pytest benchmarks/bench_fit.py -m benchmark -s`).

Each figure is the best of a few runs, in seconds, on synthetic noisy curves with known parameters;
the estimates are printed next to the truth so a fast but wrong fit is visible.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import skillode as sk


def noisy(model, times, sigma: float, seed: int, method: str = "exact") -> sk.SkillCurves:
    clean = sk.solve(model, times, method=method).curves
    rng = np.random.default_rng(seed)
    return sk.SkillCurves(
        clean.times, clean.loss + sigma * rng.standard_normal(clean.loss.shape), clean.names, clean.frequencies
    )


def best_of(fn, repeats: int = 3):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run() -> dict:
    figures: dict[str, float] = {}
    t = np.linspace(0, 3000, 200)
    data10 = noisy(sk.ResourceModel(sk.zipf_frequencies(10, 1.5), 0.01, 0.05), t, 0.01, seed=0)
    secs, res = best_of(lambda: sk.fit(data10, "resource", n_bootstrap=0))
    figures["fit_resource_10skills_200times_s"] = secs
    print(
        f"resource fit, 10 skills x 200 times: {secs:.3f} s  (eta {res.estimates['eta']:.5g} vs 0.01, "
        f"N0 {res.estimates['N0']:.4g} vs 0.05)"
    )
    secs, res = best_of(lambda: sk.fit(data10, "resource", n_bootstrap=100, seed=0), 1)
    figures["fit_resource_10skills_bootstrap100_s"] = secs
    print(
        f"  + 100 bootstrap refits: {secs:.3f} s  (eta 95% [{res.intervals['eta'][0]:.5g}, "
        f"{res.intervals['eta'][1]:.5g}])"
    )
    secs, cmp = best_of(lambda: sk.compare(data10, n_bootstrap=0))
    figures["compare_3models_10skills_s"] = secs
    print(f"compare resource/domino/parallel, 10 skills: {secs:.3f} s  (ranking {', '.join(cmp.ranking)})")

    data100 = noisy(
        sk.ResourceModel(sk.zipf_frequencies(100, 1.5), 0.03, 0.01), np.linspace(0, 5000, 300), 0.01, seed=1
    )
    secs, res = best_of(lambda: sk.fit(data100, "resource", n_bootstrap=0), 1)
    figures["fit_resource_100skills_300times_s"] = secs
    print(
        f"resource fit, 100 skills x 300 times: {secs:.3f} s  (eta {res.estimates['eta']:.5g} vs 0.03, "
        f"N0 {res.estimates['N0']:.4g} vs 0.01)"
    )

    p = np.array([0.5, 0.3, 0.2])
    gated = sk.ResourceModel(p, 0.01, 0.1, gates=[sk.Gate(2, (0,), exponent=3.0)])
    data_g = noisy(gated, np.linspace(0, 600, 61), 0.005, seed=2, method="ode")
    secs, res = best_of(
        lambda: sk.fit(data_g, "resource", ["eta", "N0", "gate_exponent"], gates=[sk.Gate(2, (0,))], n_bootstrap=0), 1
    )
    figures["fit_gated_ode_3skills_s"] = secs
    print(
        f"gated resource fit (ode solver), 3 skills x 61 times: {secs:.3f} s  "
        f"(gate exponent {res.estimates['gate_exponent']:.4g} +- {res.stderr['gate_exponent']:.2g} vs 3)"
    )
    return figures


@pytest.mark.benchmark
def test_bench_fit():
    figures = run()
    assert all(np.isfinite(v) and v > 0 for v in figures.values())


if __name__ == "__main__":
    run()
