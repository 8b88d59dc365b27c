"""`skillode sweep scaling|ratio|modular --out DIR`: Geometry-model sweeps from the command line.

    skillode sweep scaling --out DIR [--preset default|paper|paper-signgd] [--alphas 1.25 1.5 ...] [--N 10 20 ...]
                           [--seeds 0 1 2 3]
                           [--steps 20000] [--skills 1000] [--shard i/k] [--jobs 2] [--no-progress]
                           [--scheduler local:4 | tcp://host:8786] [--scheduler-timeout 30]
    skillode sweep ratio   --out DIR [--ratios 1 10 100] [--optimizers signgd adam sgd] [--N 256]
    skillode sweep modular --out DIR [--preset default|paper] [--alphas 1.0 1.2 ...] [--N 20 50 ...]
                           [--curve-N 100] [--seeds 0 1] [--steps 5000] [--skills 1000] [--jobs 2] ...

`scaling` is resumable (finished points are skipped) and shardable (--shard i/k, 0-based, for a
cluster job array); once every point exists it writes summary.json (exponents with confidence
intervals, Chinchilla fits) and scaling.png. Points run in local processes (--jobs, the default),
on a Dask LocalCluster started for the run (--scheduler local:N) or on a running Dask scheduler
(--scheduler tcp://host:port, default $DASK_SCHEDULER_ADDRESS; needs pip install skillode[distributed]);
results come back to this process, which writes every file atomically. A corrupted point file is
named and recomputed; Ctrl-C or SIGTERM stops the workers and keeps the finished points.

`scaling --preset paper` is the paper's Fig 10 grid (50 N x 7 alphas x 4 seeds x 100,000 Adam
steps, CE, batch 1024; --preset paper-signgd its SignGD panel, Adam betas (0, 0)); its cost, measured,
is in docs/scaling.md. The other options override single fields of the preset.

`two-skill` is an alias of `ratio`, which writes ratio.json and ratio.png.

`modular` (the paper's Fig 18) compares modular task vectors (t_k = e_k for k <= N, zero beyond)
with random unit ones: final loss versus N, loss versus steps at --curve-N, and their ratio
non-modular / modular, at alphas 1.0 ... 2.0. The default grid is scaled down (a couple of minutes
on 2 cores); --preset paper is the notebook's (50 N x 4 seeds x 99,000 steps; hours, see
docs/modular.md). Resumable and shardable as `scaling`; writes summary.json and modular.png.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, check_output_dir
from ..sweeps import (
    MissingExtraError,
    ScalingSweepConfig,
    SweepPointsFailed,
    load_modular_sweep,
    load_scaling_sweep,
    nonmodular_from_scaling,
    parse_shard,
    preset_config,
    run_modular_sweep,
    run_scaling_sweep,
    summarize_modular,
    summarize_scaling,
    two_skill_sweep,
)
from ..sweeps._summary import in_N_window


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="Geometry-model scaling and two-skill sweeps",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", choices=("scaling", "ratio", "two-skill", "modular"), help="which sweep")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--alphas", type=float, nargs="+", help="Zipf exponents (scaling)")
    parser.add_argument("--N", type=int, nargs="+", dest="Ns", help="parameter counts (scaling) or one N (ratio)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (scaling); first seed (ratio)")
    parser.add_argument("--steps", type=int, help="optimizer steps per run (scaling)")
    parser.add_argument("--skills", type=int, help="number of skills n (scaling)")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--optimizer", help="optimizer (scaling)")
    parser.add_argument("--tasks", help="task vectors: gaussian, orthogonal or basis (scaling)")
    parser.add_argument("--batch", type=int, help="batch size; default exact expected gradient (scaling)")
    parser.add_argument("--dtype", help="float32 (default) or float64 (scaling)")
    parser.add_argument(
        "--preset",
        choices=("default", "paper", "paper-signgd"),
        default="default",
        help="named grid: scaling (paper: Fig 10, paper-signgd: its SignGD panel) or modular (paper: Fig 18)",
    )
    parser.add_argument("--curve-N", type=int, dest="curve_N", help="N of the loss-vs-steps curves (modular)")
    parser.add_argument(
        "--nonmodular-from",
        type=Path,
        default=None,
        metavar="DIR",
        help="(modular) a `sweep scaling` folder of the same non-modular runs (e.g. --preset paper-signgd "
        "--alphas 0.5) whose alphas complete Fig 18's comparison as the notebook draws it",
    )
    parser.add_argument(
        "--N-window",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        dest="N_window",
        help="fit the loss-vs-N exponent over LOW <= N <= HIGH only (scaling; default all N; the paper: 40 220)",
    )
    parser.add_argument("--shard", default="0/1", help="run only shard i of k (0-based), e.g. 3/8")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the scaling sweep (one thread each)")
    parser.add_argument("--threads", type=int, help="torch threads per process")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=None,
        help="where the simulations run (scaling, modular): auto (default: cuda when available), cpu or cuda",
    )
    parser.add_argument(
        "--scheduler",
        default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
        help="where points run (scaling): local:N (a Dask LocalCluster of N processes) or a Dask scheduler "
        "address tcp://host:port; default $DASK_SCHEDULER_ADDRESS, else local processes (--jobs)",
    )
    parser.add_argument(
        "--scheduler-timeout", type=float, default=30.0, help="seconds to wait for the Dask scheduler (scaling)"
    )
    parser.add_argument("--ratios", type=float, nargs="+", help="p1/p2 values (ratio)")
    parser.add_argument("--optimizers", nargs="+", help="optimizers (ratio)")
    parser.add_argument("--threshold", type=float, default=0.1, help="learning threshold on the loss (ratio)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def _scaling_config(args) -> ScalingSweepConfig:
    kw: dict[str, Any] = {}
    for arg, key in (
        ("alphas", "alphas"),
        ("Ns", "Ns"),
        ("seeds", "seeds"),
        ("steps", "steps"),
        ("skills", "n_skills"),
        ("lr", "lr"),
        ("optimizer", "optimizer"),
        ("tasks", "tasks"),
        ("batch", "batch"),
        ("dtype", "dtype"),
    ):
        value = getattr(args, arg)
        if value is not None:
            kw[key] = tuple(value) if isinstance(value, list) else value
    if args.preset != "default" and kw.get("optimizer", "adam") != "adam":
        kw.setdefault("betas", None)  # the preset's betas belong to its Adam
    return ScalingSweepConfig.preset(args.preset, **kw)


def _plot_scaling(results, summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_n, ax_s) = plt.subplots(1, 2, figsize=(11, 4))
    cmap = plt.get_cmap("viridis")
    A = len(summary.alphas)
    for i, alpha in enumerate(summary.alphas):
        color = cmap(i / max(A - 1, 1))
        final = np.nanmean(results.final_loss()[i], axis=1)
        fit = summary.n_exponent[i]
        ax_n.loglog(results.Ns, final, "o", color=color, label=f"alpha={alpha:g}: a={fit.exponent:.2f}")
        ax_n.loglog(results.Ns, fit.prefactor * results.Ns**-fit.exponent, "--", color=color)
        curve = np.nanmean(results.total_loss[i, -1], axis=0)
        keep = results.steps > 0
        ax_s.loglog(
            results.steps[keep],
            curve[keep],
            color=color,
            label=f"alpha={alpha:g}: b={summary.step_exponent[i].exponent:.2f}",
        )
    ax_n.set_xlabel("N (parameters)")
    ax_n.set_ylabel(f"final loss (step {results.config.steps})")
    ax_s.set_xlabel("step")
    ax_s.set_ylabel(f"loss at N = {results.config.Ns[-1]}")
    ax_n.legend(fontsize="small")
    ax_s.legend(fontsize="small")
    fig.tight_layout()
    _save_figure(fig, path)


def _save_figure(fig, path: Path) -> None:
    """Save a figure as PNG atomically (a kill mid-save leaves the previous file), then free it."""
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=120))
    finally:
        plt.close(fig)


@contextmanager
def _sweep_messages() -> Iterator[None]:
    """Show the sweep's log lines (recomputed points, failures, the dashboard) as `skillode sweep: ...`."""
    logger = logging.getLogger("skillode.sweeps")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("skillode sweep: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _run_points(run_sweep: Any, config: Any, args, out: Path) -> list[Path] | None:
    """run_sweep (run_scaling_sweep or run_modular_sweep) with the command line's engine options;
    the point files written, or None after printing why the run failed."""
    try:
        with _sweep_messages():
            return run_sweep(
                config,
                out,
                shard=parse_shard(args.shard),
                jobs=args.jobs,
                threads=args.threads,
                progress=not args.no_progress,
                scheduler=args.scheduler,
                timeout=args.scheduler_timeout,
                device=args.device,
            )
    except (SweepPointsFailed, MissingExtraError) as exc:
        print(f"skillode sweep: error: {exc}", file=sys.stderr)
        return None


def _run_scaling(args, out: Path) -> int:
    config = _scaling_config(args)
    if args.N_window is not None:  # before the points run, not after
        try:
            inside, (low, high) = in_N_window(np.array(config.Ns), args.N_window)
        except ValueError as exc:
            raise ValueError(f"--N-window LOW HIGH: {exc}") from exc
        if inside.sum() < 3:
            raise ValueError(f"--N-window {low:g} {high:g} holds fewer than 3 of the sweep's N")
    written = _run_points(run_scaling_sweep, config, args, out)
    if written is None:
        return 1
    results = load_scaling_sweep(out)
    print(f"sweep scaling: {len(written)} point(s) written, {len(results.missing)} of {len(config.Ns)} missing")
    if results.missing:
        return 0
    summary = summarize_scaling(results, N_window=args.N_window)
    atomic_write(out / "summary.json", json.dumps(summary.to_dict(), indent=2))
    _plot_scaling(results, summary, out / "scaling.png")
    low, high = summary.N_window
    for alpha, nf, sf, halves, curved in zip(
        summary.alphas, summary.n_exponent, summary.step_exponent, summary.n_halves, summary.n_curved
    ):
        line = (
            f"alpha={alpha:g}: L ~ N^-{nf.exponent:.3f} [{nf.exponent_ci[0]:.3f}, {nf.exponent_ci[1]:.3f}] "
            f"(N {low:g}..{high:g}), L ~ S^-{sf.exponent:.3f} [{sf.exponent_ci[0]:.3f}, {sf.exponent_ci[1]:.3f}]"
        )
        if curved and halves is not None:
            a, b = halves
            line += (
                f"; not one power law of N: the slope is {a.exponent:.3f} [{a.exponent_ci[0]:.3f}, "
                f"{a.exponent_ci[1]:.3f}] on the lower half of the N and {b.exponent:.3f} [{b.exponent_ci[0]:.3f}, "
                f"{b.exponent_ci[1]:.3f}] on the upper (choose a range with --N-window)"
            )
        print(line)
    return 0


def _run_ratio(args, out: Path) -> int:
    kw = {}
    if args.ratios:
        kw["ratios"] = args.ratios
    if args.optimizers:
        kw["optimizers"] = args.optimizers
    if args.Ns:
        if len(args.Ns) != 1:
            raise ValueError("--N takes one value for the ratio sweep")
        kw["N"] = args.Ns[0]
    if args.seeds:
        kw["seed"] = args.seeds[0]
    if args.lr is not None:
        kw["lr"] = {o: args.lr for o in (args.optimizers or ("signgd", "adam", "sgd"))}
    sweep = two_skill_sweep(threshold=args.threshold, progress=not args.no_progress, **kw)
    atomic_write(out / "ratio.json", json.dumps(sweep.to_dict(), indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for i, opt in enumerate(sweep.optimizers):
        ax.loglog(sweep.ratios, sweep.time_ratio[i], "o-", label=opt)
    ax.loglog(sweep.ratios, sweep.ratios, "k:", label="t2/t1 = p1/p2")
    ax.set_xlabel("p1 / p2")
    ax.set_ylabel("t2 / t1")
    ax.legend(fontsize="small")
    fig.tight_layout()
    _save_figure(fig, out / "ratio.png")
    for i, opt in enumerate(sweep.optimizers):
        pairs = ", ".join(f"{r:g}:{t:.3g}" for r, t in zip(sweep.ratios, sweep.time_ratio[i]))
        print(f"{opt}: p1/p2 -> t2/t1  {pairs}")
    return 0


def _modular_config(args):
    if args.tasks is not None:
        raise ValueError("--tasks does not apply to the modular sweep (it runs both modular and random tasks)")
    kw: dict[str, Any] = {}
    for arg, key in (
        ("alphas", "alphas"),
        ("Ns", "Ns"),
        ("curve_N", "curve_N"),
        ("seeds", "seeds"),
        ("steps", "steps"),
        ("skills", "n_skills"),
        ("lr", "lr"),
        ("optimizer", "optimizer"),
        ("batch", "batch"),
        ("dtype", "dtype"),
    ):
        value = getattr(args, arg)
        if value is not None:
            kw[key] = tuple(value) if isinstance(value, list) else value
    if "optimizer" in kw and kw["optimizer"] != "adam":
        kw.setdefault("betas", None)  # the paper's betas (0, 0) belong to its Adam
    return preset_config(args.preset, **kw)


def _plot_modular(summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    cmap = plt.get_cmap("viridis")
    A = len(summary.alphas)
    Ns, keep = np.array(summary.Ns), summary.steps > 0
    for i, alpha in enumerate(summary.alphas):
        color = cmap(i / max(A - 1, 1))
        axes[0, 0].loglog(Ns, summary.final_loss[0, i], "o-", color=color, label=f"alpha={alpha:g} modular")
        axes[0, 0].loglog(Ns, summary.final_loss[1, i], "s--", color=color, mfc="none")
        axes[0, 0].loglog(Ns, summary.plateau[i], ":", color=color)
        axes[0, 1].loglog(Ns, summary.ratio[i], "o-", color=color, label=f"alpha={alpha:g}")
        axes[1, 0].loglog(summary.steps[keep], summary.curves[0, i, keep], "-", color=color, label=f"alpha={alpha:g}")
        axes[1, 0].loglog(summary.steps[keep], summary.curves[1, i, keep], "--", color=color)
        axes[1, 1].loglog(summary.steps[keep], summary.curve_ratio[i, keep], "-", color=color, label=f"alpha={alpha:g}")
    for ax in (axes[0, 1], axes[1, 1]):
        ax.axhline(1.0, color="k", ls=":", lw=1)
    axes[0, 1].axvline(summary.n_skills / 2, color="gray", ls="--", lw=1, label="N = n/2 (Wendel)")
    axes[0, 0].set(xlabel="N", ylabel="final loss (o- modular, s-- random, : plateau)")
    axes[0, 1].set(xlabel="N", ylabel="non-modular / modular final loss")
    axes[1, 0].set(xlabel="step", ylabel=f"loss at N = {summary.curve_N} (- modular, -- random)")
    axes[1, 1].set(xlabel="step", ylabel=f"non-modular / modular at N = {summary.curve_N}")
    for ax in axes.flat:
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    _save_figure(fig, path)


def _run_modular(args, out: Path) -> int:
    config = _modular_config(args)
    if args.nonmodular_from is not None:  # a folder of other runs fails now, not after the sweep
        nonmodular_from_scaling(args.nonmodular_from, config)
    written = _run_points(run_modular_sweep, config, args, out)
    if written is None:
        return 1
    results = load_modular_sweep(out)
    n_points = len(config.points())
    print(f"sweep modular: {len(written)} point(s) written, {len(results.missing)} of {n_points} missing")
    if results.missing:
        return 0
    summary = summarize_modular(results, nonmodular_from=args.nonmodular_from)
    atomic_write(out / "summary.json", json.dumps(summary.to_dict(), indent=2))
    _plot_modular(summary, out / "modular.png")
    N_half = config.n_skills / 2
    print(f"n = {config.n_skills}: P(tasks in a half-space) = 1/2 at N = {N_half:g} (Wendel)")
    for i, alpha in enumerate(summary.alphas):
        pairs = ", ".join(f"{N}:{r:.3g}" for N, r in zip(summary.Ns, summary.ratio[i]))
        cross = summary.crossing_N[i]
        where = f"ratio < 1 from N ~ {cross:.0f}" if np.isfinite(cross) else "ratio never falls below 1"
        print(f"alpha={alpha:g}: non-modular/modular final loss  N:ratio {pairs}; {where}")
    _print_figure_18(summary, config)
    _write_figure_18_rows(out)
    return 0


def _write_figure_18_rows(out: Path) -> None:
    """reproduction.md in the sweep folder: Fig 18's rows of the paper-vs-skillode table (n = 1000 only)."""
    from ..validation.reproduction import modular_sweep_claims, table_markdown

    claims = modular_sweep_claims(out)
    if claims:
        path = atomic_write(
            out / "reproduction.md", "# Paper vs skillode: Fig 18\n\n" + table_markdown(claims, False) + "\n"
        )
        print(f"wrote {path} (Fig 18's rows; `skillode reproduce --modular-sweep {out}` adds them to the full table)")


def _print_figure_18(summary: Any, config: Any) -> None:
    """Fig 18's numbers beside this sweep's (n = 1000 only), flagged where outside the figure's reading."""
    figure = summary.against_figure_18()
    if not figure:
        return
    grid = "" if config == preset_config("paper") else "; this sweep's grid differs, so compare with care"
    print(
        "the paper's Fig 18, read off the notebook's saved figure (its run: N = 20..1000, 4 seeds, 99,000 steps"
        f"{grid}). Its speedup against N divides the non-modular loss at the previous alpha of 0.5, 1.0, 1.2, "
        "..., 2.0 by the modular loss at the labelled alpha (a row shift in the notebook); 'as drawn' computes "
        "the same here:"
    )

    def num(x: Any, form: str = ".3g") -> str:
        return "n/a" if x is None else format(x, form)

    def flag(ok: bool, reading: str) -> str:
        return "" if ok else f", outside its {reading} reading"

    def crossing(x: Any) -> str:
        return "never" if x is None else f"~{x:.0f}"

    for row in figure:
        cross = row["paper_crossing_N"]
        if row["as_drawn_available"]:
            elsewhere = row["drawn_from_sweep"] != "this sweep"
            source = f" (its alpha {row['drawn_from_alpha']:g} from {row['drawn_from_sweep']})" if elsewhere else ""
            drawn = (
                f"{num(row['ours_ratio_at_20_as_drawn'])}{flag(row['ratio_at_20_within_reading'], '5 %')}{source}",
                crossing(row["ours_crossing_N_as_drawn"]) + flag(row["crossing_within_reading"], "+-20"),
            )
        else:
            missing = f"n/a (needs alpha {row['drawn_from_alpha']:g}: in the sweep, or --nonmodular-from)"
            drawn = (missing, missing)
        line = (
            f"alpha={row['alpha']:g}: at N = 20 the figure {row['paper_ratio_at_20']:g}, ours as drawn {drawn[0]} "
            f"(at alpha {row['alpha']:g} itself: {num(row['ours_ratio_at_20'])}); "
            + ("never below 1" if cross is None else f"below 1 from N ~ {cross:g}")
            + f", ours as drawn {drawn[1]} (itself: {crossing(row['ours_crossing_N'])})"
        )
        if row["ours_curve_ratio_at_10000"] is not None:
            line += (
                f"; at N = 100 after 10,000 steps the figure {row['paper_curve_ratio_at_10000']:g}, ours "
                f"{num(row['ours_curve_ratio_at_10000'])}{flag(row['curve_ratio_within_reading'], '5 %')}"
            )
        print(line)


def run(args) -> int:
    out = check_output_dir(args.out)
    if args.device is not None and args.target not in ("scaling", "modular"):
        raise ValueError(f"--device applies to the scaling and modular sweeps, not {args.target}")
    if args.nonmodular_from is not None and args.target != "modular":
        raise ValueError(f"--nonmodular-from applies to the modular sweep, not {args.target}")
    if args.target == "scaling":
        return _run_scaling(args, out)
    if args.target == "modular":
        return _run_modular(args, out)
    return _run_ratio(args, out)
