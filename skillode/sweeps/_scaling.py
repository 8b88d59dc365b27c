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

import functools
import hashlib
import json
import logging
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_count, as_scalar, choice
from .._files import atomic_write, check_output_dir
from .._repr import short_repr
from ..models import GeometryModel, zipf_frequencies
from ..models._geometry import OPTIMIZERS
from ..solvers import log_steps, simulate
from ..solvers._streams import COUNT_METHODS
from ._engine import DEFAULT_CONNECT_TIMEOUT, PointFailure, Scheduler, parse_scheduler, run_points

CONFIG_FILE = "config.json"
POINTS_DIR = "points"
PRESETS = ("default", "paper", "paper-signgd")
# Fields added after the first sweeps were written: left out of config.json (and so of the digest)
# at these defaults, so that older sweep folders keep their digest and resume.
_LATER_FIELDS = {"betas": None, "eps": 1e-8, "counts": "multinomial", "record_extra": ()}
# A point simulates its seeds in groups whose task matrices fit in about this many bytes (one
# core's L2): the two products per step read every matrix, and four N = 1000 matrices (16 MB) run
# from memory at half the speed of one (4 MB) read from cache (benchmarks/bench_fig10.py).
TASK_CACHE_BYTES = 2 * 2**20
_log = logging.getLogger("skillode.sweeps")


def _default_Ns() -> tuple[int, ...]:
    return tuple(int(v) for v in np.unique(np.round(np.geomspace(10, 1000, 20)).astype(int)))


