"""Speed of the batched MLP training behind validation/ (run by hand; prints its figures).

    .venv/bin/python -m pytest -q -m benchmark benchmarks/bench_validation.py -s
    .venv/bin/python benchmarks/bench_validation.py

Measures a two-task sparse-parity run ([32, 50, 2] MLP, Adam, float32, held-out evaluation every
step) for 1000 steps: seconds per seed with 5 seeds batched in one process against 5 sequential
single-seed runs, at the domino experiment's default data size and a small one, with 1 and 2
torch threads. Timings are wall-clock on whatever else the machine is running: read them as
upper bounds on a shared machine.
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")

from validation import ParityTask, TrainSettings, train_parity  # noqa: E402

TASKS = (ParityTask((0, 1), 1.0), ParityTask((2, 3), 0.1))
SEEDS = (0, 1, 2, 3, 4)
STEPS = 1000


def _run(seeds, train_size: int, threads: int) -> float:
    start = time.perf_counter()
    train_parity(TASKS, seeds, n_bits=32, hidden=50, train_size=train_size, test_size=500,
                 settings=TrainSettings(STEPS, 1e-3, "adam", threads))
    return time.perf_counter() - start


def measure(train_sizes=(1000, 6000), threads=(1, 2)) -> list[dict]:
    rows = []
    for n in train_sizes:
        for th in threads:
            batched = _run(SEEDS, n, th)
            sequential = sum(_run((s,), n, th) for s in SEEDS)
            rows.append({"train_size": n, "threads": th, "batched_s_per_seed": batched / len(SEEDS),
                         "sequential_s_per_seed": sequential / len(SEEDS), "speedup": sequential / batched})
    return rows


def report(rows: list[dict]) -> None:
    print(f"\nsparse parity [32, 50, 2], Adam, float32, {STEPS} steps, {len(SEEDS)} seeds, test set 500")
    print(f"{'train_size':>10} {'threads':>7} {'batched s/seed':>15} {'sequential s/seed':>18} {'speed-up':>9}")
    for r in rows:
        print(f"{r['train_size']:>10} {r['threads']:>7} {r['batched_s_per_seed']:>15.3f} "
              f"{r['sequential_s_per_seed']:>18.3f} {r['speedup']:>9.2f}")


@pytest.mark.benchmark
def test_bench_sparse_parity_batched_vs_sequential():
    rows = measure()
    report(rows)
    small = [r for r in rows if r["train_size"] == 1000 and r["threads"] == 1][0]
    assert small["batched_s_per_seed"] > 0


if __name__ == "__main__":
    report(measure())
