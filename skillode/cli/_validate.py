"""`skillode validate NAME|all --out DIR [--quick]`: train networks, compare with the models, write a report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

EXPERIMENT_NAMES = (
    "domino",
    "compositional",
    "modularity",
    "geometry",
    "n0_dependence",
    "grokking",
    "scaling_laws",
)


def register(sub) -> None:
    ap = sub.add_parser(
        "validate",
        help="train MLPs (torch) and compare them with the models; writes report.md, PNGs, metrics.json",
        description="Run validation experiments (" + ", ".join(EXPERIMENT_NAMES) + ") and write report.md, "
        "PNG figures (data and model overlaid), metrics.json and curves_*.npz into --out.",
    )
    ap.add_argument(
        "names",
        nargs="*",
        default=["all"],
        metavar="NAME",
        help="experiments to run: all (default; every one but grokking and scaling_laws, which run only when "
        "named: about 40 and 13 minutes at full size on one and two cores, under a minute with --quick) or any of "
        + ", ".join(EXPERIMENT_NAMES),
    )
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--quick", action="store_true", help="small configs (a few minutes on 2 cores)")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for training (default: automatic, min(2, available cores), "
        "lowered to 1 when the load average shows other jobs using the cores)",
    )
    add_execution_arguments(ap)
    ap.set_defaults(func=run)


def add_execution_arguments(ap: argparse.ArgumentParser) -> None:
    """--device, --scheduler and --jobs, shared by validate and reproduce."""
    ap.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default=None,
        help="where the networks train (and the Geometry model runs): cpu (default), cuda, or auto (CUDA "
        "where torch has it); data and initial weights are drawn on the CPU either way",
    )
    ap.add_argument(
        "--scheduler",
        default=None,
        help="train the seed groups of grokking, compositional and modularity on Dask: local:N (a LocalCluster "
        "of N processes for this run) or a scheduler address tcp://host:port (default: $DASK_SCHEDULER_ADDRESS "
        "if set, else this machine); needs skillode[distributed]",
    )
    ap.add_argument(
        "--jobs", type=int, default=1, help="local worker processes for those seed groups (default 1: this process)"
    )


def execution_options(args: argparse.Namespace) -> dict:
    """write_report's device / scheduler / jobs from the parsed options."""
    return {
        "device": args.device,
        "scheduler": args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
        "jobs": args.jobs,
    }


def run(args: argparse.Namespace) -> int:
    try:
        from ..validation import write_report
    except ImportError as exc:
        raise ValueError(f"the validation package needs torch ({exc}); install torch==2.13.0") from exc
    report = write_report(
        args.names or ["all"],
        args.out,
        quick=args.quick,
        progress=args.progress,
        threads=args.threads,
        **execution_options(args),
    )
    print(f"wrote {report.report}, {report.metrics} and {len(report.figures)} figures")
    if args.device not in (None, "cpu"):
        from ..validation import EXPERIMENTS

        for name in report.results:
            if not hasattr(EXPERIMENTS[name].default, "device"):
                print(f"note: {name} has no device option and ran on the CPU")
    for name, why in report.skipped.items():
        print(f"skipped {name}: {why}")
    return 0
