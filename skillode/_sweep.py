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
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import stats
from scipy.optimize import least_squares

from ._checks import as_scalar, choice
from ._geometry import OPTIMIZERS, GeometryModel, _as_count, log_steps, simulate, zipf_frequencies

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
        Ns = tuple(_as_count(v, "Ns") for v in self.Ns)
        seeds = tuple(_as_count(s, "seeds", minimum=0) for s in self.seeds)
        for name, vals in (("alphas", alphas), ("Ns", Ns), ("seeds", seeds)):
            if not vals:
                raise ValueError(f"{name} must hold at least one value")
            if len(set(vals)) != len(vals):
                raise ValueError(f"{name} must be distinct, got {vals}")
        object.__setattr__(self, "alphas", alphas)
        object.__setattr__(self, "Ns", tuple(sorted(Ns)))
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "steps", _as_count(self.steps, "steps"))
        object.__setattr__(self, "n_skills", _as_count(self.n_skills, "n_skills"))
        object.__setattr__(self, "optimizer", choice(self.optimizer, "optimizer", OPTIMIZERS))
        object.__setattr__(self, "lr", as_scalar(self.lr, "lr", positive=True))
        object.__setattr__(self, "loss", choice(self.loss, "loss", ("mse", "ce")))
        object.__setattr__(self, "tasks", choice(self.tasks, "tasks", ("gaussian", "orthogonal", "basis")))
        if self.batch is not None:
            object.__setattr__(self, "batch", _as_count(self.batch, "batch"))
        object.__setattr__(self, "n_record", _as_count(self.n_record, "n_record", minimum=2))
        object.__setattr__(self, "dtype", choice(self.dtype, "dtype", ("float32", "float64")))
        # Validate one model early so a bad combination (e.g. orthogonal tasks with N < n) fails here.
        self.model(self.alphas[0], self.Ns[0])

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict) -> "ScalingSweepConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"config has unknown fields {sorted(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def model(self, alpha: float, N: int) -> GeometryModel:
        return GeometryModel(zipf_frequencies(self.n_skills, alpha), N, tasks=self.tasks, loss=self.loss,
                             optimizer=self.optimizer, lr=self.lr, batch=self.batch)

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
            raise ValueError(f"out directory {str(out)!r} holds a different sweep (config.json differs); "
                             "use a new --out or the same settings")
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
    np.savez(tmp, steps=rec, total_loss=total, final_loss=final.astype(np.float32), N=N,
             alphas=np.array(config.alphas), seeds=np.array(config.seeds), digest=config.digest(),
             seconds=time.perf_counter() - start, peak_rss_kib=_peak_rss_kib())
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
    jobs = _as_count(jobs, "jobs")
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
                delayed(_run_point)(config, out, N, threads or 1) for N in todo)
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


# ------------------------------------------------------------------------------------ fits
@dataclass(frozen=True)
class PowerLawFit:
    """y ≈ prefactor * x^-exponent, fitted in log-log space.

    Attributes:
        exponent: a; exponent_ci: (low, high) at `level`; stderr: standard error of a.
        prefactor: A; r2: coefficient of determination in log space; n_points: points used.
    """

    exponent: float
    exponent_ci: tuple[float, float]
    stderr: float
    prefactor: float
    r2: float
    n_points: int
    level: float


def fit_power_law(x: Any, y: Any, *, level: float = 0.95, x_range: tuple[float, float] | None = None) -> PowerLawFit:
    """Least-squares fit of log y = log A - a log x.

    Args:
        x: shape (m,), positive abscissae.
        y: shape (m,) or (m, r) with r replicates (seeds) per x, positive.
        level: confidence level of the exponent's t interval.
        x_range: (low, high) inclusive range of x to use.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != x.size:
        raise ValueError(f"y must have {x.size} rows (one per x), got shape {y.shape}")
    level = as_scalar(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if x_range is not None:
        try:
            low, high = (float(v) for v in x_range)
        except (TypeError, ValueError):
            raise ValueError(f"x_range must be a (low, high) pair of numbers, got {x_range!r}") from None
        if not low <= high:
            raise ValueError(f"x_range must have low <= high, got {x_range!r}")
    keep = np.ones(x.size, dtype=bool) if x_range is None else (x >= low) & (x <= high)
    xx = np.repeat(x[keep], y.shape[1])
    yy = y[keep].reshape(-1)
    ok = np.isfinite(yy) & (yy > 0) & (xx > 0)
    xx, yy = np.log(xx[ok]), np.log(yy[ok])
    if xx.size < 3 or np.ptp(xx) == 0:
        raise ValueError("need at least 3 positive points at 2 or more distinct x to fit a power law")
    res = stats.linregress(xx, yy)
    dof = xx.size - 2
    half = stats.t.ppf(0.5 + level / 2, dof) * res.stderr if dof > 0 else math.inf
    a = -res.slope
    return PowerLawFit(float(a), (float(a - half), float(a + half)), float(res.stderr),
                       float(math.exp(res.intercept)), float(res.rvalue**2), int(xx.size), level)


@dataclass(frozen=True)
class ChinchillaFit:
    """L(N, S) = E + A N^-a + B S^-b.

    Attributes:
        params: {"E", "A", "a", "B", "b"}; ci: {name: (low, high)} at `level` (normal approximation
            from the Jacobian of the log residuals; NaN for a parameter pinned at its bound, such as
            E = 0 when the data show no floor); rmse_log: RMS of log L residuals.
    """

    params: dict
    ci: dict
    rmse_log: float
    n_points: int
    level: float
    success: bool

    def predict(self, N: Any, S: Any) -> np.ndarray:
        p = self.params
        return p["E"] + p["A"] * np.asarray(N, float) ** -p["a"] + p["B"] * np.asarray(S, float) ** -p["b"]


def fit_chinchilla(N: Any, S: Any, L: Any, *, level: float = 0.95, x0: dict | None = None) -> ChinchillaFit:
    """Fit L = E + A N^-a + B S^-b by least squares on log L.

    Args:
        N, S, L: equal-shape arrays (any shape; flattened) of parameter counts, steps, losses > 0.
        level: confidence level of the intervals.
        x0: optional starting values {"E", "A", "a", "B", "b"}.
    """
    N = np.asarray(N, dtype=np.float64).reshape(-1)
    S = np.asarray(S, dtype=np.float64).reshape(-1)
    L = np.asarray(L, dtype=np.float64).reshape(-1)
    if not (N.size == S.size == L.size):
        raise ValueError(f"N, S and L must have the same size, got {N.size}, {S.size}, {L.size}")
    ok = np.isfinite(L) & (L > 0) & (N > 0) & (S > 0)
    N, S, L = N[ok], S[ok], L[ok]
    if L.size < 6:
        raise ValueError("need at least 6 positive (N, S, L) points to fit 5 parameters")
    level = as_scalar(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    logL = np.log(L)
    start = {"E": 0.5 * L.min(), "A": 1.0, "a": 0.5, "B": 1.0, "b": 0.5}
    for key, value in dict(x0 or {}).items():
        if key not in start:
            raise ValueError(f"x0: {key!r} is not a parameter; choose from E, A, a, B, b")
        if key in ("E", "A", "B"):
            start[key] = as_scalar(value, f"x0[{key!r}]", positive=True)
        else:
            start[key] = as_scalar(value, f"x0[{key!r}]")
            if not 0.0 <= start[key] <= 5.0:
                raise ValueError(f"x0[{key!r}] must lie in [0, 5] (the search bounds), got {start[key]}")
    # E, A, B are positive: fitted as logs; the exponents directly.
    z0 = np.array([math.log(start["E"]), math.log(start["A"]), start["a"], math.log(start["B"]), start["b"]])
    lnN, lnS = np.log(N), np.log(S)

    def residual(z: np.ndarray) -> np.ndarray:
        pred = np.exp(z[0]) + np.exp(z[1] - z[2] * lnN) + np.exp(z[3] - z[4] * lnS)
        return np.log(pred) - logL

    best = None
    for a0, b0 in ((start["a"], start["b"]), (0.3, 0.3), (1.0, 1.0), (0.3, 1.0), (1.0, 0.3)):
        z = z0.copy()
        z[2], z[4] = a0, b0
        fit = least_squares(residual, z, bounds=([-50, -50, 0, -50, 0], [50, 50, 5, 50, 5]))
        if best is None or fit.cost < best.cost:
            best = fit
    z = best.x
    # A parameter pinned at a bound (typically E -> 0: no visible floor) is reported at the bound
    # with a NaN interval; the others' covariance comes from the remaining Jacobian columns.
    lower, upper = np.array([-50, -50, 0, -50, 0.0]), np.array([50, 50, 5, 50, 5.0])
    influence = np.linalg.norm(best.jac, axis=0)
    free = (z > lower + 1e-6) & (z < upper - 1e-6) & (influence > 1e-8 * influence.max())
    J = best.jac[:, free]
    dof = max(L.size - int(free.sum()), 1)
    s2 = 2 * best.cost / dof
    cov = np.full((5, 5), np.nan)
    try:
        cov[np.ix_(free, free)] = np.linalg.inv(J.T @ J) * s2
    except np.linalg.LinAlgError:
        pass
    q = stats.norm.ppf(0.5 + level / 2)
    names = ("E", "A", "a", "B", "b")
    params, ci = {}, {}
    for i, name in enumerate(names):
        sd = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) and cov[i, i] >= 0 else math.nan
        lo, hi = z[i] - q * sd, z[i] + q * sd
        if name in ("E", "A", "B"):
            params[name] = 0.0 if not free[i] and name == "E" else float(math.exp(z[i]))
            ci[name] = (float(math.exp(lo)), float(math.exp(min(hi, 700.0))))
        else:
            params[name] = float(z[i])
            ci[name] = (float(lo), float(hi))
    return ChinchillaFit(params, ci, float(np.sqrt(np.mean(best.fun**2))), int(L.size), level, bool(best.success))


@dataclass(frozen=True)
class ScalingSummary:
    """Exponents per alpha and a Chinchilla fit per alpha, from a finished (or partial) sweep.

    Attributes:
        alphas: shape (n_alphas,).
        n_exponent: fits of final loss vs N, one per alpha.
        step_exponent: fits of loss vs steps at the largest N, one per alpha.
        chinchilla: Chinchilla fits over (N, steps), one per alpha.
    """

    alphas: tuple[float, ...]
    n_exponent: tuple[PowerLawFit, ...]
    step_exponent: tuple[PowerLawFit, ...]
    chinchilla: tuple[ChinchillaFit, ...]

    def to_dict(self) -> dict:
        return {"alphas": list(self.alphas),
                "n_exponent": [asdict(f) for f in self.n_exponent],
                "step_exponent": [asdict(f) for f in self.step_exponent],
                "chinchilla": [asdict(f) for f in self.chinchilla]}


def learning_window(steps: np.ndarray, loss: np.ndarray, *, start_below: float = 0.25,
                    saturation: float = 3.0) -> np.ndarray:
    """Steps where loss(steps) is a power law: past the initial transient, before the plateau.

    Keeps steps whose loss is at most `start_below` times its initial value and at least
    `saturation` times its final value (the plateau set by capacity or the optimizer's noise floor).
    Returns a boolean mask, shape steps.shape.
    """
    loss = np.asarray(loss, dtype=np.float64)
    return (np.asarray(steps) > 0) & (loss <= start_below * loss[0]) & (loss >= saturation * loss[-1])


def summarize_scaling(results: ScalingSweepResults, *, level: float = 0.95,
                      step_window: tuple[float, float] | None = None, min_step: int = 10) -> ScalingSummary:
    """Exponents (with CIs) of final loss vs N and of loss vs steps, and Chinchilla fits.

    Loss vs steps uses the largest N; its fit window is `step_window` = (first, last) step, or by
    default `learning_window` of the seed-mean curve (past the transient, before the plateau).
    The Chinchilla fit uses every N and every recorded step >= min_step.
    """
    cfg = results.config
    done = np.array([N not in results.missing for N in cfg.Ns])
    if done.sum() < 3:
        raise ValueError(f"need at least 3 finished N points to summarise, have {int(done.sum())}")
    Ns = results.Ns[done]
    steps = results.steps.astype(np.float64)
    late = steps >= min_step
    nfits, sfits, cfits = [], [], []
    for i, _ in enumerate(cfg.alphas):
        tl = results.total_loss[i][done]  # (nN, seeds, n_rec)
        nfits.append(fit_power_law(Ns, tl[:, :, -1], level=level))
        curve = tl[-1].mean(axis=0)
        if step_window is None:
            window = learning_window(steps, curve)
            if window.sum() < 3:  # no clear plateau or transient: use every step past the first
                window = steps > 0
        else:
            window = (steps >= step_window[0]) & (steps <= step_window[1]) & (steps > 0)
        sfits.append(fit_power_law(steps[window], tl[-1][:, window].T, level=level))
        NN, SS = np.meshgrid(Ns, steps[late], indexing="ij")
        L = tl[:, :, late].mean(axis=1)
        cfits.append(fit_chinchilla(NN, SS, L, level=level))
    return ScalingSummary(cfg.alphas, tuple(nfits), tuple(sfits), tuple(cfits))


# ------------------------------------------------------------------------------ two skills
@dataclass(frozen=True, eq=False)
class TwoSkillSweep:
    """Learning-time ratio t2/t1 of two skills versus their frequency ratio p1/p2.

    Attributes:
        ratios: shape (m,), p1/p2.
        optimizers: optimizer names (rows).
        t1, t2, time_ratio: shape (n_optimizers, m): steps to reach the loss threshold, and t2/t1.
        threshold: the per-skill loss threshold; settings: the shared model settings.
    """

    ratios: np.ndarray
    optimizers: tuple[str, ...]
    t1: np.ndarray
    t2: np.ndarray
    time_ratio: np.ndarray
    threshold: float
    settings: dict

    def to_dict(self) -> dict:
        return {"ratios": self.ratios.tolist(), "optimizers": list(self.optimizers), "t1": self.t1.tolist(),
                "t2": self.t2.tolist(), "time_ratio": self.time_ratio.tolist(), "threshold": self.threshold,
                "settings": self.settings}


DEFAULT_TWO_SKILL_LR = {"signgd": 3e-4, "adam": 3e-4, "sgd": 1e-2, "lion": 3e-4, "ademamix": 3e-4}


def two_skill_sweep(
    ratios: Sequence[float] = tuple(np.geomspace(1, 100, 9)),
    optimizers: Sequence[str] = ("signgd", "adam", "sgd"),
    *,
    N: int = 256,
    threshold: float = 0.1,
    lr: dict | None = None,
    seed: int = 0,
    max_steps: int = 400_000,
    progress: bool = False,
) -> TwoSkillSweep:
    """t2/t1 vs p1/p2 for two orthogonal skills (random rotation in R^N), exact gradient, MSE.

    Every ratio of one optimizer runs in one batch; the step budget (first 1000) grows 4x until
    both skills of every run reach `threshold`, capped at max_steps (a skill not learned by then
    has a NaN time). SGD gives t2/t1 = p1/p2 (independent skills);
    SignGD shares a fixed step length between skills and levels off near 2.
    """
    ratios_arr = np.asarray([as_scalar(r, "ratios", positive=True) for r in ratios], dtype=np.float64)
    if ratios_arr.size == 0:
        raise ValueError("ratios must hold at least one ratio")
    opts = tuple(choice(o, "optimizers", OPTIMIZERS) for o in optimizers)
    thr = as_scalar(threshold, "threshold", positive=True)
    if thr >= 1:
        raise ValueError(f"threshold must lie in (0, 1) (MSE losses start at 1), got {thr}")
    max_steps = _as_count(max_steps, "max_steps")
    lrs = DEFAULT_TWO_SKILL_LR | (lr or {})
    t1 = np.full((len(opts), ratios_arr.size), np.nan)
    t2 = np.full_like(t1, np.nan)
    for i, opt in enumerate(opts):
        models = [GeometryModel([r, 1.0], N, tasks="orthogonal", optimizer=opt, lr=lrs[opt], task_seed=seed)
                  for r in ratios_arr]
        steps = min(1000, max_steps)
        while True:
            res = simulate(models, steps, seeds=seed, record=np.arange(steps + 1), progress=progress)
            lt = np.stack([c.learning_times(thr) for c in res.curves])
            if np.all(np.isfinite(lt)) or steps >= max_steps:
                break
            steps = min(4 * steps, max_steps)
        t1[i], t2[i] = lt[:, 0], lt[:, 1]
    settings = {"N": N, "lr": {o: lrs[o] for o in opts}, "seed": seed, "tasks": "orthogonal", "loss": "mse",
                "gradient": "exact"}
    return TwoSkillSweep(ratios_arr, opts, t1, t2, t2 / t1, thr, settings)
