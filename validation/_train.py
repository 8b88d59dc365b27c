"""Batched MLP training: many seeds (and independent modules) in one set of batched matmuls.

A network with B independent copies ("replicas": seeds, or seeds x modules) keeps its layer
weights as tensors with a leading replica dimension, W_l of shape (B, fan_in, fan_out), and runs
every layer as one torch.baddbmm over that dimension. The training loss is the SUM over replicas
of each replica's own loss, so each replica's gradient is exactly its own; Adam, SGD and the
other elementwise optimisers then update every replica as if it were trained alone. This is why
a batch of seeds reproduces sequential single-seed runs (to float32 round-off).

Each seed owns one torch.Generator (seeded with the seed itself) that draws, in order, that
seed's dataset and then its initial weights, so a seed's run does not depend on which other seeds
share its batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from skillode._checks import as_scalar, choice

OPTIMIZERS = ("adam", "sgd")

#: Most threads auto_threads() picks. Measured on an idle 2-core machine: 2 torch threads trained
#: the batched sparse-parity MLP (1000 samples per seed) at 0.26 s per seed per 1000 steps, 1 thread
#: at 0.31 s; more threads are unmeasured for these small matmuls, so the automatic choice stops at 2.
AUTO_MAX_THREADS = 2


def auto_threads(load: float | None = None) -> int:
    """The thread count TrainSettings(threads=None) trains with: the cores no other job is using.

    min(AUTO_MAX_THREADS, available cores), lowered to the spare cores when the 1-minute load
    average (`load`, default os.getloadavg()) shows other work: spare = cores - (load - 1), the 1
    being this process. On a busy 2-core machine 2 threads trained 2-4x slower than 1 (OpenMP
    threads wait for each other behind the other jobs), on an idle one ~1.2x faster.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    most = max(1, min(AUTO_MAX_THREADS, cores))
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average on this platform: assume idle
            load = 0.0
    spare = cores - max(float(load) - 1.0, 0.0)
    return int(max(1, min(most, math.floor(spare + 0.25))))


