"""The paper's Fig 10 grid (ScalingSweepConfig.preset("paper")): measured per-step cost and projection.

Run by hand:  .venv/bin/python benchmarks/bench_fig10.py [--steps 400] [--Ns 100 500 1000] [--gpu]

Figures printed:
  1. microseconds per step of one (seed, N) group (the 7 alphas batched) at each N, for the
     multinomial batch counts (before) and the alias counts the preset uses (after), simulated as
     compute_point does (seeds grouped by ScalingSweepConfig.seed_groups);
  2. the projection of the whole preset: sum over N of 4 seeds x t(N) x 100,000 steps / 2 cores,
     t(N) linearly interpolated (and extrapolated) from the measured Ns, with peak memory;
  3. the largest relative float32 - float64 difference of the final total losses of one point;
  4. with --gpu and a CUDA device: microseconds per step of one whole point (the 7 alphas x 4 seeds in
     one kernel, as compute_point runs it there) on the GPU, the speed-up over the CPU group figure
     of 1. (alias counts), and the whole preset on that one GPU (points one after another). Without
     CUDA it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from skillode import simulate
from skillode.sweeps._scaling import ScalingSweepConfig, compute_point


def group_step_us(cfg: ScalingSweepConfig, N: int, steps: int, counts: str) -> float:
    """Microseconds per step of one (seed, N) group: the point's time / (seeds x steps)."""
    models = [cfg.model(a, N) for a in cfg.alphas]
    rec = [0, steps]
    simulate(models, 4, seeds=[0], record=[0, 4], dtype=cfg.dtype, threads=1, counts=counts)  # warm up
    start = time.perf_counter()
    for seeds in cfg.seed_groups(N):
        simulate(models, steps, seeds=list(seeds), record=rec, dtype=cfg.dtype, threads=1, counts=counts)
    return (time.perf_counter() - start) / (len(cfg.seeds) * steps) * 1e6


def project(cfg: ScalingSweepConfig, Ns: list[int], us: list[float], cores: int = 2) -> float:
    """Hours of the whole preset on `cores` single-thread workers, t(N) interpolated linearly."""
    slope, icpt = np.polyfit(Ns, us, 1) if len(Ns) > 1 else (0.0, us[0])
    total_us = sum(len(cfg.seeds) * (icpt + slope * N) * cfg.steps for N in cfg.Ns)
    return total_us / 1e6 / 3600 / cores


def dtype_difference(N: int = 100, steps: int = 2000) -> float:
    finals = {}
    for dt in ("float32", "float64"):
        cfg = ScalingSweepConfig.preset("paper", Ns=(N,), steps=steps, record_extra=(), dtype=dt)
        finals[dt] = compute_point(N, cfg, threads=1)["total_loss"][..., -1]
    return float(np.max(np.abs(finals["float32"] / finals["float64"] - 1.0)))


def gpu_point_step_us(cfg: ScalingSweepConfig, N: int, steps: int) -> float:
    """Microseconds per step of one whole point on CUDA (all alphas and seeds in one simulate call)."""
    models = [cfg.model(a, N) for a in cfg.alphas]
    seeds = list(cfg.seeds)
    kw = {"dtype": cfg.dtype, "counts": "alias", "device": "cuda", "backend": "torch"}
    simulate(models, 20, seeds=seeds, record=[0, 20], **kw)  # warm up: CUDA context, kernels, allocator
    start = time.perf_counter()
    simulate(models, steps, seeds=seeds, record=[0, steps], **kw)  # returns numpy: the device is synced
    return (time.perf_counter() - start) / steps * 1e6


def report_gpu(cfg: ScalingSweepConfig, Ns: list[int], steps: int, cpu_us: list[float]) -> None:
    import torch

    if not torch.cuda.is_available():
        print("--gpu: torch finds no CUDA device here; the GPU speed-up is not measured")
        return
    us = [gpu_point_step_us(cfg, N, steps) for N in Ns]
    cpu_point = [len(cfg.seeds) * u for u in cpu_us]  # the CPU runs a point's seed groups one after another
    rows = ", ".join(f"N={N}: {g:.0f} us ({c / g:.1f}x one CPU core)" for N, g, c in zip(Ns, us, cpu_point))
    slope, icpt = np.polyfit(Ns, us, 1) if len(Ns) > 1 else (0.0, us[0])
    minutes = sum((icpt + slope * N) * cfg.steps for N in cfg.Ns) / 1e6 / 60
    name = torch.cuda.get_device_name(0)
    print(f"{name}: per point step (28 runs in one kernel): {rows}; preset projects to {minutes:.1f} min on it")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--Ns", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--dtype-steps", type=int, default=2000)
    parser.add_argument("--gpu", action="store_true", help="also time whole points on CUDA (when present)")
    args = parser.parse_args()
    cfg = ScalingSweepConfig.preset("paper")
    us: list[float] = []
    for counts in ("multinomial", "alias"):
        us = [group_step_us(cfg, N, args.steps, counts) for N in args.Ns]
        rows = ", ".join(f"N={N}: {u:.0f} us" for N, u in zip(args.Ns, us))
        hours = project(cfg, args.Ns, us)
        print(f"{counts:12s} per (seed, N) group step: {rows}; preset projects to {hours:.2f} h on 2 cores")
    rec = cfg.record_steps().size
    out_bytes = len(cfg.Ns) * len(cfg.alphas) * len(cfg.seeds) * (rec * 8 + cfg.n_skills * 4)
    print(f"output: {out_bytes / 2**20:.1f} MiB of point files (total_loss float64, final_loss float32)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    diff = dtype_difference(steps=args.dtype_steps)
    print(f"float32 vs float64 final total loss (N=100, {args.dtype_steps} steps, 28 runs): max rel diff {diff:.2e}")
    if args.gpu:
        report_gpu(cfg, args.Ns, args.steps, us)


if __name__ == "__main__":
    main()
