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

What the trainer offers (TrainSettings): optimizers "adam", "adamw", "sgd" and "signgd" (torch.optim's
own Adam, AdamW and SGD; signgd is torch.optim.AdamW with betas (0, 0), whose update is
-lr g / (|g| + eps), the sign of the gradient up to eps, plus decoupled weight decay), with betas,
weight decay and eps; the squared-error ("mse") or cross-entropy ("ce") loss, with accuracy
recorded as the sign (mse) or argmax (ce) agreement; loss-proportional example reweighting
(reweight_by_loss); float32 or float64 weights (init_mlp(dtype=...)); and inputs made of trainable
embedding rows (init_embedding + embedding_mlp_forward: sample i's input is the concatenation of
the table rows of its tokens).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from skillode._checks import as_scalar, choice

OPTIMIZERS = ("adam", "adamw", "sgd", "signgd")
LOSSES = ("mse", "ce")
ACTIVATIONS = ("relu", "silu", "tanh")
#: torch.optim's default Adam / AdamW betas, used when TrainSettings.betas is None.
DEFAULT_BETAS = (0.9, 0.999)

#: Most threads auto_threads() picks. Measured on an idle 2-core machine: 2 torch threads trained
#: the batched sparse-parity MLP (1000 samples per seed) at 0.26 s per seed per 1000 steps, 1 thread
#: at 0.31 s; more threads are unmeasured for these small matmuls, so the automatic choice stops at 2.
AUTO_MAX_THREADS = 2


DEVICES = ("cpu", "cuda", "auto")


def check_device(device: str, name: str = "device") -> str:
    """A device name from DEVICES, lower-cased; "cuda" is refused up front where torch has no CUDA."""
    key = choice(device, name, DEVICES)
    if key == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} 'cuda': torch finds no CUDA device here; use 'cpu' or 'auto'")
    return key


def resolve_device(device: str) -> torch.device:
    """The torch device to train on: "auto" is CUDA where torch has it, else the CPU.

    Data and initial weights are always drawn on the CPU (the seeds' generators live there, so a
    seed draws the same numbers on either device) and then moved; on CUDA the products round
    differently, so runs agree with the CPU's to float tolerance, not bit for bit.
    """
    key = check_device(device)
    if key == "auto":
        key = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(key)


