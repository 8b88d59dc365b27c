"""Speed of the modularity experiment's batched training (Fig 19 setup; run by hand, prints its figures).

    .venv/bin/python benchmarks/bench_modularity.py                       # 100 non-modular runs, auto threads
    .venv/bin/python benchmarks/bench_modularity.py --threads 1 2 --seeds 20 --groups 5 10 20 50
    .venv/bin/python benchmarks/bench_modularity.py --jobs 2 --threads 1    # 2 single-thread processes
    .venv/bin/python benchmarks/bench_modularity.py --reference 2         # + a per-run nn.Linear loop
    .venv/bin/python -m pytest -q -m benchmark benchmarks/bench_modularity.py -s

Measures validation.modularity.train_condition(ModularityConfig(seeds=range(n)), "nonmodular"): the
paper's non-modular MLP [2, 100, 100, 2] (SiLU, float32), 1000 points, full-batch Adam, 1000 steps,
n runs batched in groups of modularity.GROUP_ELEMENTS hidden activations. The target: the 100 runs in
at most 70 s on 2 cores. --reference k also times k runs of a plain per-run loop (torch.nn.Linear
layers, autograd, torch.optim.Adam: what the notebook does, one run after another) and scales it to
100 runs. Wall-clock and CPU time, with the 1-minute load average before and after: on a machine
that other jobs keep busy, wall-clock is an upper bound and CPU time / threads a better measure.
"""

from __future__ import annotations

import argparse
import os
import time

import pytest

torch = pytest.importorskip("torch")

from skillode.validation import modularity  # noqa: E402
from skillode.validation._execution import execution  # noqa: E402


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def measure(
    n_seeds: int = 100, threads: int | None = None, steps: int = 1000, group: int | None = None, jobs: int = 1
) -> dict:
    """One train_condition of n_seeds non-modular runs; group: seeds per group (None: the module's);
    jobs > 1: the groups in that many single-thread worker processes (validation._execution).

    threads=None, jobs=1 is the experiment's own choice: on an idle machine one single-thread process
    per free core (modularity._auto_processes), on a busy one this process alone."""
    cfg = modularity.ModularityConfig(seeds=tuple(range(n_seeds)), steps=steps, threads=1 if jobs > 1 else threads)
    saved = modularity.GROUP_ELEMENTS
    if group is not None:
        modularity.GROUP_ELEMENTS = group * cfg.n_points * cfg.hidden
    load0 = _load()
    try:
        start = time.perf_counter()
        with execution(jobs=jobs):
            rec = modularity.train_condition(cfg, "nonmodular")
        total = time.perf_counter() - start
    finally:
        modularity.GROUP_ELEMENTS = saved
    per_group = max(1, modularity.GROUP_ELEMENTS // (cfg.n_points * cfg.hidden)) if group is None else group
    return {
        "seeds": n_seeds,
        "steps": steps,
        "jobs": jobs,
        "threads": rec.threads,
        "group": min(per_group, n_seeds),
        "wall_s": total,
        "train_wall_s": rec.wall_seconds,
        "cpu_s": rec.cpu_seconds,
        "per_100_runs_1000_steps_s": total * (100 / n_seeds) * (1000 / steps),
        "load_before": load0,
        "load_after": _load(),
    }


def reference_loop(n_runs: int, threads: int = 1, steps: int = 1000) -> dict:
    """n_runs of a per-run loop with torch.nn.Linear layers and autograd (the notebook's way), timed."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start, cpu0 = time.perf_counter(), time.process_time()
        for s in range(n_runs):
            torch.manual_seed(s)
            net = torch.nn.Sequential(
                torch.nn.Linear(2, 100),
                torch.nn.SiLU(),
                torch.nn.Linear(100, 100),
                torch.nn.SiLU(),
                torch.nn.Linear(100, 2),
            )
            x = torch.rand(1000, 2) * 2 - 1
            mask = torch.zeros(1000, 2)
            mask[:990, 0] = 1
            mask[990:, 1] = 1
            x[:990, 1] = 0.0  # task 1: x2 = 0; task 2: x1 = 0
            x[990:, 0] = 0.0
            y = x**2
            opt = torch.optim.Adam(net.parameters(), lr=5e-4)
            for _ in range(steps):
                opt.zero_grad()
                pred = net(x)
                loss = torch.mean((pred - y) ** 2 * mask)
                loss.backward()
                opt.step()
                (pred - y)[:990, 0].pow(2).mean().item()  # the notebook's per-step task losses
                (pred - y)[990:, 1].pow(2).mean().item()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    finally:
        torch.set_num_threads(old)
    return {"runs": n_runs, "threads": threads, "wall_s": wall, "cpu_s": cpu, "per_100_runs_s": wall * 100 / n_runs}


def report(rows: list[dict]) -> None:
    print("\nmodularity, non-modular [2, 100, 100, 2] SiLU float32, 1000 points, Adam; seconds")
    print(
        f"{'seeds':>5} {'steps':>5} {'jobs':>4} {'threads':>7} {'group':>5} {'wall':>7} {'cpu':>7} "
        f"{'per 100x1000':>12} {'load before/after':>18}"
    )
    for r in rows:
        print(
            f"{r['seeds']:>5} {r['steps']:>5} {r['jobs']:>4} {r['threads']:>7} {r['group']:>5} {r['wall_s']:>7.1f} "
            f"{r['cpu_s']:>7.1f} "
            f"{r['per_100_runs_1000_steps_s']:>12.1f} {r['load_before']:>8.2f} / {r['load_after']:<8.2f}"
        )


@pytest.mark.benchmark
def test_bench_modularity_nonmodular_100_runs():
    rows = [measure()]
    report(rows)
    assert rows[0]["wall_s"] > 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, nargs="+", default=[None])
    ap.add_argument("--groups", type=int, nargs="+", default=[None], help="seeds per group (default: the module's)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1], help="worker processes (1: the experiment's choice)")
    ap.add_argument("--reference", type=int, default=0, help="also time this many runs of a per-run nn.Linear loop")
    args = ap.parse_args()
    rows = []
    for jobs in args.jobs:
        for th in args.threads:
            for grp in args.groups:
                rows.append(measure(args.seeds, th, args.steps, grp, jobs))
                print(rows[-1], flush=True)
    report(rows)
    if args.reference:
        ref = reference_loop(args.reference)
        print(f"\nper-run nn.Linear loop, {ref['runs']} runs, 1 thread: {ref['wall_s']:.1f} s wall, ", end="")
        print(f"{ref['cpu_s']:.1f} s CPU")
        print(f"  -> {ref['per_100_runs_s']:.0f} s per 100 runs (load {_load():.2f})")
