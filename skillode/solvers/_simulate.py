"""Simulation of the Geometry model (skillode.models.GeometryModel), batched.

Many runs (configurations x seeds) advance together as a leading batch dimension of one torch
computation (CPU or GPU), or, where a step is too small for torch's per-operation cost to pay off,
in a compiled numba loop (skillode.solvers._simulate_kernel; simulate's `backend`). Each run owns its
random streams (counts and noise generators seeded from the run's seed), so a run's curves do not
depend on what it was batched with, nor on the backend.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_count, as_seed, choice
from .._repr import short_repr
from ..curves import SkillCurves
from ..models import GeometryModel
from . import _simulate_kernel
from ._simulate_numba import _run_group_numba
from ._simulate_torch import _run_group
from ._streams import COUNT_METHODS, _torch

SMALL_WORK = 2**22  # runs x n x N below which one CPU thread is fastest
# backend="auto" picks the compiled CPU loop up to this runs x n x D (a single run, which torch
# cannot batch, up to NUMBA_MAX_WORK_SINGLE); benchmarks/bench_geometry.py --backends measures it.
NUMBA_MAX_WORK = 2**19
NUMBA_MAX_WORK_SINGLE = 2**21


def log_steps(steps: int, num: int = 200) -> np.ndarray:
    """About `num` distinct integer steps from 0 to `steps`, log-spaced (0 and `steps` included)."""
    steps = as_count(steps, "steps", minimum=0)
    num = as_count(num, "num", minimum=2)
    if steps + 1 <= num:
        return np.arange(steps + 1)
    pts = np.unique(np.round(np.geomspace(1, steps, num - 1)).astype(np.int64))
    return np.concatenate([[0], pts])


@dataclass(frozen=True, eq=False)
class GeometryResult:
    """Batched simulation output.

    Attributes:
        curves: one SkillCurves per run (models x seeds, model-major), loss sampled at `steps`.
        models: the model of each run.
        seeds: the seed of each run (batch counts and noise; random tasks when task_seed is None).
        steps: shape (n_rec,), the recorded steps (number of optimizer updates done).
        seconds: wall time of the simulation.
    """

    curves: tuple[SkillCurves, ...]
    models: tuple[GeometryModel, ...]
    seeds: tuple[int, ...]
    steps: np.ndarray
    seconds: float

    def __len__(self) -> int:
        return len(self.curves)

    def loss(self) -> np.ndarray:
        """Per-skill losses of all runs, shape (n_runs, n_rec, n) (runs must share n)."""
        return np.stack([c.loss for c in self.curves])

    def total_loss(self) -> np.ndarray:
        """Frequency-weighted loss sum_k w_k l_k of every run, shape (n_runs, n_rec)."""
        return np.stack([c.total_loss() for c in self.curves])

    def __repr__(self) -> str:
        # one line: the arrays and the per-run curves stay on the attributes
        return short_repr(
            self,
            (),
            values={
                "runs": len(self),
                "steps": self.steps,
                "seconds": self.seconds,
                "seeds": self.seeds,
                "optimizers": _distinct(m.optimizer for m in self.models),
                "backends": _distinct(c.metadata.get("backend") for c in self.curves),
            },
        )


def _distinct(values) -> tuple:
    """The distinct values, in order of first appearance."""
    return tuple(dict.fromkeys(values))


def simulate(
    models: GeometryModel | Sequence[GeometryModel],
    steps: int,
    *,
    seeds: int | Sequence[int] = 0,
    record: Sequence[int] | np.ndarray | None = None,
    device: str | None = None,
    dtype: str = "float64",
    chunk: int = 256,
    threads: int | None = None,
    backend: str = "auto",
    progress: bool = False,
    counts: str = "multinomial",
) -> GeometryResult:
    """Simulate every (model, seed) pair for `steps` optimizer updates, batched.

    Args:
        models: a GeometryModel or a sequence of them; runs are models x seeds (model-major).
            Runs with the same n, N, loss, optimizer, batch size and task kind advance together
            in one batched torch computation.
        steps: number of optimizer updates.
        seeds: one seed or a sequence; each run's batch counts and noise come from its seed,
            and so do random task vectors unless the model fixes task_seed.
        record: the steps (0..steps) at which losses are recorded, shape (n_rec,); default every
            step up to 5000 steps, else 400 log-spaced steps (see log_steps).
        device: torch device ("cpu", "cuda"); default cuda when available.
        dtype: "float64" (default) or "float32" (twice the speed for large N x n products).
        chunk: steps of batch counts / noise drawn at once (memory chunk x runs x N).
        threads: torch CPU threads; None picks 1 for small per-step work (runs x n x N below
            2^22), where thread hand-offs cost more than the arithmetic (up to 100x on a busy
            machine), and torch's default otherwise. Restored afterwards.
        backend: "torch" (batched tensor operations, CPU or GPU), "numba" (a compiled CPU loop,
            one run after another; no per-operation overhead) or "auto": numba on the CPU for
            groups whose per-step work is small enough that torch's fixed cost per operation
            dominates (see NUMBA_MAX_WORK), torch otherwise. Both give the same numbers to
            rounding, from the same random streams.
        progress: show a tqdm progress bar.
        counts: how batch counts are drawn: "multinomial" (default; np.random.multinomial per
            run and step) or "alias" (the alias method from one uniform per sample, the uniforms
            shared by the runs of one seed: the same distribution, other draws, ~7x cheaper at
            n = 1000, batch 1024; see _streams._count_drawer). Only batched models draw counts.
    """
    model_list, seed_list = _check_runs(models, seeds)
    steps = as_count(steps, "steps", minimum=0)
    rec = _record_steps(record, steps)
    dtype_name, backend, chunk, threads = _check_options(dtype, backend, device, chunk, threads)
    counts = choice(counts, "counts", COUNT_METHODS)

    runs = [(m, s) for m in model_list for s in seed_list]
    groups, plans = _plan_groups(runs, backend, device)
    torch, dev, tdtype, dev_name = _torch_setup(groups, plans, device, dtype_name)
    start = time.perf_counter()
    setup = (torch, dev, tdtype)
    losses = _run_groups(runs, groups, plans, steps, rec, setup, dtype_name, (chunk, counts), threads, progress)
    seconds = time.perf_counter() - start
    return _to_result(runs, losses, plans, steps, rec, (dtype_name, counts), dev_name, seconds)


def _check_runs(models, seeds) -> tuple[list[GeometryModel], list[int]]:
    """simulate's models and seeds as non-empty lists (seeds checked)."""
    model_list = [models] if isinstance(models, GeometryModel) else list(models)
    if not model_list or not all(isinstance(m, GeometryModel) for m in model_list):
        raise ValueError("models must be a GeometryModel or a non-empty sequence of GeometryModel")
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) else list(seeds)
    if not seed_list:
        raise ValueError("seeds must name at least one seed")
    return model_list, [as_seed(s, "seeds") for s in seed_list]