def to_device(tensors: Sequence[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """The tensors on `device`; leaves that required grad are new leaves there (the trainer's params)."""
    out = []
    for t in tensors:
        moved = t.detach().to(device)
        out.append(moved.requires_grad_(True) if t.requires_grad else moved)
    return out


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
        optimizer: one of OPTIMIZERS, each torch.optim's own class (make_optimizer):
            "adam": torch.optim.Adam (weight decay is the coupled L2 term g + wd * theta);
            "adamw": torch.optim.AdamW (decoupled weight decay theta <- theta (1 - lr wd));
            "sgd": torch.optim.SGD (plain gradient descent, coupled L2 weight decay);
            "signgd": torch.optim.AdamW with betas (0, 0): the step is -lr g / (|g| + eps), i.e.
            lr sign(g) up to eps, with decoupled weight decay (the paper's "SignGD", Fig 13).
        threads: torch intra-op threads for the run; None picks auto_threads() (min(2, available
            cores)). torch's own setting is restored after the run.
        betas: (beta1, beta2) of adam / adamw, each in [0, 1); None means torch's default
            (0.9, 0.999). signgd takes None or (0, 0) only; sgd takes None only.
        weight_decay: >= 0 (0: none; note torch's AdamW default of 0.01 is not used).
        eps: the epsilon of adam / adamw / signgd, >= 0 (torch's default 1e-8).
        loss: "mse" (squared error on real targets, per-task weights) or "ce" (cross-entropy on
            integer class labels; see train()).
        reweight_by_loss: loss-proportional example reweighting: replica s trains on
            mean_i(l_si * w_si) with w_si = l_si.detach() / mean_j(l_sj.detach()), l_si being
            example i's (task-weighted) loss, so the examples it gets wrong pull harder. With equal
            per-example losses w = 1 and this is the plain loss. Recorded losses stay unweighted.
    """

    steps: int = 1000
    lr: float = 1e-3
    optimizer: str = "adam"
    threads: int | None = None
    betas: tuple[float, float] | None = None
    weight_decay: float = 0.0
    eps: float = 1e-8
    loss: str = "mse"
    reweight_by_loss: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        as_scalar(self.lr, "lr", positive=True)
        opt = choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.threads is not None and (int(self.threads) != self.threads or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {self.threads!r}")
        if self.betas is not None:
            try:
                b1, b2 = (float(b) for b in self.betas)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"betas must be None or two numbers, got {self.betas!r}") from exc
            if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
                raise ValueError(f"betas must each lie in [0, 1), got {self.betas!r}")
            if opt == "sgd":
                raise ValueError("betas: sgd has no betas (leave betas None)")
            if opt == "signgd" and (b1, b2) != (0.0, 0.0):
                raise ValueError(f"betas: signgd is AdamW with betas (0, 0); got {self.betas!r}")
        as_scalar(self.weight_decay, "weight_decay", nonnegative=True)
        as_scalar(self.eps, "eps", nonnegative=True)
        choice(self.loss, "loss", LOSSES)
        if not isinstance(self.reweight_by_loss, bool):
            raise ValueError(f"reweight_by_loss must be True or False, got {self.reweight_by_loss!r}")

    @property
    def resolved_betas(self) -> tuple[float, float] | None:
        """The betas the optimiser runs with: (0, 0) for signgd, torch's default when None, None for sgd."""
        opt = self.optimizer.lower()
        if opt == "sgd":
            return None
        if opt == "signgd":
            return (0.0, 0.0)
        return DEFAULT_BETAS if self.betas is None else (float(self.betas[0]), float(self.betas[1]))


def make_optimizer(params: Sequence[torch.Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    """The torch.optim optimiser TrainSettings names (see TrainSettings.optimizer), over `params`."""
    name = choice(settings.optimizer, "optimizer", OPTIMIZERS)
    lr, wd, eps = float(settings.lr), float(settings.weight_decay), float(settings.eps)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    betas = settings.resolved_betas or DEFAULT_BETAS  # never None past sgd
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)  # adamw, signgd


@dataclass(frozen=True, eq=False)
class TrainRecord:
    """Per-step, per-task training metrics of a batch of seeds.

    Attributes:
        loss: shape (n_seeds, steps + 1, n_tasks), each task's mean squared error over the
            samples labelled for it, before step 0 update and after every update (float64). With
            the cross-entropy loss n_tasks = 1 and this is the mean cross-entropy over the
            labelled samples (weight > 0).
        accuracy: same shape, fraction of labelled samples whose output has the label's sign
            (meaningful for +-1 targets; NaN for regression tasks); with cross-entropy the
            fraction whose argmax output is the label.
        seeds: the seeds, in batch order.
        wall_seconds: wall-clock time of the training loop (including test evaluation).
        test_loss, test_accuracy: like loss and accuracy, on held-out samples (NaN without a
            test set).
        threads: the torch intra-op thread count the run trained with.
        cpu_seconds: CPU time of this process (all its threads) during the training loop; on a
            machine other jobs keep busy it measures the work better than wall_seconds.
        objective: shape (n_seeds, steps), the value of each replica's own loss L_s that update
            t + 1 minimised (computed on the forward pass of record row t, before the update; with
            a weight_schedule, under that update's weights), float64; None in records made without it.
    """

    loss: np.ndarray
    accuracy: np.ndarray
    seeds: tuple[int, ...]
    wall_seconds: float
    test_loss: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None
    threads: int | None = None
    cpu_seconds: float | None = None
    objective: np.ndarray | None = None

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
    cpu = [r.cpu_seconds for r in records]
    return TrainRecord(
        cat("loss"),
        cat("accuracy"),
        tuple(s for r in records for s in r.seeds),
        float(sum(r.wall_seconds for r in records)),
        cat("test_loss"),
        cat("test_accuracy"),
        threads.pop() if len(threads) == 1 else None,
        None if any(c is None for c in cpu) else float(sum(c for c in cpu if c is not None)),
        cat("objective"),
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


INIT_SCHEMES = ("uniform", "nn.Linear")


def init_mlp(
    widths: Sequence[int],
    generators: Sequence[torch.Generator],
    copies: int = 1,
    *,
    dtype: torch.dtype = torch.float32,
    scheme: str = "uniform",
) -> list[torch.Tensor]:
    """Initial weights of len(generators) * copies MLPs with layer widths `widths`.

    PyTorch's nn.Linear default: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Replica
    s * copies + m is copy m (e.g. a module) of seed s, drawn from generators[s].

    scheme "uniform" (the default, what the other experiments use) draws each layer's W as a
    (fan_in, fan_out) torch.rand block, then b. scheme "nn.Linear" makes the draws of
    torch.nn.Linear.reset_parameters itself, layer by layer: W of shape (fan_out, fan_in) by
    kaiming_uniform_(a=sqrt(5)), then b by uniform_, in `dtype`; so a seed's weights are exactly
    those of nn.Linear layers built (in `dtype`) after torch.manual_seed(seed), transposed.

    Returns [W_1, b_1, W_2, b_2, ...] with W_l of shape (B, fan_in, fan_out), b_l of shape
    (B, 1, fan_out), B = len(generators) * copies, in `dtype` (float32 by default).
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths must list at least input and output sizes, all positive, got {widths}")
    scheme = choice(scheme, "scheme", tuple(s.lower() for s in INIT_SCHEMES))
    per_seed: list[list[torch.Tensor]] = []
    for g in generators:
        tensors = []
        for _ in range(copies):
            for fan_in, fan_out in zip(widths[:-1], widths[1:]):
                bound = 1.0 / math.sqrt(fan_in)
                if scheme == "uniform":
                    w = (torch.rand(fan_in, fan_out, generator=g, dtype=dtype) * 2 - 1) * bound
                    b = (torch.rand(1, fan_out, generator=g, dtype=dtype) * 2 - 1) * bound
                else:  # torch.nn.Linear.reset_parameters, draw for draw
                    w_out_in = torch.empty(fan_out, fan_in, dtype=dtype)
                    torch.nn.init.kaiming_uniform_(w_out_in, a=math.sqrt(5), generator=g)
                    b = torch.empty(fan_out, dtype=dtype)
                    torch.nn.init.uniform_(b, -bound, bound, generator=g)
                    w, b = w_out_in.t().contiguous(), b.reshape(1, fan_out)
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


def init_embedding(
    n_tokens: int,
    dim: int,
    generators: Sequence[torch.Generator],
    *,
    std: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """A trainable embedding table per seed, entries N(0, std^2): shape (n_seeds, n_tokens, dim).

    Each seed's table is torch.normal(0, std, size=(n_tokens, dim)) drawn from its generator in
    `dtype` (the draw of torch.normal(0, std, size=...) under that default dtype).
    """
    if int(n_tokens) < 1 or int(dim) < 1:
        raise ValueError(f"n_tokens and dim must be positive, got {n_tokens}, {dim}")
    as_scalar(std, "std", positive=True)
    tables = [
        torch.normal(0.0, float(std), size=(int(n_tokens), int(dim)), generator=g, dtype=dtype) for g in generators
    ]
    return torch.stack(tables).requires_grad_(True)


def _activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    key = choice(name, "activation", ACTIVATIONS)
    return {"relu": torch.relu, "silu": torch.nn.functional.silu, "tanh": torch.tanh}[key]


def mlp_forward(params: Sequence[torch.Tensor], x: torch.Tensor, activation: str = "relu") -> torch.Tensor:
    """MLP on a batch of replicas: x (B, N, fan_in) -> (B, N, fan_out), `activation` between layers.

    activation: "relu" (default), "silu" or "tanh".
    """
    act = _activation(activation)
    h = x
    n_layers = len(params) // 2
    for layer in range(n_layers):
        w, b = params[2 * layer], params[2 * layer + 1]
        h = torch.baddbmm(b, h, w)
        if layer < n_layers - 1:
            h = act(h)
    return h


def _replica_tokens(tokens: torch.Tensor, replicas: int) -> torch.Tensor:
    """tokens (N, P) shared by every replica, or (B, N, P) one set per replica -> (B, N, P) int64."""
    if tokens.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"tokens must be an integer tensor, got {tokens.dtype}")
    if tokens.ndim == 2:
        tokens = tokens.unsqueeze(0).expand(replicas, -1, -1)
    if tokens.ndim != 3 or tokens.shape[0] != replicas:
        raise ValueError(f"tokens must have shape (N, P) or ({replicas}, N, P), got {tuple(tokens.shape)}")
    return tokens.long()


def embed(table: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Concatenated embedding rows: table (B, V, d), tokens (N, P) or (B, N, P) -> (B, N, P * d).

    Row i of replica s is [table[s, tokens[i, 0]], ..., table[s, tokens[i, P - 1]]].
    """
    n_rep, vocab, dim = table.shape
    tok = _replica_tokens(tokens, n_rep)
    if tok.numel() and (int(tok.min()) < 0 or int(tok.max()) >= vocab):
        raise ValueError(f"tokens must lie in 0..{vocab - 1}")
    n, n_pos = tok.shape[1], tok.shape[2]
    rows = torch.gather(table, 1, tok.reshape(n_rep, n * n_pos, 1).expand(-1, -1, dim))
    return rows.reshape(n_rep, n, n_pos * dim)


def embedding_mlp_forward(
    params: Sequence[torch.Tensor],
    table: torch.Tensor,
    tokens: torch.Tensor,
    activation: str = "relu",
    *,
    factorize: bool | None = None,
) -> torch.Tensor:
    """The MLP `params` on inputs made of embedding rows: mlp_forward(params, embed(table, tokens)).

    table (B, V, d) is trainable like the weights (gradients reach it through the rows used);
    tokens (N, P) or (B, N, P) are integers in 0..V-1; params[0] has fan_in P * d.

    factorize: the first layer is linear, so W_1^T [e_1; ...; e_P] = sum_p (E W_1[p])[token_p]:
    with factorize=True the products E W_1[p] (V x hidden per position) are formed once and their
    rows gathered, instead of multiplying the N x (P d) input; the same function in exact
    arithmetic (different rounding), and much cheaper when V < N. None (default) factorises when
    V < N.
    """
    n_rep, vocab, dim = table.shape
    tok = _replica_tokens(tokens, n_rep)
    n, n_pos = tok.shape[1], tok.shape[2]
    w1, b1 = params[0], params[1]
    if w1.shape[1] != n_pos * dim:
        raise ValueError(f"params[0] has fan_in {w1.shape[1]}, but {n_pos} tokens x dim {dim} = {n_pos * dim}")
    if factorize is None:
        factorize = vocab < n
    if not factorize:
        return mlp_forward(params, embed(table, tokens), activation)
    if tok.numel() and (int(tok.min()) < 0 or int(tok.max()) >= vocab):
        raise ValueError(f"tokens must lie in 0..{vocab - 1}")
    hidden = w1.shape[2]
    # row tokens[s, i, pos] of replica s's products sits at s * V + token in the flattened (B * V, hidden)
    # block: index_select (backward: index_add_) is several times faster than gather on CPU
    flat = tok + (torch.arange(n_rep) * vocab).view(n_rep, 1, 1)
    h = b1
    for pos in range(n_pos):
        proj = torch.bmm(table, w1[:, pos * dim : (pos + 1) * dim]).reshape(n_rep * vocab, hidden)
        h = h + torch.index_select(proj, 0, flat[:, :, pos].reshape(-1)).view(n_rep, n, hidden)
    n_layers = len(params) // 2
    if n_layers == 1:
        return h
    return mlp_forward(params[2:], _activation(activation)(h), activation)


def train(
    params: list[torch.Tensor],
    predict: Callable[[list[torch.Tensor]], torch.Tensor],
    targets: torch.Tensor,
    weights: torch.Tensor | None,
    settings: TrainSettings,
    *,
    seeds: Sequence[int],
    classification: bool = True,
    progress: bool = False,
    desc: str = "train",
    test: tuple[Callable[[list[torch.Tensor]], torch.Tensor], torch.Tensor] | None = None,
    weight_schedule: Callable[[int], torch.Tensor] | None = None,
) -> TrainRecord:
    """Full-batch training of a batch of seeds on a weighted multi-task squared error or a cross-entropy.

    settings.loss "mse": replica s minimises L_s = (1/N) sum_i sum_k w[s,i,k] (f[s,i,k] - y[s,i,k])^2,
    where w holds each sample's task weight (0 when the sample carries no label for task k, the
    task's frequency otherwise).

    settings.loss "ce": replica s minimises L_s = (1/N) sum_i w[s,i] CE(f[s,i,:], y[s,i]), the
    cross-entropy of the logits f against integer labels y (with w = 1, torch's
    nn.CrossEntropyLoss()); the record has one task, accuracy = argmax f == y.

    With settings.reweight_by_loss the summand of example i, l_si, is multiplied by
    l_si.detach() / mean_j(l_sj.detach()) (weight 1 where a replica's mean loss is 0). The optimiser
    minimises sum_s L_s, which gives each seed its own gradient.

    Args:
        params: the trainable tensors (leading replica dimension), updated in place.
        predict: params -> outputs f, shape (n_seeds, N, n_tasks) (mse) or (n_seeds, N, n_classes)
            logits (ce).
        targets: y; mse: shape (n_seeds, N, n_tasks), floating (+-1 for classification); ce:
            shape (n_seeds, N), integer class labels.
        weights: w, non-negative, of the targets' shape (mse) or (n_seeds, N) (ce), in the
            outputs' floating dtype; None: every sample weight 1 (labelled for every task).
        settings: steps, learning rate, optimiser and its parameters, loss, reweighting, threads.
        seeds: the seeds, recorded in the result.
        classification: record accuracy (mse: sign agreement per task; ce: argmax), else NaN.
        progress: show a tqdm bar.
        test: optional (predict_test, test_targets): held-out inputs' outputs (n_seeds, M, ...)
            and their targets (shaped like `targets`), every sample labelled for every task;
            recorded every step in test_loss / test_accuracy.
        weight_schedule: optional step -> w_t, weights of `weights`' shape and dtype: update t + 1
            (taken from record row t, t = 0 .. steps - 1) minimises L_s under w_t instead of
            `weights`. It is called exactly once per update, in increasing t, so it may draw w_t
            from a random stream (a labelled subset that changes every step). `weights` then only
            say which samples the recorded loss and accuracy average over (weight > 0; None: all).
            Without it every update uses `weights`.
    """
    ce = choice(settings.loss, "loss", LOSSES) == "ce"
    if ce:
        if targets.ndim != 2 or targets.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"loss 'ce': targets must be integer class labels of shape (n_seeds, N); got "
                f"{tuple(targets.shape)} {targets.dtype}"
            )
        targets = targets.long()
    elif targets.ndim != 3:
        raise ValueError(f"loss 'mse': targets must have shape (n_seeds, N, n_tasks); got {tuple(targets.shape)}")
    if weights is None:
        weights = torch.ones(targets.shape, dtype=torch.float64 if ce else targets.dtype, device=targets.device)
    if targets.shape != weights.shape:
        raise ValueError(
            f"targets and weights must share shape ({'(n_seeds, N)' if ce else '(n_seeds, N, n_tasks)'}); got "
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
        opt = make_optimizer(params, settings)
        labelled = (weights > 0).to(weights.dtype)
        counts = labelled.sum(dim=1).clamp_min(1.0)  # mse: (S, K); ce: (S,)
        n = targets.shape[1]
        steps = int(settings.steps)
        n_tasks = 1 if ce else targets.shape[2]
        # records stay on the training device (no host sync per step) and are copied back at the end
        loss_rec = torch.empty(len(seeds), steps + 1, n_tasks, dtype=torch.float64, device=targets.device)
        acc_rec = torch.full_like(loss_rec, float("nan"))
        test_loss = torch.full_like(loss_rec, float("nan"))
        test_acc = torch.full_like(loss_rec, float("nan"))
        objective = torch.empty(len(seeds), steps, dtype=torch.float64, device=targets.device)
        t0, c0 = time.perf_counter(), time.process_time()
        bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
        for step in range(steps + 1):
            out = predict(params)
            if ce:
                per = _cross_entropy(out, targets)  # (S, N)
                with torch.no_grad():
                    loss_rec[:, step, 0] = ((per * labelled).sum(dim=1) / counts).double()
                    if classification:
                        right = (out.argmax(dim=-1) == targets).to(labelled.dtype)
                        acc_rec[:, step, 0] = ((right * labelled).sum(dim=1) / counts).double()
                    if test is not None:
                        out_test = test[0](params)
                        test_loss[:, step, 0] = _cross_entropy(out_test, test[1].long()).mean(dim=1).double()
                        if classification:
                            test_acc[:, step, 0] = (out_test.argmax(dim=-1) == test[1]).to(torch.float64).mean(dim=1)
            else:
                sq = (out - targets) ** 2
                with torch.no_grad():
                    loss_rec[:, step] = ((sq * labelled).sum(dim=1) / counts).double()
                    if classification:
                        right = ((out * targets) > 0).to(labelled.dtype)
                        acc_rec[:, step] = ((right * labelled).sum(dim=1) / counts).double()
                    if test is not None:
                        out_test = test[0](params)
                        test_loss[:, step] = ((out_test - test[1]) ** 2).mean(dim=1).double()
                        if classification:
                            test_acc[:, step] = ((out_test * test[1]) > 0).to(torch.float64).mean(dim=1)
            if step == steps:
                break
            w = weights if weight_schedule is None else _scheduled_weights(weight_schedule, step, weights)
            if settings.reweight_by_loss:
                per_example = per * w if ce else (sq * w).sum(dim=2)  # (S, N)
                summand = per_example * loss_weights(per_example)
            elif ce:
                summand = per * w
            else:
                summand = sq * w
            total = summand.sum() / n
            with torch.no_grad():
                objective[:, step] = (summand.reshape(summand.shape[0], -1).sum(dim=1) / n).double()
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            bar.update(1)
        bar.close()
        if targets.is_cuda:  # the steps were queued: wait for them before reading the clock
            torch.cuda.synchronize(targets.device)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        torch.set_num_threads(old_threads)
    return TrainRecord(
        loss_rec.cpu().numpy(),
        acc_rec.cpu().numpy(),
        tuple(int(s) for s in seeds),
        wall,
        test_loss.cpu().numpy(),
        test_acc.cpu().numpy(),
        threads,
        cpu,
        objective.cpu().numpy(),
    )


def _scheduled_weights(schedule: Callable[[int], torch.Tensor], step: int, like: torch.Tensor) -> torch.Tensor:
    """schedule(step), checked against the shape, dtype and device of the fixed weights `like`."""
    w = schedule(step)
    if not isinstance(w, torch.Tensor) or w.shape != like.shape or w.dtype != like.dtype:
        got = (tuple(w.shape), w.dtype) if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(f"weight_schedule({step}) must return a {tuple(like.shape)} {like.dtype} tensor, got {got}")
    return w.to(like.device)


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of logits (S, N, C) against labels (S, N): shape (S, N)."""
    s, n, c = logits.shape
    return torch.nn.functional.cross_entropy(logits.reshape(s * n, c), labels.reshape(s * n), reduction="none").view(
        s, n
    )


def loss_weights(per_example: torch.Tensor) -> torch.Tensor:
    """Loss-proportional example weights: w_si = l_si / mean_j l_sj, detached; (S, N) -> (S, N).

    A replica whose losses are all zero gets weight 1 everywhere (nothing to reweight).
    """
    with torch.no_grad():
        loss = per_example.detach()
        mean = loss.mean(dim=1, keepdim=True)
        return torch.where(mean > 0, loss / torch.where(mean > 0, mean, torch.ones_like(mean)), torch.ones_like(loss))