def check_grid_fields(config: Any) -> None:
    """Check and normalise, in place on a frozen sweep config, the fields every sweep grid has:
    alphas, Ns (sorted), seeds (each non-empty and distinct), steps, n_skills, optimizer, lr, loss,
    batch (None: exact gradients), n_record and dtype."""

    def put(name: str, value: Any) -> None:
        object.__setattr__(config, name, value)

    alphas = tuple(as_scalar(a, "alphas", nonnegative=True) for a in config.alphas)
    Ns = tuple(as_count(v, "Ns") for v in config.Ns)
    seeds = tuple(as_count(s, "seeds", minimum=0) for s in config.seeds)
    for name, vals in (("alphas", alphas), ("Ns", Ns), ("seeds", seeds)):
        if not vals:
            raise ValueError(f"{name} must hold at least one value")
        if len(set(vals)) != len(vals):
            raise ValueError(f"{name} must be distinct, got {vals}")
    put("alphas", alphas)
    put("Ns", tuple(sorted(Ns)))
    put("seeds", seeds)
    put("steps", as_count(config.steps, "steps"))
    put("n_skills", as_count(config.n_skills, "n_skills"))
    put("optimizer", choice(config.optimizer, "optimizer", OPTIMIZERS))
    put("lr", as_scalar(config.lr, "lr", positive=True))
    put("loss", choice(config.loss, "loss", ("mse", "ce")))
    if config.batch is not None:
        put("batch", as_count(config.batch, "batch"))
    put("n_record", as_count(config.n_record, "n_record", minimum=2))
    put("dtype", choice(config.dtype, "dtype", ("float32", "float64")))


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
        betas, eps: the optimizer's momenta (None: GeometryModel's defaults) and Adam's eps.
        counts: how batch counts are drawn, "multinomial" or "alias" (see simulate).
        record_extra: steps recorded besides the log-spaced ones (e.g. the notebook's 99,000).

    ScalingSweepConfig.preset("paper") is the paper's Fig 10 grid (see preset).
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
    betas: tuple[float, ...] | None = None
    eps: float = 1e-8
    counts: str = "multinomial"
    record_extra: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_grid_fields(self)
        object.__setattr__(self, "tasks", choice(self.tasks, "tasks", ("gaussian", "orthogonal", "basis")))
        self._check_later_fields()
        # Validate one model early so a bad combination (e.g. orthogonal tasks with N < n) fails here.
        self.model(self.alphas[0], self.Ns[0])

    def _check_later_fields(self) -> None:
        if self.betas is not None:
            object.__setattr__(self, "betas", tuple(as_scalar(b, "betas") for b in self.betas))
        object.__setattr__(self, "eps", as_scalar(self.eps, "eps", nonnegative=True))
        object.__setattr__(self, "counts", choice(self.counts, "counts", COUNT_METHODS))
        extra = tuple(sorted(as_count(v, "record_extra", minimum=0) for v in self.record_extra))
        if any(v > self.steps for v in extra):
            raise ValueError(f"record_extra must lie within [0, steps={self.steps}], got {extra}")
        object.__setattr__(self, "record_extra", extra)

    @classmethod
    def preset(cls, name: str = "default", **changes: Any) -> ScalingSweepConfig:
        """A named grid, with `changes` applied: "default" (scaled down, SignGD), or the paper's Fig 10.

        "paper" is the grid of the paper's script run_nsl.py as Fig10_nsl.ipynb reads it (its Adam
        panel): N = 20, 40, ..., 1000; alphas 0.5, 1.0, 1.2, ..., 2.0; seeds 0..3; n = 1000 unit
        Gaussian task vectors; cross-entropy; batches of 1024; torch Adam, lr 0.01, betas
        (0.9, 0.999), eps 1e-8 (torch's defaults, the script's active line); 100,000 updates.
        "paper-signgd" is its SignGD panel: the same with betas (0, 0) (the script's commented
        line). The script saves the loss of every step; the notebook reads losses[-1] of the file
        saved at step 99,000, i.e. the loss after 99,000 updates, so that step is recorded too,
        besides 200 log-spaced ones. Batch counts are drawn by the alias method (the same
        distribution as the script's np.random.choice, about 7x cheaper than multinomial draws).
        """
        name = choice(name, "preset", PRESETS)
        if name == "default":
            return cls(**changes)
        grid: dict[str, Any] = {
            "alphas": (0.5, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0),
            "Ns": tuple(range(20, 1001, 20)),
            "seeds": (0, 1, 2, 3),
            "steps": 100_000,
            "n_skills": 1000,
            "optimizer": "adam",
            "betas": (0.9, 0.999) if name == "paper" else (0.0, 0.0),
            "eps": 1e-8,
            "lr": 0.01,
            "loss": "ce",
            "tasks": "gaussian",
            "batch": 1024,
            "n_record": 200,
            "record_extra": (99_000,),
            "dtype": "float32",
            "counts": "alias",
        }
        grid.update(changes)
        if "record_extra" not in changes:  # fewer steps (a trial run): the notebook's step only if reached
            grid["record_extra"] = tuple(v for v in grid["record_extra"] if v <= grid["steps"])
        return cls(**grid)

    def to_dict(self) -> dict:
        data = json.loads(json.dumps(asdict(self)))
        for key, default in _LATER_FIELDS.items():
            if getattr(self, key) == default:
                del data[key]
        return data

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
            betas=self.betas,
            eps=self.eps,
        )

    def record_steps(self) -> np.ndarray:
        """The recorded steps: about n_record log-spaced ones (0 and steps included) and record_extra."""
        steps = log_steps(self.steps, self.n_record)
        return np.union1d(steps, np.asarray(self.record_extra, dtype=np.int64)) if self.record_extra else steps

    def seed_groups(self, N: int) -> list[tuple[int, ...]]:
        """The seeds of one point in the groups simulated together (task matrices within TASK_CACHE_BYTES)."""
        itemsize = 4 if self.dtype == "float32" else 8
        per_seed = self.n_skills * N * itemsize
        k = max(1, TASK_CACHE_BYTES // per_seed)
        return [self.seeds[i : i + k] for i in range(0, len(self.seeds), k)]


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


def read_config(path: str | Path) -> ScalingSweepConfig:
    """The sweep configuration in `path` (a config.json); a ValueError naming the file if it is malformed."""
    return read_sweep_config(path, ScalingSweepConfig)


def read_sweep_config(path: str | Path, config_type: Any, kind: str = "sweep") -> Any:
    """config_type.from_dict of the JSON in `path`; a ValueError naming the file (and `kind`) if it is malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid sweep {CONFIG_FILE} ({exc}); fix it or use a new --out"
        ) from exc
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} is not a valid sweep {CONFIG_FILE} (a JSON object expected)")
    try:
        return config_type.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is not a valid {kind} {CONFIG_FILE}: {exc}") from exc


def _prepare_dir(config: Any, out_dir: str | Path, kind: str = "sweep") -> Path:
    """The output folder with its points/ folder; config.json written, or checked to be this config's."""
    out = check_output_dir(out_dir)
    (out / POINTS_DIR).mkdir(parents=True, exist_ok=True)
    cfg_path = out / CONFIG_FILE
    if cfg_path.exists():
        if read_sweep_config(cfg_path, type(config), kind).digest() != config.digest():
            raise ValueError(
                f"out directory {str(out)!r} holds a different sweep (config.json differs); "
                "use a new --out or the same settings"
            )
    else:
        atomic_write(cfg_path, json.dumps(config.to_dict(), indent=2))
    return out


def _peak_rss_kib() -> int:
    """This process's peak resident memory in KiB (0 where the resource module is unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


DEVICES = ("auto", "cpu", "cuda")


def check_device(device: str | None) -> str | None:
    """None/"auto" -> None (simulate picks), "cpu", or "cuda" (refused up front when torch has no CUDA)."""
    if device is None or str(device).lower() == "auto":
        return None
    key = choice(device, "device", DEVICES)
    if key == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device 'cuda': torch finds no CUDA device here; use device='cpu' or 'auto'")
    return key


def _runs_on_cuda(device: str | None) -> bool:
    """Whether simulate(device=device) puts a large batch on a CUDA device (None: when one is present)."""
    if device == "cuda":
        return True
    if device is not None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def compute_point(N: int, config: ScalingSweepConfig, threads: int | None, device: str | None = None) -> dict[str, Any]:
    """Simulate one N (alphas x seeds in one batch) and return its arrays; writes nothing.

    device: simulate's (None: cuda when available, else the CPU; "cpu"; "cuda").

    Runs wherever the execution layer puts it (this process, a joblib worker, a Dask worker):
    the result travels back and the sweep's own process writes it, so workers need no shared disk.
    """
    start = time.perf_counter()
    rec = config.record_steps()
    models = [config.model(a, N) for a in config.alphas]
    A = len(config.alphas)
    total, final = [], []
    # Every run's numbers are independent of the grouping. On a GPU all seeds go into one kernel (the
    # CPU's groups exist to keep task matrices in cache; on a GPU a launch per group is the cost).
    groups = [config.seeds] if _runs_on_cuda(device) else config.seed_groups(N)
    for seeds in groups:
        res = simulate(
            models,
            config.steps,
            seeds=list(seeds),
            record=rec,
            dtype=config.dtype,
            threads=threads,
            counts=config.counts,
            device=device,
        )
        total.append(res.total_loss().reshape(A, len(seeds), -1))
        final.append(np.stack([c.loss[-1] for c in res.curves]).reshape(A, len(seeds), -1))
    return {
        "steps": rec,
        "total_loss": np.concatenate(total, axis=1),
        "final_loss": np.concatenate(final, axis=1).astype(np.float32),
        "N": np.asarray(N),
        "alphas": np.array(config.alphas),
        "seeds": np.array(config.seeds),
        "digest": np.asarray(config.digest()),
        "seconds": np.asarray(time.perf_counter() - start),
        "peak_rss_kib": np.asarray(_peak_rss_kib()),
    }


def write_point(out: str | Path, N: int, arrays: dict[str, Any]) -> Path:
    """Write one point file atomically (a kill mid-write leaves no partial file under the final name)."""
    return atomic_write(point_path(out, N), lambda fh: np.savez(fh, **arrays))


def _run_point(config: ScalingSweepConfig, out: Path, N: int, threads: int | None, device: str | None = None) -> Path:
    """Simulate one N and write its point file (in this process)."""
    return write_point(out, N, compute_point(N, config, threads, device))


def read_point(config: ScalingSweepConfig, path: Path) -> np.ndarray | None:
    """total_loss (n_alphas, n_seeds, n_rec) of a point file; None (with a warning) if missing or unreadable.

    A truncated or corrupted file (a copy cut short, a full disk, a bit flip: every member's zip CRC
    is checked) counts as missing, so that a resumed sweep recomputes it. A readable file written by
    another configuration is an error, not corruption: it is never overwritten silently.
    """
    data = load_point(config, path, ("total_loss", "final_loss", "steps"))
    if data is None:
        return None
    A, S, R = len(config.alphas), len(config.seeds), config.record_steps().size
    total, final, steps = data["total_loss"], data["final_loss"], data["steps"]
    if total.shape != (A, S, R) or final.shape[:2] != (A, S) or not np.array_equal(steps, config.record_steps()):
        _log.warning("point file %s has the wrong shapes %s; treating it as missing", path, total.shape)
        return None
    return total


def load_point(config: Any, path: Path, members: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The named arrays of a point file written for `config`; None (with a warning) if missing or unreadable.

    A ValueError when the file is readable but belongs to another configuration (its digest differs).
    """
    if not path.exists():
        return None
    try:
        # np.load stops at each array's last byte, before zipfile checks its CRC: test every member first.
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise zipfile.BadZipFile(f"bad CRC in {bad}")
        with np.load(path, allow_pickle=False) as data:
            digest = str(data["digest"])
            arrays = {name: np.asarray(data[name]) for name in members}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        _log.warning("point file %s is unreadable (%s: %s); treating it as missing", path, type(exc).__name__, exc)
        return None
    if digest != config.digest():
        raise ValueError(f"{str(path)!r} belongs to a different sweep configuration")
    return arrays


def missing_points(config: Any, out: Path, Ns: Sequence[int], read: Callable[[Any, Path], Any]) -> list[int]:
    """The Ns with no valid point file (read returns None); a corrupted one is named, and recomputed."""
    todo = []
    for N in Ns:
        path = point_path(out, N)
        if read(config, path) is None:
            if path.exists():
                _log.warning("recomputing %s", path)
            todo.append(N)
    return todo


class SweepPointsFailed(RuntimeError):
    """Some points raised; the others were written. `failures` holds each failed point and why."""

    def __init__(self, failures: Sequence[PointFailure], written: int) -> None:
        self.failures = tuple(failures)
        self.written = written
        names = "; ".join(f"N={f.item}: {f.error}" for f in self.failures)
        super().__init__(
            f"{len(self.failures)} point(s) failed ({names}); {written} point(s) written and kept, "
            "rerun the same command to retry the failed ones"
        )


def run_scaling_sweep(
    config: ScalingSweepConfig,
    out_dir: str | Path,
    *,
    shard: tuple[int, int] = (0, 1),
    jobs: int = 1,
    threads: int | None = None,
    progress: bool = False,
    scheduler: str | Scheduler | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    device: str | None = None,
) -> list[Path]:
    """Run this shard's missing points; returns the point files written now.

    Each point (one N) simulates alphas x seeds runs in one batch and writes, once,
    total_loss (n_alphas, n_seeds, n_rec), final_loss (n_alphas, n_seeds, n) and steps (n_rec,).
    Points run where `scheduler` says (see skillode.sweeps._engine) and come back as they finish;
    this process writes each one atomically, so an interrupted sweep keeps every finished point.

    Args:
        config: the grid.
        out_dir: output directory (config.json, points/).
        shard: (i, k): run points i, i+k, ... of the N grid.
        jobs: local worker processes (joblib); with jobs > 1 each worker uses one torch thread,
            which on a small or busy machine beats one process with several threads.
        threads: torch threads per point (default: 1 when points run in workers, else simulate's choice).
        device: where each point's torch batch runs: None or "auto" (cuda when available), "cpu",
            "cuda" (an error here, before any point, when CUDA is absent); numbers agree across
            devices to float tolerance, not bit for bit.
        progress: show a tqdm bar over this shard's points (done/total, and the worker count).
        scheduler: None (local, `jobs`), "local:N" (a Dask LocalCluster of N processes for this run)
            or a Dask scheduler address ("tcp://host:8786").
        timeout: seconds to wait for a Dask scheduler to answer.

    Raises:
        SweepPointsFailed: some points raised (the rest were written); ConnectionError: the
        scheduler cannot be reached; MissingExtraError: Dask is asked for and not installed.
    """
    out = _prepare_dir(config, out_dir)
    return run_sweep_points(
        compute_point,
        read_point,
        config,
        out,
        shard_points(config.Ns, *shard),
        f"scaling-{config.digest()}",
        shard=shard,
        jobs=jobs,
        threads=threads,
        progress=progress,
        scheduler=scheduler,
        timeout=timeout,
        device=device,
    )


def run_sweep_points(
    compute: Callable[..., dict[str, Any]],
    read: Callable[[Any, Path], Any],
    config: Any,
    out: Path,
    points: Sequence[int],
    token: str,
    *,
    shard: tuple[int, int],
    jobs: int,
    threads: int | None,
    progress: bool,
    scheduler: str | Scheduler | None,
    timeout: float,
    device: str | None,
) -> list[Path]:
    """compute(N, config, threads, device) for every N of this shard's `points` without a valid file
    (read(config, path) is None), where `scheduler` says; each result written atomically here as it
    arrives. Returns the files written; SweepPointsFailed if points raised.

    token names the Dask tasks (with a fresh suffix per run); the bar counts this shard's points.
    """
    jobs = as_count(jobs, "jobs")
    sched = scheduler if isinstance(scheduler, Scheduler) else parse_scheduler(scheduler)
    # Largest N first: the expensive points start early, so workers finish together.
    todo = sorted(missing_points(config, out, points, read), reverse=True)
    total = len(points)
    # Points in worker processes get one torch thread each (and so the same arithmetic wherever they run).
    in_workers = sched.uses_dask or jobs > 1
    args = (config, (threads or 1) if in_workers else threads, check_device(device))
    written: list[Path] = []
    failures: list[PointFailure] = []
    bar = _progress_bar(progress, total, total - len(todo), shard)
    try:
        if todo:
            # A fresh token per run: a key cancelled by an interrupted run may linger on the scheduler
            # for a moment, and reusing it would hand the new run that cancelled task.
            key = functools.partial(_task_key, f"{token}-{uuid.uuid4().hex[:8]}")
            with run_points(compute, todo, args, scheduler=sched, jobs=jobs, key=key, timeout=timeout) as (
                results,
                workers,
                dashboard,
            ):
                _announce(bar, dashboard)
                _consume(results, out, written, failures, bar, workers)
    finally:
        if bar is not None:
            bar.close()
    if failures:
        raise SweepPointsFailed(sorted(failures, key=lambda f: f.item), len(written))
    return sorted(written)


def _task_key(token: str, N: int) -> str:
    return f"skillode-{token}-N{N}"


def _progress_bar(progress: bool, total: int, done: int, shard: tuple[int, int]) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=f"sweep shard {shard[0]}/{shard[1]}", unit="point")


