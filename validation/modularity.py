"""Experiment 3: modularity and loss reweighting on a frequent and a rare task (the paper's Fig 19).

The default setup, "paper", is that of the paper's notebook scripts/Fig19_modularity.ipynb
(KindXiaoming/physics_of_skill_learning), followed exactly:

* Data: 1000 points x = torch.rand(1000, 2) * 2 - 1 (float32, as the notebook). int(1000 * (1 - 0.01))
  = 990 of them, numpy's legacy choice(1000, 990, replace=False), are task 1: x2 is set to 0 and the
  target is x1^2 on output 0; the other 10 are task 2: x1 is set to 0, target x2^2 on output 1. The
  target is x**2 on both outputs and a mask keeps output 0 of the task-1 points and output 1 of the
  task-2 points (the other outputs are masked out).
* Networks: non-modular, an MLP [2, 100, 100, 2] with SiLU between the layers and nn.Linear's
  initialisation; modular, the same three layers with their weights multiplied by block-diagonal
  masks (the notebook's Linear_Mask: input i reaches only hidden units 50 i .. 50 i + 49 of both
  hidden layers, and those reach only output i), drawn as the full nn.Linear layers (bounds
  1/sqrt(2), 1/10, 1/10) and then masked. Here the modular net runs as its two towers
  [1, 50, 50, 1], the diagonal blocks: the same function and the same gradients (a masked-out
  weight has gradient 0, so Adam never moves it, and it never reaches an output).
* Training: full batch, torch.optim.Adam, lr 5e-4, 1000 steps, on mean((f - y)^2 * mask) over all
  1000 x 2 entries. Reweighted (the loss of the notebook's first cell): the non-modular net trained
  on mean(l * w) with w = l.detach() / mean(l.detach()), l = (f - y)^2 * mask entry by entry.
* Measurement: task i's MSE over its own points on its own output, mean((f - y)[task_i, i]^2), before
  each update (steps 0..999); t_i = the first step with MSE < 1e-3, and 1000 (the notebook's "never")
  when there is none. Reported per condition: t1, t2, the per-run t2/t1 and max(t1, t2), the time
  until both tasks are learned (medians, 10-90% spread, bootstrap intervals of the median).
* Draws (draws="notebook", the default): the notebook's own random streams. It seeds torch and numpy
  once (seed 1), makes its first cell's run, then 100 modular runs, then the 100 non-modular runs
  whose log it prints; each run draws its three nn.Linear layers (weight by kaiming_uniform_(a =
  sqrt 5), then bias), then x, then the task split. Run i of a condition is replayed from that
  stream: modular run i is draw 1 + i, non-modular run i draw 101 + i (the offset found by matching
  the log's step-0 losses; all 100 runs match). The reweighted runs reuse the non-modular draws, so
  reweighting is compared with the same data and initial weights, run by run. draws="seed": seed s
  draws as the notebook's first cell does with seed = s (torch.manual_seed(s), np.random.seed(s)),
  the same for all three conditions; the first cell's run is seed 1.

The paper's numbers: the notebook prints t1 and t2 of its 100 non-modular runs (PAPER_NONMODULAR_T1,
_T2, beside their step-0 losses), and its first cell's log of the reweighted seed-1 run at steps
0, 100, 200 and 300 (PAPER_CELL1_LOG); the modular runs appear only in its figure (t1 of about 200
to 390, t2 of about 200 to 680, most points near t2 = t1, read off the plot). The paper's claim: the
non-modular net learns the rare task well after the frequent one (t2 >= 2 t1, the Domino effect),
the modular one learns both together (t2 ~ t1), so the rare task is learned sooner; reweighting the
loss by the examples' own losses speeds the rare task up too.

Deviations from the notebook, by name: the modular net as two towers (above); the seeds trained
in batches with a hand-written backward whose square products go through torch's oneDNN linear
where it runs (BatchedMLP: the same function and gradient in exact arithmetic, rounded
differently; measured, the 100 non-modular runs still give the notebook's printed t1 and t2 to the
step); the reweighted condition over 100 runs, where the notebook made one (its first cell, seed 1,
logged to step 300).

The second setup, "weighted_tasks" (WEIGHTED_TASKS, WEIGHTED_TASKS_QUICK), is this package's earlier
variant, kept under its own name: both inputs x ~ U(-1, 1)^2 for every sample (no zeroed
coordinate, every sample labelled for both tasks), frequency entering as task weights 0.99 / 0.01 of
the loss, ReLU, held-out loss, learned = held-out loss at `loss_fraction` of its initial value, and
"reweighted" = task weights proportional to p_k^reweight_alpha (not loss-proportional example
weights); its modular net draws [1, 50, 50, 1] towers with their own fan-in bounds. It compares
with the Domino and Resource models (see _run_weighted_tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import skillode as sk
from skillode._checks import choice

from ._common import (
    ExperimentResult,
    TimesCase,
    bootstrap_ci,
    check_positive_int,
    check_seeds,
    environment,
    finite_mean,
    first_step_relative,
    fmt,
    model_times_or_nan,
    paired_ratio,
    try_fit_resource_times,
)
from ._execution import current_execution, execution, map_tasks, one_thread_in_workers
from ._train import (
    ACTIVATIONS,
    TrainRecord,
    TrainSettings,
    auto_threads,
    check_device,
    concat_records,
    init_mlp,
    mlp_forward,
    resolve_device,
    seed_generators,
    seed_groups,
    to_device,
    train,
)

NAME = "modularity"
SETUPS = ("paper", "weighted_tasks")
DRAWS = ("notebook", "seed")
CONDITIONS = ("nonmodular", "modular", "reweighted")
TASK_NAMES = ("x1^2 (task 1, frequent)", "x2^2 (task 2, rare)")
WEIGHTED_TASK_NAMES = ("x_a^2 (frequent)", "x_b^2 (rare)")

NOTEBOOK = "scripts/Fig19_modularity.ipynb of github.com/KindXiaoming/physics_of_skill_learning"
#: The notebook's torch.manual_seed / np.random.seed, set once before its first cell's run.
NOTEBOOK_SEED = 1
#: Runs per condition in the notebook's stream (its loop runs seeds 0..99).
NOTEBOOK_RUNS = 100
#: Index, in the notebook's stream of draws, of each condition's run 0 (draw 0: the first cell's run).
NOTEBOOK_FIRST_DRAW = {"modular": 1, "nonmodular": 101, "reweighted": 101}

#: Largest batch of hidden activations (replicas x points x width) trained as one group: 50 runs of
#: the paper's net. Measured with benchmarks/bench_modularity.py on 2 cores (200 steps, 50 runs): 2
#: threads, groups of 50 about 10-40% faster than groups of 10 or 25; 1 thread, no clear difference;
#: 2 single-thread processes (_auto_processes), 100 runs: groups of 50, 25, 10 took 71.8, 71.6, 72.4 s.
GROUP_ELEMENTS = 5_000_000

# fmt: off
#: t1_step printed by the notebook's non-modular loop (runs 0..99 of its third code cell, In [11]).
PAPER_NONMODULAR_T1 = (
    151, 152, 133, 157, 153, 138, 178, 127, 165, 164, 149, 137, 158, 148, 159, 138, 126, 181, 117, 167,
    156, 162, 140, 147, 181, 174, 150, 157, 175, 147, 145, 139, 189, 203, 157, 164, 145, 138, 130, 163,
    182, 188, 137, 145, 157, 161, 136, 176, 157, 161, 147, 177, 141, 137, 147, 163, 120, 168, 128, 167,
    199, 158, 131, 171, 158, 132, 147, 157, 165, 152, 155, 173, 170, 150, 137, 136, 154, 125, 167, 149,
    144, 151, 177, 156, 154, 132, 165, 170, 115, 124, 155, 150, 175, 158, 174, 153, 155, 164, 190, 190,
)
#: t2_step printed by the same log (1000: never below the threshold in 1000 steps).
PAPER_NONMODULAR_T2 = (
    545, 414, 492, 397, 388, 402, 409, 443, 434, 390, 841, 512, 398, 477, 378, 543, 432, 1000, 320, 407,
    741, 547, 378, 467, 456, 432, 516, 355, 402, 611, 848, 375, 334, 544, 482, 543, 516, 459, 411, 578,
    470, 430, 388, 388, 417, 460, 388, 684, 832, 411, 491, 419, 447, 608, 416, 482, 287, 623, 388, 465,
    348, 352, 517, 393, 377, 400, 472, 593, 602, 459, 505, 528, 502, 529, 376, 341, 362, 310, 538, 550,
    545, 485, 486, 394, 441, 381, 620, 441, 440, 400, 595, 404, 353, 357, 565, 478, 457, 584, 947, 477,
)
#: (task 1, task 2) MSE the same log prints at step 0 (3 significant digits): a run's data and initial
#: weights, before any update.
PAPER_NONMODULAR_STEP0 = (
    (2.54e-01, 2.97e-01), (2.30e-01, 2.99e-01), (1.29e-01, 2.29e-01), (1.87e-01, 2.97e-01), (1.64e-01, 1.13e-01),
    (1.59e-01, 1.46e-01), (2.75e-01, 3.26e-01), (1.46e-01, 1.10e-01), (2.05e-01, 3.03e-01), (1.97e-01, 1.54e-01),
    (1.99e-01, 3.57e-01), (1.55e-01, 3.73e-01), (1.57e-01, 1.84e-01), (1.98e-01, 1.47e-01), (2.24e-01, 2.22e-01),
    (1.55e-01, 2.00e-01), (1.52e-01, 1.32e-01), (2.60e-01, 2.14e-01), (1.19e-01, 2.17e-01), (2.67e-01, 1.07e-01),
    (2.09e-01, 1.90e-01), (2.92e-01, 2.15e-01), (1.97e-01, 1.03e-01), (1.53e-01, 1.61e-01), (2.72e-01, 2.93e-01),
    (2.82e-01, 2.53e-01), (1.63e-01, 2.02e-01), (2.09e-01, 1.77e-01), (2.07e-01, 2.70e-01), (1.76e-01, 1.24e-01),
    (1.61e-01, 3.44e-01), (1.50e-01, 2.75e-01), (2.78e-01, 2.07e-01), (2.91e-01, 1.56e-01), (2.26e-01, 2.25e-01),
    (2.31e-01, 1.05e-01), (1.93e-01, 1.45e-01), (1.47e-01, 5.81e-01), (1.47e-01, 8.96e-02), (1.70e-01, 1.36e-01),
    (3.10e-01, 1.53e-01), (2.55e-01, 2.27e-01), (1.66e-01, 2.69e-01), (1.75e-01, 4.61e-02), (2.34e-01, 6.17e-02),
    (2.45e-01, 3.59e-01), (1.79e-01, 3.49e-01), (3.07e-01, 1.05e-01), (2.70e-01, 1.92e-01), (2.22e-01, 2.48e-01),
    (1.74e-01, 5.32e-01), (2.78e-01, 1.89e-01), (1.64e-01, 2.32e-01), (1.65e-01, 2.77e-01), (1.71e-01, 1.43e-01),
    (2.16e-01, 3.75e-01), (1.48e-01, 4.20e-02), (2.18e-01, 2.71e-01), (1.57e-01, 1.14e-01), (2.66e-01, 1.08e-01),
    (3.31e-01, 1.28e-01), (1.82e-01, 2.61e-01), (1.21e-01, 1.67e-01), (2.11e-01, 1.74e-01), (1.70e-01, 1.88e-01),
    (1.58e-01, 1.62e-01), (2.23e-01, 2.84e-01), (2.32e-01, 2.19e-01), (2.27e-01, 1.40e-01), (2.16e-01, 3.87e-01),
    (1.80e-01, 1.15e-01), (3.07e-01, 1.52e-01), (3.17e-01, 8.84e-02), (1.85e-01, 4.59e-01), (1.72e-01, 3.24e-01),
    (1.73e-01, 1.57e-01), (2.61e-01, 9.62e-02), (1.22e-01, 1.10e-01), (2.36e-01, 1.71e-01), (2.12e-01, 1.48e-01),
    (2.10e-01, 1.52e-01), (2.11e-01, 6.85e-02), (2.57e-01, 1.32e-01), (2.32e-01, 1.40e-01), (2.16e-01, 2.41e-01),
    (1.59e-01, 4.10e-02), (2.35e-01, 2.34e-01), (2.01e-01, 1.48e-01), (1.26e-01, 3.22e-01), (1.45e-01, 1.92e-01),
    (2.72e-01, 2.25e-01), (1.78e-01, 4.70e-02), (1.82e-01, 2.11e-01), (2.00e-01, 3.05e-01), (2.81e-01, 3.33e-01),
    (1.71e-01, 1.62e-01), (2.17e-01, 2.54e-01), (2.40e-01, 2.56e-01), (2.58e-01, 5.66e-02), (2.75e-01, 2.30e-01),
)
# fmt: on

#: The notebook's first cell (seed 1, the non-modular net, the reweighted loss): (task 1, task 2) MSE
#: its log prints at these steps; the log stops after step 300.
PAPER_CELL1_LOG = {0: (0.246, 0.220), 100: (0.0614, 0.0936), 200: (7.11e-4, 0.0453), 300: (8.59e-5, 1.07e-4)}
#: The modular runs as the notebook's figure shows them (no numbers are printed).
PAPER_MODULAR_FIGURE = (
    "figure only: t1 about 200-390, t2 about 200-680, most runs near t2 = t1 (read off the scatter plot)"
)


@dataclass(frozen=True)
class ModularityConfig:
    """Non-modular vs block-modular MLPs, and loss reweighting, on a frequent and a rare task.

    Attributes:
        setup: "paper" (the default, the notebook's Fig 19 setup, see the module docstring) or
            "weighted_tasks" (the earlier variant; WEIGHTED_TASKS holds its own defaults).
        draws: "paper" setup: "notebook" (replay the notebook's random streams; seeds are its run
            indices 0..99) or "seed" (seed s draws as the notebook's first cell with seed = s).
        frequencies: (p1, p2). "paper": task 2 gets the share p2 / (p1 + p2) of the points
            (int(n_points * (1 - share)) task-1 points, as the notebook); "weighted_tasks": the
            tasks' loss weights.
        n_points: "paper": points per run (the notebook: 1000).
        hidden: width of each hidden layer of the non-modular MLP [2, hidden, hidden, 2]; each
            tower of the modular one is [1, hidden/2, hidden/2, 1] (hidden must be even).
        activation: between layers, one of validation._train.ACTIVATIONS (the notebook: "silu").
        seeds: the runs, all batched (in groups of GROUP_ELEMENTS activations).
        steps, lr: full-batch Adam updates and learning rate (the notebook: 1000, 5e-4).
        threshold: "paper": task i is learned at the first step its MSE is below this (1e-3).
        train_size, test_size, loss_fraction, reweight_alpha: "weighted_tasks" only: samples per
            seed, learned = held-out loss at loss_fraction of its initial value, reweighted task
            weights p_k^reweight_alpha (normalised; 0: equal).
        threads: torch threads (None: automatic, see validation._train.auto_threads).
        device: "cpu" (default), "cuda" or "auto" (CUDA where torch has it): where the networks train ("paper" setup;
            "weighted_tasks" trains on the CPU);
            data and initial weights are drawn on the CPU either way (validation._train.resolve_device).
    """

    setup: str = "paper"
    draws: str = "notebook"
    frequencies: tuple[float, float] = (0.99, 0.01)
    n_points: int = 1000
    hidden: int = 100
    activation: str = "silu"
    seeds: tuple[int, ...] = tuple(range(100))
    steps: int = 1000
    lr: float = 5e-4
    threshold: float = 1e-3
    train_size: int = 128
    test_size: int = 128
    loss_fraction: float = 0.01
    reweight_alpha: float = 0.0
    threads: int | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_device(self.device)
        if self.setup != "paper" and self.device != "cpu":
            raise ValueError(f"device {self.device!r}: the 'weighted_tasks' setup trains on the CPU only")
        choice(self.setup, "setup", SETUPS)
        choice(self.draws, "draws", DRAWS)
        choice(self.activation, "activation", ACTIVATIONS)
        if len(self.frequencies) != 2 or any(not p > 0 for p in self.frequencies):
            raise ValueError(f"frequencies must be two positive numbers, got {self.frequencies!r}")
        check_positive_int(self.hidden, "hidden")
        if self.hidden % 2:
            raise ValueError(f"hidden must be even (split into two modules), got {self.hidden}")
        seeds = check_seeds(self.seeds)
        TrainSettings(self.steps, self.lr, "adam", self.threads)
        if self.setup == "paper":
            check_positive_int(self.n_points, "n_points")
            if min(self.task_counts()) < 1:
                raise ValueError(f"n_points: {self.n_points} points leave a task without points")
            if not self.threshold > 0:
                raise ValueError(f"threshold must be positive, got {self.threshold}")
            if self.draws == "notebook" and max(seeds) >= NOTEBOOK_RUNS:
                raise ValueError(f"seeds: the notebook's stream has runs 0..{NOTEBOOK_RUNS - 1}; got {max(seeds)}")
        else:
            if not 0 <= self.reweight_alpha < 1:
                raise ValueError(f"reweight_alpha must be in [0, 1) (1 would not reweight), got {self.reweight_alpha}")
            check_positive_int(self.train_size, "train_size")
            check_positive_int(self.test_size, "test_size")
            if not 0 < self.loss_fraction < 1:
                raise ValueError(f"loss_fraction must be in (0, 1), got {self.loss_fraction}")

    def task_counts(self) -> tuple[int, int]:
        """ "paper": (task-1 points, task-2 points), as the notebook: int(n (1 - fraction)) and the rest."""
        p1, p2 = (float(p) for p in self.frequencies)
        n1 = int(self.n_points * (1 - p2 / (p1 + p2)))
        return n1, int(self.n_points) - n1

    def weights(self, condition: str) -> tuple[float, float]:
        """ "weighted_tasks": the task weights of the loss in a condition (they sum to 1)."""
        p = np.asarray(self.frequencies, dtype=np.float64)
        w = p**self.reweight_alpha if condition == "reweighted" else p
        w = w / w.sum()
        return float(w[0]), float(w[1])

    def matches_notebook(self) -> bool:
        """Whether this is the notebook's setup (its data, network, training and threshold), so that
        the notebook's numbers apply; with draws="notebook" its runs apply one by one."""
        return (
            self.setup == "paper"
            and tuple(float(p) for p in self.frequencies) == (0.99, 0.01)
            and (self.n_points, self.hidden, self.activation, self.steps) == (1000, 100, "silu", 1000)
            and (float(self.lr), float(self.threshold)) == (5e-4, 1e-3)
        )


#: CI-sized: 4 of the notebook's runs per condition (about 20 s on 2 busy cores); too few runs for a
#: verdict on the claim, enough to check them against the notebook's log.
QUICK = ModularityConfig(seeds=tuple(range(4)))
#: The earlier variant (see the module docstring), with the defaults it had.
WEIGHTED_TASKS = ModularityConfig(setup="weighted_tasks", activation="relu", steps=1500, lr=1e-3)
WEIGHTED_TASKS_QUICK = replace(WEIGHTED_TASKS, seeds=tuple(range(20)), steps=1000)


# ------------------------------------------------------------------------------ the batched network
_SMALL = 4  # a layer with at most this many inputs (outputs) is computed by broadcasting (transposed)
_onednn_state: list[bool] = []  # [whether oneDNN's linear is usable], decided on first use


def onednn_available() -> bool:
    """Whether torch's oneDNN linear (torch.ops.mkldnn._linear_pointwise, float32) runs here and agrees
    with torch.mm to float32 rounding; checked once. BatchedMLP then uses it for the square products.

    Why: on this project's AMD CPUs torch's BLAS (MKL) multiplies float32 at about half the rate of
    oneDNN's kernels (measured, one thread, 1000 x 100 @ 100 x 100: ~80 against ~160 GFLOP/s).
    The op is internal to torch (its inductor calls it); where it is missing or fails, BatchedMLP
    falls back to torch.bmm.
    """
    if not _onednn_state:
        ok = False
        try:
            op = torch.ops.mkldnn._linear_pointwise
            gen = torch.Generator().manual_seed(0)
            a, w, b = (torch.rand(shape, generator=gen) for shape in ((33, 17), (19, 17), (19,)))
            ok = bool(torch.backends.mkldnn.is_available()) and torch.allclose(
                op(a, w.t().contiguous().t(), b, "none", [], ""), torch.addmm(b, a, w.t()), rtol=1e-5, atol=1e-6
            )
        except (AttributeError, RuntimeError, NotImplementedError, TypeError):
            ok = False
        _onednn_state.append(ok)
    return _onednn_state[0]


def _onednn(a: torch.Tensor) -> bool:
    return a.dtype == torch.float32 and a.device.type == "cpu" and onednn_available()


def _product_t(a: torch.Tensor, w_t: torch.Tensor, b: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
    """out[s] = a[s] @ w_t[s]^T (+ b[s]) for every replica s, by oneDNN's linear, one replica a call."""
    op = torch.ops.mkldnn._linear_pointwise
    bias = [None] * a.shape[0] if b is None else [b[s, 0] for s in range(a.shape[0])]
    return torch.stack([op(a[s], w_t[s], bias[s], "none", [], "") for s in range(a.shape[0])], out=out)


def _linear(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    """a (B, N, fi) @ w (B, fi, fo) + b (B, 1, fo), by the fastest of four equal forms (measured on 2 cores)."""
    fi, fo = w.shape[1], w.shape[2]
    if fi <= _SMALL:  # a few inputs: sum_j a_j w_j, broadcast (a skinny bmm is several times slower)
        h = torch.addcmul(b, a[..., 0:1], w[:, 0:1, :], out=out) if out is not None else b + a[..., 0:1] * w[:, 0:1]
        for j in range(1, fi):
            h.addcmul_(a[..., j : j + 1], w[:, j : j + 1, :])
        return h
    if fo <= _SMALL and out is None:  # a few outputs: (w^T a^T)^T, a wide product
        return torch.baddbmm(b.transpose(1, 2), w.transpose(1, 2), a.transpose(1, 2)).transpose(1, 2)
    if out is not None and _onednn(a):
        return _product_t(a, w.transpose(1, 2), b, out)
    return torch.baddbmm(b, a, w) if out is None else torch.baddbmm(b, a, w, out=out)


def _input_grad(g: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """g (B, N, fo) @ w (B, fi, fo)^T into out (B, N, fi)."""
    if _onednn(g) and w.shape[2] > _SMALL:
        return _product_t(g, w, None, out)
    return torch.bmm(g, w.transpose(1, 2), out=out)


def _weight_grad(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """a^T g, (B, fi, fo): through (g^T a)^T when fo is small (a wide product, as in _linear); by
    oneDNN on a^T made contiguous when both are large (its transposed-input kernels are slow)."""
    if g.shape[2] <= _SMALL:
        return torch.bmm(g.transpose(1, 2), a).transpose(1, 2).contiguous()
    if a.shape[2] > _SMALL and _onednn(a):
        op = torch.ops.mkldnn._linear_pointwise
        return torch.stack([op(a[s].t().contiguous(), g[s].t(), None, "none", [], "") for s in range(a.shape[0])])
    return torch.bmm(a.transpose(1, 2), g)


def _act_forward(name: str, z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    if name == "silu":
        return torch.ops.aten.silu.out(z, out=out)
    if name == "relu":
        return torch.clamp_min(z, 0.0, out=out)
    return torch.tanh(z, out=out)


def _act_backward(name: str, g: torch.Tensor, z: torch.Tensor, a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """dL/dz from dL/da = g, z the pre-activation and a = act(z), written into out."""
    if name == "silu":
        return torch.ops.aten.silu_backward.grad_input(g, z, grad_input=out)
    if name == "relu":
        return torch.ops.aten.threshold_backward.grad_input(g, z, 0.0, grad_input=out)
    return torch.ops.aten.tanh_backward.grad_input(g, a, grad_input=out)


class BatchedMLP:
    """mlp_forward(params, x, activation) on fixed inputs x, with a hand-written backward.

    The same function and gradient as validation._train.mlp_forward in exact arithmetic (the
    products are grouped differently, so rounding differs); faster on CPU for four reasons, each
    measured: the square float32 products (hidden x hidden) go through oneDNN's linear, one replica a
    call, where onednn_available() (about twice torch.bmm's rate on this project's AMD CPUs); skinny
    layers (2 inputs, 2 outputs) go through broadcasting or transposed wide products instead of skinny
    batched matmuls; the hidden activations and their gradients are written into buffers allocated
    once (fresh multi-megabyte tensors every step page-fault: ~1000 faults per step at 10 seeds, a
    quarter of the step time); and autograd records one node per call instead of one per operation.
    x needs no gradient. Call it as predict(params) in train().

    Buffers are reused from call to call: a call's saved activations are overwritten by the next
    call, so run backward (at most once) before calling it again, as train() does.
    """

    def __init__(self, x: torch.Tensor, activation: str = "relu") -> None:
        if x.ndim != 3:
            raise ValueError(f"x must have shape (replicas, N, fan_in), got {tuple(x.shape)}")
        self.x = x.detach()
        self.activation = choice(activation, "activation", ACTIVATIONS)
        self._buffers: dict[tuple, torch.Tensor] = {}

    def buffer(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        key = (name, tuple(shape), dtype)
        if key not in self._buffers:
            self._buffers[key] = torch.empty(shape, dtype=dtype)
        return self._buffers[key]

    def __call__(self, params: list[torch.Tensor]) -> torch.Tensor:
        return _MLPFunction.apply(self, *params)


class _MLPFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, net: BatchedMLP, *params: torch.Tensor) -> torch.Tensor:
        n_layers = len(params) // 2
        a = net.x
        inputs, pre = [a], []
        out = a
        for layer in range(n_layers):
            w, b = params[2 * layer], params[2 * layer + 1]
            if layer == n_layers - 1:
                out = _linear(a, w, b, None)
                break
            shape = (a.shape[0], a.shape[1], w.shape[2])
            z = _linear(a, w, b, net.buffer(f"z{layer}", shape, w.dtype))
            a = _act_forward(net.activation, z, net.buffer(f"a{layer}", shape, w.dtype))
            pre.append(z)
            inputs.append(a)
        ctx.net, ctx.inputs, ctx.pre = net, inputs, pre  # intermediates (not inputs): kept on ctx
        ctx.save_for_backward(*params)
        return out

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        params = ctx.saved_tensors
        net = ctx.net
        n_layers = len(params) // 2
        grads: list[torch.Tensor | None] = [None] * len(params)
        for layer in range(n_layers - 1, -1, -1):
            a, w = ctx.inputs[layer], params[2 * layer]
            grads[2 * layer] = _weight_grad(a, g)
            grads[2 * layer + 1] = g.sum(dim=1, keepdim=True)
            if layer == 0:
                break
            # buffers by shape: layer l's "ga" and "gz" are dead once layer l - 1 writes its own
            ga = _input_grad(g, w, net.buffer("ga", tuple(a.shape), a.dtype))
            gz = net.buffer("gz", tuple(a.shape), a.dtype)
            g = _act_backward(net.activation, ga, ctx.pre[layer - 1], a, gz)
        return (None, *grads)


def tower_params(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The two towers of the block-diagonal net: full-net weights (S, ...) of [2, H, H, 2] -> the
    diagonal blocks of [1, H/2, H/2, 1] as 2 S replicas (replica 2 s + m: tower m of seed s), new leaves.

    Tower m is input m -> hidden units m H/2 .. (m + 1) H/2 - 1 of each layer -> output m: the
    notebook's masked net (Linear_Mask with groups [1, 1] / [H/2, H/2]) restricted to its blocks.
    """
    n_layers = len(params) // 2
    half = params[0].shape[2] // 2
    out = []
    for layer in range(n_layers):
        w, b = params[2 * layer].detach(), params[2 * layer + 1].detach()
        rows = [slice(m, m + 1) if layer == 0 else slice(m * half, (m + 1) * half) for m in (0, 1)]
        cols = [slice(m, m + 1) if layer == n_layers - 1 else slice(m * half, (m + 1) * half) for m in (0, 1)]
        wt = torch.stack([w[:, rows[m], cols[m]] for m in (0, 1)], dim=1)
        bt = torch.stack([b[:, :, cols[m]] for m in (0, 1)], dim=1)
        out.append(wt.reshape(-1, *wt.shape[2:]).contiguous().requires_grad_(True))
        out.append(bt.reshape(-1, *bt.shape[2:]).contiguous().requires_grad_(True))
    return out


# ---------------------------------------------------------------------------------- the paper's data
@dataclass(frozen=True, eq=False)
class TwoTaskRuns:
    """The data and initial weights of a batch of runs of the "paper" setup.

    Attributes:
        x: inputs (S, N, 2), float32; a task-1 point has x2 = 0, a task-2 point x1 = 0.
        y: targets x**2, (S, N, 2).
        mask: (S, N, 2), 1 on output 0 of the task-1 points and output 1 of the task-2 points.
        params: the full [2, H, H, 2] net's initial weights, [W1, b1, ...] (S, fan_in, fan_out) /
            (S, 1, fan_out), leaves requiring grad (the modular net: tower_params of them).
        draws: each run's index in its random stream (the notebook's, or its seed's own: 0).
    """

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    params: list[torch.Tensor]
    draws: tuple[int, ...]


def _draw_run(
    gen: torch.Generator, rs: np.random.RandomState, widths: list[int], n_points: int, n_task1: int
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """One run's draws in the notebook's order: the nn.Linear layers, then x, then the task split."""
    params = [p.detach()[0] for p in init_mlp(widths, [gen], scheme="nn.Linear")]
    x = torch.rand(n_points, 2, generator=gen, dtype=torch.float32) * 2 - 1
    task1 = torch.zeros(n_points, dtype=torch.bool)
    task1[torch.from_numpy(rs.choice(n_points, n_task1, replace=False))] = True
    x[~task1, 0] = 0.0
    x[task1, 1] = 0.0
    mask = torch.stack([task1, ~task1], dim=1).to(torch.float32)
    return params, x, mask


def draw_runs(config: ModularityConfig, condition: str, seeds: list[int] | tuple[int, ...]) -> TwoTaskRuns:
    """Data and initial weights of `seeds` in one condition of the "paper" setup (see draws).

    A run's draws do not depend on the other seeds asked for: "notebook" replays the stream up to
    each requested run; "seed" gives each seed its own torch.Generator and numpy RandomState.
    """
    widths = [2, config.hidden, config.hidden, 2]
    n1 = config.task_counts()[0]
    if config.draws == "seed":
        pairs = list(zip(seed_generators(seeds), (np.random.RandomState(int(s)) for s in seeds)))
        runs = [_draw_run(g, rs, widths, config.n_points, n1) for g, rs in pairs]
        index = tuple(0 for _ in seeds)
    else:
        index = tuple(NOTEBOOK_FIRST_DRAW[condition] + int(s) for s in seeds)
        gen = seed_generators([NOTEBOOK_SEED])[0]
        rs = np.random.RandomState(NOTEBOOK_SEED)
        wanted: dict[int, tuple] = {}
        for j in range(max(index) + 1):
            run = _draw_run(gen, rs, widths, config.n_points, n1)
            if j in index:
                wanted[j] = run
        runs = [wanted[j] for j in index]
    x = torch.stack([r[1] for r in runs])
    params = [torch.stack([r[0][k] for r in runs]).requires_grad_(True) for k in range(len(runs[0][0]))]
    return TwoTaskRuns(x, x**2, torch.stack([r[2] for r in runs]), params, index)


def loss_weights_for(condition: str, mask: torch.Tensor) -> torch.Tensor:
    """The weights w that make train()'s loss the notebook's, for a (S, N, 2) mask with one label a row.

    train() minimises (1/N) sum_ik w_ik (f_ik - y_ik)^2 per seed; the notebook mean((f - y)^2 mask)
    over the N x 2 entries: w = mask / 2. Reweighted, train() minimises (1/N) sum_i p_i^2 /
    mean_j p_j with p_i = sum_k w_ik (f_ik - y_ik)^2 (validation._train.loss_weights, per example),
    the notebook mean_ik(l_ik^2 / mean(l)) with l = (f - y)^2 mask per entry (the mean over all N x 2
    entries, masked ones included). With one labelled entry per row, w = c mask gives p_i = c l_i, so
    train() minimises c sum_i l_i^2 / sum_i l_i and the notebook sum_i l_i^2 / sum_i l_i: w = mask.
    (Adam ignores a constant scale of the loss but for its eps; the scale is matched all the same.)
    """
    if condition == "reweighted":
        return mask.clone()
    return mask / mask.shape[2]


def learning_times(loss: np.ndarray, threshold: float, steps: int) -> np.ndarray:
    """The notebook's t_k: first step in 0..steps-1 with loss[:, step, k] < threshold, else `steps`.

    loss: (S, steps + 1, K) as TrainRecord.loss (record t: after t updates); the last record (after
    the last update) is not looked at, as the notebook never measures it. Returns (S, K) float.
    """
    hit = np.asarray(loss)[:, :steps, :] < threshold
    return np.where(hit.any(axis=1), hit.argmax(axis=1), steps).astype(np.float64)


# ------------------------------------------------------------------------------------------ training
def train_condition(config: ModularityConfig, condition: str, *, progress: bool = False) -> TrainRecord:
    """Train all seeds of one condition ("nonmodular", "modular" or "reweighted").

    Seeds are batched in groups; each seed's run does not depend on its group. "paper": the record's
    loss[:, t, k] is task k's MSE on its own points after t updates (what the notebook measures).
    """
    return train_conditions(config, (condition,), progress=progress)[condition]


def train_conditions(
    config: ModularityConfig, conditions: Sequence[str] = CONDITIONS, *, progress: bool = False
) -> dict[str, TrainRecord]:
    """train_condition for each of `conditions`, every (condition, seed group) one task of the
    current execution (validation._execution: this process by default, or workers / Dask)."""
    for condition in conditions:
        choice(condition, "condition", CONDITIONS)
    seeds = list(config.seeds)
    per_seed = config.n_points * config.hidden if config.setup == "paper" else config.train_size * config.hidden
    budget = GROUP_ELEMENTS if config.setup == "paper" else None
    groups = seed_groups(len(seeds), per_seed, budget)
    tasks = [(condition, tuple(seeds[g])) for condition in conditions for g in groups]
    jobs = _auto_processes(config, len(tasks))
    if jobs > 1:
        with execution(jobs=jobs):
            records = map_tasks(_train_group_task, tasks, (replace(config, threads=1), False), name=NAME)
    else:
        records = map_tasks(_train_group_task, tasks, (one_thread_in_workers(config), progress), name=NAME)
    return {c: concat_records([r for (cond, _), r in zip(tasks, records) if cond == c]) for c in conditions}


def _auto_processes(config: ModularityConfig, n_tasks: int) -> int:
    """Worker processes for the "paper" setup's seed groups when nothing else was asked for.

    threads=None in this process on an idle machine: one single-thread process per free core
    (auto_threads()) instead of that many torch threads in one process. The step is memory-bound,
    and a second OpenMP thread mostly waits: measured on 2 cores, the 100 non-modular runs took
    71.8 s as 2 processes x 1 thread and 93.5 s as 1 process x 2 threads (whose CPU time was 183 s,
    against 100 s for one thread alone). 1 (this process) otherwise: a thread count named, an
    execution chosen (validate --jobs / --scheduler), the weighted-tasks setup, or a single task.
    """
    if config.setup != "paper" or config.threads is not None or n_tasks < 2:
        return 1
    if not current_execution().in_process:
        return 1
    return min(auto_threads(), n_tasks)


def _train_group_task(task: tuple[str, tuple[int, ...]], config: ModularityConfig, progress: bool) -> TrainRecord:
    condition, seeds = task
    if config.setup == "paper":
        return _train_paper_group(config, condition, list(seeds), progress)
    return _train_weighted_group(config, condition, list(seeds), progress)


def network(
    runs: TwoTaskRuns, condition: str, activation: str
) -> tuple[list[torch.Tensor], Callable[[list[torch.Tensor]], torch.Tensor]]:
    """The trainable weights of a condition's net and its predict(params) -> outputs (S, N, 2).

    "modular": the two towers of each seed (tower_params), tower m fed input m only and giving
    output m; otherwise the full [2, H, H, 2] net. Both run through BatchedMLP.
    """
    n_seeds, n = runs.x.shape[0], runs.x.shape[1]
    if condition == "modular":
        towers = BatchedMLP(runs.x.permute(0, 2, 1).reshape(n_seeds * 2, n, 1).contiguous(), activation)

        def predict_modular(p: list[torch.Tensor]) -> torch.Tensor:  # (2S, N, 1) -> (S, N, 2)
            return towers(p).reshape(n_seeds, 2, n).permute(0, 2, 1)

        return tower_params(runs.params), predict_modular
    net = BatchedMLP(runs.x, activation)

    def predict(p: list[torch.Tensor]) -> torch.Tensor:
        return net(p)

    return runs.params, predict


def _train_paper_group(
    config: ModularityConfig, condition: str, seeds: list[int], progress: bool, steps: int | None = None
) -> TrainRecord:
    runs = draw_runs(config, condition, seeds)
    device = resolve_device(config.device)
    if device.type != "cpu":
        x, y, mask = to_device([runs.x, runs.y, runs.mask], device)
        runs = TwoTaskRuns(x, y, mask, to_device(runs.params, device), runs.draws)
    params, predict = network(runs, condition, config.activation)
    settings = TrainSettings(
        config.steps if steps is None else steps,
        config.lr,
        "adam",
        config.threads,
        reweight_by_loss=condition == "reweighted",
    )
    return train(
        params,
        predict,
        runs.y,
        loss_weights_for(condition, runs.mask),
        settings,
        seeds=seeds,
        classification=False,
        progress=progress,
        desc=f"modularity: {condition}",
    )


def cell1_check(config: ModularityConfig) -> dict:
    """The notebook's first cell again: seed 1's draws, the non-modular net, the reweighted loss, to step 300.

    Returns {"steps", "ours", "notebook"}: (task 1, task 2) MSE at the steps its log prints.
    """
    cfg = replace(config, draws="seed", seeds=(NOTEBOOK_SEED,))
    last = max(PAPER_CELL1_LOG)
    rec = _train_paper_group(cfg, "reweighted", [NOTEBOOK_SEED], False, steps=last)
    steps = sorted(PAPER_CELL1_LOG)
    return {
        "steps": steps,
        "ours": [[float(v) for v in rec.loss[0, s]] for s in steps],
        "notebook": [list(PAPER_CELL1_LOG[s]) for s in steps],
    }


def _train_weighted_group(config: ModularityConfig, condition: str, seeds: list[int], progress: bool) -> TrainRecord:
    gens = seed_generators(seeds)
    xs, xts = [], []
    for g in gens:
        xs.append(torch.rand(config.train_size, 2, generator=g, dtype=torch.float32) * 2 - 1)
        xts.append(torch.rand(config.test_size, 2, generator=g, dtype=torch.float32) * 2 - 1)
    x, xt = torch.stack(xs), torch.stack(xts)
    y, yt = x**2, xt**2
    w = torch.tensor(config.weights(condition), dtype=torch.float32).expand_as(y).contiguous()
    n_seeds = len(seeds)
    act = config.activation
    if condition == "modular":
        half = config.hidden // 2
        params = init_mlp([1, half, half, 1], gens, copies=2)

        def split(inp: torch.Tensor) -> torch.Tensor:  # (S, N, 2) -> (S*2, N, 1): replica s*2+m sees input m
            return inp.permute(0, 2, 1).reshape(n_seeds * 2, inp.shape[1], 1)

        def join(out: torch.Tensor, n: int) -> torch.Tensor:
            return out.reshape(n_seeds, 2, n).permute(0, 2, 1)

        xm, xtm = split(x), split(xt)
        predict = lambda p: join(mlp_forward(p, xm, act), config.train_size)  # noqa: E731
        predict_test = lambda p: join(mlp_forward(p, xtm, act), config.test_size)  # noqa: E731
    else:
        params = init_mlp([2, config.hidden, config.hidden, 2], gens)
        predict = lambda p: mlp_forward(p, x, act)  # noqa: E731
        predict_test = lambda p: mlp_forward(p, xt, act)  # noqa: E731
    settings = TrainSettings(config.steps, config.lr, "adam", config.threads)
    return train(
        params,
        predict,
        y,
        w,
        settings,
        seeds=seeds,
        classification=False,
        progress=progress,
        desc=f"modularity: {condition}",
        test=(predict_test, yt),
    )


def run(config: ModularityConfig = ModularityConfig(), *, progress: bool = False) -> ExperimentResult:
    """Train the three conditions and compare them (with the paper's numbers, or the models)."""
    if config.setup == "paper":
        return _run_paper(config, progress)
    return _run_weighted_tasks(config, progress)


# --------------------------------------------------------------------------------- the paper's setup
def _spread(values: np.ndarray, seed: int) -> dict:
    """Median, 10% / 90% quantiles and a 95% bootstrap interval of the median."""
    v = np.asarray(values, dtype=np.float64)
    _, lo, hi = bootstrap_ci(v, statistic="median", seed=seed)
    q10, q50, q90 = np.quantile(v, [0.1, 0.5, 0.9])
    return {"median": float(q50), "q10": float(q10), "q90": float(q90), "median_ci": [lo, hi]}


def summarize_times(times: np.ndarray, steps: int, seed: int = 0) -> dict:
    """Statistics of learning times (S, 2) (`steps` = never): t1, t2, per-run t2/t1 and max(t1, t2)."""
    t = np.asarray(times, dtype=np.float64)
    return {
        "t1": _spread(t[:, 0], seed + 1),
        "t2": _spread(t[:, 1], seed + 2),
        "t2_over_t1": _spread(t[:, 1] / t[:, 0], seed + 3),
        "t_both": _spread(t.max(axis=1), seed + 4),
        "learned_fraction": [float(np.mean(t[:, k] < steps)) for k in range(2)],
        "n_runs": int(t.shape[0]),
    }


def _speedups(times: dict, paired_modular: bool) -> dict:
    """median(non-modular) / median(other) of t2, t1 and max(t1, t2), with 95% bootstrap intervals.

    The reweighted runs share the non-modular runs' draws, so runs are resampled as pairs; the modular
    ones too with draws="seed", not with the notebook's draws (its modular runs have their own).
    """
    out: dict[str, Any] = {}
    for other, paired, seed in (("modular", paired_modular, 21), ("reweighted", True, 31)):
        for label, k in (("rare", 1), ("frequent", 0), ("both", None)):
            a, b = (times[c][:, k] if k is not None else times[c].max(axis=1) for c in ("nonmodular", other))
            out[f"{other}_{label}"] = list(bootstrap_ci(a, b, statistic="median", paired=paired, seed=seed + len(out)))
    out["paired"] = {"modular": paired_modular, "reweighted": True}
    return out


def _notebook_agreement(times: np.ndarray, step0: np.ndarray, seeds: tuple[int, ...]) -> dict:
    """Our non-modular runs against the notebook's printed runs of the same indices (same draws)."""
    idx = list(seeds)
    paper_t = np.column_stack([np.take(PAPER_NONMODULAR_T1, idx), np.take(PAPER_NONMODULAR_T2, idx)])
    printed = np.asarray(PAPER_NONMODULAR_STEP0, dtype=np.float64)[idx]
    rounded = np.vectorize(lambda v: float(f"{v:.2e}"))(step0)
    diff = times - paper_t
    return {
        "n_runs": len(idx),
        "step0_equal_to_3_digits": int(np.all(rounded == printed, axis=1).sum()),
        "t_equal": [int(np.sum(diff[:, k] == 0)) for k in range(2)],
        "t_within_2": [int(np.sum(np.abs(diff[:, k]) <= 2)) for k in range(2)],
        "t_max_abs_difference": [float(np.abs(diff[:, k]).max()) for k in range(2)],
        "notebook_times": paper_t.tolist(),
    }


def _verdict(speedups: dict) -> dict:
    """The paper's claim, judged on the 95% intervals of the rare task's speed-up (ratio of medians)."""

    def judged(key: str) -> dict:
        point, lo, hi = speedups[key]
        return {"reproduced": bool(np.isfinite(lo) and lo > 1.0), "factor": point, "ci": [lo, hi]}

    return {"modular_rare_sooner": judged("modular_rare"), "reweighting_rare_sooner": judged("reweighted_rare")}


def _run_paper(config: ModularityConfig, progress: bool) -> ExperimentResult:
    times, curves, arrays, wall, threads = {}, {}, {}, 0.0, set()
    records = train_conditions(config, CONDITIONS, progress=progress)
    for cond in CONDITIONS:
        rec = records[cond]
        wall += rec.wall_seconds
        threads.add(rec.threads)
        if rec.seeds != tuple(config.seeds):
            raise RuntimeError(f"{cond}: runs came back in seed order {rec.seeds}, not {tuple(config.seeds)}")
        times[cond] = learning_times(rec.loss, config.threshold, config.steps)
        arrays[cond] = {"loss": rec.loss, "times": times[cond]}
        curves[f"measured_{cond}"] = sk.SkillCurves(
            rec.steps,
            np.median(rec.loss, axis=0),
            TASK_NAMES,
            np.asarray(config.task_counts(), dtype=np.float64) / config.n_points,
            {
                "experiment": NAME,
                "setup": config.setup,
                "condition": cond,
                "draws": config.draws,
                "seeds": list(config.seeds),
                "split": "train (each task's MSE on its own points, as the notebook)",
                "average": "median over seeds",
            },
        )
    measured = {c: summarize_times(times[c], config.steps, seed=10 * i) for i, c in enumerate(CONDITIONS)}
    speedups = _speedups(times, paired_modular=config.draws == "seed")
    dom_t = sk.DominoModel(np.asarray(config.frequencies), 1.0).learning_times(0.0)
    paper_nonmod = np.column_stack([PAPER_NONMODULAR_T1, PAPER_NONMODULAR_T2]).astype(np.float64)
    notebook = config.matches_notebook()
    metrics: dict[str, Any] = {
        "measured": measured,
        "speedups": speedups,
        "verdict": _verdict(speedups),
        "paper": {
            "source": NOTEBOOK,
            "applies": notebook,
            "nonmodular": summarize_times(paper_nonmod, 1000, seed=90),
            "nonmodular_source": "the t1_step / t2_step its 100-run loop prints (third code cell, In [11])",
            "modular": PAPER_MODULAR_FIGURE,
            "reweighted": "one run only (first code cell, seed 1), logged to step 300: see cell1_check",
        },
        "domino_t2_over_t1": {"nonmodular": float(dom_t[1] / dom_t[0]), "modular": 1.0},
        "cell1_check": cell1_check(config) if notebook else None,
        "notebook_runs": None,
        "wall_seconds": wall,
        "threads_used": threads.pop() if len(threads) == 1 else None,
    }
    if notebook and config.draws == "notebook":
        step0 = records["nonmodular"].loss[:, 0, :]
        metrics["notebook_runs"] = _notebook_agreement(times["nonmodular"], step0, tuple(config.seeds))
    cfg = asdict(config) | {"environment": environment(), "task_counts": list(config.task_counts())}
    return ExperimentResult(
        NAME,
        "Modularity and loss reweighting (Fig 19)",
        cfg,
        metrics,
        curves,
        arrays,
        _paper_markdown(config, metrics),
        ("modularity_times.png", "modularity_curves.png"),
    )


def _row(label: str, d: dict) -> str:
    def cell(key: str, digits: int = 3) -> str:
        s = d[key]
        return f"{fmt(s['median'], digits)} [{fmt(s['q10'], digits)}, {fmt(s['q90'], digits)}]"

    learned = ", ".join(f"{f:.0%}" for f in d["learned_fraction"])
    return f"| {label} | {cell('t1')} | {cell('t2')} | {cell('t2_over_t1')} | {cell('t_both')} | {learned} |"


def _interval(v: list) -> str:
    return f"{fmt(v[0], 3)}x [{fmt(v[1], 3)}, {fmt(v[2], 3)}]"


def _paper_markdown(config: ModularityConfig, m: dict) -> str:
    n1, n2 = config.task_counts()
    h = config.hidden
    paper = m["paper"]
    lines = [
        f"Setup ({NOTEBOOK}, followed exactly; see validation/modularity.py): {config.n_points} points in "
        f"[-1, 1]^2, {n1} of task 1 (x2 = 0, target x1^2 on output 0) and {n2} of task 2 (x1 = 0, target "
        f"x2^2 on output 1), other outputs masked; non-modular MLP [2, {h}, {h}, 2] ({config.activation}) vs "
        f"the block-diagonal (modular) one, two towers [1, {h // 2}, {h // 2}, 1]; reweighted = non-modular "
        f"trained on the loss-proportional reweighted loss mean(l * l.detach() / mean(l.detach())). "
        f"Full batch, Adam lr {config.lr:g}, {config.steps} steps; t_i = first step task i's MSE on its "
        f"points is below {config.threshold:g} ({config.steps} = never). {len(config.seeds)} runs per "
        f"condition, draws = {config.draws!r}"
        + (" (the notebook's own runs: same data and initial weights)." if config.draws == "notebook" else "."),
        "",
        "Medians over runs [10%, 90% of runs]; t2/t1 is per run; 'both' = max(t1, t2), the step by which both "
        "tasks are learned.",
        "",
        "| condition | t1 | t2 | t2/t1 | both | learned (1, 2) |",
        "|---|---|---|---|---|---|",
        _row("paper, non-modular (notebook's printed 100 runs)", paper["nonmodular"]),
    ]
    lines += [_row(f"ours, {c}", m["measured"][c]) for c in CONDITIONS]
    s, v = m["speedups"], m["verdict"]
    dom = m["domino_t2_over_t1"]
    lines += [
        "",
        f"Paper, modular: {paper['modular']}. Paper, reweighted: {paper['reweighted']}. Domino model "
        f"(skills one after another): t2/t1 = {dom['nonmodular']:g} shared, {dom['modular']:g} modular "
        "(the lines the paper's figure draws).",
        "",
        "Speed-ups over the non-modular net, median(non-modular) / median(other), with 95% bootstrap "
        "intervals; reweighted runs are paired with the non-modular ones (same data and initial weights), "
        + (
            "and so are the modular ones (draws 'seed'):"
            if s["paired"]["modular"]
            else "modular ones are not (the notebook draws its modular runs separately):"
        ),
        "",
        f"- modular: rare task {_interval(s['modular_rare'])}, frequent task {_interval(s['modular_frequent'])}, "
        f"both learned {_interval(s['modular_both'])}",
        f"- reweighted: rare task {_interval(s['reweighted_rare'])}, frequent task "
        f"{_interval(s['reweighted_frequent'])}, both learned {_interval(s['reweighted_both'])}",
        "",
    ]
    lines += _notebook_lines(m)
    lines += [
        "",
        f"**Verdict** (the paper's claim, on {len(config.seeds)} runs per condition; reproduced = the 95% "
        "interval of the rare task's speed-up lies above 1): "
        + _claim("the modular net learns the rare task sooner", v["modular_rare_sooner"], m, "modular")
        + "; "
        + _claim("loss-proportional reweighting speeds the rare task up", v["reweighting_rare_sooner"], m, "reweighted")
        + ".",
        "",
        "![t1 against t2, run by run](modularity_times.png)",
        "",
        "![loss curves](modularity_curves.png)",
    ]
    return "\n".join(lines)


def _claim(text: str, j: dict, m: dict, other: str) -> str:
    word = "**reproduced**" if j["reproduced"] else "**not reproduced**"
    t2 = (m["measured"]["nonmodular"]["t2"]["median"], m["measured"][other]["t2"]["median"])
    return (
        f"{text}: {word}, {fmt(j['factor'])}x [{fmt(j['ci'][0])}, {fmt(j['ci'][1])}] (median t2 {fmt(t2[0])} "
        f"non-modular, {fmt(t2[1])} {other})"
    )


def _notebook_lines(m: dict) -> list[str]:
    lines = []
    nb = m["notebook_runs"]
    if nb is not None:
        lines.append(
            f"Run by run against the notebook's log ({nb['n_runs']} non-modular runs, the same draws): step-0 "
            f"losses equal to its 3 printed digits in {nb['step0_equal_to_3_digits']} runs; t1 equal in "
            f"{nb['t_equal'][0]}, within 2 steps in {nb['t_within_2'][0]} (largest difference "
            f"{fmt(nb['t_max_abs_difference'][0])}); t2 equal in {nb['t_equal'][1]}, within 2 steps in "
            f"{nb['t_within_2'][1]} (largest difference {fmt(nb['t_max_abs_difference'][1])})."
        )
    c1 = m["cell1_check"]
    if c1 is not None:
        pairs = "; ".join(
            f"step {s}: {o[0]:.2e}, {o[1]:.2e} (notebook {p[0]:.2e}, {p[1]:.2e})"
            for s, o, p in zip(c1["steps"], c1["ours"], c1["notebook"])
        )
        lines += ["", f"The notebook's first cell (seed 1, reweighted, task 1 and task 2 MSE): {pairs}."]
    return lines


def _plot_paper(result: ExperimentResult, out_dir: Path) -> list:
    import matplotlib.pyplot as plt

    steps = int(result.config["steps"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), sharey=True)
    paper = result.metrics["paper"]
    for ax, cond in zip(axes, CONDITIONS):
        t = result.arrays[cond]["times"]
        if cond == "nonmodular" and paper["applies"]:
            ax.scatter(PAPER_NONMODULAR_T1, PAPER_NONMODULAR_T2, marker="x", color="0.6", s=18, label="notebook")
        ax.scatter(t[:, 0], t[:, 1], alpha=0.5, s=18, label=f"ours ({t.shape[0]} runs)")
        ax.plot([0, steps], [0, steps], "--", color="red", lw=1, label="t2 = t1")
        ax.plot([0, steps / 2], [0, steps], ":", color="red", lw=1, label="t2 = 2 t1")
        med = result.metrics["measured"][cond]
        ax.set_title(f"{cond}: median t1 {med['t1']['median']:g}, t2 {med['t2']['median']:g}", fontsize=10)
        ax.set_xlim(0, steps * 1.02)
        ax.set_ylim(0, steps * 1.02)
        ax.set_xlabel("t1 (frequent task learned)")
        ax.legend(fontsize="x-small", loc="lower right")
    axes[0].set_ylabel("t2 (rare task learned)")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_times.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, cond in zip(axes, CONDITIONS):
        loss = result.arrays[cond]["loss"]
        for k, color in enumerate(("tab:blue", "tab:orange")):
            lo, mid, hi = np.quantile(loss[:, :, k], [0.1, 0.5, 0.9], axis=0)
            ax.plot(np.arange(loss.shape[1]), mid, color=color, label=f"{TASK_NAMES[k]} (median)")
            ax.fill_between(np.arange(loss.shape[1]), lo, hi, color=color, alpha=0.2, lw=0)
        ax.axhline(float(result.config["threshold"]), color="k", ls="--", lw=1, label="threshold")
        ax.set_yscale("log")
        ax.set_title(cond)
        ax.set_xlabel("step")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("task MSE on its points (10-90% of runs)")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_curves.png", dpi=110)
    plt.close(fig)
    return [out_dir / "modularity_times.png", out_dir / "modularity_curves.png"]


# ------------------------------------------------------------------------ the weighted-tasks variant
def _run_weighted_tasks(config: ModularityConfig, progress: bool) -> ExperimentResult:
    """The "weighted_tasks" setup, with the Domino and Resource models beside it.

    Model predictions: the Domino model (skills learned one after another) gives t2/t1 = 2 for the
    shared network and t2/t1 = 1 when each task has its own module, so modularity should speed the
    rare task up by about 2; the Resource model fitted (eta, N0) to the non-modular run predicts the
    reweighted run's learning times. A seed fixes the inputs (train and held-out); the non-modular
    and reweighted runs of a seed also start from the same weights, while the modular network (a
    different shape) draws its own initial weights from the same seed's stream. Speed-ups between
    conditions are paired by seed: ratio of means over the seeds where both runs learned the task,
    bootstrap over seed indices.
    """
    times, curves, arrays, wall, threads = {}, {}, {}, 0.0, set()
    records = train_conditions(config, CONDITIONS, progress=progress)
    for cond in CONDITIONS:
        rec = records[cond]
        assert rec.test_loss is not None  # the weighted-tasks runs record a held-out set
        wall += rec.wall_seconds
        threads.add(rec.threads)
        if rec.seeds != tuple(config.seeds):  # the speed-ups pair row i of every condition
            raise RuntimeError(f"{cond}: runs came back in seed order {rec.seeds}, not {tuple(config.seeds)}")
        times[cond] = first_step_relative(rec.test_loss, config.loss_fraction)  # (S, 2)
        arrays[cond] = {"test_loss": rec.test_loss, "times": times[cond]}
        curves[f"measured_{cond}"] = sk.SkillCurves(
            rec.steps,
            np.exp(np.mean(np.log(rec.test_loss), axis=0)),
            WEIGHTED_TASK_NAMES,
            np.asarray(config.frequencies),
            {
                "experiment": NAME,
                "setup": config.setup,
                "condition": cond,
                "seeds": list(config.seeds),
                "split": "test",
                "average": "geometric mean over seeds",
                "weights": list(config.weights(cond)),
            },
        )
    metrics = _weighted_metrics(config, times, curves)
    metrics["wall_seconds"] = wall
    metrics["threads_used"] = threads.pop() if len(threads) == 1 else None
    cfg = asdict(config) | {"environment": environment(), "weights": {c: list(config.weights(c)) for c in CONDITIONS}}
    return ExperimentResult(
        NAME,
        "Modularity and loss reweighting (weighted tasks)",
        cfg,
        metrics,
        curves,
        arrays,
        _weighted_markdown(config, metrics),
        ("modularity_times.png", "modularity_curves.png"),
    )


def _weighted_metrics(config: ModularityConfig, times: dict, curves: dict) -> dict:
    def summary(cond: str) -> dict:
        t = times[cond]
        return {
            "t1": bootstrap_ci(t[:, 0], seed=1),
            "t2": bootstrap_ci(t[:, 1], seed=2),
            "t2_over_t1": bootstrap_ci(t[:, 1], t[:, 0], seed=3, paired=True),
            "learned_fraction": [float(np.mean(np.isfinite(t[:, k]))) for k in range(2)],
            "t1_quantiles": _quantiles(t[:, 0]),
            "t2_quantiles": _quantiles(t[:, 1]),
        }

    measured = {cond: summary(cond) for cond in CONDITIONS}
    speedups, pairing = speedup_ratios(times)
    dom_t = sk.DominoModel(np.asarray(config.frequencies), 1.0).learning_times(0.0)
    mean_t = finite_mean(times["nonmodular"]).tolist()
    eta, n0, rms = try_fit_resource_times(
        [TimesCase(config.weights("nonmodular"), tuple(mean_t), config.loss_fraction)]
    )
    pred_rw = model_times_or_nan(config.weights("reweighted"), eta, n0, config.loss_fraction)
    pred_nm = model_times_or_nan(config.weights("nonmodular"), eta, n0, config.loss_fraction)
    meas_rw = finite_mean(times["reweighted"]).tolist()
    if np.isfinite(eta):
        for label in ("nonmodular", "reweighted"):
            model = sk.ResourceModel(np.asarray(config.weights(label)), eta, n0, names=WEIGHTED_TASK_NAMES)
            curves[f"resource_{label}"] = sk.solve(model, times=np.arange(config.steps + 1.0)).curves
    return {
        "measured": measured,
        "speedups": speedups,
        "speedup_pairing": pairing,
        "domino_predicted_rare_speedup_modular": float(dom_t[1] / dom_t[0]),
        "resource": {
            "eta": eta,
            "N0": n0,
            "rms_log_residual_fit": rms,
            "fitted_on": "nonmodular seed-mean learning times",
            "nonmodular_fitted": pred_nm.tolist(),
            "reweighted_predicted": pred_rw.tolist(),
            "reweighted_measured": meas_rw,
            "reweighted_relative_error": [float((pred_rw[k] - meas_rw[k]) / meas_rw[k]) for k in range(2)],
            "predicted_rare_speedup_reweighted": float(pred_nm[1] / pred_rw[1]),
        },
    }


SPEEDUPS = {  # name: (other condition, task index, bootstrap seed)
    "modular_rare": ("modular", 1, 11),
    "modular_frequent": ("modular", 0, 12),
    "reweighted_rare": ("reweighted", 1, 13),
    "reweighted_frequent": ("reweighted", 0, 14),
}


def speedup_ratios(times: dict) -> tuple[dict, dict]:
    """ "weighted_tasks" speed-ups over the non-modular run: mean t(nonmodular) / mean t(other), paired by seed.

    times[cond] has shape (n_seeds, 2), rows in the same seed order for every condition. A seed's
    runs share their inputs (and, non-modular vs reweighted, their initial weights), so each ratio
    is a paired_ratio: the seeds where both runs learned the task, resampled as pairs.

    Returns ({name: (point, lo, hi)}, {name: {"n_pairs", "per_seed"}}) for the names in SPEEDUPS.
    """
    ratios, pairing = {}, {}
    for name, (other, k, seed) in SPEEDUPS.items():
        r = paired_ratio(times["nonmodular"][:, k], times[other][:, k], seed=seed)
        ratios[name] = r["ratio"]
        pairing[name] = {"n_pairs": r["n_pairs"], "per_seed": r["per_seed"]}
    return ratios, pairing


def _quantiles(t: np.ndarray) -> list[float]:
    f = t[np.isfinite(t)]
    return [float(q) for q in np.quantile(f, [0.1, 0.5, 0.9])] if f.size else [float("nan")] * 3


def _weighted_markdown(config: ModularityConfig, m: dict) -> str:
    w = config.weights("reweighted")
    lines = [
        "Setup 'weighted_tasks' (this package's variant, not the paper's notebook): "
        f"x ~ U(-1, 1)^2, task 1 = x_a^2 (weight {config.frequencies[0]:g}), task 2 = x_b^2 (weight "
        f"{config.frequencies[1]:g}); non-modular MLP [2, {config.hidden}, {config.hidden}, 2] "
        f"({config.activation}) vs two modules "
        f"[1, {config.hidden // 2}, {config.hidden // 2}, 1]; reweighted = non-modular with weights "
        f"({w[0]:.3g}, {w[1]:.3g}) (p^{config.reweight_alpha:g}). Full-batch Adam lr {config.lr:g}, "
        f"{config.steps} steps, {len(config.seeds)} seeds, {config.train_size} training points each. "
        f"Learned = held-out loss at {config.loss_fraction:g} of its initial value.",
        "",
        "| condition | t1 mean [95% CI] | t2 mean [95% CI] | t2 10/50/90% quantiles | t2/t1 | learned (1, 2) |",
        "|---|---|---|---|---|---|",
    ]
    for cond, d in m["measured"].items():
        lines.append(
            f"| {cond} | {fmt(d['t1'][0])} [{fmt(d['t1'][1])}, {fmt(d['t1'][2])}] | {fmt(d['t2'][0])} "
            f"[{fmt(d['t2'][1])}, {fmt(d['t2'][2])}] | {', '.join(fmt(q) for q in d['t2_quantiles'])} | "
            f"{fmt(d['t2_over_t1'][0])} | {d['learned_fraction'][0]:.0%}, {d['learned_fraction'][1]:.0%} |"
        )
    s = m["speedups"]
    n = m["speedup_pairing"]
    r = m["resource"]
    lines += [
        "",
        "Speed-ups (ratio of mean learning times, non-modular / other; 95% bootstrap CI, paired by seed: the "
        "runs of one seed share their inputs, and the non-modular and reweighted runs their initial weights, so "
        "seeds are resampled with both of their runs). Both means are over the same seeds, those where both "
        "runs learned the task (n pairs); a seed that never learned is left out, which understates a speed-up "
        "when the non-modular run is the censored one.",
        "",
        f"- modular, rare task: {fmt(s['modular_rare'][0])}x [{fmt(s['modular_rare'][1])}, "
        f"{fmt(s['modular_rare'][2])}], n = {n['modular_rare']['n_pairs']} (Domino model: "
        f"{m['domino_predicted_rare_speedup_modular']:g}x); "
        f"frequent task: {fmt(s['modular_frequent'][0])}x [{fmt(s['modular_frequent'][1])}, "
        f"{fmt(s['modular_frequent'][2])}], n = {n['modular_frequent']['n_pairs']}",
        f"- reweighted, rare task: {fmt(s['reweighted_rare'][0])}x [{fmt(s['reweighted_rare'][1])}, "
        f"{fmt(s['reweighted_rare'][2])}], n = {n['reweighted_rare']['n_pairs']} (Resource model: "
        f"{fmt(r['predicted_rare_speedup_reweighted'])}x); "
        f"frequent task: {fmt(s['reweighted_frequent'][0])}x [{fmt(s['reweighted_frequent'][1])}, "
        f"{fmt(s['reweighted_frequent'][2])}], n = {n['reweighted_frequent']['n_pairs']}",
        "",
        "Resource model fitted to the non-modular run (2 parameters on 2 mean learning times): "
        f"eta = {fmt(r['eta'], 4)}, "
        f"N0 = {fmt(r['N0'])} (rms log residual "
        f"{r['rms_log_residual_fit']:.3g}); predicted reweighted learning times {fmt(r['reweighted_predicted'][0])}, "
        f"{fmt(r['reweighted_predicted'][1])} vs measured {fmt(r['reweighted_measured'][0])}, "
        f"{fmt(r['reweighted_measured'][1])} (relative errors {fmt(r['reweighted_relative_error'][0], 2)}, "
        f"{fmt(r['reweighted_relative_error'][1], 2)}).",
        "",
        "![learning-time distributions](modularity_times.png)",
        "",
        "![loss curves](modularity_curves.png)",
    ]
    return "\n".join(lines)


def plot(result: ExperimentResult, out_dir) -> list:
    """Write the two figures the report section names (t1 against t2 or time histograms; loss curves)."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    if result.config.get("setup", "paper") == "paper":
        return _plot_paper(result, out_dir)
    return _plot_weighted(result, out_dir)


def _plot_weighted(result: ExperimentResult, out_dir: Path) -> list:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for k, ax in enumerate(axes):
        data = [result.arrays[c]["times"][:, k] for c in CONDITIONS]
        finite = [d[np.isfinite(d)] for d in data]
        lo = min((d.min() for d in finite if d.size), default=1.0)
        hi = max((d.max() for d in finite if d.size), default=10.0)
        bins = np.geomspace(max(lo, 1.0), hi * 1.05 + 1, 25)
        for c, d in zip(CONDITIONS, finite):
            ax.hist(d, bins=bins, histtype="step", label=f"{c} (n={d.size})")
        ax.set_xscale("log")
        ax.set_xlabel("learning time (steps)")
        ax.set_title(WEIGHTED_TASK_NAMES[k])
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("seeds")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_times.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
    colors = ("tab:blue", "tab:orange")
    for ax, cond in zip(axes, CONDITIONS):
        data = result.curves[f"measured_{cond}"]
        for k in range(2):
            ax.plot(data.times, data.loss[:, k] / data.loss[0, k], "-", color=colors[k], label=f"data {data.names[k]}")
        if f"resource_{cond}" in result.curves:
            model = result.curves[f"resource_{cond}"]
            for k in range(2):
                ax.plot(model.times, model.loss[:, k], "--", color=colors[k], label=f"Resource {model.names[k]}")
        ax.set_yscale("log")
        ax.set_title(cond)
        ax.set_xlabel("step")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("held-out loss / initial (geometric mean)")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_curves.png", dpi=110)
    plt.close(fig)
    return [out_dir / "modularity_times.png", out_dir / "modularity_curves.png"]
