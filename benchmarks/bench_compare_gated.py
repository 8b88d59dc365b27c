"""Speed of `skillode compare` with a gated skill (run by hand, prints its figures).

    .venv/bin/python benchmarks/bench_compare_gated.py

A 3-skill run made by the gated Resource model itself (c waits for a AND b, exponent 0.5; 150
times), compared with --parents c:a,b: once with the fits reusing one intrinsic-time trajectory per
frequencies and gate exponent (skillode.fitting._problem.REUSE_TRAJECTORIES, the default), once
solving the ODE at every evaluation (the reference path). Prints both wall times and the largest
relative difference between the two compare.json files' numbers.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

import skillode as sk
from skillode.cli import main
from skillode.fitting import _problem


def _numbers(d, path=""):
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_numbers(v, f"{path}/{k}"))
        return out
    return {path: d} if isinstance(d, float) else {}


def measure() -> dict:
    model = sk.ResourceModel(
        [1.0, 0.5, 0.8], eta=0.02, N0=0.05, gates=[sk.Gate(2, (0, 1), "and", 0.5)], names=("a", "b", "c")
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "gated_run.npz"
        sk.solve(model, times=np.arange(0, 1500, 10.0)).curves.save(run)
        seconds, results = {}, {}
        saved = _problem.REUSE_TRAJECTORIES
        try:
            for reuse in (True, False):
                _problem.REUSE_TRAJECTORIES = reuse
                out = Path(tmp) / f"out_{reuse}"
                start = time.perf_counter()
                main(["compare", str(run), "--parents", "c:a,b", "--frequencies", "1,0.5,0.8", "--out", str(out)])
                seconds[reuse] = time.perf_counter() - start
                results[reuse] = _numbers(json.loads((out / "compare.json").read_text()))
        finally:
            _problem.REUSE_TRAJECTORIES = saved
    a, b = results[True], results[False]
    worst = max((abs(a[k] - b[k]) / max(1.0, abs(b[k])) for k in a if k in b), default=0.0)
    return {"reuse_s": seconds[True], "reference_s": seconds[False], "max_rel_difference": worst}


if __name__ == "__main__":
    r = measure()
    print(f"gated compare, 3 skills x 150 times: {r['reuse_s']:.1f} s (trajectories reused), ", end="")
    print(f"{r['reference_s']:.1f} s (ODE per evaluation); largest difference {r['max_rel_difference']:.1e}")
