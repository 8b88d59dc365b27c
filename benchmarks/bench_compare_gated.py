"""Speed of the gated compare (run by hand: `python benchmarks/bench_compare_gated.py` or
`pytest benchmarks/bench_compare_gated.py -m benchmark -s`).

A 3-skill run made by the gated Resource model itself (c composes a and b: p = 0.5, 0.3, 0.2,
eta 0.008, N0 0.1, gate exponent 1; 61 steps to 500; noise 0.004) is compared as
`skillode compare RUN --parents c:a,b --out DIR` does (Resource, Domino, Parallel and the gated
Resource model; 50 bootstrap refits; time split at 0.6), in two ways:

- fast (the default): each gated fit integrates its trajectory in intrinsic time once and reuses
  it for every eta and N0 (skillode.solvers._trajectory);
- reference: a full ODE solve per residual evaluation (fitting._problem.REUSE_TRAJECTORIES = False),
  the method before; run once (about 20-25 s on 2 shared cores).

Figures are the best of a few runs in seconds (the machine may be shared: take the minimum). The
CLI figure is the whole command in a fresh interpreter (imports and plots included). The gated
fit's estimates are printed for both ways, with their largest relative difference.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import skillode as sk
from skillode.fitting import _problem
from skillode.fitting._report import compare_run

P = np.array([0.5, 0.3, 0.2])
TIMES = np.linspace(0.0, 500.0, 61)
NAMES = ("a", "b", "c")


def gated_run() -> sk.SkillCurves:
    truth = sk.ResourceModel(P, 0.008, 0.1, gates=[sk.Gate("c", ("a", "b"))], names=NAMES)
    clean = sk.solve(truth, TIMES).curves
    rng = np.random.default_rng(0)
    return sk.SkillCurves(TIMES, clean.loss + 0.004 * rng.standard_normal(clean.loss.shape), NAMES, P)


def best_of(fn, repeats: int = 3):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _compare(run: sk.SkillCurves, reuse: bool):
    saved = _problem.REUSE_TRAJECTORIES
    _problem.REUSE_TRAJECTORIES = reuse
    try:
        return compare_run(run, parents={"c": ["a", "b"]}, n_bootstrap=50)
    finally:
        _problem.REUSE_TRAJECTORIES = saved


def run(reference: bool = True) -> dict:
    figures: dict[str, float] = {}
    data = gated_run()
    with tempfile.TemporaryDirectory() as tmp:
        path = data.save(Path(tmp) / "gated.npz")
        command = [sys.executable, "-m", "skillode", "compare", str(path), "--parents", "c:a,b"]
        secs, _ = best_of(
            lambda: subprocess.run([*command, "--out", str(Path(tmp) / "out")], check=True, capture_output=True)
        )
    figures["cli_compare_gated_3skills_s"] = secs
    print(f"skillode compare RUN --parents c:a,b (3 skills x 61 steps, 50 bootstrap): {secs:.2f} s (whole command)")
    secs, fast = best_of(lambda: _compare(data, True))
    figures["compare_run_gated_fast_s"] = secs
    est = fast.fits["resource_gated"].estimates
    print(
        f"compare_run, gated, trajectory reused: {secs:.2f} s  (eta {est['eta']:.5g} vs 0.008, "
        f"N0 {est['N0']:.4g} vs 0.1; ranking {', '.join(fast.ranking)})"
    )
    if reference:
        secs, ref = best_of(lambda: _compare(data, False), 1)
        figures["compare_run_gated_reference_s"] = secs
        ref_est = ref.fits["resource_gated"].estimates
        worst = max(abs(est[k] - ref_est[k]) / abs(ref_est[k]) for k in est)
        ref_iv, fast_iv = ref.fits["resource_gated"].intervals, fast.fits["resource_gated"].intervals
        worst_iv = max(abs(a - b) / abs(b) for k in ref_iv for a, b in zip(fast_iv[k], ref_iv[k]))
        print(
            f"compare_run, gated, ODE solve per evaluation (reference): {secs:.2f} s  (eta {ref_est['eta']:.5g}, "
            f"N0 {ref_est['N0']:.4g}; largest relative difference: estimates {worst:.1e}, intervals {worst_iv:.1e})"
        )
    return figures


@pytest.mark.benchmark
def test_bench_compare_gated():
    figures = run()
    assert all(np.isfinite(v) and v > 0 for v in figures.values())


if __name__ == "__main__":
    run(reference="--no-reference" not in sys.argv)
