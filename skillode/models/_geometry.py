"""The Geometry model of skill learning, simulated in batches with torch.

Parameters x in R^N start at 0. Skill k has a unit task vector t_k (row k of T, shape (n, N)) and
the skill variable s_k = t_k . x. Per-skill losses:

    MSE:  l_k = (1 - s_k)^2            (l_k(0) = 1)
    CE:   l_k = log(1 + exp(-s_k))     (l_k(0) = log 2; s_k plays the role of the logit)

The data loss is L = sum_k w_k l_k(s_k) with w = p / sum(p) (exact expected gradient) or, with a
batch of B samples, w = counts / B where counts ~ Multinomial(B, p / sum(p)) is drawn afresh
every step. Its gradient is

    g = dL/dx = T^T (w * dl/ds) + sigma * xi,     xi ~ Normal(0, I_N)  (optional gradient noise)

so a batch never needs a (B, N) matrix: the B samples enter only through the n count fractions.
The optimizer then updates x (no weight decay, constant learning rate lr, k = 1, 2, ...):

    sgd:      x -= lr g
    signgd:   x -= lr sign(g)                        (= Adam with betas (0, 0), eps = 0)
    adam:     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
              x -= lr (m / (1-b1^k)) / (sqrt(v / (1-b2^k)) + eps)
    lion:     x -= lr sign(b1 m + (1-b1) g);  then m = b2 m + (1-b2) g
    ademamix: m1 = b1 m1 + (1-b1) g;  m2 = b3 m2 + (1-b3) g;  v = b2 v + (1-b2) g^2
              x -= lr (m1 / (1-b1^k) + alpha m2) / (sqrt(v / (1-b2^k)) + eps)

Task vectors: "orthogonal" (orthonormal rows, a random rotation; needs N >= n), "gaussian"
(independent random unit vectors, any N: they overlap when N < n), "basis" (t_k = e_k, needs
N >= n) or a given (n, N) array (rows are normalised). With basis-aligned tasks every optimizer
above acts coordinate by coordinate, so only the n task coordinates are simulated (O(n) per step);
the other N - n coordinates never touch the loss.

Zero task vectors (the paper's "modular" model, Fig 18): with allow_zero_tasks=True a given array
may hold zero rows, and tasks="basis" may have N < n, where t_k = e_k for k <= N and t_k = 0 for
k > N (GeometryModel.modular). A task with t_k = 0 has s_k = t_k . x = 0 whatever x is, and adds
nothing to the gradient: it is never learned, and its loss stays at its initial value, 1 (MSE) or
log 2 (CE). Its samples still take their share p_k of every batch. Without the flag a zero row is
an error, so that a task vector lost to a bug is not silently read as an unlearnable task.

Simulated by skillode.solvers.simulate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import as_count, as_frequencies, as_names, as_scalar, as_seed, choice
from .._repr import model_repr

OPTIMIZERS = ("signgd", "adam", "sgd", "lion", "ademamix")
TASK_KINDS = ("orthogonal", "gaussian", "basis")
LOSSES = ("mse", "ce")
DEFAULT_BETAS = {
    "signgd": (),
    "sgd": (),
    "adam": (0.9, 0.999),
    "lion": (0.9, 0.99),
    "ademamix": (0.9, 0.999, 0.9999),
}


@dataclass(frozen=True, eq=False)
class GeometryModel:
    """One Geometry-model configuration (see the module docstring for the equations).

    Args:
        p: shape (n,), skill frequencies (positive; normalised to sum 1 internally).
        N: number of parameters (dimension of x).
        tasks: "orthogonal", "gaussian", "basis", or an array of shape (n, N) (rows normalised).
        loss: "mse" or "ce".
        optimizer: "signgd", "adam", "sgd", "lion" or "ademamix".
        lr: learning rate (> 0).
        batch: None for the exact expected gradient, or B >= 1 samples per step.
        noise: standard deviation sigma of Gaussian gradient noise per coordinate (>= 0).
        betas: optimizer momenta, None for the defaults (adam (0.9, 0.999), lion (0.9, 0.99),
            ademamix (0.9, 0.999, 0.9999)); ignored by sgd and signgd.
        eps: Adam / AdEMAMix denominator offset.
        ademamix_alpha: weight of AdEMAMix's slow momentum.
        task_seed: seed of the random task vectors; None uses each run's seed.
        names: n skill names.
        allow_zero_tasks: permit zero task vectors (tasks that can never be learned): zero rows
            of a given array, and tasks="basis" with N < n (t_k = 0 for k > N; see modular).
            False (default): a zero row, or basis tasks with N < n, is a ValueError.
    """

    p: np.ndarray
    N: int
    tasks: Any = "orthogonal"
    loss: str = "mse"
    optimizer: str = "signgd"
    lr: float = 3e-4
    batch: int | None = None
    noise: float = 0.0
    betas: tuple[float, ...] | None = None
    eps: float = 1e-8
    ademamix_alpha: float = 5.0
    task_seed: int | None = None
    names: tuple[str, ...] | None = None
    allow_zero_tasks: bool = False
    _given_tasks: np.ndarray | None = field(init=False, repr=False, default=None)

    def __repr__(self) -> str:
        return model_repr(self)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        p.setflags(write=False)
        object.__setattr__(self, "p", p)
        n = p.size
        N = as_count(self.N, "N")
        object.__setattr__(self, "N", N)
        if not isinstance(self.allow_zero_tasks, (bool, np.bool_)):
            raise ValueError(f"allow_zero_tasks must be True or False, got {self.allow_zero_tasks!r}")
        object.__setattr__(self, "allow_zero_tasks", bool(self.allow_zero_tasks))
        kind, given = _check_tasks(self.tasks, n, N, self.allow_zero_tasks)
        object.__setattr__(self, "tasks", kind)
        if given is not None:
            object.__setattr__(self, "_given_tasks", given)
        object.__setattr__(self, "loss", choice(self.loss, "loss", LOSSES))
        opt = choice(self.optimizer, "optimizer", OPTIMIZERS)
        object.__setattr__(self, "optimizer", opt)
        object.__setattr__(self, "lr", as_scalar(self.lr, "lr", positive=True))
        if self.batch is not None:
            object.__setattr__(self, "batch", as_count(self.batch, "batch"))
        object.__setattr__(self, "noise", as_scalar(self.noise, "noise", nonnegative=True))
        object.__setattr__(self, "betas", _check_betas(self.betas, opt))
        object.__setattr__(self, "eps", as_scalar(self.eps, "eps", nonnegative=True))
        object.__setattr__(self, "ademamix_alpha", as_scalar(self.ademamix_alpha, "ademamix_alpha", nonnegative=True))
        if self.task_seed is not None:
            object.__setattr__(self, "task_seed", as_seed(self.task_seed, "task_seed"))
        object.__setattr__(self, "names", as_names(self.names, n))

    @classmethod
    def modular(cls, p: Any, N: int, **kwargs: Any) -> GeometryModel:
        """The paper's modular model (Fig 18): task k gets e_k for k <= N, tasks k > N get 0.

        The first min(N, n) tasks (in the order of p; the most frequent first for Zipf p) each own
        one coordinate; the others have zero task vectors and are never learned (loss 1 under MSE,
        log 2 under CE, forever). Equal to GeometryModel(p, N, tasks="basis", allow_zero_tasks=True,
        **kwargs); N >= n is the ordinary basis model.
        """
        for key in ("tasks", "allow_zero_tasks"):
            if key in kwargs:
                raise ValueError(f"{key} is fixed by GeometryModel.modular (basis tasks, zero beyond N)")
        return cls(p, N, tasks="basis", allow_zero_tasks=True, **kwargs)

    @property
    def n_skills(self) -> int:
        return self.p.size

    @property
    def learnable(self) -> np.ndarray:
        """Shape (n,) bool: which tasks have a non-zero vector (False: never learned)."""
        n = self.n_skills
        if self.tasks == "basis":
            return np.arange(n) < self.N
        if self.tasks == "given":
            assert self._given_tasks is not None  # set by __post_init__ for an array of tasks
            return np.any(self._given_tasks != 0, axis=1)
        return np.ones(n, dtype=bool)

    @property
    def n_learnable(self) -> int:
        """How many tasks have a non-zero vector: n, or fewer with zero task vectors."""
        return int(self.learnable.sum())

    @property
    def weights(self) -> np.ndarray:
        """p / sum(p), shape (n,): the expected per-step sample fractions."""
        return self.p / self.p.sum()

    @property
    def initial_loss(self) -> float:
        return 1.0 if self.loss == "mse" else math.log(2.0)

    def task_vectors(self, seed: int | None = None) -> np.ndarray:
        """T, shape (n, N), unit rows; random kinds use task_seed, else `seed` (default 0)."""
        n, N = self.n_skills, self.N
        if self.tasks == "given":
            assert self._given_tasks is not None  # set by __post_init__ for an array of tasks
            return self._given_tasks
        if self.tasks == "basis":
            return np.eye(n, N)
        rng = np.random.default_rng(self._task_seed_for(seed))
        if self.tasks == "orthogonal":
            q, r = np.linalg.qr(rng.standard_normal((N, n)))
            return (q * np.sign(np.diag(r))).T.copy()  # sign fix: Haar-distributed rotation
        g = rng.standard_normal((n, N))
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    def overlap(self, seed: int | None = None) -> np.ndarray:
        """C = T T^T, shape (n, n): the skill-overlap matrix of the Resource-model mapping."""
        T = self.task_vectors(seed)
        return T @ T.T

    def _task_seed_for(self, seed: int | None) -> int | None:
        if self.tasks in ("basis", "given"):
            return None
        if self.task_seed is not None:
            return self.task_seed
        return 0 if seed is None else int(seed)

    def config(self) -> dict:
        """A JSON-serialisable description, for metadata."""
        betas, names = self.betas, self.names
        assert betas is not None and names is not None  # set by __post_init__
        return {
            "model": "geometry",
            "p": self.p.tolist(),
            "N": self.N,
            "tasks": self.tasks if self.tasks != "given" else self.task_vectors().tolist(),
            "loss": self.loss,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "batch": self.batch,
            "noise": self.noise,
            "betas": list(betas),
            "eps": self.eps,
            "ademamix_alpha": self.ademamix_alpha,
            "task_seed": self.task_seed,
            "names": list(names),
            "allow_zero_tasks": self.allow_zero_tasks,
        }

    def replace(self, **changes: Any) -> GeometryModel:
        """A copy with some fields changed (given task arrays are kept unless tasks is changed)."""
        kw = {
            f: getattr(self, f)
            for f in (
                "p",
                "N",
                "tasks",
                "loss",
                "optimizer",
                "lr",
                "batch",
                "noise",
                "betas",
                "eps",
                "ademamix_alpha",
                "task_seed",
                "names",
                "allow_zero_tasks",
            )
        }
        if kw["tasks"] == "given":
            kw["tasks"] = self._given_tasks
        if "optimizer" in changes and "betas" not in changes:
            kw["betas"] = None
        kw.update(changes)
        return GeometryModel(**kw)


def _check_tasks(tasks: Any, n: int, N: int, allow_zero: bool) -> tuple[str, np.ndarray | None]:
    """(kind, given): a task kind checked against n and N, or "given" and the array with unit rows (read-only).

    With allow_zero, basis tasks may have N < n and zero rows of an array stay zero (tasks never learned).
    """
    if isinstance(tasks, str):
        kind = choice(tasks, "tasks", TASK_KINDS)
        if kind == "orthogonal" and N < n:
            raise ValueError(f"tasks={kind!r} needs N >= n; got N = {N} for n = {n} skills (use 'gaussian')")
        if kind == "basis" and N < n and not allow_zero:
            raise ValueError(
                f"tasks='basis' needs N >= n; got N = {N} for n = {n} skills (use 'gaussian', or "
                "allow_zero_tasks=True / GeometryModel.modular for zero task vectors beyond N)"
            )
        return kind, None
    try:
        T = np.array(tasks, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("tasks must be 'orthogonal', 'gaussian', 'basis' or an (n, N) array") from exc
    if T.shape != (n, N):
        raise ValueError(f"tasks must have shape (n, N) = ({n}, {N}), got {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("tasks must be finite")
    scale = np.max(np.abs(T), axis=1)
    zero = scale == 0
    if np.any(zero) and not allow_zero:
        raise ValueError(
            f"tasks row {int(np.flatnonzero(zero)[0])} is zero; task vectors need a direction "
            "(allow_zero_tasks=True makes a zero row a task that is never learned)"
        )
    with np.errstate(over="ignore", under="ignore"):  # such rows are handled below
        norms = np.linalg.norm(T, axis=1)
    plain = ~zero & (norms > 0) & np.isfinite(norms)
    T[plain] /= norms[plain, None]
    # rows whose norm under- or overflows: scaled by their largest entry first
    odd = ~zero & ~plain
    T[odd] /= scale[odd, None]
    T[odd] /= np.linalg.norm(T[odd], axis=1, keepdims=True)
    T.setflags(write=False)
    return "given", T


def _check_betas(betas: Any, opt: str) -> tuple[float, ...]:
    """The optimizer's momenta: the defaults when None (always for sgd / signgd), else checked in [0, 1)."""
    chosen = DEFAULT_BETAS[opt] if betas is None or opt in ("sgd", "signgd") else betas
    try:
        chosen = tuple(float(b) for b in chosen)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"betas must be a sequence of numbers, got {betas!r}") from exc
    if len(chosen) != len(DEFAULT_BETAS[opt]):
        raise ValueError(f"betas for {opt} must have {len(DEFAULT_BETAS[opt])} entries, got {len(chosen)}")
    for i, b in enumerate(chosen):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"betas[{i}] must lie in [0, 1), got {b}")
    return chosen
