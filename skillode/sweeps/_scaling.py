"""Scaling-law and two-skill sweeps of the Geometry model; power-law and Chinchilla fits.

Scaling sweep: Zipf frequencies p_k ∝ k^-alpha over n skills, Gaussian random task vectors in
R^N (they overlap when N < n, so only about N skills fit), SignGD with the exact expected gradient.
The grid is alphas x Ns x seeds; one *point* is one N value, whose alphas x seeds runs advance in one
batched torch computation and are written once to DIR/points/N{N}.npz (atomic rename). A rerun skips
points already on disk (resumable); --shard i/k runs points i, i+k, i+2k, ... (0-based), so the same
command spreads over a cluster job array. Losses are recorded only at log-spaced steps.

Fits:
    power law        L = A x^-a               (log-log least squares, t-based confidence interval)
    Chinchilla       L(N, S) = E + A N^-a + B S^-b   (least squares on log L, Jacobian-based CIs)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_count, as_scalar, choice
from .._repr import short_repr
from ..models import GeometryModel, zipf_frequencies
from ..models._geometry import OPTIMIZERS
from ..solvers import log_steps, simulate

CONFIG_FILE = "config.json"
POINTS_DIR = "points"


def _default_Ns() -> tuple[int, ...]:
    return tuple(int(v) for v in np.unique(np.round(np.geomspace(10, 1000, 20)).astype(int)))


@dataclass(frozen=True)
class ScalingSweepConfig:
    """A scaling sweep grid (every field is recorded in DIR/config.json).

    Args:
        alphas: Zipf exponents of the skill frequencies.
        Ns: parameter counts N (one sweep point each).
        seeds: seeds (random task vectors) per (alpha, N).
        steps: optimizer updates per run.
        n_skills: n, the number of skills.
        optimizer, lr, loss, tasks, batch: the GeometryModel settings of every run.
        n_record: about this many log-spaced steps are recorded.
        dtype: "float32" (default: the sweep is memory-bandwidth bound) or "float64".
    """

    alphas: tuple[float, ...] = (1.25, 1.5, 1.75, 2.0)
    Ns: tuple[int, ...] = field(default_factory=_default_Ns)
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    steps: int = 20_000
    n_skills: int = 1000
    optimizer: str = "signgd"
    lr: float = 3e-4
    loss: str = "mse"
    tasks: str = "gaussian"
    batch: int | None = None
    n_record: int = 80
    dtype: str = "float32"

    def __post_init__(self) -> None:
        alphas = tuple(as_scalar(a, "alphas", nonnegative=True) for a in self.alphas)
        Ns = tuple(as_count(v, "Ns") for v in self.Ns)
        seeds = tuple(as_count(s, "seeds", minimum=0) for s in self.seeds)
        for name, vals in (("alphas", alphas), ("Ns", Ns), ("seeds", seeds)):
            if not vals:
                raise ValueError(f"{name} must hold at least one value")
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} must be distinct, got {vals}")
        object.__setattr__(self, "alphas", alphas)
        object.__setattr__(self, "Ns", tuple(sorted(Ns)))
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "steps", as_count(self.steps, "steps"))
        object.__setattr__(self, "n_skills", as_count(self.n_skills, "n_skills"))
        object.__setattr__(self, "optimizer", choice(self.optimizer, "optimizer", OPTIMIZERS))
        object.__setattr__(self, "lr", as_scalar(self.lr, "lr", positive=True))
        object.__setattr__(self, "loss", choice(self.loss, "loss", ("mse", "ce")))
        object.__setattr__(self, "tasks", choice(self.tasks, "tasks", ("gaussian", "orthogonal", "basis")))
        if self.batch is not None:
            object.__setattr__(self, "batch", as_count(self.batch, "batch"))
        object.__setattr__(self, "n_record", as_count(self.n_record, "n_record", minimum=2))
        object.__setattr__(self, "dtype", choice(self.dtype, "dtype", ("float32", "float64")))
        # Validate one model early so a bad combination (e.g. orthogonal tasks with N < n) fails here.
        self.model(self.alphas[0], self.Ns[0])

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> ScalingSweepConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"config has unknown fields {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def model(self, alpha: float, N: int) -> GeometryModel:
        return GeometryModel(
            zipf_frequencies(self.n_skills, alpha),
            N,
            tasks=self.tasks,
            loss=self.loss,
            optimizer=self.optimizer,
            lr=self.lr,
            batch=self.batch,
        )

    def record_steps(self) -> np.ndarray:
        return log_steps(self.steps, self.n_record)


def parse_shard(text: str) -> tuple[int, int]:
    """'i/k' -> (i, k) with 0 <= i < k."""
    try:
        i_text, k_text = str(text).split("/")
        i, k = int(i_text), int(k_text)
    except ValueError:
        raise ValueError(f"shard must look like i/k (e.g. 0/4), got {text!r}") from None
    if k < 1 or not 0 <= i < k:
        raise ValueError(f"shard i/k needs k >= 1 and 0 <= i < k, got {text!r}")
    return i, k


def shard_points(points: Sequence[Any], index: int, count: int) -> list[Any]:
    """Round-robin share index of count (cheap and expensive points spread evenly)."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard index must satisfy 0 <= index < count, got {index}/{count}")
    return list(points)[index::count]


def point_path(out_dir: str | Path, N: int) -> Path:
    return Path(out_dir) / POINTS_DIR / f"N{N:07d}.npz"


