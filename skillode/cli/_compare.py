"""`skillode compare RUN --out DIR`: which model does a training run follow? Ranked out of sample.

Reads RUN with read_curves (skillode's npz/CSV, a tracker CSV, JSON lines, TensorBoard), fits the
Resource, Domino and Parallel models (and the gated Resource model with --parents) through
skillode.fitting._report.compare_run, and writes into DIR: report.md (ranking with its confidence,
every parameter with its interval, identifiability), compare.json (every number), fits.png (data
and fits), forecast.png (the time-split predictions), learning_times.png (predicted vs observed)
and fitted_<model>.npz (the fitted curves in the data's units). Every file is written atomically.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, check_output_dir
from ._common import _float_list, read_log


def _name_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def _parents(text: str) -> tuple[str, list[str]]:
    """SKILL:PARENT,PARENT -> (skill, [parents])."""
    skill, sep, rest = text.partition(":")
    parents = [v.strip() for v in rest.split(",") if v.strip()]
    if not sep or not skill.strip() or not parents:
        raise argparse.ArgumentTypeError(f"expected SKILL:PARENT[,PARENT...], got {text!r}")
    return skill.strip(), parents


def register(sub: Any) -> None:
    ap = sub.add_parser(
        "compare",
        help="compare the Resource, Domino and Parallel models with a training run, ranked out of sample",
        description=(
            "Fit the Resource, Domino and Parallel models (and the gated Resource model with --parents) to a run's "
            "per-skill losses, rank them by their error predicting held-out later steps (and held-out skills), and "
            "write report.md, compare.json and plots into --out."
        ),
    )
    ap.add_argument("run", type=Path, metavar="RUN", help="curves: .npz/.csv, tracker CSV, .jsonl, TensorBoard")
    ap.add_argument("--step", default=None, help="step column of a log (default: found by name)")
    ap.add_argument("--skills", type=_name_list, default=None, metavar="A,B", help="the skills (columns/tags) to use")
    ap.add_argument("--pattern", default=None, help=r"regex naming the skill in column names, e.g. 'loss/(.+)'")
    ap.add_argument(
        "--nan",
        choices=("refuse", "drop"),
        default="refuse",
        help="a NaN or missing value in a chosen column: refuse (default, an error naming it) or drop its rows "
        "(counted in a warning and in the report's metadata)",
    )
    freq = ap.add_mutually_exclusive_group()
    freq.add_argument("--frequencies", type=_float_list, default=None, metavar="P1,P2,...", help="skill frequencies")
    freq.add_argument("--infer-frequencies", action="store_true", help="fit the frequencies as well")
    ap.add_argument(
        "--parents",
        type=_parents,
        action="append",
        default=None,
        metavar="SKILL:PARENT,PARENT",
        help="a compositional skill and its parents (repeatable): adds the gated Resource model",
    )
    ap.add_argument(
        "--gate-exponent",
        default=None,
        metavar="A|free",
        help="with --parents: the gates' exponent a (they open as 1 - lhat^a), fixed at A (default 1) or 'free' "
        "(fitted with eta and N0, with its interval)",
    )
    ap.add_argument(
        "--train-fraction",
        type=float,
        default=0.6,
        help="fit on this fraction of the time range, predict the rest (default 0.6; 1: no time split)",
    )
    ap.add_argument("--holdout-skills", type=_name_list, default=None, metavar="A,B", help="skills to predict")
    ap.add_argument(
        "--quantity",
        choices=("loss", "accuracy"),
        default="loss",
        help="what the curves are: loss (default) or accuracy (compared as (1 - acc) / (1 - chance))",
    )
    ap.add_argument(
        "--chance", type=float, default=None, help="with --quantity accuracy: the accuracy of guessing (default 0)"
    )
    ap.add_argument("--threshold", type=float, default=0.5, help="learning time: loss reaches this x first loss")
    ap.add_argument("--bootstrap", type=int, default=50, help="bootstrap refits for intervals (default 50)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    ap.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fitting._report import compare_run

    out = check_output_dir(args.out)  # before the fit: a bad --out must not cost the whole run
    if not 0.0 < args.train_fraction <= 1.0:
        raise ValueError(f"--train-fraction must lie in (0, 1] (1: no time split), got {args.train_fraction:g}")
    if args.chance is not None and args.quantity != "accuracy":
        raise ValueError("--chance applies to --quantity accuracy only")
    curves = read_log(args.run, args)
    parents = None
    if args.parents:
        parents = dict(args.parents)
        if len(parents) != len(args.parents):
            raise ValueError("--parents: a skill is given twice")
    if args.gate_exponent is not None and not parents:
        raise ValueError("--gate-exponent applies to the gated model only: name its skills with --parents")
    if args.frequencies is None and curves.frequencies is None and not args.infer_frequencies:
        raise ValueError(
            f"{args.run}: the curves carry no skill frequencies; give --frequencies (one per skill: "
            f"{', '.join(curves.names)}) or --infer-frequencies"
        )
    try:
        rc = compare_run(
            curves,
            frequencies=args.frequencies,
            infer_frequencies=args.infer_frequencies,
            parents=parents,
            train_fraction=None if args.train_fraction == 1.0 else args.train_fraction,
            holdout_skills=args.holdout_skills,
            threshold=args.threshold,
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            level=args.level,
            quantity=args.quantity,
            chance=0.0 if args.chance is None else args.chance,
            gate_exponent=1.0 if args.gate_exponent is None else args.gate_exponent,
        )
    except ValueError as exc:
        # compare_run names its keyword arguments; the user typed options
        raise ValueError(_as_option(str(exc))) from exc
    written = _write_outputs(args, out, rc)
    _print_summary(rc)
    print(f"wrote {out}/" + ", ".join(written))
    return 0


def _as_option(message: str) -> str:
    """compare_run's message with its leading keyword argument named as the option the user typed."""
    names = (
        "holdout_skills",
        "train_fraction",
        "frequencies",
        "parents",
        "threshold",
        "level",
        "n_bootstrap",
        "chance",
        "gate_exponent",
    )
    for name in names:
        if message.startswith(name):
            option = "--bootstrap" if name == "n_bootstrap" else "--" + name.replace("_", "-")
            return option + message[len(name) :]
    return message.replace("infer_frequencies=True", "--infer-frequencies")