def _record_steps(record, steps: int) -> np.ndarray:
    """The recorded steps, int64 shape (n_rec,): simulate's default, or `record` checked."""
    if record is None:
        return np.arange(steps + 1) if steps <= 5000 else log_steps(steps, 400)
    rec = np.asarray(record)
    if rec.ndim != 1 or rec.size == 0 or not np.all(np.equal(np.mod(rec, 1), 0)):
        raise ValueError("record must be a non-empty 1-D sequence of integer steps")
    rec = rec.astype(np.int64)
    if rec[0] < 0 or rec[-1] > steps or np.any(np.diff(rec) <= 0):
        raise ValueError(f"record must be strictly increasing steps within [0, {steps}]")
    return rec


def _check_options(dtype, backend, device, chunk, threads) -> tuple[str, str, int, int | None]:
    """simulate's dtype name, backend, chunk and threads, checked (and the backend against the device)."""
    dtype_name = choice(dtype, "dtype", ("float64", "float32"))
    backend = choice(backend, "backend", ("auto", "torch", "numba"))
    if backend == "numba" and not _simulate_kernel.available():
        raise ImportError("backend='numba' needs numba (pip install numba)")
    if device is not None and str(device) != "cpu" and backend == "numba":
        raise ValueError(f"backend='numba' runs on the CPU; got device={device!r}")
    chunk = as_count(chunk, "chunk")
    if threads is not None:
        threads = as_count(threads, "threads")
    return dtype_name, backend, chunk, threads


