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

Many runs (configurations x seeds) advance together as a leading batch dimension of one torch
computation (CPU or GPU), or, where a step is too small for torch's per-operation cost to pay off,
in a compiled numba loop (skillode._geometry_kernel; simulate's `backend`). Each run owns its
random streams (counts and noise generators seeded from the run's seed), so a run's curves do not
depend on what it was batched with, nor on the backend.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import _geometry_kernel
from ._checks import as_frequencies, as_names, as_scalar, choice
from ._curves import SkillCurves

OPTIMIZERS = ("signgd", "adam", "sgd", "lion", "ademamix")
TASK_KINDS = ("orthogonal", "gaussian", "basis")
LOSSES = ("mse", "ce")
SMALL_WORK = 2**22  # runs x n x N below which one CPU thread is fastest
# backend="auto" picks the compiled CPU loop up to this runs x n x D (a single run, which torch
# cannot batch, up to NUMBA_MAX_WORK_SINGLE); benchmarks/bench_geometry.py --backends measures it.
NUMBA_MAX_WORK = 2**19
NUMBA_MAX_WORK_SINGLE = 2**21
DEFAULT_BETAS = {
    "signgd": (),
    "sgd": (),
    "adam": (0.9, 0.999),
    "lion": (0.9, 0.99),
    "ademamix": (0.9, 0.999, 0.9999),
}


def _as_count(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) and not (
        isinstance(value, float) and value.is_integer()
    ):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    k = int(value)
    if k < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {k}")
    return k


def _as_seed(value: Any, name: str) -> int:
    k = _as_count(value, name, minimum=0)
    if k >= 2**63:
        raise ValueError(f"{name} must be below 2**63, got {k}")
    return k


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
        N = _as_count(self.N, "N")
        object.__setattr__(self, "N", N)
        if isinstance(self.tasks, str):
            kind = choice(self.tasks, "tasks", TASK_KINDS)
            if kind in ("orthogonal", "basis") and N < n:
                raise ValueError(f"tasks={kind!r} needs N >= n; got N = {N} for n = {n} skills (use 'gaussian')")
            object.__setattr__(self, "tasks", kind)
        else:
            try:
                T = np.array(self.tasks, dtype=np.float64)
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
            object.__setattr__(self, "tasks", "given")
            object.__setattr__(self, "_given_tasks", T)
        object.__setattr__(self, "loss", choice(self.loss, "loss", LOSSES))
        opt = choice(self.optimizer, "optimizer", OPTIMIZERS)
        object.__setattr__(self, "optimizer", opt)
        object.__setattr__(self, "lr", as_scalar(self.lr, "lr", positive=True))
        if self.batch is not None:
            object.__setattr__(self, "batch", _as_count(self.batch, "batch"))
        object.__setattr__(self, "noise", as_scalar(self.noise, "noise", nonnegative=True))
        betas = DEFAULT_BETAS[opt] if self.betas is None or opt in ("sgd", "signgd") else self.betas
        try:
            betas = tuple(float(b) for b in betas)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"betas must be a sequence of numbers, got {self.betas!r}") from exc
        if len(betas) != len(DEFAULT_BETAS[opt]):
            raise ValueError(f"betas for {opt} must have {len(DEFAULT_BETAS[opt])} entries, got {len(betas)}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"betas[{i}] must lie in [0, 1), got {b}")
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "eps", as_scalar(self.eps, "eps", nonnegative=True))
        object.__setattr__(self, "ademamix_alpha", as_scalar(self.ademamix_alpha, "ademamix_alpha", nonnegative=True))
        if self.task_seed is not None:
            object.__setattr__(self, "task_seed", _as_seed(self.task_seed, "task_seed"))
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
        return {
            "model": "geometry",
            "p": self.p.tolist(),
            "N": self.N,
            "tasks": self.tasks if self.tasks != "given" else self._given_tasks.tolist(),
            "loss": self.loss,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "batch": self.batch,
            "noise": self.noise,
            "betas": list(self.betas),
            "eps": self.eps,
            "ademamix_alpha": self.ademamix_alpha,
            "task_seed": self.task_seed,
            "names": list(self.names),
        }

    def replace(self, **changes: Any) -> "GeometryModel":
        """A copy with some fields changed (given task arrays are kept unless tasks is changed)."""
        kw = {f: getattr(self, f) for f in ("p", "N", "tasks", "loss", "optimizer", "lr", "batch", "noise",
                                            "betas", "eps", "ademamix_alpha", "task_seed", "names")}
        if kw["tasks"] == "given":
            kw["tasks"] = self._given_tasks
        if "optimizer" in changes and "betas" not in changes:
            kw["betas"] = None
        kw.update(changes)
        return GeometryModel(**kw)


def zipf_frequencies(n: int, alpha: float) -> np.ndarray:
    """p_k = k^-alpha / sum_j j^-alpha, k = 1..n, shape (n,)."""
    n = _as_count(n, "n")
    alpha = as_scalar(alpha, "alpha", nonnegative=True)
    p = np.arange(1, n + 1, dtype=np.float64) ** -alpha
    return p / p.sum()


def log_steps(steps: int, num: int = 200) -> np.ndarray:
    """About `num` distinct integer steps from 0 to `steps`, log-spaced (0 and `steps` included)."""
    steps = _as_count(steps, "steps", minimum=0)
    num = _as_count(num, "num", minimum=2)
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


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a declared optional dependency
        raise ImportError("the Geometry model needs torch (pip install 'skillode[validation]')") from exc
    return torch


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
    """
    model_list = [models] if isinstance(models, GeometryModel) else list(models)
    if not model_list or not all(isinstance(m, GeometryModel) for m in model_list):
        raise ValueError("models must be a GeometryModel or a non-empty sequence of GeometryModel")
    seed_list = [seeds] if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) else list(seeds)
    if not seed_list:
        raise ValueError("seeds must name at least one seed")
    seed_list = [_as_seed(s, "seeds") for s in seed_list]
    steps = _as_count(steps, "steps", minimum=0)
    if record is None:
        rec = np.arange(steps + 1) if steps <= 5000 else log_steps(steps, 400)
    else:
        rec = np.asarray(record)
        if rec.ndim != 1 or rec.size == 0 or not np.all(np.equal(np.mod(rec, 1), 0)):
            raise ValueError("record must be a non-empty 1-D sequence of integer steps")
        rec = rec.astype(np.int64)
        if rec[0] < 0 or rec[-1] > steps or np.any(np.diff(rec) <= 0):
            raise ValueError(f"record must be strictly increasing steps within [0, {steps}]")
    dtype_name = choice(dtype, "dtype", ("float64", "float32"))
    backend = choice(backend, "backend", ("auto", "torch", "numba"))
    if backend == "numba" and not _geometry_kernel.available():
        raise ImportError("backend='numba' needs numba (pip install numba)")
    if device is not None and str(device) != "cpu" and backend == "numba":
        raise ValueError(f"backend='numba' runs on the CPU; got device={device!r}")
    chunk = _as_count(chunk, "chunk")

    runs = [(m, s) for m in model_list for s in seed_list]
    groups: dict[tuple, list[int]] = {}
    for i, (m, _) in enumerate(runs):
        groups.setdefault(_group_key(m), []).append(i)
    plans = {key: _backend_for(backend, device, len(idx), key[0], key[0] if key[5] else key[1])
             for key, idx in groups.items()}
    torch = _torch() if "torch" in plans.values() or any(k[6] for k in groups) else None
    dev_name = "cpu"
    if torch is not None:
        dev = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        tdtype = torch.float64 if dtype_name == "float64" else torch.float32
        if any(b == "torch" for b in plans.values()):
            dev_name = str(dev)
    start = time.perf_counter()
    losses: list[np.ndarray | None] = [None] * len(runs)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(groups), desc="geometry", unit="step", leave=False)
    # Converged skills drive residuals like 1 - s into the subnormal range, where CPU arithmetic is
    # ~100x slower; flushing them to zero changes losses only below 1e-308.
    if threads is not None:
        threads = _as_count(threads, "threads")
    # torch's switch sets this thread's CPU flags (covering the numba kernel too when torch is
    # loaded); the kernel also flushes its own subnormal intermediates, for runs without torch.
    default_threads = torch.get_num_threads() if torch is not None else None
    flushed = torch.set_flush_denormal(True) if torch is not None else False  # torch has no getter
    try:
        for key, idx in groups.items():
            group = [runs[i] for i in idx]
            if plans[key] == "numba":
                out = _run_group_numba(group, steps, rec, dtype_name, chunk, bar)
            else:
                n, N, basis = key[0], key[1], key[5]
                work = len(idx) * n * (n if basis else N)
                torch.set_num_threads(threads or (1 if work < SMALL_WORK else default_threads))
                with torch.inference_mode():
                    out = _run_group(group, steps, rec, dev, tdtype, chunk, bar)
            for j, i in enumerate(idx):
                losses[i] = out[j]
    finally:
        if torch is not None:
            torch.set_num_threads(default_threads)
        if flushed:  # back to torch's default
            torch.set_flush_denormal(False)
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
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
    if on_cpu and _geometry_kernel.available() and runs * n * D <= limit:
        return "numba"
    return "torch"


def _task_matrices(runs) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct task matrices of a group's runs and, per run, the index of its matrix."""
    keys: dict[tuple, int] = {}
    mats: list[np.ndarray] = []
    t_index = np.empty(len(runs), dtype=np.int64)
    for r, (m, s) in enumerate(runs):
        key = ("given", id(m._given_tasks)) if m.tasks == "given" else (m.tasks, m._task_seed_for(s))
        if key not in keys:
            keys[key] = len(mats)
            mats.append(m.task_vectors(s))
        t_index[r] = keys[key]
    return mats, t_index


def _count_streams(runs) -> list[np.random.Generator]:
    return [np.random.default_rng(_spawn_seed(s, 1)) for _, s in runs]


def _noise_streams(runs, torch, device):
    return [torch.Generator(device=device).manual_seed(_spawn_seed(s, 2)) for _, s in runs]


def _count_fractions(count_rngs, probs, batch: int, this: int) -> np.ndarray:
    """Per-step sample fractions counts / B, shape (this, R, n), from each run's own stream."""
    counts = np.stack([rng.multinomial(batch, pr, size=this) for rng, pr in zip(count_rngs, probs)], axis=1)
    return counts / float(batch)


def _run_group_numba(runs, steps, rec, dtype_name, chunk, bar):
    """The compiled-loop twin of _run_group (same streams, same update order); loss (n_rec, n) per run."""
    R = len(runs)
    m0 = runs[0][0]
    n, N = m0.n_skills, m0.N
    basis = m0.tasks == "basis"
    D = n if basis else N
    dt = np.float64 if dtype_name == "float64" else np.float32
    if basis:
        T, t_index = np.zeros((1, 1, 1), dtype=dt), np.zeros(R, dtype=np.int64)
    else:
        mats, t_index = _task_matrices(runs)
        T = np.stack(mats)
    transposed = not basis and D < n
    T = np.ascontiguousarray(T.transpose(0, 2, 1) if transposed else T, dtype=dt)

    def per_run(values):
        return np.ascontiguousarray(values, dtype=dt)

    lr = per_run([m.lr for m, _ in runs])
    betas = [per_run([(m.betas + (0.0, 0.0, 0.0))[i] for m, _ in runs]) for i in range(3)]
    eps = per_run([m.eps for m, _ in runs])
    amix = per_run([m.ademamix_alpha for m, _ in runs])
    opt = _geometry_kernel.OPTIMIZER_CODES[m0.optimizer]
    W = per_run(np.stack([m.weights for m, _ in runs]))
    X = np.zeros((R, D), dtype=dt)
    moments = [np.zeros((R, D) if used else (R, 0), dtype=dt)
               for used in (opt >= 2, opt >= 3, opt == 4)]
    S, G = np.empty(n, dtype=dt), np.empty(D, dtype=dt)
    batch = m0.batch
    count_rngs = _count_streams(runs) if batch is not None else None
    probs = [m.weights for m, _ in runs]
    noise = np.array([m.noise for m, _ in runs], dtype=dt).reshape(1, R, 1)
    noise_gens = torch = None
    if np.any(noise > 0):  # drawn with torch, so that both backends share the noise streams
        torch = _torch()
        noise_gens = _noise_streams(runs, torch, torch.device("cpu"))
    no_counts = np.empty((0, R, n), dtype=dt)
    no_noise = np.empty((0, R, D), dtype=dt)
    advance, skills = _geometry_kernel.kernels()
    rec_row = np.full(steps + 1, -1, dtype=np.int64)
    rec_row[rec] = np.arange(len(rec))
    out = np.empty((len(rec), R, n), dtype=dt)
    k = 0
    while k < steps:
        this = min(chunk, steps - k)
        Wc = no_counts if batch is None else _count_fractions(count_rngs, probs, batch, this).astype(dt)
        Zc = no_noise
        if noise_gens is not None:
            Zc = np.empty((this, R, D), dtype=dt)
            tdt = torch.float64 if dt is np.float64 else torch.float32
            for r in range(R):
                Zc[:, r] = torch.randn(this, D, dtype=tdt, generator=noise_gens[r]).numpy()
            Zc *= noise
        advance(X, *moments, S, G, T, t_index, basis, transposed, Wc, W, Zc, lr, *betas, eps, amix,
                opt, m0.loss == "mse", k, this, rec_row[k:k + this], out)
        k += this
        if bar is not None:
            bar.update(this)
    if rec_row[steps] >= 0:
        out[rec_row[steps]] = skills(X, T, t_index, basis, transposed, n)
    S_rec = out.astype(np.float64)
    loss = (1.0 - S_rec) ** 2 if m0.loss == "mse" else np.logaddexp(0.0, -S_rec)
    return [loss[:, r] for r in range(R)]


def _spawn_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _run_group(runs, steps, rec, dev, tdtype, chunk, bar):
    """Advance runs that share n, N, loss, optimizer, batch size and task kind; loss (R, n_rec, n) per run."""
    torch = _torch()
    R = len(runs)
    m0 = runs[0][0]
    n, N, opt = m0.n_skills, m0.N, m0.optimizer
    basis = m0.tasks == "basis"
    D = n if basis else N

    def col(values):
        return torch.tensor(values, dtype=tdtype, device=dev).reshape(R, 1)

    W = torch.tensor(np.stack([m.weights for m, _ in runs]), dtype=tdtype, device=dev)
    lr = col([m.lr for m, _ in runs])
    noise = col([m.noise for m, _ in runs])
    use_noise = bool((noise > 0).any())

    # Task vectors: runs that share T are grouped so one (U, m, N) @ (U, N, n) product serves them.
    order = np.arange(R)
    shared = None
    Tb = None
    if not basis:
        mats, t_index = _task_matrices(runs)
        U = len(mats)
        counts = np.bincount(t_index, minlength=U)
        if U == 1:
            shared = torch.tensor(mats[0], dtype=tdtype, device=dev)  # (n, N)
        elif np.all(counts == counts[0]):
            order = np.argsort(t_index, kind="stable")
            Tb = torch.tensor(np.stack(mats), dtype=tdtype, device=dev)  # (U, n, N)
        else:
            Tb = torch.tensor(np.stack([mats[i] for i in t_index]), dtype=tdtype, device=dev)  # (R, n, N)
            U = R
    runs = [runs[i] for i in order]
    W = W[torch.as_tensor(order, device=dev)]
    lr = lr[torch.as_tensor(order, device=dev)]
    noise = noise[torch.as_tensor(order, device=dev)]

    if shared is not None:
        sharedT = shared.T.contiguous()

        def skills(X):
            return X @ sharedT

        def grad(V):
            return V @ shared
    elif Tb is not None:
        Ug = Tb.shape[0]
        TbT = Tb.transpose(1, 2).contiguous()

        def skills(X):
            return torch.bmm(X.view(Ug, R // Ug, D), TbT).reshape(R, n)

        def grad(V):
            return torch.bmm(V.view(Ug, R // Ug, n), Tb).reshape(R, D)
    else:
        def skills(X):
            return X

        def grad(V):
            return V

    mse = m0.loss == "mse"

    def loss_of(S):
        return (1.0 - S) ** 2 if mse else torch.nn.functional.softplus(-S)

    # Optimizer hyper-parameters as (R, 1) columns so configurations can differ within a group.
    nb = len(m0.betas)
    B = [col([m.betas[i] for m, _ in runs]) for i in range(nb)]
    eps = col([m.eps for m, _ in runs])
    amix = col([m.ademamix_alpha for m, _ in runs])

    X = torch.zeros(R, D, dtype=tdtype, device=dev)
    M = torch.zeros_like(X) if opt in ("adam", "lion", "ademamix") else None
    V2 = torch.zeros_like(X) if opt in ("adam", "ademamix") else None
    M2 = torch.zeros_like(X) if opt == "ademamix" else None

    batch = m0.batch
    gen_dev = dev if dev.type == "cuda" else torch.device("cpu")
    count_rngs = _count_streams(runs) if batch is not None else []
    noise_gens = _noise_streams(runs, torch, gen_dev) if use_noise else []
    probs = [m.weights for m, _ in runs]
    # A uniform learning rate is applied as a Python float: one fused op per step instead of two.
    lr_scalar = float(lr[0, 0]) if bool((lr == lr[0, 0]).all()) else None

    # Skills (not losses) are stored at recorded steps; losses are computed once at the end.
    out = torch.empty(len(rec), R, n, dtype=tdtype, device=dev)
    is_rec = np.zeros(steps + 1, dtype=bool)
    is_rec[rec] = True
    is_rec = is_rec.tolist()
    rec_ptr = 0
    k = 0
    while True:
        this = min(chunk, steps - k)  # updates in this chunk
        Wc = Zc = None
        if this > 0 and batch is not None:
            Wc = torch.as_tensor(_count_fractions(count_rngs, probs, batch, this), device=dev).to(tdtype)
        if this > 0 and use_noise:
            Zc = torch.empty(this, R, D, dtype=tdtype, device=dev)
            for r in range(R):
                Zc[:, r] = torch.randn(this, D, dtype=tdtype, device=dev, generator=noise_gens[r])
            Zc.mul_(noise)
        if this == 0:  # every update done: record the final state and stop
            if is_rec[k]:
                out[rec_ptr] = skills(X)
            break
        for j in range(this):
            S = skills(X)
            if is_rec[k]:
                out[rec_ptr] = S
                rec_ptr += 1
            w = W if Wc is None else Wc[j]
            dl = (S - 1.0).mul_(2.0) if mse else torch.sigmoid(-S).neg_()
            G = grad(dl.mul_(w))
            if Zc is not None:
                G.add_(Zc[j])
            k += 1
            if opt == "sgd":
                step_dir = G
            elif opt == "signgd":
                step_dir = torch.sign(G)
            elif opt == "lion":
                step_dir = torch.sign(torch.lerp(G, M, B[0]))
                M.lerp_(G, 1.0 - B[1])
            else:
                M.lerp_(G, 1.0 - B[0])
                V2.mul_(B[1]).addcmul_(G, G * (1.0 - B[1]))
                denom = (V2 / (1.0 - B[1] ** k)).sqrt_().add_(eps)
                step_dir = M / (1.0 - B[0] ** k)
                if opt == "ademamix":
                    M2.lerp_(G, 1.0 - B[2])
                    step_dir.addcmul_(M2, amix)
                step_dir.div_(denom)
            if lr_scalar is not None:
                X.add_(step_dir, alpha=-lr_scalar)
            else:
                X.addcmul_(step_dir, lr, value=-1.0)
        if bar is not None:
            bar.update(this)
    out = loss_of(out.to(torch.float64))
    result = out.permute(1, 0, 2).cpu().numpy()
    back = np.empty(R, dtype=np.int64)
    back[order] = np.arange(R)
    return [result[back[i]] for i in range(R)]


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