@dataclass(frozen=True)
class TrainSettings:
    """How to train.

    Attributes:
        steps: number of full-batch optimiser steps (>= 1).
        lr: learning rate.
        optimizer: "adam" (torch.optim.Adam, default betas) or "sgd".
        threads: torch intra-op threads for the run; None picks auto_threads() (min(2, available
            cores)). torch's own setting is restored after the run.
    """

    steps: int = 1000
    lr: float = 1e-3
    optimizer: str = "adam"
    threads: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        as_scalar(self.lr, "lr", positive=True)
        choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.threads is not None and (int(self.threads) != self.threads or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")


@dataclass(frozen=True, eq=False)
class TrainRecord:
    """Per-step, per-task training metrics of a batch of seeds.

    Attributes:
        loss: shape (n_seeds, steps + 1, n_tasks), each task's mean squared error over the
            samples labelled for it, before step 0 update and after every update (float64).
        accuracy: same shape, fraction of labelled samples whose output has the label's sign
            (meaningful for +-1 targets; NaN for regression tasks).
        seeds: the seeds, in batch order.
        wall_seconds: wall-clock time of the training loop (including test evaluation).
        test_loss, test_accuracy: like loss and accuracy, on held-out samples (NaN without a
            test set).
        threads: the torch intra-op thread count the run trained with.
    """

    loss: np.ndarray
    accuracy: np.ndarray
    seeds: tuple[int, ...]
    wall_seconds: float
    test_loss: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None
    threads: int | None = None

    @property
    def steps(self) -> np.ndarray:
        """Step index of each record row, 0..steps, shape (steps + 1,)."""
        return np.arange(self.loss.shape[1], dtype=np.float64)


#: Largest batch of hidden activations (replicas x samples x width, float32 elements) trained as
#: one group. Measured on 2 cores: 5 seeds x 1000 samples x 50 units (250k) batch 1.6x faster than
#: sequential runs, 5 x 6000 x 50 (1.5M, 6 MB) 1.35x SLOWER, as the activations fall out of cache;
#: above this budget the seeds are split into groups trained one after another.
GROUP_ELEMENTS = 300_000


def seed_groups(n_seeds: int, elements_per_seed: int, budget: int | None = None) -> list[slice]:
    """Consecutive slices of range(n_seeds), each holding max(1, budget // elements_per_seed) seeds.

    budget defaults to GROUP_ELEMENTS (read at call time).
    """
    budget = GROUP_ELEMENTS if budget is None else budget
    size = max(1, int(budget) // max(1, int(elements_per_seed)))
    return [slice(i, min(i + size, n_seeds)) for i in range(0, n_seeds, size)]


def concat_records(records: Sequence[TrainRecord]) -> TrainRecord:
    """Join the records of seed groups along the seed axis (wall times add up)."""
    if len(records) == 1:
        return records[0]

    def cat(name: str):
        parts = [getattr(r, name) for r in records]
        return None if any(p is None for p in parts) else np.concatenate(parts, axis=0)

    threads = {r.threads for r in records}
    return TrainRecord(
        cat("loss"),
        cat("accuracy"),
        tuple(s for r in records for s in r.seeds),
        float(sum(r.wall_seconds for r in records)),
        cat("test_loss"),
        cat("test_accuracy"),
        threads.pop() if len(threads) == 1 else None,
    )


def seed_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One CPU torch.Generator per seed, seeded with the seed."""
    gens = []
    for s in seeds:
        if isinstance(s, bool) or int(s) != s or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        g = torch.Generator()
        g.manual_seed(int(s))
        gens.append(g)
    return gens


def init_mlp(widths: Sequence[int], generators: Sequence[torch.Generator], copies: int = 1) -> list[torch.Tensor]:
    """Initial weights of len(generators) * copies MLPs with layer widths `widths`.

    PyTorch's nn.Linear default: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Replica
    s * copies + m is copy m (e.g. a module) of seed s, drawn from generators[s].

    Returns [W_1, b_1, W_2, b_2, ...] with W_l of shape (B, fan_in, fan_out), b_l of shape
    (B, 1, fan_out), B = len(generators) * copies, float32.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must list at least input and output sizes, all positive, got {widths}")
    per_seed: list[list[torch.Tensor]] = []
    for g in generators:
        tensors = []
        for _ in range(copies):
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                bound = 1.0 / math.sqrt(fan_in)
                w = (torch.rand(fan_in, fan_out, generator=g, dtype=torch.float32) * 2 - 1) * bound
                b = (torch.rand(1, fan_out, generator=g, dtype=torch.float32) * 2 - 1) * bound
                tensors.extend([w, b])
        per_seed.append(tensors)
    n_layers = len(widths) - 1
    params = []
    for j in range(2 * n_layers):
        stacked = torch.stack(
            [per_seed[s][m * 2 * n_layers + j] for s in range(len(generators)) for m in range(copies)]
        )
        params.append(stacked.requires_grad_(True))
    return params


def mlp_forward(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """ReLU MLP on a batch of replicas: x (B, N, fan_in) -> (B, N, fan_out)."""
    h = x
    n_layers = len(params) // 2
    for layer in range(n_layers):
        w, b = params[2 * layer], params[2 * layer + 1]
        h = torch.baddbmm(b, h, w)
        if layer < n_layers - 1:
            h = torch.relu(h)
    return h


def train(
    params: list[torch.Tensor],
    predict: Callable[[list[torch.Tensor]], torch.Tensor],
    targets: torch.Tensor,
    weights: torch.Tensor,
    settings: TrainSettings,
    *,
    seeds: Sequence[int],
    classification: bool = True,
    progress: bool = False,
    desc: str = "train",
    test: tuple[Callable[[list[torch.Tensor]], torch.Tensor], torch.Tensor] | None = None,
) -> TrainRecord:
    """Full-batch training of a batch of seeds on a weighted multi-task squared error.

    Replica s minimises L_s = (1/N) sum_i sum_k w[s,i,k] (f[s,i,k] - y[s,i,k])^2, where w holds
    each sample's task weight (0 when the sample carries no label for task k, the task's
    frequency otherwise). The optimiser minimises sum_s L_s, which gives each seed its own
    gradient.

    Args:
        params: the trainable tensors (leading replica dimension), updated in place.
        predict: params -> outputs f, shape (n_seeds, N, n_tasks).
        targets: y, shape (n_seeds, N, n_tasks), float32 (+-1 for classification).
        weights: w, shape (n_seeds, N, n_tasks), non-negative float32.
        settings: steps, learning rate, optimiser, threads.
        seeds: the seeds, recorded in the result.
        classification: record sign accuracy per task (else NaN).
        progress: show a tqdm bar.
        test: optional (predict_test, test_targets): held-out inputs' outputs (n_seeds, M, n_tasks)
            and their targets, every sample labelled for every task; recorded every step in
            test_loss / test_accuracy.
    """
    if targets.shape != weights.shape or targets.ndim != 3:
        raise ValueError(
            f"targets and weights must share shape (n_seeds, N, n_tasks); got "
            f"{tuple(targets.shape)} and {tuple(weights.shape)}"
        )
    if len(seeds) != targets.shape[0]:
        raise ValueError(f"seeds must have {targets.shape[0]} entries (one per replica), got {len(seeds)}")
    import time

    from tqdm.auto import tqdm

    old_threads = torch.get_num_threads()
    threads = auto_threads() if settings.threads is None else int(settings.threads)
    torch.set_num_threads(threads)
    try:
        opt_name = choice(settings.optimizer, "optimizer", OPTIMIZERS)
        if opt_name == "adam":
            opt = torch.optim.Adam(params, lr=settings.lr)
        else:
            opt = torch.optim.SGD(params, lr=settings.lr)
        labelled = (weights > 0).to(torch.float32)
        counts = labelled.sum(dim=1).clamp_min(1.0)  # (S, K)
        n = targets.shape[1]
        steps = int(settings.steps)
        loss_rec = torch.empty(len(seeds), steps + 1, targets.shape[2], dtype=torch.float64)
        acc_rec = torch.full_like(loss_rec, float("nan"))
        test_loss = torch.full_like(loss_rec, float("nan"))
        test_acc = torch.full_like(loss_rec, float("nan"))
        t0 = time.perf_counter()
        bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
        for step in range(steps + 1):
            out = predict(params)
            sq = (out - targets) ** 2
            with torch.no_grad():
                loss_rec[:, step] = ((sq * labelled).sum(dim=1) / counts).double()
                if classification:
                    right = ((out * targets) > 0).to(torch.float32)
                    acc_rec[:, step] = ((right * labelled).sum(dim=1) / counts).double()
                if test is not None:
                    out_test = test[0](params)
                    test_loss[:, step] = ((out_test - test[1]) ** 2).mean(dim=1).double()
                    if classification:
                        test_acc[:, step] = ((out_test * test[1]) > 0).to(torch.float64).mean(dim=1)
            if step == steps:
                break
            total = (sq * weights).sum() / n
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            bar.update(1)
        bar.close()
        wall = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)
    return TrainRecord(
        loss_rec.numpy(),
        acc_rec.numpy(),
        tuple(int(s) for s in seeds),
        wall,
        test_loss.numpy(),
        test_acc.numpy(),
        threads,
    )