def _prepare_dir(config: ScalingSweepConfig, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    (out / POINTS_DIR).mkdir(parents=True, exist_ok=True)
    cfg_path = out / CONFIG_FILE
    if cfg_path.exists():
        existing = ScalingSweepConfig.from_dict(json.loads(cfg_path.read_text()))
        if existing.digest() != config.digest():
            raise ValueError(
                f"out directory {str(out)!r} holds a different sweep (config.json differs); "
                "use a new --out or the same settings"
            )
    else:
        tmp = cfg_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(config.to_dict(), indent=2))
        os.replace(tmp, cfg_path)
    return out


def _peak_rss_kib() -> int:
    """This process's peak resident memory in KiB (0 where the resource module is unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _run_point(config: ScalingSweepConfig, out: Path, N: int, threads: int | None) -> Path:
    """Simulate one N (alphas x seeds in one batch) and write its point file once, atomically."""
    start = time.perf_counter()
    rec = config.record_steps()
    models = [config.model(a, N) for a in config.alphas]
    res = simulate(models, config.steps, seeds=list(config.seeds), record=rec, dtype=config.dtype, threads=threads)
    A, S = len(config.alphas), len(config.seeds)
    total = res.total_loss().reshape(A, S, -1)
    final = np.stack([c.loss[-1] for c in res.curves]).reshape(A, S, -1)
    path = point_path(out, N)
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.npz")
    np.savez(
        tmp,
        steps=rec,
        total_loss=total,
        final_loss=final.astype(np.float32),
        N=N,
        alphas=np.array(config.alphas),
        seeds=np.array(config.seeds),
        digest=config.digest(),
        seconds=time.perf_counter() - start,
        peak_rss_kib=_peak_rss_kib(),
    )
    os.replace(tmp, path)
    return path


def run_scaling_sweep(
    config: ScalingSweepConfig,
    out_dir: str | Path,
    *,
    shard: tuple[int, int] = (0, 1),
    jobs: int = 1,
    threads: int | None = None,
    progress: bool = False,
) -> list[Path]:
    """Run this shard's missing points; returns the point files written now.

    Each point (one N) simulates alphas x seeds runs in one batch and writes, once,
    total_loss (n_alphas, n_seeds, n_rec), final_loss (n_alphas, n_seeds, n) and steps (n_rec,).

    Args:
        config: the grid.
        out_dir: output directory (config.json, points/).
        shard: (i, k): run points i, i+k, ... of the N grid.
        jobs: worker processes (joblib); with jobs > 1 each worker uses one torch thread,
            which on a small or busy machine beats one process with several threads.
        threads: torch threads per process (default: 1 when jobs > 1, else simulate's choice).
        progress: show a tqdm bar over points.
    """
    out = _prepare_dir(config, out_dir)
    jobs = as_count(jobs, "jobs")
    # Largest N first: the expensive points start early, so workers finish together.
    todo = sorted((N for N in shard_points(config.Ns, *shard) if not point_path(out, N).exists()), reverse=True)
    written: list[Path] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"sweep shard {shard[0]}/{shard[1]}", unit="point")
    try:
        if jobs == 1:
            results = (_run_point(config, out, N, threads) for N in todo)
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
                delayed(_run_point)(config, out, N, threads or 1) for N in todo
            )
        for path in results:
            written.append(path)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(path.stem)
    finally:
        if bar is not None:
            bar.close()
    return sorted(written)


@dataclass(frozen=True, eq=False)
class ScalingSweepResults:
    """A sweep's results gathered from its point files.

    Attributes:
        config: the sweep configuration.
        steps: shape (n_rec,), recorded steps.
        total_loss: shape (n_alphas, n_Ns, n_seeds, n_rec), sum_k p_k l_k; NaN for missing points.
        missing: the N values with no point file yet.
    """

    config: ScalingSweepConfig
    steps: np.ndarray
    total_loss: np.ndarray
    missing: tuple[int, ...]

    @property
    def Ns(self) -> np.ndarray:
        return np.array(self.config.Ns, dtype=np.float64)

    def __repr__(self) -> str:
        cfg = self.config
        return short_repr(
            self,
            (),
            array_items=0,
            values={
                "alphas": cfg.alphas,
                "Ns": cfg.Ns,
                "seeds": cfg.seeds,
                "steps": self.steps,
                "total_loss": self.total_loss,
                "missing": self.missing,
            },
        )

    def final_loss(self) -> np.ndarray:
        """shape (n_alphas, n_Ns, n_seeds): the total loss after the last step."""
        return self.total_loss[..., -1]


def load_scaling_sweep(out_dir: str | Path) -> ScalingSweepResults:
    out = Path(out_dir)
    cfg_path = out / CONFIG_FILE
    if not cfg_path.exists():
        raise ValueError(f"{str(out)!r} holds no sweep ({CONFIG_FILE} missing)")
    config = ScalingSweepConfig.from_dict(json.loads(cfg_path.read_text()))
    rec = config.record_steps()
    A, S = len(config.alphas), len(config.seeds)
    total = np.full((A, len(config.Ns), S, rec.size), np.nan)
    missing = []
    for j, N in enumerate(config.Ns):
        path = point_path(out, N)
        if not path.exists():
            missing.append(N)
            continue
        with np.load(path) as data:
            if str(data["digest"]) != config.digest():
                raise ValueError(f"{path.name} belongs to a different sweep configuration")
            total[:, j] = data["total_loss"]
    return ScalingSweepResults(config, rec, total, tuple(missing))