def _plan_groups(runs, backend: str, device: str | None) -> tuple[dict[tuple, list[int]], dict[tuple, str]]:
    """Runs grouped by _group_key ({key: run indices}) and the backend of each group ({key: name})."""
    groups: dict[tuple, list[int]] = {}
    for i, (m, _) in enumerate(runs):
        groups.setdefault(_group_key(m), []).append(i)
    plans = {key: _backend_for(backend, device, len(idx), key[0], _work_dim(key)) for key, idx in groups.items()}
    return groups, plans


def _work_dim(key: tuple) -> int:
    """The D of a group's per-step work estimate runs x n x D: N, n for basis tasks, 1 for modular ones.

    Basis tasks with N < n (zero task vectors beyond N, the modular model) cost the compiled loop
    O(n) per run and step, while torch runs them through the (n, N) task array (_torch_runs): at
    n = 1000, N = 500, 12 runs, batch 1024 the compiled loop took 0.6 ms a step, torch 21 ms.
    """
    n, N, basis = key[0], key[1], key[5]
    if basis:
        return 1 if N < n else n
    return N


def _torch_runs(group: list) -> list:
    """A torch group's runs; basis tasks with N < n become their (n, N) task array, one shared array.

    The torch backend simulates basis tasks on the n task coordinates; with N < n the tasks beyond
    N have zero vectors (the modular model), which the given-array path (s = T x) handles exactly:
    T x and T^T v with T = eye(n, N) reproduce x padded with zeros and v[:N] exactly (for finite x).
    """
    m0 = group[0][0]
    if m0.tasks != "basis" or m0.N >= m0.n_skills:
        return group
    shared = m0.replace(tasks=m0.task_vectors())._given_tasks
    out = []
    for m, s in group:
        twin = m.replace(tasks=shared)
        object.__setattr__(twin, "_given_tasks", shared)  # one array: _task_matrices batches its runs as one
        out.append((twin, s))
    return out


def _torch_setup(groups, plans, device: str | None, dtype_name: str):
    """(torch, device, dtype, device name of the metadata); torch is None when no group needs it.

    torch is loaded for torch groups and for noisy groups (the noise streams are torch generators).
    """
    torch = _torch() if "torch" in plans.values() or any(k[6] for k in groups) else None
    dev = tdtype = None
    dev_name = "cpu"
    if torch is not None:
        dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        tdtype = torch.float64 if dtype_name == "float64" else torch.float32
        if any(b == "torch" for b in plans.values()):
            dev_name = str(dev)
    return torch, dev, tdtype, dev_name


