"""Experiment 6: how the wasted resource N0 depends on noise, learning rate and batch size (Fig 7 bottom).

The paper's notebook scripts/Fig7_bottom_N0_dependence.ipynb, per setting:

* Geometry model: N = 1000, n = 10 tasks with independent random unit task vectors
  (torch.randn(n, N) normalised), p_k ~ k^-2 normalised, x = 0 at start; each step a batch of
  task ids drawn with probabilities p, the loss mean_b (1 - s_b)^2 backpropagated, Gaussian noise
  sigma * randn(N) added to the gradient, torch Adam with betas (0, 0) (eps 1e-8: SignGD), 1000 steps.
  Defaults lr 1e-3, batch 128, noise 0; three sweeps, each changing one of them: noise in
  10^linspace(-3, 0, 10), lr in 10^linspace(-5, -1, 9), batch in 8, 16, ..., 1024.
* The best N0: the Resource map l <- max(l - eta p l / (sum p l + N0), 0) from l = 1 with
  eta = 2 lr sqrt(N), for every N0 in 10^linspace(-4, 2, 601); the one with the smallest
  mean((s - (1 - l))^2) over the 10 tasks and 1000 steps, where row t of s is the skill before update
  t + 1 and row t of l the map after t + 1 updates (the notebook's pairing). One seed (2).
* What it shows: best N0 against each swept quantity on log-log axes, with reference lines N0 ~ lr
  (drawn over lr 1e-2..1e-1), N0 ~ sigma (10^-2.5..10^-0.5) and N0 ~ 1/B (10..100). It prints the
  noise sweep's best N0 (PAPER_NOISE_N0).

Here the same setup is simulated with skillode's GeometryModel (tasks "gaussian", optimizer Adam
betas (0, 0), eps 1e-8; its MSE gradient is the notebook's loss.backward(), so its noise is the
notebook's sigma), for every seed in `seeds` (skillode's random streams: seed 2 is the notebook's seed
in name only), and the best N0 found by the notebook's grid search (notebook_best_n0), per seed.
One difference: skillode records the loss (1 - s)^2, so s - (1 - l) is taken as |1 - s| - l; the
two differ only at steps where s has overshot 1 while the map's l > 0 (late in a skill's learning,
by the size of one SignGD step).

Claims: each printed noise-sweep N0 against our median over seeds (within a factor 2, the criterion
the geometry experiment uses for the paper's N0), and the slope of log N0 against log lr, log sigma
and log B over the reference lines' ranges against 1, 1 and -1 (within 0.25), per seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import skillode as sk

from ._common import ExperimentResult, check_positive_int, check_seeds, environment, fmt
from ._train import check_device, resolve_device

NAME = "n0_dependence"
NOTEBOOK = "scripts/Fig7_bottom_N0_dependence.ipynb of github.com/KindXiaoming/physics_of_skill_learning"

NOISES = tuple(float(x) for x in 10 ** np.linspace(-3, 0, num=10))
LEARNING_RATES = tuple(float(x) for x in 10 ** np.linspace(-5, -1, num=9))
BATCHES = (8, 16, 32, 64, 128, 256, 512, 1024)
#: The best N0 the notebook prints for each noise of NOISES (its only printed sweep).
PAPER_NOISE_N0 = (
    0.03162277660168379,
    0.06456542290346556,
    0.15135612484362088,
    0.3388441561392027,
    0.7244359600749899,
    1.4125375446227553,
    3.890451449942805,
    8.91250938133746,
    18.62087136662869,
    37.153522909717275,
)
#: The reference lines of the notebook's figure: slope and the range of the swept quantity they span.
PAPER_LINES = {"lr": (1.0, (1e-2, 1e-1)), "noise": (1.0, (10**-2.5, 10**-0.5)), "batch": (-1.0, (10.0, 100.0))}
N0_GRID = tuple(float(x) for x in 10 ** np.linspace(-4, 2, num=601))
N0_FACTOR = 2.0
SLOPE_TOLERANCE = 0.25
SWEEPS = ("noise", "lr", "batch")


@dataclass(frozen=True)
class N0DependenceConfig:
    """The three sweeps of Fig 7 bottom.

    Attributes:
        sweeps: which of "noise", "lr", "batch" to run.
        noises, learning_rates, batches: the swept values (default the notebook's).
        n_skills, zipf_alpha, N: tasks, p_k ~ k^-zipf_alpha, parameter dimension.
        lr, batch, noise: the values the other sweeps hold fixed (1e-3, 128, 0).
        steps: optimizer updates (and map iterations).
        seeds: one simulation per seed and setting.
        device: where skillode.simulate runs ("cpu", "cuda", "auto").
    """

    sweeps: tuple[str, ...] = SWEEPS
    noises: tuple[float, ...] = NOISES
    learning_rates: tuple[float, ...] = LEARNING_RATES
    batches: tuple[int, ...] = BATCHES
    n_skills: int = 10
    zipf_alpha: float = 2.0
    N: int = 1000
    lr: float = 1e-3
    batch: int = 128
    noise: float = 0.0
    steps: int = 1000
    seeds: tuple[int, ...] = (2, 0, 1)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not self.sweeps or any(s not in SWEEPS for s in self.sweeps) or len(set(self.sweeps)) != len(self.sweeps):
            raise ValueError(f"sweeps must be distinct names from {SWEEPS}, got {self.sweeps!r}")
        check_positive_int(self.n_skills, "n_skills")
        check_positive_int(self.N, "N")
        check_positive_int(self.steps, "steps")
        check_positive_int(self.batch, "batch")
        check_seeds(self.seeds)
        check_device(self.device)
        for name, values in (("noises", self.noises), ("learning_rates", self.learning_rates)):
            if not values or any(not (math.isfinite(v) and v >= 0) for v in values):
                raise ValueError(f"{name} must be non-empty and >= 0, got {values!r}")
        if any(v <= 0 for v in self.learning_rates) or not self.lr > 0:
            raise ValueError("learning rates must be positive")
        for b in self.batches:
            check_positive_int(b, "batches")

    def matches_notebook(self) -> bool:
        """Whether the noise sweep is the notebook's, so that its printed N0 apply."""
        return tuple(self.noises) == NOISES and (
            self.n_skills,
            float(self.zipf_alpha),
            self.N,
            float(self.lr),
            self.batch,
            self.steps,
        ) == (10, 2.0, 1000, 1e-3, 128, 1000)

    def model(self, *, lr: float | None = None, batch: int | None = None, noise: float | None = None):
        return sk.GeometryModel(
            sk.zipf_frequencies(self.n_skills, self.zipf_alpha),
            self.N,
            tasks="gaussian",
            optimizer="adam",
            betas=(0.0, 0.0),
            eps=1e-8,
            lr=self.lr if lr is None else lr,
            batch=self.batch if batch is None else batch,
            noise=self.noise if noise is None else noise,
        )

    def settings(self, sweep: str) -> list[dict[str, Any]]:
        """The (lr, batch, noise) changes of one sweep, in order."""
        if sweep == "noise":
            return [{"noise": float(v)} for v in self.noises]
        if sweep == "lr":
            return [{"lr": float(v)} for v in self.learning_rates]
        return [{"batch": int(v)} for v in self.batches]


#: CI size: the notebook's noise sweep (its printed N0 apply), one seed: a few seconds.
QUICK = N0DependenceConfig(sweeps=("noise",), seeds=(2,))


def notebook_best_n0(residual: np.ndarray, p: np.ndarray, eta: float, grid: tuple[float, ...] = N0_GRID) -> dict:
    """The notebook's grid search for N0, vectorised over the grid.

    residual: (steps + 1, n), 1 - s after 0..steps updates. Row t (t < steps) is compared with the
    map after t + 1 updates. Returns {"N0": the best grid value, "error": its mean squared error,
    "at_edge": whether it is the grid's first or last value (then the grid does not bracket it)}.
    """
    res = np.asarray(residual, dtype=np.float64)
    steps = res.shape[0] - 1
    w = np.asarray(p, dtype=np.float64) / np.sum(p)
    n0 = np.asarray(grid, dtype=np.float64)[:, None]
    l = np.ones((n0.shape[0], w.size))
    err = np.zeros(n0.shape[0])
    for t in range(steps):
        fg = w * l
        l = np.maximum(l - eta * fg / (fg.sum(axis=1, keepdims=True) + n0), 0.0)
        err += np.mean((res[t] - l) ** 2, axis=1)
    err /= steps
    best = int(np.argmin(err))
    return {"N0": float(n0[best, 0]), "error": float(err[best]), "at_edge": best in (0, n0.shape[0] - 1)}


def _slope(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    keep = (x >= lo * (1 - 1e-9)) & (x <= hi * (1 + 1e-9)) & (y > 0)
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def run_sweep(config: N0DependenceConfig, sweep: str, progress: bool = False) -> dict:
    """Simulate every setting x seed of one sweep and find each run's best N0."""
    settings = config.settings(sweep)
    models = [config.model(**s) for s in settings]
    seeds = list(config.seeds)
    sim = sk.simulate(
        models,
        config.steps,
        seeds=seeds,
        record=np.arange(config.steps + 1),
        device=str(resolve_device(config.device)),
        progress=progress,
    )
    best = np.empty((len(settings), len(seeds)))
    edge = np.zeros_like(best, dtype=bool)
    for r, curves in enumerate(sim.curves):  # model-major: run r = setting r // seeds, seed r % seeds
        i, j = divmod(r, len(seeds))
        model = models[i]
        fit = notebook_best_n0(np.sqrt(curves.loss), model.p, 2 * model.lr * math.sqrt(model.N))
        best[i, j], edge[i, j] = fit["N0"], fit["at_edge"]
    x = np.array([next(iter(s.values())) for s in settings], dtype=np.float64)
    slope, (lo, hi) = PAPER_LINES[sweep]
    per_seed = [_slope(x, best[:, j], lo, hi) for j in range(len(seeds))]
    finite = [v for v in per_seed if math.isfinite(v)]  # none where the sweep has < 2 values in range
    return {
        "values": x.tolist(),
        "best_N0": best.tolist(),  # (settings, seeds)
        "at_grid_edge": edge.tolist(),
        "median_N0": np.median(best, axis=1).tolist(),
        "slope": {
            "paper": slope,
            "range": [lo, hi],
            "per_seed": per_seed,
            "median": float(np.median(finite)) if finite else math.nan,
        },
        "simulation_seconds": sim.seconds,
    }


def run(config: N0DependenceConfig = N0DependenceConfig(), *, progress: bool = False) -> ExperimentResult:
    sweeps = {s: run_sweep(config, s, progress) for s in config.sweeps}
    notebook = config.matches_notebook() and "noise" in sweeps
    metrics: dict[str, Any] = {"source": NOTEBOOK, "applies": notebook, "sweeps": sweeps}
    if notebook:
        ours = np.asarray(sweeps["noise"]["median_N0"])
        ratio = ours / np.asarray(PAPER_NOISE_N0)
        metrics["paper_noise"] = {
            "paper": list(PAPER_NOISE_N0),
            "ours_median": ours.tolist(),
            "ratio": ratio.tolist(),
            "within_factor": [bool(1 / N0_FACTOR <= r <= N0_FACTOR) for r in ratio],
        }
    return ExperimentResult(
        NAME,
        "Wasted resource N0 against noise, learning rate and batch size (Fig 7 bottom)",
        asdict(config) | {"environment": environment()},
        metrics,
        {},
        {},
        _markdown(config, metrics),
        ("n0_dependence.png",),
    )


def _markdown(config: N0DependenceConfig, m: dict) -> str:
    lines = [
        f"The paper's Fig 7 bottom ({NOTEBOOK}): the Geometry model (N = {config.N}, {config.n_skills} random unit "
        f"tasks, p ~ k^-{config.zipf_alpha:g}, SignGD = Adam betas (0, 0), {config.steps} steps; lr {config.lr:g}, "
        f"batch {config.batch}, noise {config.noise:g} unless swept), simulated with skillode's GeometryModel, seeds "
        f"{list(config.seeds)}; the best N0 by the notebook's grid search (601 values 1e-4..1e2) against the map "
        "with eta = 2 lr sqrt(N).",
        "",
        "| sweep | slope of log N0 (paper's line) | ours, median [min, max] over seeds | over |",
        "|---|---|---|---|",
    ]
    for name, sw in m["sweeps"].items():
        per = [v for v in sw["slope"]["per_seed"] if math.isfinite(v)]
        lo, hi = sw["slope"]["range"]
        spread = f"{fmt(sw['slope']['median'])} [{fmt(min(per))}, {fmt(max(per))}]" if per else "n/a"
        lines.append(f"| {name} | {sw['slope']['paper']:g} | {spread} | {lo:.3g} .. {hi:.3g} |")
    if "paper_noise" in m:
        pn = m["paper_noise"]
        lines += [
            "",
            "| noise sigma | paper's best N0 | ours (median over seeds) | ours / paper |",
            "|---|---|---|---|",
        ]
        for x, p, o, r in zip(m["sweeps"]["noise"]["values"], pn["paper"], pn["ours_median"], pn["ratio"]):
            lines.append(f"| {x:.3g} | {p:.3g} | {o:.3g} | {r:.2f} |")
    edges = sum(bool(e) for sw in m["sweeps"].values() for row in sw["at_grid_edge"] for e in row)
    if edges:
        lines += ["", f"{edges} run(s) put the best N0 at the edge of the grid (not bracketed)."]
    lines += ["", "![N0 dependence](n0_dependence.png)"]
    return "\n".join(lines)


def plot(result: ExperimentResult, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    sweeps = result.metrics["sweeps"]
    labels = {"lr": "learning rate", "noise": "noise sigma", "batch": "batch size B"}
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4 * len(sweeps), 3), squeeze=False)
    for ax, (name, sw) in zip(axes[0], sweeps.items()):
        x = np.asarray(sw["values"])
        best = np.asarray(sw["best_N0"])
        for j in range(best.shape[1]):
            ax.plot(x, best[:, j], "o", ms=3, color="0.6", label="each seed" if j == 0 else None)
        ax.plot(x, np.median(best, axis=1), "o-", color="C0", label="median")
        if name == "noise" and "paper_noise" in result.metrics:
            ax.plot(x, result.metrics["paper_noise"]["paper"], "s", mfc="none", color="C3", label="paper (printed)")
        slope, (lo, hi) = sw["slope"]["paper"], sw["slope"]["range"]
        xs = np.geomspace(lo, hi, 20)
        mid = np.interp(np.log(np.sqrt(lo * hi)), np.log(x), np.log(np.median(best, axis=1)))
        ax.plot(xs, np.exp(mid) * (xs / np.sqrt(lo * hi)) ** slope, "--", color="red", label=f"slope {slope:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(labels[name])
        ax.set_ylabel("best N0")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(out_dir / "n0_dependence.png", dpi=110)
    plt.close(fig)
    return [out_dir / "n0_dependence.png"]
