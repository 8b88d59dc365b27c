"""Experiment 4: Geometry model vs Resource model, as the paper ran it (Fig 7 top).

The paper's notebook scripts/Fig7_top_geometry_resource_compare.ipynb, per variant ("mode"):

* Geometry model: N = 1000 parameters x (zeros at start), n = 10 tasks with orthonormal task vectors
  (rows of the U of an SVD of a Gaussian N x N matrix), frequencies p_k ~ k^-2 normalised, skill
  s_k = t_k . x; each step a batch of 1024 task ids drawn with probabilities p, gradient
  -mean_b t_{k_b} (1 - s_{k_b}) (the MSE loss (1 - s)^2 / 2 per sample) plus Gaussian noise of
  standard deviation `noise` per coordinate; torch Adam with betas (0, 0) (eps 1e-8: SignGD up to
  eps), lr 3e-4, 3000 steps; one seed (2).
* Resource model ("theory"): the map l <- max(l - eta p l / (sum p l + N0), 0) from l = 1, with
  eta = 2 lr sqrt(N) and N0 set by hand per variant; the figure draws s_k beside 1 - l_k.
* Variants (one change each from "orig"): alpha 2 -> 4, N 1000 -> 100, n 10 -> 100, lr 3e-4 ->
  1e-4, noise 0 -> 1e-3, betas (0, 0) -> (0.9, 0.999), batch 1024 -> 16, with the paper's N0 0.003,
  0.003, 0.003, 0.01, 0.001, 0.06, 0.08, 0.05 (orig 0.003). The figure's label says 0.003 for "ntask";
  its code sets 0.01 after it, which is what its theory curve used (FIG7_N0 holds the code's).

skillode's MSE gradient is twice the notebook's (its per-task loss is (1 - s)^2, the notebook's update
direction the gradient of (1 - s)^2 / 2), and the optimizers are invariant to the gradient's scale
but not to the noise's: the notebook's noise 1e-3 is skillode's noise 2e-3 (FIG7_VARIANTS says so).

Here each variant is simulated with skillode's GeometryModel (skillode.simulate: the same model,
task-vector distribution, batch sampling, noise and optimizer, with skillode's random streams, not
the notebook's; seed 2 is the notebook's seed in name only) for every seed in `seeds`, and the losses
are averaged over seeds. As the notebook compares 1 - l with s, the Resource models' l is compared with
the residual |1 - s| = sqrt(loss) (skillode.fit_resource_mapping, quantity "residual"). Per variant:

* the paper's mapping: c = 2, the paper's N0, iterated as the notebook does (method "map");
* N0 fitted with c = 2 fixed (how the paper chose its N0, by eye), against the paper's N0;
* c and N0 both fitted (does the data pick c = 2?);
* for the SignGD variants, skillode's SignGD mean field (no free parameter; compared in the loss).

The fits are made on the seed-averaged curves (the quoted +- are standard errors from the fit's
Jacobian, a scale rather than an interval: the residuals are autocorrelated) and on each seed alone
(the spread over seeds, median [min, max]). Learning times: the first step the loss falls to
`threshold` (residual sqrt(threshold)).

This replaces an earlier stand-in (5 skills, p ~ k^-1.5, the exact expected gradient, lr 1e-3, 600
steps, N0 = 0 in the paper's mapping), which is gone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import skillode as sk

from ._common import ExperimentResult, check_positive_int, check_seeds, environment, fmt
from ._train import check_device, resolve_device

NAME = "geometry"
NOTEBOOK = "scripts/Fig7_top_geometry_resource_compare.ipynb of github.com/KindXiaoming/physics_of_skill_learning"

#: Each variant's one change from "orig" (GeometryConfig field -> value), in the notebook's order.
FIG7_VARIANTS: dict[str, dict[str, Any]] = {
    "orig": {},
    "alpha": {"zipf_alpha": 4.0},
    "dim": {"N": 100},
    "ntask": {"n_skills": 100},
    "lr": {"lr": 1e-4},
    # the notebook adds its noise to -mean_b t (1 - s), half of skillode's MSE gradient
    # -2 mean_b t (1 - s) (l = (1 - s)^2): under SignGD/Adam only noise relative to the gradient
    # counts, so its sigma 1e-3 is skillode's 2e-3
    "noise": {"noise": 2e-3},
    "betas": {"betas": (0.9, 0.999)},
    "bs": {"batch": 16},
}
#: The N0 the notebook's Resource model used per variant (its code; the figure labels "ntask" 0.003).
FIG7_N0 = {
    "orig": 0.003,
    "alpha": 0.003,
    "dim": 0.003,
    "ntask": 0.01,
    "lr": 0.001,
    "noise": 0.06,
    "betas": 0.08,
    "bs": 0.05,
}
FIG7_LABELS = {
    "orig": "default setup",
    "alpha": "alpha = 2 -> 4",
    "dim": "N = 1000 -> 100",
    "ntask": "n = 10 -> 100",
    "lr": "lr = 3e-4 -> 1e-4",
    "noise": "noise = 0 -> 1e-3",
    "betas": "betas = (0, 0) -> (0.9, 0.999)",
    "bs": "batch = 1024 -> 16",
}
#: Variants with noisier or wasted updates (more noise, momentum, small batches): their N0 should be larger.
WASTEFUL = ("noise", "betas", "bs")


@dataclass(frozen=True)
class GeometryConfig:
    """The Fig 7 top comparison: the "orig" setup, and the variants that change one thing each.

    Attributes:
        variants: names from FIG7_VARIANTS to run (default all eight, in the notebook's order).
        n_skills: number of tasks of "orig"; frequencies p_k = k^-zipf_alpha / sum.
        zipf_alpha: exponent of the frequencies.
        N: parameter dimension (orthonormal random task vectors, so C = I).
        lr: learning rate.
        betas: Adam's (beta1, beta2); (0, 0) with eps 1e-8 is the notebook's SignGD.
        batch: task samples per step, drawn with probabilities p (None: the exact expected gradient).
        noise: standard deviation of the Gaussian noise added to each gradient coordinate.
        steps: optimizer updates.
        seeds: one simulation per seed (task vectors, batches, noise), losses averaged over seeds.
        threshold: loss level defining learning times.
        device: "cpu" (default), "cuda" or "auto": where skillode.simulate runs the Geometry model.
    """

    variants: tuple[str, ...] = tuple(FIG7_VARIANTS)
    n_skills: int = 10
    zipf_alpha: float = 2.0
    N: int = 1000
    lr: float = 3e-4
    betas: tuple[float, float] = (0.0, 0.0)
    batch: int | None = 1024
    noise: float = 0.0
    steps: int = 3000
    seeds: tuple[int, ...] = (2, 0, 1)
    threshold: float = 0.1
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_device(self.device)
        unknown = [v for v in self.variants if v not in FIG7_VARIANTS]
        if not self.variants or unknown or len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants must be distinct names from {tuple(FIG7_VARIANTS)}, got {self.variants!r}")
        check_positive_int(self.n_skills, "n_skills")
        check_positive_int(self.N, "N")
        check_positive_int(self.steps, "steps")
        if self.batch is not None:
            check_positive_int(self.batch, "batch")
        check_seeds(self.seeds)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        self.model()  # the Geometry model checks the rest (betas, zipf_alpha)

    def variant(self, name: str) -> GeometryConfig:
        """This config with variant `name`'s change applied."""
        return replace(self, variants=(name,), **FIG7_VARIANTS[name])

    def model(self, name: str | None = None) -> sk.GeometryModel:
        """Variant `name`'s Geometry model (None: this config's own, no variant applied)."""
        c = self if name is None else self.variant(name)
        return sk.GeometryModel(
            sk.zipf_frequencies(c.n_skills, c.zipf_alpha),
            c.N,
            tasks="orthogonal",
            optimizer="adam",
            lr=c.lr,
            betas=tuple(c.betas),
            eps=1e-8,
            batch=c.batch,
            noise=c.noise,
        )

    def matches_notebook(self) -> bool:
        """Whether "orig" is the notebook's setup, so that its N0 apply (the variants change one field each)."""
        return (self.n_skills, float(self.zipf_alpha), self.N, float(self.lr), tuple(map(float, self.betas))) == (
            10,
            2.0,
            1000,
            3e-4,
            (0.0, 0.0),
        ) and (self.batch, float(self.noise), self.steps) == (1024, 0.0, 3000)


QUICK = GeometryConfig(variants=("orig", "noise", "bs"), seeds=(2, 0))


def _signgd(model: sk.GeometryModel) -> sk.GeometryModel | None:
    """The SignGD model Adam with betas (0, 0) equals up to eps (for the mean field); None otherwise."""
    if model.optimizer == "adam" and tuple(model.betas or ()) == (0.0, 0.0):
        return replace(model, optimizer="signgd", betas=None)
    return None


def _mapping_row(mapping: Any) -> dict:
    return {
        "eta": mapping.eta,
        "eta_constant": mapping.eta_constant,
        "eta_constant_se": mapping.eta_constant_se,
        "N0": mapping.N0,
        "N0_se": mapping.N0_se,
        "N0_determined": mapping.N0_determined,
        "rmse": mapping.rmse,
        "max_abs_error": mapping.max_abs_error,
        "quantity": mapping.quantity,
    }


def spread(values: list[float]) -> dict:
    """median [min, max] of per-seed values (NaN where a fit gave none)."""
    v = np.asarray(values, dtype=np.float64)
    ok = v[np.isfinite(v)]
    if not ok.size:
        return {"median": None, "min": None, "max": None, "n": int(v.size)}
    return {"median": float(np.median(ok)), "min": float(ok.min()), "max": float(ok.max()), "n": int(v.size)}


def run_variant(config: GeometryConfig, name: str, progress: bool = False) -> tuple[dict, dict]:
    """Simulate variant `name` for every seed, fit and compare the mappings: (metrics, curves)."""
    from skillode import fit_resource_mapping, resource_model_for, simulate
    from skillode.models import PAPER_ETA_CONSTANT

    model = config.model(name)
    seeds = list(config.seeds)
    sim = simulate(
        model,
        config.steps,
        seeds=seeds,
        record=np.arange(config.steps + 1),
        device=str(resolve_device(config.device)),
        progress=progress,
    )
    per_seed = sim.loss()  # (seeds, steps + 1, n)
    meta = {"experiment": NAME, "variant": name, "seeds": seeds, "geometry": model.config()}
    data = sk.SkillCurves(sim.steps.astype(float), per_seed.mean(axis=0), model.names, model.p, meta)
    paper_n0 = FIG7_N0[name] if config.matches_notebook() else None
    paper = resource_model_for(model, N0=0.0 if paper_n0 is None else paper_n0, seed=seeds[0])
    paper_curves = sk.solve(paper, times=data.times, method="map").curves  # the notebook's iteration
    fixed = fit_resource_mapping(model, data, seed=seeds[0], fit_eta=False)
    free = fit_resource_mapping(model, data, seed=seeds[0])
    residual = fixed.geometry
    rmse_paper = float(np.sqrt(np.mean((paper_curves.loss - residual.loss) ** 2)))
    seed_fixed, seed_free = [], []
    for i, s in enumerate(seeds):
        one = sk.SkillCurves(data.times, per_seed[i], model.names, model.p, meta | {"seed": s})
        seed_fixed.append(fit_resource_mapping(model, one, seed=s, fit_eta=False).N0)
        seed_free.append(fit_resource_mapping(model, one, seed=s).eta_constant)
    root = float(np.sqrt(config.threshold))
    t_data = data.learning_times(config.threshold)
    metrics: dict[str, Any] = {
        "label": FIG7_LABELS[name],
        "change": {k: list(v) if isinstance(v, tuple) else v for k, v in FIG7_VARIANTS[name].items()},
        "paper_mapping": {
            "eta": paper.eta,
            "eta_constant": PAPER_ETA_CONSTANT,
            "N0": paper.N0,
            "N0_source": "the notebook's hand-set value" if paper_n0 is not None else "0 (not the notebook's setup)",
            "rmse": rmse_paper,
            "learning_time_relative_error": rel(paper_curves.learning_times(root), t_data),
        },
        "fixed_constant": _mapping_row(fixed)
        | {"learning_time_relative_error": rel(fixed.predicted.learning_times(root), t_data)},
        "fitted_mapping": _mapping_row(free)
        | {"learning_time_relative_error": rel(free.predicted.learning_times(root), t_data)},
        "per_seed": {"N0_at_c_2": spread(seed_fixed), "eta_constant": spread(seed_free)},
        "paper_N0": paper_n0,
        "N0_over_paper": None if paper_n0 is None else float(fixed.N0 / paper_n0),
        "learning_times": {"geometry": t_data.tolist()},
        "simulation_seconds": sim.seconds,
    }
    curves = {
        f"{name}_measured": data,
        f"{name}_measured_residual": residual,
        f"{name}_resource_paper": paper_curves,
        f"{name}_resource_fixed_constant": fixed.predicted,
        f"{name}_resource_fitted": free.predicted,
    }
    sign = _signgd(model)
    if sign is not None:
        mf = sk.mean_field_for(sign, seeds[0])
        mean_field = sk.solve(mf, data.times, method="map").curves
        metrics["mean_field"] = {
            "kappa": mf.kappa,
            "rmse": float(np.sqrt(np.mean((mean_field.loss - data.loss) ** 2))),
            "learning_time_relative_error": rel(mean_field.learning_times(config.threshold), t_data),
        }
        curves[f"{name}_signgd_mean_field"] = mean_field
    return metrics, curves


def run(config: GeometryConfig = GeometryConfig(), *, progress: bool = False) -> ExperimentResult:
    """Every variant of config.variants; metrics["variants"][name] holds each, and the top-level
    paper_mapping / fitted_mapping / learning_times are the first variant's ("orig" by default)."""
    variants: dict[str, dict] = {}
    curves: dict[str, sk.SkillCurves] = {}
    for name in config.variants:
        variants[name], c = run_variant(config, name, progress)
        curves |= c
    first = variants[config.variants[0]]
    notebook = config.matches_notebook()
    order = None
    if "orig" in variants and any(v in variants for v in WASTEFUL):
        base = variants["orig"]["fixed_constant"]["N0"]
        order = {v: bool(variants[v]["fixed_constant"]["N0"] > base) for v in WASTEFUL if v in variants}
    metrics = {
        "source": NOTEBOOK,
        "applies": notebook,
        "variants": variants,
        "paper_mapping": first["paper_mapping"],
        "fitted_mapping": first["fitted_mapping"],
        "fixed_constant": first["fixed_constant"],
        "learning_times": first["learning_times"],
        "wasteful_N0_above_orig": order,
        "simulation_seconds": float(sum(v["simulation_seconds"] for v in variants.values())),
    }
    return ExperimentResult(
        NAME,
        "Geometry model vs Resource model (Fig 7 top)",
        asdict(config) | {"environment": environment()},
        metrics,
        curves,
        {},
        _markdown(config, metrics),
        ("geometry_curves.png", "geometry_variants.png"),
    )


def rel(predicted, measured) -> list[float | None]:
    """(predicted - measured) / measured per skill; None where either is not finite."""
    return [float((x - y) / y) if np.isfinite(x) and np.isfinite(y) else None for x, y in zip(predicted, measured)]


def _errors(row: dict) -> str:
    errs = [x for x in row["learning_time_relative_error"] if x is not None]
    if not errs:
        return "n/a"
    return f"median {fmt(float(np.median(np.abs(errs))), 2)}, max {fmt(float(np.max(np.abs(errs))), 2)}"


def _pm(x: float | None, se: float | None, digits: int = 3) -> str:
    return f"{fmt(x, digits)} +- {fmt(se, 2)}"


def _s(d: dict) -> str:
    return f"{fmt(d['median'], 3)} [{fmt(d['min'], 3)}, {fmt(d['max'], 3)}]"


def _markdown(config: GeometryConfig, m: dict) -> str:
    lines = [
        f'The paper\'s Fig 7 top ({NOTEBOOK}): the Geometry model, "orig" = {config.n_skills} tasks, p_k ~ '
        f"k^-{config.zipf_alpha:g}, N = {config.N}, orthonormal task vectors, batches of {config.batch} task "
        f"samples, noise {config.noise:g}, Adam betas {tuple(config.betas)} (eps 1e-8: SignGD), lr {config.lr:g}, "
        f"{config.steps} steps; each variant changes one thing. Simulated with skillode's GeometryModel (its own "
        f"random streams), seeds {list(config.seeds)}, losses averaged over seeds. The Resource model's l is compared "
        "with the residual |1 - s| (the notebook draws 1 - l beside s).",
        "",
        "| variant | paper's N0 (c = 2) | rmse, paper's map | N0 fitted at c = 2 | per seed | ours / paper | "
        "c and N0 both fitted | c per seed | rmse, both fitted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in m["variants"].values():
        fixed, free, ps = v["fixed_constant"], v["fitted_mapping"], v["per_seed"]
        n0_note = "" if fixed["N0_determined"] else " (not told from 0)"
        free_note = "" if free["N0_determined"] else " (N0 not told from 0)"
        lines.append(
            f"| {v['label']} | {fmt(v['paper_N0'])} | {fmt(v['paper_mapping']['rmse'])} | "
            f"{_pm(fixed['N0'], fixed['N0_se'])}{n0_note} | {_s(ps['N0_at_c_2'])} | {fmt(v['N0_over_paper'], 2)} | "
            f"c {_pm(free['eta_constant'], free['eta_constant_se'])}, N0 {fmt(free['N0'])}{free_note} | "
            f"{_s(ps['eta_constant'])} | {fmt(free['rmse'])} |"
        )
    lines += [
        "",
        "Learning-time errors (loss threshold "
        f"{config.threshold:g}) against the Geometry model, |relative error| over tasks:",
        "",
        "| variant | paper's map | N0 fitted at c = 2 | both fitted | SignGD mean field (loss) |",
        "|---|---|---|---|---|",
    ]
    for v in m["variants"].values():
        mf = _errors(v["mean_field"]) if "mean_field" in v else "- (not SignGD)"
        lines.append(
            f"| {v['label']} | {_errors(v['paper_mapping'])} | {_errors(v['fixed_constant'])} | "
            f"{_errors(v['fitted_mapping'])} | {mf} |"
        )
    order = m["wasteful_N0_above_orig"]
    if order is not None:
        lines += [
            "",
            "More noise, momentum or smaller batches waste resource: N0 fitted at c = 2 above orig's in "
            + ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in order.items())
            + ".",
        ]
    if not m["applies"]:
        lines += ["", "This is not the notebook's setup: the paper's N0 do not apply (its map uses N0 = 0)."]
    lines += [
        "",
        "+- are standard errors from the fit's Jacobian (autocorrelated residuals: a scale, not an interval); "
        "per seed: median [min, max] of the same fit on each seed alone.",
        "",
        "![geometry vs resource](geometry_curves.png)",
        "",
        "![Fig 7 top variants](geometry_variants.png)",
    ]
    return "\n".join(lines)


def plot(result: ExperimentResult, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skillode.plot import plot_curves

    out_dir = Path(out_dir)
    names = list(result.metrics["variants"])
    first = names[0]
    fig, ax = plt.subplots(figsize=(7, 4))
    data = result.curves[f"{first}_measured_residual"]
    colors = [plt.get_cmap("viridis")(k / max(data.n_skills - 1, 1)) for k in range(data.n_skills)]
    plot_curves(data, ax, kind="loss", style="-", colors=colors, max_legend=0)
    paper = result.curves[f"{first}_resource_paper"]
    plot_curves(paper, ax, kind="loss", style=":", colors=colors, max_legend=0)
    fitted = result.curves[f"{first}_resource_fixed_constant"]
    plot_curves(fitted, ax, kind="loss", style="--", colors=colors, max_legend=0)
    ax.set_xlabel("step")
    ax.set_ylabel("residual |1 - s| (Geometry), l (Resource)")
    ax.set_title(f"{result.metrics['variants'][first]['label']}: Geometry vs Resource", fontsize="small")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="k", ls="-", label="Geometry |1 - s|"),
        Line2D(
            [],
            [],
            color="k",
            ls=":",
            label=f"paper's map (N0 {fmt(result.metrics['variants'][first]['paper_mapping']['N0'])})",
        ),
        Line2D([], [], color="k", ls="--", label="N0 fitted, c = 2"),
    ] + [Line2D([], [], color=colors[k], label=f"p = {data.frequencies[k]:.2g}") for k in range(min(data.n_skills, 10))]
    ax.legend(handles=handles, fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out_dir / "geometry_curves.png", dpi=110)
    plt.close(fig)
    # the paper's figure: s_k (Geometry) beside 1 - l_k (Resource, the paper's N0), one row per variant
    fig, axes = plt.subplots(len(names), 2, figsize=(9, 1.5 * len(names) + 0.6), sharex=True, squeeze=False)
    for row, name in enumerate(names):
        v = result.metrics["variants"][name]
        geo, res = result.curves[f"{name}_measured"], result.curves[f"{name}_resource_paper"]
        n = geo.n_skills
        cmap = plt.get_cmap("viridis")
        # s = 1 - |1 - s| from the seed-mean loss: the sign of 1 - s is lost by the average
        s = 1.0 - np.sqrt(geo.loss)
        for k in range(n):
            color = cmap(k / max(n - 1, 1))
            axes[row, 0].plot(geo.times, s[:, k], color=color, lw=0.8)
            axes[row, 1].plot(res.times, 1.0 - res.loss[:, k], color=color, lw=0.8)
        axes[row, 0].set_ylabel("s", fontsize="small")
        axes[row, 0].text(0.5, 0.85, v["label"], transform=axes[row, 0].transAxes, ha="center", fontsize="x-small")
        axes[row, 1].text(
            0.5,
            0.85,
            f"N0 = {fmt(v['paper_mapping']['N0'])}",
            transform=axes[row, 1].transAxes,
            ha="center",
            fontsize="x-small",
        )
        for ax in axes[row]:
            ax.set_ylim(-0.05, 1.3)
    axes[0, 0].set_title("Geometry model (1 - |1 - s|)", fontsize="small")
    axes[0, 1].set_title("Resource model (1 - l), paper's map", fontsize="small")
    for ax in axes[-1]:
        ax.set_xlabel("training steps")
    fig.tight_layout()
    fig.savefig(out_dir / "geometry_variants.png", dpi=100)
    plt.close(fig)
    return [out_dir / "geometry_curves.png", out_dir / "geometry_variants.png"]


def available() -> bool:
    """Whether skillode's Geometry model and mapping can be imported."""
    try:
        import skillode.fitting  # noqa: F401
        import skillode.solvers  # noqa: F401
    except ImportError:
        return False
    return True
