"""`skillode fit FILE... --model all --out DIR`: fit models to observed curves, compare, plot.

Writes into DIR: models.csv (the ranking), parameters.csv (estimates, standard errors,
intervals), fit.json (everything, including seeds and held-out errors), fitted_<model>.npz
(the fitted curves; fitted_<model>_<s>.npz per setting when several files are fitted) and
overlay.png (data as dots, each fitted model as lines).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import platform
import warnings
from pathlib import Path

import numpy as np

from .._files import atomic_write, check_output_dir
from ..curves import SkillCurves
from ..curves._json import _jsonable
from ..curves._pandas import _warn_if_rising
from ..fitting import CRITERIA, MODELS, QUANTITIES, Comparison, compare, prediction_error, to_loss
from ..fitting._report import Identifiability, identifiability
from ._common import _float_list, read_log


def _name_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def register(sub) -> None:
    ap = sub.add_parser(
        "fit",
        help="fit Resource/Domino/Parallel models to observed skill curves and rank them",
        description=(
            "Fit models to per-skill curves (wide CSV: step + one column per skill; long CSV: step,skill,value; "
            "or npz from skillode; with --step/--skills/--pattern, or for a .jsonl log or TensorBoard events, "
            "read as `skillode compare` reads a training log). Several FILEs are frequency settings fitted "
            "jointly (shared eta, N0). "
            "Writes models.csv, parameters.csv, fit.json, fitted_<model>.npz and overlay.png into --out."
        ),
    )
    ap.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="observed curves (.csv, .npz, .jsonl, TensorBoard)"
    )
    ap.add_argument("--step", default=None, help="step column of a log (reads FILE as a training log)")
    ap.add_argument(
        "--skills", type=_name_list, default=None, metavar="A,B", help="the columns/tags to use (reads as a log)"
    )
    ap.add_argument("--pattern", default=None, help=r"regex naming the skill in column names (reads as a log)")
    ap.add_argument(
        "--nan",
        choices=("refuse", "drop"),
        default="refuse",
        help="a NaN or missing value in a log: refuse (default) or drop its rows",
    )
    ap.add_argument("--model", choices=MODELS + ("all",), default="all", help="model to fit (default: all, ranked)")
    ap.add_argument(
        "--free",
        type=_name_list,
        default=None,
        help="free parameters of a single --model, e.g. eta,N0,offset,gate_exponent,p "
        "(default: resource eta,N0; domino eta; parallel eta; plus p without frequencies)",
    )
    ap.add_argument("--fit-offset", action="store_true", help="also fit a time offset (every model)")
    ap.add_argument(
        "--quantity",
        choices=QUANTITIES,
        default="loss",
        help="the files hold losses or accuracies (mapped to loss = (1 - acc) / (1 - chance))",
    )
    ap.add_argument("--chance", type=float, default=0.0, help="chance accuracy for --quantity accuracy (default 0)")
    ap.add_argument(
        "--normalize",
        action="store_true",
        help="divide each observed loss (with --quantity accuracy, its loss-equivalent) and each "
        "model curve by its value at the first step",
    )
    ap.add_argument("--loss", choices=("mse", "ce"), default="mse", help="Resource-model loss (default mse)")
    ap.add_argument(
        "--frequencies",
        type=_float_list,
        action="append",
        default=None,
        metavar="P1,P2,...",
        help="skill frequencies, once per FILE in order (default: from the files)",
    )
    ap.add_argument("--criterion", choices=CRITERIA, default="aic", help="ranking criterion (default aic)")
    ap.add_argument("--bootstrap", type=int, default=100, help="bootstrap refits for intervals (default 100; 0: Wald)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    ap.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    ap.add_argument(
        "--holdout-skills",
        type=_name_list,
        default=None,
        metavar="A,B",
        help="fit without these skills, then report the error of predicting them",
    )
    ap.add_argument(
        "--test",
        type=Path,
        action="append",
        default=None,
        metavar="FILE",
        help="held-out frequency setting (with frequencies) to predict; repeatable",
    )
    ap.add_argument("--progress", action="store_true", help="show bootstrap progress bars")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.set_defaults(func=run)


def run(args) -> int:
    models = MODELS if args.model == "all" else (args.model,)
    if args.free is not None and len(models) > 1:
        raise ValueError("--free needs a single --model (with --model all each model uses its defaults)")
    out = check_output_dir(args.out)  # before the fit: a bad --out must not cost the whole run
    raw, frequencies, fit_skills, tests = _read_inputs(args)
    kwargs = dict(
        quantity=args.quantity,
        chance=args.chance,
        normalize=args.normalize,
        frequencies=frequencies,
        skills=fit_skills,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        level=args.level,
        progress=args.progress,
    )
    free = None if args.free is None else {models[0]: args.free + (["offset"] if args.fit_offset else [])}
    comparison = compare(
        raw[0] if len(raw) == 1 else raw,
        models,
        free=free,
        criterion=args.criterion,
        extra_free=("offset",) if args.fit_offset else (),
        loss=args.loss,
        **kwargs,
    )
    heldout = _heldout_errors(args, comparison, raw, tests)
    determined = {name: identifiability(res) for name, res in comparison.results.items()}
    _write_outputs(args, out, comparison, heldout, determined)
    print(comparison.summary())
    for name in comparison.ranking:
        print(comparison.results[name].summary())
        _print_identifiability(determined[name])
        for where, e in heldout[name].items():
            print(f"  held-out {where}: RMSE {e['rmse']:.4g}, max |error| {e['max_abs']:.4g}, R^2 {e['r2']:.4f}")
    print(f"wrote {out}/models.csv, parameters.csv, fit.json, fitted_*.npz, overlay.png")
    return 0


def _read_inputs(args) -> tuple[list[SkillCurves], object, list[str] | None, list[SkillCurves]]:
    """(curves per FILE, frequencies, the skills to fit, held-out settings), every option checked."""
    raw = []
    for f in args.files:  # read each file once; to_loss validates it, naming it in the error (as load_curves)
        curves = _load(f, args)
        compared = to_loss(curves, args.quantity, chance=args.chance, normalize=args.normalize, name=f.name)
        if not (args.normalize or args.fit_offset):  # the Resource model alone with --loss ce starts at log 2
            start = math.log(2.0) if args.loss == "ce" and args.model == "resource" else 1.0
            _warn_if_units_differ(compared, f.name, start)
        raw.append(curves)
    frequencies = None
    if args.frequencies is not None:
        if len(args.frequencies) != len(args.files):
            raise ValueError(
                f"--frequencies must be given once per FILE ({len(args.files)}), got {len(args.frequencies)}"
            )
        frequencies = args.frequencies[0] if len(args.files) == 1 else args.frequencies
    fit_skills = None
    if args.holdout_skills is not None:
        for name in args.holdout_skills:
            for f, d in zip(args.files, raw):
                if name not in d.names:
                    raise ValueError(f"--holdout-skills: {f.name} has no skill {name!r}; known: {', '.join(d.names)}")
        fit_skills = [n for n in raw[0].names if n not in args.holdout_skills]
        if not fit_skills:
            raise ValueError("--holdout-skills leaves no skill to fit")
    tests = [SkillCurves.load(f) for f in (args.test or [])]
    for f, t in zip(args.test or [], tests):
        if t.frequencies is None:
            raise ValueError(
                f"--test {f.name}: held-out settings need frequencies (an npz or a CSV with a skillode-meta line)"
            )
    return raw, frequencies, fit_skills, tests


def _warn_if_units_differ(curves: SkillCurves, source: str, start: float, tolerance: float = 0.1) -> None:
    """Data whose losses do not start where the models' do (`start`) are fitted in other units, which
    skews every parameter without an error."""
    off = [f"{n} {v:.4g}" for n, v in zip(curves.names, curves.loss[0]) if abs(v - start) > tolerance * start]
    if off:
        warnings.warn(
            f"{source}: the compared losses start at {', '.join(off)}, the models at {start:.4g}, so the fit mixes "
            "units; pass --normalize to divide each skill by its first value (skillode compare always does), "
            "or --fit-offset if the log began after training did",
            UserWarning,
            stacklevel=2,
        )


def _load(path: Path, args) -> SkillCurves:
    """skillode's own files (every column a skill) unless the options or the file ask for a log reader;
    with --quantity loss, a skill whose values rise overall is named in a warning (an accuracy column
    fitted as a loss gives numbers that mean nothing)."""
    as_log = args.step is not None or args.skills is not None or args.pattern is not None
    if as_log or path.suffix.lower() not in (".npz", ".csv"):
        return read_log(path, args)
    curves = SkillCurves.load(path)
    if args.quantity == "loss":
        for k, name in enumerate(curves.names):
            _warn_if_rising(
                curves.loss[:, k],
                f"skill {name!r}",
                path.name,
                "choose the skills with --skills or --pattern, or pass --quantity accuracy",
            )
    return curves


def _heldout_errors(args, comparison: Comparison, raw: list[SkillCurves], tests: list[SkillCurves]) -> dict:
    heldout: dict[str, dict] = {}
    for name, res in comparison.results.items():
        errors = {}
        if args.holdout_skills is not None:
            for s, d in enumerate(raw):
                e = prediction_error(res, d, skills=args.holdout_skills, setting=s)
                errors[f"skills {','.join(args.holdout_skills)} of {args.files[s].name}"] = e
        for f, t in zip(args.test or [], tests):
            errors[f"setting {f.name}"] = prediction_error(res, t)
        heldout[name] = {k: vars(v) for k, v in errors.items()}
    return heldout


def _print_identifiability(ident: Identifiability) -> None:
    """What the data do not determine (the estimates above are then not claims), and what they do."""
    if ident.unidentified:
        print(f"  not determined by the data: {', '.join(ident.unidentified)} (their estimates above are not claims)")
    for note in ident.notes:
        print(f"    - {note}")
    for combo, (value, low, high) in ident.combinations.items():
        print(f"  determined: {combo} = {value:.6g}  [{low:.6g}, {high:.6g}]")


def _write_outputs(args, out: Path, comparison: Comparison, heldout: dict, determined: dict) -> None:
    """Tables, fitted curves, fit.json and the overlay plot, each written atomically."""
    _write_tables(comparison, out)
    for name, res in comparison.results.items():
        for s, fitted in enumerate(res.fitted):
            suffix = "" if len(res.fitted) == 1 else f"_{s}"
            fitted.save(out / f"fitted_{name}{suffix}.npz")
    from .. import __version__

    meta = {
        "command": "fit",
        "files": [str(f) for f in args.files],
        "tests": [str(f) for f in (args.test or [])],
        "criterion": args.criterion,
        "ranking": list(comparison.ranking),
        "weights": comparison.weights,
        "results": {n: r.to_dict() for n, r in comparison.results.items()},
        "heldout": heldout,
        "identifiability": {n: dataclasses.asdict(d) for n, d in determined.items()},
        "versions": {"skillode": __version__, "numpy": np.__version__, "python": platform.python_version()},
    }
    atomic_write(out / "fit.json", json.dumps(_jsonable(meta), indent=2) + "\n")
    _plot_overlay(comparison, list(comparison.best.data), out / "overlay.png")


def _write_tables(comparison: Comparison, out: Path) -> None:
    rows = comparison.table()
    text = io.StringIO()
    table = csv.DictWriter(text, fieldnames=list(rows[0]))
    table.writeheader()
    table.writerows(rows)
    atomic_write(out / "models.csv", text.getvalue())
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["model", "parameter", "estimate", "stderr", "low", "high", "interval"])
    for name in comparison.ranking:
        res = comparison.results[name]
        for row in res.table():
            cells = [row["parameter"], repr(row["estimate"]), repr(row["stderr"]), repr(row["low"]), repr(row["high"])]
            writer.writerow([name, *cells, res.interval_method])
    atomic_write(out / "parameters.csv", text.getvalue())


def _plot_overlay(comparison: Comparison, data: list[SkillCurves], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plot import plot_curves

    names = comparison.ranking
    shown = data[:4]
    fig, axes = plt.subplots(
        len(shown), len(names), figsize=(4.2 * len(names), 3.2 * len(shown)), squeeze=False, sharey=True
    )
    cmap = plt.get_cmap("viridis")
    for s, observed in enumerate(shown):
        colors = [cmap(k / max(observed.n_skills - 1, 1)) for k in range(observed.n_skills)]
        for j, name in enumerate(names):
            ax = axes[s, j]
            res = comparison.results[name]
            plot_curves(
                observed, ax, kind="loss", style="o", colors=colors, markersize=2.5, alpha=0.6, label_prefix="data "
            )
            plot_curves(res.fitted[s], ax, kind="loss", style="-", colors=colors, linewidth=1.5, label_prefix="fit ")
            title = f"{name}: R^2 {res.r2:.4f}, {comparison.criterion.upper()} {getattr(res, comparison.criterion):.1f}"
            ax.set_title(title if len(shown) == 1 else f"setting {s}, {title}", fontsize="small")
            if observed.n_skills > 6 or j > 0:
                legend = ax.get_legend()
                if legend is not None:
                    legend.remove()
    fig.tight_layout()
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
    finally:
        plt.close(fig)