def _print_summary(rc: Any) -> None:
    print(f"ranked by {rc.ranked_by}:")
    for rank, name in enumerate(rc.ranking, start=1):
        h = rc.time_split.get(name) or rc.skill_holdout.get(name)
        err = f"held-out RMSE {h.rmse:.4g} [{h.interval[0]:.4g}, {h.interval[1]:.4g}]" if h else ""
        res = rc.fits[name]
        print(f"  {rank}. {name:<15} {err}  AIC {res.aic:.1f}  BIC {res.bic:.1f}")
    c = rc.confidence
    extra = (
        f" (ratio {c['ratio']:.2f}, best wins {100 * c['best_wins_share']:.0f}% of resamples)" if "ratio" in c else ""
    )
    print(f"confidence: {c['label']}{extra}")
    for name in rc.ranking:
        for combo, (est, lo, hi) in rc.identifiability[name].combinations.items():
            if name != "parallel":
                print(f"  {name}: eta and N0 not separately identified; {combo} = {est:.4g} [{lo:.4g}, {hi:.4g}]")


def _write_outputs(args: argparse.Namespace, out: Path, rc: Any) -> list[str]:
    """report.md, compare.json, the fitted curves and the plots, each written atomically; their names."""
    from .. import __version__
    from ..curves._json import _jsonable

    written = []
    for name in rc.ranking:
        rc.fitted(name).save(out / f"fitted_{name}.npz")
        written.append(f"fitted_{name}.npz")
    written += _plot_fits(rc, out), _plot_forecast(rc, out), _plot_learning_times(rc, out)
    written = [w for w in written if w]
    meta = rc.to_dict()
    meta.update(
        command="compare",
        run=str(args.run),
        versions={"skillode": __version__, "numpy": np.__version__, "python": platform.python_version()},
    )
    atomic_write(out / "compare.json", json.dumps(_jsonable(meta), indent=2) + "\n")
    files = ", ".join(["compare.json", *written])
    report = rc.report() + f"\n## Files\n\nRun: `{args.run}`. Written beside this report: {files}.\n"
    atomic_write(out / "report.md", report)
    return ["report.md", "compare.json", *written]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> str:
    plt = _pyplot()
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)
    return path.name


