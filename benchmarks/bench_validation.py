"""Speed of the batched MLP training behind validation/ (run by hand; prints its figures).

    .venv/bin/python -m pytest -q -m benchmark benchmarks/bench_validation.py -s
    .venv/bin/python benchmarks/bench_validation.py [--threads 1 2]

Measures a two-task sparse-parity run ([32, 50, 2] MLP, full-batch Adam, float32, held-out
evaluation of 500 samples every step) for 1000 steps, in seconds per seed, three ways:
5 seeds batched as one group, 5 seeds with the default grouping (validation._train.GROUP_ELEMENTS
caps the activations batched together) and 5 sequential single-seed runs; at 1000 and 6000
training samples (validation.sparse_parity's setup; the domino experiment now runs the paper's
notebook: 10,000 samples, float64, 8.6 s per seed per 1000 steps on one thread). Wall-clock on whatever else the machine
runs: on a shared machine read them as upper bounds.
"""

from __future__ import annotations

import argparse
import time

import pytest

torch = pytest.importorskip("torch")

import skillode.validation._train as vt  # noqa: E402
from skillode.validation import ParityTask, TrainSettings, train_parity  # noqa: E402

TASKS = (ParityTask((0, 1), 1.0), ParityTask((2, 3), 0.1))
SEEDS = (0, 1, 2, 3, 4)
STEPS = 1000


def _run(seeds, train_size: int, threads: int, steps: int = STEPS) -> float:
    start = time.perf_counter()
    train_parity(
        TASKS,
        seeds,
        n_bits=32,
        hidden=50,
        train_size=train_size,
        test_size=500,
        settings=TrainSettings(steps, 1e-3, "adam", threads),
    )
    return time.perf_counter() - start


def _one_group(train_size: int, threads: int) -> float:
    saved = vt.GROUP_ELEMENTS
    vt.GROUP_ELEMENTS = 10**12
    try:
        return _run(SEEDS, train_size, threads)
    finally:
        vt.GROUP_ELEMENTS = saved


def measure(train_sizes=(1000, 6000), threads=(1,), *, echo: bool = True) -> list[dict]:
    rows = []
    for n in train_sizes:
        for th in threads:
            _run(SEEDS, n, th, steps=50)  # warm-up: allocator, thread pool, kernels
            one = _one_group(n, th) / len(SEEDS)
            grouped = _run(SEEDS, n, th) / len(SEEDS)
            sequential = sum(_run((s,), n, th) for s in SEEDS) / len(SEEDS)
            rows.append(
                {"train_size": n, "threads": th, "one_group": one, "grouped": grouped, "sequential": sequential}
            )
            if echo:
                print(rows[-1], flush=True)
    return rows


def report(rows: list[dict]) -> None:
    print(
        f"\nsparse parity [32, 50, 2], Adam, float32, {STEPS} steps, {len(SEEDS)} seeds, test set 500; seconds per seed"
    )
    print(f"{'train_size':>10} {'threads':>7} {'one group':>10} {'grouped':>8} {'sequential':>11} {'seq/grouped':>12}")
    for r in rows:
        print(
            f"{r['train_size']:>10} {r['threads']:>7} {r['one_group']:>10.3f} {r['grouped']:>8.3f} "
            f"{r['sequential']:>11.3f} {r['sequential'] / r['grouped']:>12.2f}"
        )


@pytest.mark.benchmark
def test_bench_sparse_parity_batched_vs_sequential():
    rows = measure()
    report(rows)
    assert all(r["grouped"] > 0 for r in rows)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    report(measure(threads=tuple(ap.parse_args().threads)))
