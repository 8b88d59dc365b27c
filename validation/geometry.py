"""Experiment 4: Geometry model vs Resource model (the paper's mapping eta = 2 lr sqrt(N), C = T T^T).

Uses skillode's Geometry model (skillode.simulate) and its Resource mapping
(skillode.fit_resource_mapping): the seed-averaged Geometry-model runs are compared with (a) the Resource
model given by the paper's mapping with no free parameter (eta = 2 lr sqrt(N), N0 = 0) and (b)
the Resource model with eta and N0 fitted (least squares on the curves); for SignGD also with (c)
the SignGD mean field (skillode.SignGDMeanField), which has no free parameter either.

As in the paper's mapping (scripts/Fig7_top_geometry_resource_compare.ipynb plots 1 - l against s),
the Resource models' l is compared with the residual |1 - s| = sqrt(loss) of the seed-averaged
loss, and learning times are taken at residual sqrt(threshold), i.e. at the same loss threshold;
the mean field, whose state is s, is compared in the loss itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import skillode as sk

from ._common import ExperimentResult, check_positive_int, check_seeds, environment, fmt

NAME = "geometry"


@dataclass(frozen=True)
class GeometryConfig:
    """A small Geometry-model run.

    Attributes:
        n_skills: number of skills; frequencies p_k = k^-zipf_alpha / sum.
        zipf_alpha: exponent of the frequencies.
        N: parameter dimension (orthogonal random task vectors, so C = I).
        optimizer: Geometry-model optimizer ("signgd" is the paper's mapped case).
        lr: learning rate.
        steps: optimizer updates.
        seeds: random task vectors per seed, batched.
        threshold: loss level defining learning times.
    """

    n_skills: int = 5
    zipf_alpha: float = 1.5
    N: int = 1000
    optimizer: str = "signgd"
    lr: float = 1e-3
    steps: int = 600
    seeds: tuple[int, ...] = (0, 1, 2)
    threshold: float = 0.1

    def __post_init__(self) -> None:
        check_positive_int(self.n_skills, "n_skills")
        check_positive_int(self.N, "N")
        check_positive_int(self.steps, "steps")
        check_seeds(self.seeds)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


QUICK = GeometryConfig(N=400, steps=300, seeds=(0, 1))


def run(config: GeometryConfig = GeometryConfig(), *, progress: bool = False) -> ExperimentResult:
    from skillode import GeometryModel, fit_resource_mapping, resource_model_for, simulate, zipf_frequencies
    from skillode.models import PAPER_ETA_CONSTANT

    p = zipf_frequencies(config.n_skills, config.zipf_alpha)
    model = GeometryModel(p, config.N, tasks="orthogonal", optimizer=config.optimizer, lr=config.lr)
    sim = simulate(
        model,
        config.steps,
        seeds=list(config.seeds),
        record=np.arange(config.steps + 1),
        device="cpu",
        progress=progress,
    )
    mean_loss = sim.loss().mean(axis=0)
    data = sk.SkillCurves(
        sim.steps.astype(float),
        mean_loss,
        model.names,
        p,
        {"experiment": NAME, "seeds": list(config.seeds), "geometry": model.config()},
    )
    paper = resource_model_for(model)
    paper_curves = sk.solve(paper, times=data.times, method="exact" if paper.C is None else "ode").curves
    mapping = fit_resource_mapping(model, data, seed=config.seeds[0])  # l against the residual |1 - s|
    residual = mapping.geometry
    rmse_paper = float(np.sqrt(np.mean((paper_curves.loss - residual.loss) ** 2)))
    t_data = data.learning_times(config.threshold)
    t_paper = paper_curves.learning_times(float(np.sqrt(config.threshold)))
    t_fit = mapping.predicted.learning_times(float(np.sqrt(config.threshold)))
    mean_field = None
    if config.optimizer == "signgd":  # the mean field is SignGD's
        mf = sk.mean_field_for(model, config.seeds[0])
        mean_field = sk.solve(mf, data.times, method="map").curves
        t_mf = mean_field.learning_times(config.threshold)
    metrics = {
        "paper_mapping": {
            "eta": paper.eta,
            "eta_constant": PAPER_ETA_CONSTANT,
            "N0": paper.N0,
            "rmse": rmse_paper,
            "learning_time_relative_error": rel(t_paper, t_data),
        },
        "fitted_mapping": {
            "eta": mapping.eta,
            "eta_constant": mapping.eta_constant,
            "N0": mapping.N0,
            "rmse": mapping.rmse,
            "max_abs_error": mapping.max_abs_error,
            "eta_constant_se": mapping.eta_constant_se,
            "N0_se": mapping.N0_se,
            "N0_determined": mapping.N0_determined,
            "quantity": mapping.quantity,
            "learning_time_relative_error": rel(t_fit, t_data),
        },
        "learning_times": {
            "geometry": t_data.tolist(),
            "paper_mapping": t_paper.tolist(),
            "fitted_mapping": t_fit.tolist(),
        },
        "simulation_seconds": sim.seconds,
    }
    curves = {
        "measured": data,
        "measured_residual": residual,
        "resource_paper": paper_curves,
        "resource_fitted": mapping.predicted,
    }
    mf_row = []
    if mean_field is not None:
        rmse_mf = float(np.sqrt(np.mean((mean_field.loss - data.loss) ** 2)))
        metrics["mean_field"] = {"kappa": mf.kappa, "rmse": rmse_mf, "learning_time_relative_error": rel(t_mf, t_data)}
        metrics["learning_times"]["mean_field"] = t_mf.tolist()
        curves["signgd_mean_field"] = mean_field
        mf_row = [
            f"| SignGD mean field (not a Resource model), no free parameter | kappa = lr sqrt(2N/pi) = "
            f"{mf.kappa:.4g} | - | {rmse_mf:.3g} | {_errors(metrics['mean_field'])} |"
        ]
    md = "\n".join(
        [
            f"Geometry model: {config.n_skills} skills, p_k ~ k^-{config.zipf_alpha:g}, N = {config.N}, "
            f"orthogonal random task vectors, {config.optimizer} lr {config.lr:g}, {config.steps} steps, "
            f"seeds {list(config.seeds)} (losses averaged over seeds). Simulated with skillode's GeometryModel; "
            "mapping from skillode.fit_resource_mapping.",
            "",
            "| model | eta (constant c) | N0 | rmse (Resource: of the residual 1 - s; mean field: of the loss) | "
            "learning-time rel. errors |",
            "|---|---|---|---|---|",
            f"| paper mapping, no free parameter | {paper.eta:.4g} ({PAPER_ETA_CONSTANT:g}) | {paper.N0:g} | "
            f"{rmse_paper:.3g} | "
            f"{_errors(metrics['paper_mapping'])} |",
            f"| fitted eta, N0 | {mapping.eta:.4g} ({mapping.eta_constant:.3g} +- {mapping.eta_constant_se:.2g}) | "
            f"{mapping.N0:.3g} +- {mapping.N0_se:.2g}{'' if mapping.N0_determined else ' (not told from 0)'} | "
            f"{mapping.rmse:.3g} | "
            f"{_errors(metrics['fitted_mapping'])} |",
            *mf_row,
            "",
            f"Learning times (loss {config.threshold:g}, residual {np.sqrt(config.threshold):.3g}): Geometry "
            f"{', '.join(fmt(x) for x in t_data)}. The +- are standard errors from the fit's Jacobian (the "
            "residuals are autocorrelated: a scale, not an interval).",
            "",
            "![geometry vs resource](geometry_curves.png)",
        ]
    )
    return ExperimentResult(
        NAME,
        "Geometry model vs Resource model",
        asdict(config) | {"environment": environment()},
        metrics,
        curves,
        {},
        md,
        ("geometry_curves.png",),
    )


def rel(predicted, measured) -> list[float | None]:
    """(predicted - measured) / measured per skill; None where either is not finite."""
    return [float((x - y) / y) if np.isfinite(x) and np.isfinite(y) else None for x, y in zip(predicted, measured)]


def _errors(row: dict) -> str:
    return ", ".join(fmt(x, 2) if x is not None else "n/a" for x in row["learning_time_relative_error"])


def plot(result: ExperimentResult, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skillode.plot import plot_curves

    out_dir = Path(out_dir)
    fig, ax = plt.subplots(figsize=(6, 4))
    data = result.curves.get("measured_residual", result.curves["measured"])
    colors = [plt.get_cmap("viridis")(k / max(data.n_skills - 1, 1)) for k in range(data.n_skills)]
    plot_curves(data, ax, kind="loss", style="-", label_prefix="Geometry 1-s ", colors=colors)
    plot_curves(result.curves["resource_paper"], ax, kind="loss", style=":", label_prefix="paper map ", colors=colors)
    plot_curves(result.curves["resource_fitted"], ax, kind="loss", style="--", label_prefix="fitted ", colors=colors)
    if "signgd_mean_field" in result.curves:  # its loss is (1 - s)^2: drawn as the residual too
        mf = result.curves["signgd_mean_field"]
        mf_residual = sk.SkillCurves(mf.times, np.sqrt(mf.loss), mf.names, mf.frequencies)
        plot_curves(mf_residual, ax, kind="loss", style="-.", label_prefix="mean field ", colors=colors)
    ax.set_ylabel("residual |1 - s| (Geometry, mean field), l (Resource)")
    ax.legend(fontsize="xx-small", ncol=3)
    fig.tight_layout()
    fig.savefig(out_dir / "geometry_curves.png", dpi=110)
    plt.close(fig)
    return [out_dir / "geometry_curves.png"]


def available() -> bool:
    """Whether skillode's Geometry model and mapping can be imported."""
    try:
        import skillode.fitting  # noqa: F401
        import skillode.solvers  # noqa: F401
    except ImportError:
        return False
    return True