def _run_groups(runs, groups, plans, steps, rec, torch_setup, dtype_name, chunking, threads, progress):
    """Each group on its backend, with CPU threads and subnormal flushing set; the loss of every run.

    chunking: (chunk, counts), simulate's arguments of those names.
    """
    torch, dev, tdtype = torch_setup
    chunk, counts = chunking
    losses: list[np.ndarray | None] = [None] * len(runs)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(groups), desc="geometry", unit="step", leave=False)
    # Converged skills drive residuals like 1 - s into the subnormal range, where CPU arithmetic is
    # ~100x slower; flushing them to zero changes losses only below 1e-308.
    # torch's switch sets this thread's CPU flags (covering the numba kernel too when torch is
    # loaded); the kernel also flushes its own subnormal intermediates, for runs without torch.
    default_threads = torch.get_num_threads() if torch is not None else None
    flushed = torch.set_flush_denormal(True) if torch is not None else False  # torch has no getter
    try:
        for key, idx in groups.items():
            group = [runs[i] for i in idx]
            if plans[key] == "numba":
                out = _run_group_numba(group, steps, rec, dtype_name, chunk, bar, counts)
            else:
                n, N, basis = key[0], key[1], key[5]
                work = len(idx) * n * (min(n, N) if basis else N)
                torch.set_num_threads(threads or (1 if work < SMALL_WORK else default_threads))
                with torch.inference_mode():
                    out = _run_group(_torch_runs(group), steps, rec, dev, tdtype, chunk, bar, counts)
            for j, i in enumerate(idx):
                losses[i] = out[j]
    finally:
        if torch is not None:
            torch.set_num_threads(default_threads)
        if flushed:  # back to torch's default
            torch.set_flush_denormal(False)
        if bar is not None:
            bar.close()
    return losses


def _to_result(runs, losses, plans, steps, rec, numerics, dev_name, seconds) -> GeometryResult:
    """The GeometryResult of simulate: one SkillCurves per run, with its metadata.

    numerics: (dtype name, counts method); the method is recorded for batched runs drawn otherwise
    than by the default multinomial.
    """
    dtype_name, counts = numerics
    curves = []
    for (m, s), loss in zip(runs, losses):
        meta = {
            "model": m.config(),
            "solver": "geometry-simulation",
            "seed": s,
            "task_seed": m._task_seed_for(s),
            "steps": steps,
            "dtype": dtype_name,
            "device": dev_name if plans[_group_key(m)] == "torch" else "cpu",
            "backend": plans[_group_key(m)],
        }
        if m.batch is not None and counts != "multinomial":
            meta["counts"] = counts
        curves.append(SkillCurves(rec.astype(np.float64), loss, m.names, m.p, meta))
    return GeometryResult(tuple(curves), tuple(m for m, _ in runs), tuple(s for _, s in runs), rec.copy(), seconds)


def _group_key(m: GeometryModel) -> tuple:
    """Runs with equal keys advance together (same shapes, loss, optimizer, batch size, task kind)."""
    return (m.n_skills, m.N, m.loss, m.optimizer, m.batch, m.tasks == "basis", m.noise > 0)


def _backend_for(backend: str, device: str | None, runs: int, n: int, D: int) -> str:
    """The backend of one group: the compiled loop when torch's per-operation cost would dominate.

    A torch step costs ~10 operations of ~5-10 us each on the CPU, whatever the size; the compiled
    loop costs ~2 runs x n x D multiply-adds but, unlike torch's batched matrix products, reads each
    run's task matrix on its own, so large batches of runs go to torch.
    """
    if backend != "auto":
        return backend
    # Small groups run on the CPU even where a GPU is present: a kernel launch costs more than their step.
    on_cpu = device is None or str(device) == "cpu"
    limit = NUMBA_MAX_WORK_SINGLE if runs == 1 else NUMBA_MAX_WORK
    if on_cpu and _simulate_kernel.available() and runs * n * D <= limit:
        return "numba"
    return "torch"


def run_grid(
    base: GeometryModel,
    steps: int,
    *,
    seeds: int | Sequence[int] = 0,
    record: Sequence[int] | np.ndarray | None = None,
    progress: bool = False,
    dtype: str = "float64",
    **grid: Sequence[Any],
) -> tuple[list[dict], GeometryResult]:
    """Simulate `base` over a product grid of field values (e.g. lr=[...], batch=[...]), batched.

    Returns the list of grid points (one dict per model, in run order before seeds) and the result.
    """
    names = list(grid)
    points = [dict(zip(names, values)) for values in itertools.product(*(grid[k] for k in names))]
    models = [base.replace(**pt) for pt in points] if points else [base]
    return points, simulate(models, steps, seeds=seeds, record=record, progress=progress, dtype=dtype)
