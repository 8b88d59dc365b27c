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

Simulated by skillode.solvers.simulate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import as_count, as_frequencies, as_names, as_scalar, as_seed, choice

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
    _given_tasks: np.ndarray | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        p.setflags(write=False)
        object.__setattr__(self, "p", p)
        n = p.size
        N = as_count(self.N, "N")
        object.__setattr__(self, "N", N)
        kind, given = _check_tasks(self.tasks, n, N)
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

    @property
    def n_skills(self) -> int:
        return self.p.size

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
            )
        }
        if kw["tasks"] == "given":
            kw["tasks"] = self._given_tasks
        if "optimizer" in changes and "betas" not in changes:
            kw["betas"] = None
        kw.update(changes)
        return GeometryModel(**kw)


def _check_tasks(tasks: Any, n: int, N: int) -> tuple[str, np.ndarray | None]:
    """(kind, given): a task kind checked against n and N, or "given" and the array with unit rows (read-only)."""
    if isinstance(tasks, str):
        kind = choice(tasks, "tasks", TASK_KINDS)
        if kind in ("orthogonal", "basis") and N < n:
            raise ValueError(f"tasks={kind!r} needs N >= n; got N = {N} for n = {n} skills (use 'gaussian')")
        return kind, None
    try:
        T = np.array(tasks, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("tasks must be 'orthogonal', 'gaussian', 'basis' or an (n, N) array") from exc
    if T.shape != (n, N):
        raise ValueError(f"tasks must have shape (n, N) = ({n}, {N}), got {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("tasks must be finite")
    norms = np.linalg.norm(T, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"tasks row {int(np.flatnonzero(norms == 0)[0])} is zero; task vectors need a direction")
    T = T / norms[:, None]
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
