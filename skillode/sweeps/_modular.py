"""Modular versus non-modular task vectors: the Geometry-model sweep of the paper's Fig 18.

n skills with Zipf frequencies p_k ∝ k^-alpha, N parameters. Two kinds of task vectors:

    modular       t_k = e_k for k <= N, t_k = 0 for k > N (GeometryModel.modular): the N most
                  frequent skills own one coordinate each, the others can never be learned
    non-modular   independent random unit vectors in R^N (tasks="gaussian", drawn from each run's seed)

The paper's runs (its scripts run_nsl_ortho.py and run_nsl.py, read by Fig18_nsl.ipynb): n = 1000,
N = 20, 40, ..., 1000, alphas 1.0, 1.2, ..., 2.0, seeds 0..3, torch Adam with betas (0, 0) (SignGD
with eps = 1e-8), lr 0.01, batches of 1024 samples, cross-entropy l_k = log(1 + exp(-s_k)). Final
loss: the median over seeds of the loss after the last update; loss versus steps: at N = 100.

One *point* is one N: its 2 kinds x alphas x seeds runs go to one simulate call and are written once
to DIR/points/N{N}.npz (atomic rename); a rerun skips finished points, --shard i/k splits them, and
points run where the sweep engine puts them (this process, local processes, Dask), as the scaling
sweep's do. Seeds are recorded in config.json and in every point file; a seed fixes a run's batch
counts (the same for both kinds: common random numbers) and its random task vectors.

Closed forms used in the summary (derived and checked in `skillode derive modular`):

    modular plateau     L_inf(N) = l0 sum_{k>N} p_k        (l0 = log 2 under CE, 1 under MSE)
    half-space law      P(n random directions of R^N lie in an open half-space)
                          = 2^-(n-1) sum_{k<N} C(n-1, k)   (Wendel 1962)

The non-modular model can drive every loss to 0 (x -> infinity along a direction with t_k . x > 0
for all k) exactly when its task vectors lie in an open half-space, which for n = 1000 becomes
likely as N passes n/2 = 500; the modular model always keeps its plateau. That is where the ratio
non-modular / modular falls below 1 at long times.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_count, as_scalar, choice
from .._repr import short_repr
from ..models import GeometryModel, zipf_frequencies
from ..solvers import log_steps, simulate
from ..solvers._streams import COUNT_METHODS
from ._engine import DEFAULT_CONNECT_TIMEOUT, Scheduler
from ._laws import PowerLawFit, fit_power_law
from ._scaling import (
    CONFIG_FILE,
    _peak_rss_kib,
    _prepare_dir,
    check_grid_fields,
    load_point,
    point_path,
    read_sweep_config,
    run_sweep_points,
    shard_points,
)

KINDS = ("modular", "non-modular")
#: Fig 18's "modular speedup factor" (non-modular / modular final loss against N, as drawn: see
#: FIGURE_18_DRAWN_FROM; n = 1000, 99,000 steps, median over 4 seeds), read off the figure
#: Fig18_nsl.ipynb saved with its outputs (cell 7):
#: per alpha, the ratio at N = 20 (+- 5 %: markers located by colour on the log axis) and the N where
#: it first falls below 1 (+- 20, one grid step; None: it stays above 1 up to N = 1000).
FIGURE_18: dict[float, tuple[float, float | None]] = {
    1.0: (1.85, 550.0),
    1.2: (2.32, 555.0),
    1.4: (3.06, 575.0),
    1.6: (3.90, 600.0),
    1.8: (4.63, 860.0),
    2.0: (5.27, None),
}
#: The same figure's speedup panel against steps (cell 27: seed 0, N = 100): the ratio of the loss
#: curves after 10,000 steps, where it has levelled off (+- 5 %). At alpha = 1 it is 1.69, while the
#: panel against N reads 2.7 at N = 100: the notebook's two panels disagree there (seed 0 against
#: the median over 4 seeds, or runs saved at different times); each is compared as it stands.
FIGURE_18_CURVE: dict[float, float] = {1.0: 1.69, 1.2: 1.91, 1.4: 2.15, 1.6: 2.40, 1.8: 2.61, 2.0: 2.84}
FIGURE_18_READING = {"ratio_at_20": 0.05, "crossing_N": 20.0, "curve_ratio_at_10000": 0.05}
#: What the speedup against N divides, per labelled alpha: the notebook loads its non-modular final
#: losses from Fig 10's SignGD array (7 rows: alphas 0.5, 1.0, 1.2, ..., 2.0) and plots its first 6
#: rows under the labels 1.0, 1.2, ..., 2.0, so the curve labelled alpha divides the non-modular loss
#: at the previous alpha of that list by the modular loss at alpha (its modular array has the 6 rows
#: 1.0 .. 2.0). Checked: the Fig 10 run's losses over the closed-form modular plateau give the
#: figure's ratios at N = 20 only so shifted (docs/modular.md).
FIGURE_18_DRAWN_FROM: dict[float, float] = {1.0: 0.5, 1.2: 1.0, 1.4: 1.2, 1.6: 1.4, 1.8: 1.6, 2.0: 1.8}
PRESETS = ("default", "paper")
SWEEP_NAME = "modular"
_log = logging.getLogger("skillode.sweeps")


def modular_plateau(n: int, N: Any, alpha: float, loss: str = "ce") -> np.ndarray:
    """l0 sum_{k>N} p_k with p_k = k^-alpha / sum_{j<=n} j^-alpha: the modular model's loss floor.

    The tasks beyond N have zero vectors and stay at l0 = log 2 (CE) or 1 (MSE); the N learnable
    ones go to 0. Shape of N (int or array of ints in [0, n]); N >= n gives 0.
    """
    n = as_count(n, "n")
    alpha = as_scalar(alpha, "alpha", nonnegative=True)
    l0 = math.log(2.0) if choice(loss, "loss", ("ce", "mse")) == "ce" else 1.0
    Ns = np.asarray(N)
    if Ns.size == 0 or not np.all(np.equal(np.mod(Ns, 1), 0)) or np.any(Ns < 0):
        raise ValueError(f"N must be non-negative integers, got {N!r}")
    w = zipf_frequencies(n, alpha)
    w = w / w.sum()
    tail = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])  # tail[j] = sum_{k>j} w_k (0-based k)
    return l0 * tail[np.minimum(Ns.astype(np.int64), n)]


def halfspace_probability(n: int, N: Any) -> np.ndarray:
    """P(n independent symmetric random directions in R^N lie in a common open half-space).

    Wendel's theorem: 2^-(n-1) sum_{k=0}^{N-1} C(n-1, k), a Binomial(n-1, 1/2) CDF at N - 1
    (1 for n <= N, exactly 1/2 at n = 2N). Equivalently, the chance that some x has t_k . x > 0
    for every task, so that gradient descent can drive every task's loss to 0.
    """
    from scipy.stats import binom

    n = as_count(n, "n")
    Ns = np.asarray(N)
    if Ns.size == 0 or not np.all(np.equal(np.mod(Ns, 1), 0)) or np.any(Ns < 1):
        raise ValueError(f"N must be positive integers, got {N!r}")
    return np.asarray(binom.cdf(Ns - 1, n - 1, 0.5), dtype=np.float64)


def _default_Ns() -> tuple[int, ...]:
    return (20, 50, 100, 200, 300, 400, 500, 600, 800, 1000)


@dataclass(frozen=True)
class ModularSweepConfig:
    """A modular sweep grid (every field is recorded in DIR/config.json).

    The defaults are a scaled-down grid (10 N, 2 seeds, 5,000 steps: about 2 minutes on 2 cores);
    ModularSweepConfig.paper() is the notebook's (50 N, 4 seeds, 99,000 steps).

    Args:
        alphas: Zipf exponents of the skill frequencies.
        Ns: parameter counts N of the final-loss-versus-N curves (one sweep point each).
        curve_N: the N of the loss-versus-steps curves (added to the points if not in Ns).
        seeds: seeds per (kind, alpha, N): batch counts and the random (non-modular) task vectors.
        steps: optimizer updates per run.
        n_skills: n, the number of skills.
        optimizer, betas, eps, lr, loss, batch: the GeometryModel settings of every run (default:
            the paper's Adam with betas (0, 0) and eps 1e-8, lr 0.01, CE, batches of 1024).
        n_record: about this many log-spaced steps are recorded.
        dtype: "float32" (default, as the paper's torch runs) or "float64".
        counts: how batch counts are drawn, "multinomial" (default) or "alias" (the same
            distribution, several times cheaper; see simulate). The paper preset uses "alias".
    """

    alphas: tuple[float, ...] = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0)
    Ns: tuple[int, ...] = field(default_factory=_default_Ns)
    curve_N: int = 100
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 5_000
    n_skills: int = 1000
    optimizer: str = "adam"
    betas: tuple[float, ...] | None = (0.0, 0.0)
    eps: float = 1e-8
    lr: float = 0.01
    loss: str = "ce"
    batch: int | None = 1024
    n_record: int = 120
    dtype: str = "float32"
    counts: str = "multinomial"

    def __post_init__(self) -> None:
        check_grid_fields(self)
        object.__setattr__(self, "curve_N", as_count(self.curve_N, "curve_N"))
        object.__setattr__(self, "eps", as_scalar(self.eps, "eps", nonnegative=True))
        object.__setattr__(self, "counts", choice(self.counts, "counts", COUNT_METHODS))
        # the betas as the model checks and stores them (sgd / signgd take none)
        betas = self.models(self.alphas[0], self.Ns[0])[0].betas
        object.__setattr__(self, "betas", betas)

    @classmethod
    def paper(cls, **changes: Any) -> ModularSweepConfig:
        """The notebook's grid: N = 20, 40, ..., 1000, seeds 0..3, 99,000 steps (changes override).

        99,000: the scripts save their loss list every 1000 steps of 100,000, so the notebook's
        last entry, losses[-1], is the loss after 99,000 updates. The paper records every step;
        this records n_record = 200 log-spaced ones. Batch counts are drawn by the alias method
        (the distribution of the scripts' np.random.choice, as the scaling sweep's paper preset).
        """
        grid: dict[str, Any] = {"Ns": tuple(range(20, 1001, 20)), "seeds": (0, 1, 2, 3), "steps": 99_000}
        grid["n_record"] = 200
        grid["counts"] = "alias"
        grid.update(changes)
        return cls(**grid)

    def to_dict(self) -> dict:
        data = json.loads(json.dumps(asdict(self)))
        if data["counts"] == "multinomial":  # added later: absent at its default, so older sweeps keep their digest
            del data["counts"]
        return {"sweep": SWEEP_NAME, **data}

    @classmethod
    def from_dict(cls, data: dict) -> ModularSweepConfig:
        data = dict(data)
        if data.pop("sweep", None) != SWEEP_NAME:
            raise ValueError(f"not a {SWEEP_NAME} sweep configuration (its 'sweep' field is not {SWEEP_NAME!r})")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"config has unknown fields {sorted(unknown)}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def points(self) -> tuple[int, ...]:
        """The sweep's points: Ns and curve_N, sorted."""
        return tuple(sorted(set(self.Ns) | {self.curve_N}))

    def models(self, alpha: float, N: int) -> tuple[GeometryModel, GeometryModel]:
        """(modular, non-modular) models of one alpha and N."""
        p = zipf_frequencies(self.n_skills, alpha)
        kw: dict[str, Any] = {
            "loss": self.loss,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "batch": self.batch,
            "betas": None if self.betas is None else tuple(self.betas),
            "eps": self.eps,
        }
        if self.optimizer in ("sgd", "signgd"):
            kw["betas"] = None
        return GeometryModel.modular(p, N, **kw), GeometryModel(p, N, tasks="gaussian", **kw)

    def record_steps(self) -> np.ndarray:
        return log_steps(self.steps, self.n_record)


def preset_config(preset: str = "default", **changes: Any) -> ModularSweepConfig:
    """The named grid ("default": scaled down; "paper": the notebook's), with `changes` applied."""
    preset = choice(preset, "preset", PRESETS)
    return ModularSweepConfig.paper(**changes) if preset == "paper" else ModularSweepConfig(**changes)


def read_modular_config(path: str | Path) -> ModularSweepConfig:
    """The sweep configuration in `path` (a config.json); a ValueError naming the file if it is malformed."""
    return read_sweep_config(path, ModularSweepConfig, "modular sweep")


def compute_modular_point(
    N: int, config: ModularSweepConfig, threads: int | None, device: str | None = None
) -> dict[str, Any]:
    """Simulate one N (2 kinds x alphas x seeds in one simulate call) and return its arrays; writes nothing."""
    start = time.perf_counter()
    rec = config.record_steps()
    models = [m for a in config.alphas for m in config.models(a, N)]  # alpha-major, kind-minor
    res = simulate(
        models,
        config.steps,
        seeds=list(config.seeds),
        record=rec,
        dtype=config.dtype,
        threads=threads,
        device=device,
        counts=config.counts,
    )
    A, S = len(config.alphas), len(config.seeds)
    total = res.total_loss().reshape(A, 2, S, -1).transpose(1, 0, 2, 3)  # (kind, alpha, seed, n_rec)
    plateau = [float(modular_plateau(config.n_skills, N, a, config.loss)) for a in config.alphas]
    return {
        "steps": rec,
        "total_loss": total,
        "plateau": np.array(plateau),
        "N": np.asarray(N),
        "alphas": np.array(config.alphas),
        "seeds": np.array(config.seeds),
        "kinds": np.array(KINDS),
        "backends": np.array(sorted({str(c.metadata["backend"]) for c in res.curves})),
        "digest": np.asarray(config.digest()),
        "seconds": np.asarray(time.perf_counter() - start),
        "peak_rss_kib": np.asarray(_peak_rss_kib()),
    }


def read_modular_point(config: ModularSweepConfig, path: Path) -> np.ndarray | None:
    """total_loss (2, n_alphas, n_seeds, n_rec) of a point file; None (with a warning) if missing or unreadable.

    As the scaling sweep's read_point: a truncated or corrupted file counts as missing (recomputed),
    one written by another configuration is an error.
    """
    data = load_point(config, path, ("total_loss", "steps"))
    if data is None:
        return None
    total = data["total_loss"]
    shape = (2, len(config.alphas), len(config.seeds), config.record_steps().size)
    if total.shape != shape or not np.array_equal(data["steps"], config.record_steps()):
        _log.warning("point file %s has the wrong shapes %s; treating it as missing", path, total.shape)
        return None
    return total


def run_modular_sweep(
    config: ModularSweepConfig,
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

    Each point (one N) writes, once, total_loss (2 kinds, n_alphas, n_seeds, n_rec), the modular
    plateau (n_alphas,), steps and seeds. Arguments and errors as run_scaling_sweep's: jobs local
    processes (one torch thread each), or a Dask `scheduler`; SweepPointsFailed when points raise
    (the others are written); device as run_scaling_sweep's.
    """
    out = _prepare_dir(config, out_dir, "modular sweep")
    return run_sweep_points(
        compute_modular_point,
        read_modular_point,
        config,
        out,
        shard_points(config.points(), *shard),
        f"modular-{config.digest()}",
        shard=shard,
        jobs=jobs,
        threads=threads,
        progress=progress,
        scheduler=scheduler,
        timeout=timeout,
        device=device,
    )


@dataclass(frozen=True, eq=False)
class ModularSweepResults:
    """A modular sweep's results gathered from its point files.

    Attributes:
        config: the sweep configuration.
        steps: shape (n_rec,), recorded steps.
        points: shape (n_points,), the N of each point (config.points()).
        total_loss: shape (2, n_alphas, n_points, n_seeds, n_rec), sum_k p_k l_k, kinds (modular,
            non-modular); NaN for missing points.
        missing: the N values with no point file yet.
    """

    config: ModularSweepConfig
    steps: np.ndarray
    points: np.ndarray
    total_loss: np.ndarray
    missing: tuple[int, ...]

    def __repr__(self) -> str:
        cfg = self.config
        values = {"alphas": cfg.alphas, "Ns": cfg.Ns, "curve_N": cfg.curve_N, "seeds": cfg.seeds}
        values.update({"steps": self.steps, "total_loss": self.total_loss, "missing": self.missing})
        return short_repr(self, (), array_items=0, values=values)

    def at(self, N: int) -> np.ndarray:
        """total_loss at one N, shape (2, n_alphas, n_seeds, n_rec)."""
        hit = np.flatnonzero(self.points == N)
        if hit.size == 0:
            raise ValueError(f"N = {N} is not a point of this sweep; its points: {tuple(int(v) for v in self.points)}")
        return self.total_loss[:, :, int(hit[0])]


def load_modular_sweep(out_dir: str | Path) -> ModularSweepResults:
    """Gather a sweep's point files; a missing, truncated or corrupted point is NaN and listed in `missing`."""
    out = Path(out_dir)
    cfg_path = out / CONFIG_FILE
    if not cfg_path.exists():
        raise ValueError(f"{str(out)!r} holds no sweep ({CONFIG_FILE} missing)")
    config = read_modular_config(cfg_path)
    rec = config.record_steps()
    points = config.points()
    total = np.full((2, len(config.alphas), len(points), len(config.seeds), rec.size), np.nan)
    missing = []
    for j, N in enumerate(points):
        point = read_modular_point(config, point_path(out, N))
        if point is None:
            missing.append(N)
        else:
            total[:, :, j] = point
    return ModularSweepResults(config, rec, np.array(points), total, tuple(missing))


@dataclass(frozen=True, eq=False)
class ModularSummary:
    """Final loss versus N, loss versus steps at curve_N, their ratios, and the closed forms beside them.

    Attributes (seed medians, as the notebook takes them; kinds in the order modular, non-modular):
        alphas, Ns: the grid; curve_N: the N of the curves; n_skills: n.
        final_loss: shape (2, n_alphas, n_Ns), the loss after the last step.
        ratio: shape (n_alphas, n_Ns), non-modular / modular final loss.
        plateau: shape (n_alphas, n_Ns), the modular closed form l0 sum_{k>N} p_k.
        halfspace: shape (n_Ns,), Wendel's P(n tasks lie in a half-space of R^N).
        crossing_N: shape (n_alphas,), where the ratio first falls below 1 (log-interpolated; NaN: never).
        steps: shape (n_rec,); curves: shape (2, n_alphas, n_rec); curve_ratio: shape (n_alphas, n_rec).
        step_exponent: per kind, per alpha, the power law of the curve over steps in step_window
            (None where it cannot be fitted).
        step_window: (first, last) step of those fits (the notebook's fitting window 50..200).
        nonmodular_from: {alpha: shape (n_Ns,)} non-modular final losses (seed medians) of alphas this
            sweep does not run, from a scaling sweep of the same runs (nonmodular_from_scaling); Fig
            18's curve labelled 1.0 divides by alpha 0.5's.
        nonmodular_source: where those came from ("" when none).
    """

    alphas: tuple[float, ...]
    Ns: tuple[int, ...]
    curve_N: int
    n_skills: int
    final_loss: np.ndarray
    ratio: np.ndarray
    plateau: np.ndarray
    halfspace: np.ndarray
    crossing_N: np.ndarray
    steps: np.ndarray
    curves: np.ndarray
    curve_ratio: np.ndarray
    step_exponent: tuple[tuple[PowerLawFit | None, ...], ...]
    step_window: tuple[float, float]
    nonmodular_from: dict = field(default_factory=dict)
    nonmodular_source: str = ""

    def __repr__(self) -> str:
        values = {"alphas": self.alphas, "Ns": self.Ns, "crossing_N": tuple(float(v) for v in self.crossing_N)}
        return short_repr(self, (), values=values)

    def to_dict(self) -> dict:
        """JSON-ready (NaN as None)."""
        out: dict[str, Any] = {"kinds": list(KINDS)}
        for name in ("alphas", "Ns", "curve_N", "n_skills", "step_window"):
            out[name] = getattr(self, name)
        for name in ("final_loss", "ratio", "plateau", "halfspace", "crossing_N", "steps", "curves", "curve_ratio"):
            out[name] = _json_array(getattr(self, name))
        out["step_exponent"] = [[None if f is None else asdict(f) for f in row] for row in self.step_exponent]
        out["nonmodular_from"] = {str(a): _json_array(np.asarray(v)) for a, v in self.nonmodular_from.items()}
        out["nonmodular_source"] = self.nonmodular_source
        out["paper_figure_18"] = self.against_figure_18()
        return out

    def against_figure_18(self) -> list[dict]:
        """Per alpha that Fig 18 plots (with n = 1000): the figure's numbers (FIGURE_18, FIGURE_18_CURVE)
        beside ours, and whether ours lies within the figure's reading uncertainty.

        The figure's speedup against N is computed as the notebook computes it (FIGURE_18_DRAWN_FROM):
        our non-modular final loss at the previous alpha of Fig 10's list over our modular one at the
        labelled alpha ("as drawn"; n/a where that alpha is not in this sweep); the ratio at the
        labelled alpha itself is given beside it. The speedup against steps is at the labelled alpha.
        """
        rows: list[dict] = []
        if self.n_skills != 1000:
            return rows
        Ns = np.array(self.Ns, dtype=np.float64)
        j20 = list(self.Ns).index(20) if 20 in self.Ns else None
        for i, alpha in enumerate(self.alphas):
            paper = _lookup(FIGURE_18, alpha)
            if paper is None:
                continue
            ratio20, cross = paper
            source = _lookup(FIGURE_18_DRAWN_FROM, alpha)
            numerator, drawn_in = self._nonmodular_at(source)
            with np.errstate(invalid="ignore", divide="ignore"):
                drawn = numerator / self.final_loss[0, i] if numerator is not None else np.full(Ns.size, np.nan)
            drawn20 = float(drawn[j20]) if j20 is not None else math.nan
            drawn_cross = _crossing(Ns, drawn) if numerator is not None else math.nan
            if numerator is None:
                cross_ok = False
            elif cross is None:
                cross_ok = not math.isfinite(drawn_cross)
            else:
                cross_ok = math.isfinite(drawn_cross) and abs(drawn_cross - cross) <= FIGURE_18_READING["crossing_N"]
            paper_curve = _lookup(FIGURE_18_CURVE, alpha)
            ours_curve = self._curve_ratio_at(i, 10_000) if self.curve_N == 100 else math.nan
            right20 = float(self.ratio[i, j20]) if j20 is not None else math.nan
            rows.append(
                {
                    "alpha": float(alpha),
                    "drawn_from_alpha": source,
                    "as_drawn_available": numerator is not None,
                    "drawn_from_sweep": drawn_in,
                    "paper_ratio_at_20": ratio20,
                    "ours_ratio_at_20_as_drawn": _finite_or_none(drawn20),
                    "ratio_at_20_within_reading": bool(
                        math.isfinite(drawn20) and abs(drawn20 / ratio20 - 1.0) <= FIGURE_18_READING["ratio_at_20"]
                    ),
                    "ours_ratio_at_20": _finite_or_none(right20),
                    "paper_crossing_N": cross,
                    "ours_crossing_N_as_drawn": _finite_or_none(drawn_cross),
                    "crossing_within_reading": bool(cross_ok),
                    "ours_crossing_N": _finite_or_none(float(self.crossing_N[i])),
                    "paper_curve_ratio_at_10000": paper_curve,
                    "ours_curve_ratio_at_10000": _finite_or_none(ours_curve),
                    "curve_ratio_within_reading": bool(
                        paper_curve is not None
                        and math.isfinite(ours_curve)
                        and abs(ours_curve / paper_curve - 1.0) <= FIGURE_18_READING["curve_ratio_at_10000"]
                    ),
                }
            )
        return rows

    def _nonmodular_at(self, alpha: float | None) -> tuple[np.ndarray | None, str]:
        """(non-modular final losses at alpha over Ns, where from): this sweep, else nonmodular_from."""
        if alpha is None:
            return None, ""
        k = next((m for m, a in enumerate(self.alphas) if abs(a - alpha) < 1e-9), None)
        if k is not None:
            return self.final_loss[1, k], "this sweep"
        extra = _lookup(self.nonmodular_from, alpha)
        return (None, "") if extra is None else (np.asarray(extra, dtype=np.float64), self.nonmodular_source)

    def _curve_ratio_at(self, i: int, step: float) -> float:
        """curve_ratio of alpha i at the recorded step nearest `step` on a log scale (NaN if not reached)."""
        steps = np.asarray(self.steps, dtype=np.float64)
        if steps.size == 0 or steps.max() < step:
            return math.nan
        j = int(np.argmin(np.abs(np.log(np.maximum(steps, 1.0)) - math.log(step))))
        return float(self.curve_ratio[i, j])


def _lookup(table: dict, alpha: float) -> Any:
    return next((v for a, v in table.items() if abs(a - alpha) < 1e-9), None)


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _json_array(a: np.ndarray) -> Any:
    return [_json_array(v) for v in a] if np.ndim(a) else (None if not np.isfinite(a) else a.item())


def _crossing(Ns: np.ndarray, ratio: np.ndarray) -> float:
    """The first N where ratio goes from >= 1 to < 1, interpolated in log N and log ratio; NaN if none."""
    for j in range(1, Ns.size):
        r0, r1 = ratio[j - 1], ratio[j]
        if np.isfinite(r0) and np.isfinite(r1) and r0 >= 1.0 > r1 and r0 > 0 and r1 > 0:
            f = math.log(r0) / (math.log(r0) - math.log(r1))
            return float(math.exp(math.log(Ns[j - 1]) + f * math.log(Ns[j] / Ns[j - 1])))
    return math.nan


def _step_fit(steps: np.ndarray, curve: np.ndarray, window: tuple[float, float]) -> PowerLawFit | None:
    keep = (steps >= window[0]) & (steps <= window[1]) & (steps > 0) & np.isfinite(curve) & (curve > 0)
    if keep.sum() < 3:
        return None
    return fit_power_law(steps[keep], curve[keep])


def summarize_modular(
    results: ModularSweepResults,
    *,
    step_window: tuple[float, float] = (50.0, 200.0),
    nonmodular_from: str | Path | None = None,
) -> ModularSummary:
    """Seed medians of the final losses and of the curves at curve_N, the ratios, the closed forms.

    nonmodular_from: a scaling sweep folder of the same non-modular runs (nonmodular_from_scaling),
    whose alphas this sweep lacks complete Fig 18's as-drawn comparison (alpha 0.5 for the label 1.0).
    """
    extra = {} if nonmodular_from is None else nonmodular_from_scaling(nonmodular_from, results.config)
    cfg = results.config
    idx = [int(np.flatnonzero(results.points == N)[0]) for N in cfg.Ns]
    with np.errstate(invalid="ignore", divide="ignore"):  # a missing point is NaN throughout
        final = np.median(results.total_loss[..., -1][:, :, idx], axis=-1)  # (2, A, n_Ns)
        ratio = final[1] / final[0]
        curves = np.median(results.at(cfg.curve_N), axis=2)  # (2, A, n_rec)
        curve_ratio = curves[1] / curves[0]
    Ns = np.array(cfg.Ns, dtype=np.float64)
    plateau = np.stack([modular_plateau(cfg.n_skills, np.array(cfg.Ns), a, cfg.loss) for a in cfg.alphas])
    steps = results.steps.astype(np.float64)
    window = (float(step_window[0]), float(step_window[1]))
    fits = tuple(tuple(_step_fit(steps, curves[k, i], window) for i in range(len(cfg.alphas))) for k in range(2))
    return ModularSummary(
        alphas=cfg.alphas,
        Ns=cfg.Ns,
        curve_N=cfg.curve_N,
        n_skills=cfg.n_skills,
        final_loss=final,
        ratio=ratio,
        plateau=plateau,
        halfspace=halfspace_probability(cfg.n_skills, np.array(cfg.Ns)),
        crossing_N=np.array([_crossing(Ns, ratio[i]) for i in range(len(cfg.alphas))]),
        steps=results.steps.copy(),
        curves=curves,
        curve_ratio=curve_ratio,
        step_exponent=fits,
        step_window=window,
        nonmodular_from={a: v for a, v in extra.items() if not any(abs(a - b) < 1e-9 for b in cfg.alphas)},
        nonmodular_source="" if nonmodular_from is None else str(nonmodular_from),
    )


def nonmodular_from_scaling(scaling_dir: str | Path, config: ModularSweepConfig) -> dict[float, np.ndarray]:
    """{alpha: shape (n_Ns,)} the median over seeds of a scaling sweep's total loss at config.steps, at
    config's Ns (NaN where that sweep lacks the N or its point), checked to be this sweep's
    non-modular runs: the same model field for field, seeds, dtype and batch-count sampler (a run
    depends only on those, not on what it was batched with; `sweep scaling --preset paper-signgd`
    runs them for the paper's grid). A ValueError names what differs."""
    from ._scaling import load_scaling_sweep

    res = load_scaling_sweep(scaling_dir)
    sc = res.config
    where = f"nonmodular_from: {scaling_dir}"
    for name in ("seeds", "dtype", "counts"):
        ours, theirs = getattr(config, name), getattr(sc, name)
        if ours != theirs:
            raise ValueError(f"{where} has {name} {theirs!r}, this sweep {ours!r}: not the same runs")
    N = config.Ns[0]
    difference = _model_difference(sc.model(sc.alphas[0], N), config.models(sc.alphas[0], N)[1])
    if difference:
        raise ValueError(f"{where} runs another model: {difference} differs from this sweep's non-modular one")
    hits = np.flatnonzero(res.steps == config.steps)
    if hits.size == 0:
        raise ValueError(f"{where} did not record step {config.steps} (this sweep's final step)")
    out = {}
    for i, alpha in enumerate(sc.alphas):
        values = np.full(len(config.Ns), np.nan)
        for j, n in enumerate(config.Ns):
            if n in sc.Ns:
                with np.errstate(invalid="ignore"):
                    values[j] = float(np.median(res.total_loss[i, sc.Ns.index(n), :, hits[0]]))
        out[float(alpha)] = values
    return out


def _model_difference(a: GeometryModel, b: GeometryModel) -> str:
    """The first field in which two models differ ("" when none)."""
    from dataclasses import fields

    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        same = np.array_equal(x, y) if isinstance(x, np.ndarray) or isinstance(y, np.ndarray) else x == y
        if not same:
            return f.name
    return ""