def _quantity(rc: Any) -> str:
    return "loss per skill (as logged)"


def _overlay(rc: Any, name: str, fitted: Any, ax: Any, title: str) -> None:
    plt = _pyplot()
    data = rc.data
    cmap = plt.get_cmap("viridis")
    for k, skill in enumerate(data.names):
        color = cmap(k / max(data.n_skills - 1, 1))
        ax.plot(data.times, data.loss[:, k], "o", color=color, markersize=2.5, alpha=0.5, label=f"data {skill}")
        ax.plot(fitted.times, fitted.loss[:, k], "-", color=color, linewidth=1.5, label=f"fit {skill}")
    ax.set_title(title, fontsize="small")
    ax.set_xlabel("step")
    ax.set_ylabel(_quantity(rc))


def _plot_fits(rc: Any, out: Path) -> str:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(rc.ranking), figsize=(4.2 * len(rc.ranking) + 2, 3.4), squeeze=False, sharey=True)
    for j, name in enumerate(rc.ranking):
        res = rc.fits[name]
        _overlay(rc, name, rc.fitted(name), axes[0, j], f"{name} (all data): R^2 {res.r2:.4f}, AIC {res.aic:.0f}")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    if rc.data.n_skills <= 8:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="x-small")
    fig.tight_layout()
    return _save(fig, out / "fits.png")


def _plot_forecast(rc: Any, out: Path) -> str:
    if not rc.time_split:
        return ""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(rc.ranking), figsize=(4.2 * len(rc.ranking) + 2, 3.4), squeeze=False, sharey=True)
    for j, name in enumerate(rc.ranking):
        h = rc.time_split[name]
        ax = axes[0, j]
        _overlay(rc, name, h.predicted, ax, f"{name}: held-out RMSE {h.rmse:.3g}")
        ax.axvline(rc.options["split_time"], color="grey", linestyle="--", linewidth=1, label="end of training part")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    if rc.data.n_skills <= 8:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="x-small")
    fig.tight_layout()
    return _save(fig, out / "forecast.png")


def _plot_learning_times(rc: Any, out: Path) -> str:
    """Predicted vs observed learning times: every skill from each full fit, held-out skills marked."""
    plt = _pyplot()
    thr = rc.options["threshold"]
    observed = rc.data.learning_times(thr, relative=True)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    markers = "osD^v"
    for j, name in enumerate(rc.ranking):
        predicted = rc.fitted(name).learning_times(thr, relative=True)
        ax.plot(observed, predicted, markers[j % len(markers)], label=f"{name} (fit to all skills)", alpha=0.8)
        h = rc.skill_holdout.get(name)
        if h is not None:
            obs, pred = zip(*h.learning_times.values())
            ax.plot(obs, pred, markers[j % len(markers)], mfc="none", markersize=11, label=f"{name} (held-out skills)")
    shown = np.concatenate([line.get_xdata() for line in ax.lines] + [line.get_ydata() for line in ax.lines])
    shown = np.asarray(shown, dtype=float)
    shown = shown[np.isfinite(shown)]
    lo, hi = (float(shown.min()), float(shown.max())) if shown.size else (0.0, 1.0)
    ax.plot([lo, hi], [lo, hi], "k:", linewidth=1, label="predicted = observed")
    ax.set_xlabel(f"observed learning time (step where loss = {thr:g} x first loss)")
    ax.set_ylabel("predicted learning time (step)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="x-small")
    fig.tight_layout()
    return _save(fig, out / "learning_times.png")