def _announce(bar: Any, dashboard: str | None) -> None:
    if dashboard is None:
        return
    if bar is not None:
        bar.write(f"dask dashboard: {dashboard}")
    else:
        _log.info("dask dashboard: %s", dashboard)


def _consume(
    results: Any, out: Path, written: list[Path], failures: list[PointFailure], bar: Any, workers: Any
) -> None:
    """Write each finished point as it arrives; collect failures; keep the bar's worker count fresh."""
    last = 0.0
    for N, value in results:
        if isinstance(value, PointFailure):
            _log.warning("point N=%s failed: %s", N, value.error)
            failures.append(value)
        else:
            written.append(write_point(out, N, value))
        if bar is not None:
            now = time.monotonic()
            if now - last > 1.0:  # asking a Dask scheduler for its workers is a round trip: once a second
                bar.set_postfix_str(f"{workers()} workers, last N={N}")
                last = now
            bar.update(1)


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
    """Gather a sweep's point files; a missing, truncated or corrupted point is NaN and listed in `missing`."""
    out = Path(out_dir)
    cfg_path = out / CONFIG_FILE
    if not cfg_path.exists():
        raise ValueError(f"{str(out)!r} holds no sweep ({CONFIG_FILE} missing)")
    config = read_config(cfg_path)
    rec = config.record_steps()
    A, S = len(config.alphas), len(config.seeds)
    total = np.full((A, len(config.Ns), S, rec.size), np.nan)
    missing = []
    for j, N in enumerate(config.Ns):
        point = read_point(config, point_path(out, N))
        if point is None:
            missing.append(N)
        else:
            total[:, j] = point
    return ScalingSweepResults(config, rec, total, tuple(missing))
