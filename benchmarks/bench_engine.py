"""Per-point overhead of the sweep engine's Dask path, one point per task against batched tasks.

    .venv/bin/python benchmarks/bench_engine.py [--points 1000] [--single 200]

Tiny points (a 40 x 40 matrix product): what is measured is the engine, not the work. A
LocalCluster(2) on loopback is started once and kept warm for both runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skillode.sweeps._engine import Scheduler, auto_batch, run_points


def tiny_point(seed: int) -> float:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((40, 40))
    return float(np.trace(a @ a))


def timed(address: str, n: int, batch: int | None) -> float:
    start = time.perf_counter()
    with run_points(tiny_point, range(n), scheduler=Scheduler("dask", address=address), batch=batch) as (res, _, _):
        got = dict(res)
    assert len(got) == n
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--single", type=int, default=200, help="points for the one-per-task run")
    args = ap.parse_args()
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        addr = cluster.scheduler_address
        timed(addr, 20, 1)  # warm the workers (imports, first task)
        one = timed(addr, args.single, 1)
        auto = timed(addr, args.points, None)
        print(f"one point per task: {args.single} points in {one:.2f} s ({1000 * one / args.single:.1f} ms/point)")
        print(
            f"batched (auto_batch = {auto_batch(args.points, 2)} points per task): {args.points} points in "
            f"{auto:.2f} s ({1000 * auto / args.points:.2f} ms/point)"
        )


if __name__ == "__main__":
    main()
