"""Multitask sparse parity data and the batched [n_bits, hidden, n_tasks] MLP that learns it.

How the task is posed (our choice, kept close to the paper's multitask sparse parity):

* Each sample is n_bits random bits x_i in {-1, +1} (uniform, independent).
* Task k is the parity (XOR) of a fixed subset of the bits; its target is +1 when the XOR is 1
  and -1 otherwise, i.e. y = -(-1)^|S_k| prod_{i in S_k} x_i (bit 1 is encoded as +1).
* The MLP has one output per task ([n_bits, hidden, n_tasks], so [32, 50, 2] for two tasks) and
  is trained with the squared error on +-1 targets, so each task's loss starts near 1 like the
  Resource model's l_k(0) = 1. Instead of one-hot control bits, the task is identified by the
  output head: a sample "is a task-k sample" when it carries task k's label.
* Frequency: the first task is labelled on every training sample, task k on a random subset of
  round(p_k * train_size) samples, so p_k is the number of task-k samples relative to task 1 and
  task k enters the full-batch loss with weight p_k (the Resource model's L = sum_k p_k l_k).
* The dataset is a fixed sample per seed: torch.Generator(seed) draws, in order, the train_size
  training inputs, the test_size held-out inputs, one permutation of the training samples per
  task (whose prefix is the labelled subset), then the network's initial weights. The same
  seed therefore gives the same inputs and initial weights for every frequency setting.
* Learned means generalised: accuracy and loss are measured every step on the held-out inputs
  (labelled for every task) as well as on the training labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._train import (
    TrainRecord,
    TrainSettings,
    concat_records,
    init_mlp,
    mlp_forward,
    seed_generators,
    seed_groups,
    train,
)


@dataclass(frozen=True)
class ParityTask:
    """One sparse-parity task: the XOR of `bits` (0-based indices), labelled on a fraction `frequency`."""

    bits: tuple[int, ...]
    frequency: float = 1.0
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or "^".join(f"x{b + 1}" for b in self.bits)


@dataclass(frozen=True, eq=False)
class ParityData:
    """Batched datasets of n_seeds seeds (float32 tensors).

    Attributes:
        x_train: (n_seeds, train_size, n_bits); y_train, w_train: (n_seeds, train_size, n_tasks),
            targets +-1 and task weights (1 where labelled, else 0).
        x_test: (n_seeds, test_size, n_bits); y_test: (n_seeds, test_size, n_tasks).
        generators: the per-seed generators, positioned to draw initial weights next.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    w_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    generators: list


def _targets(x: torch.Tensor, tasks: Sequence[ParityTask]) -> torch.Tensor:
    # bit 1 <-> +1: prod(x) = (-1)^(#zeros), so XOR = 1 <-> -(-1)^k prod(x) = +1 for k bits
    return torch.stack([-((-1.0) ** len(t.bits)) * torch.prod(x[:, list(t.bits)], dim=1) for t in tasks], dim=1)


def make_parity_data(
    tasks: Sequence[ParityTask], seeds: Sequence[int], n_bits: int, train_size: int, test_size: int
) -> ParityData:
    """Draw each seed's training and test sets (see the module docstring for the order of draws)."""
    for t in tasks:
        if not t.bits or min(t.bits) < 0 or max(t.bits) >= n_bits:
            raise ValueError(f"task {t.label}: bits must be indices in 0..{n_bits - 1}")
        if not 0 < t.frequency <= 1:
            raise ValueError(f"task {t.label}: frequency must be in (0, 1], got {t.frequency}")
        if round(t.frequency * train_size) < 1:
            raise ValueError(f"task {t.label}: frequency {t.frequency} labels no sample of train_size {train_size}")
    gens = seed_generators(seeds)
    xs, ys, ws, xts, yts = [], [], [], [], []
    for g in gens:
        x = torch.randint(0, 2, (train_size, n_bits), generator=g).to(torch.float32) * 2 - 1
        xt = torch.randint(0, 2, (test_size, n_bits), generator=g).to(torch.float32) * 2 - 1
        w = torch.zeros(train_size, len(tasks))
        for k, t in enumerate(tasks):
            perm = torch.randperm(train_size, generator=g)
            w[perm[: round(t.frequency * train_size)], k] = 1.0
        xs.append(x)
        ys.append(_targets(x, tasks))
        ws.append(w)
        xts.append(xt)
        yts.append(_targets(xt, tasks))
    return ParityData(torch.stack(xs), torch.stack(ys), torch.stack(ws), torch.stack(xts), torch.stack(yts), gens)


def train_parity(
    tasks: Sequence[ParityTask],
    seeds: Sequence[int],
    *,
    n_bits: int,
    hidden: int,
    train_size: int,
    test_size: int,
    settings: TrainSettings,
    progress: bool = False,
    desc: str = "parity",
) -> TrainRecord:
    """Train one [n_bits, hidden, n_tasks] ReLU MLP per seed, all seeds batched, on the tasks.

    Returns the per-step train and test loss and accuracy, each (n_seeds, steps + 1, n_tasks).
    Seeds are batched in groups of at most GROUP_ELEMENTS hidden activations (see _train); a
    seed's run is the same whichever group it lands in.
    """
    seeds = list(seeds)
    records = []
    for group in seed_groups(len(seeds), train_size * hidden):
        chunk = seeds[group]
        data = make_parity_data(tasks, chunk, n_bits, train_size, test_size)
        params = init_mlp([n_bits, hidden, len(tasks)], data.generators)
        records.append(
            train(
                params,
                lambda p, d=data: mlp_forward(p, d.x_train),
                data.y_train,
                data.w_train,
                settings,
                seeds=chunk,
                progress=progress,
                desc=desc,
                test=(lambda p, d=data: mlp_forward(p, d.x_test), data.y_test),
            )
        )
    return concat_records(records)


def mean_curves(
    record: TrainRecord, names: Sequence[str], frequencies: Sequence[float], metadata: dict, *, split: str = "test"
):
    """Seed-averaged per-task loss as SkillCurves (split "test" or "train")."""
    import skillode as sk

    loss = record.test_loss if split == "test" else record.loss
    return sk.SkillCurves(record.steps, np.mean(loss, axis=0), tuple(names), np.asarray(frequencies), metadata)
