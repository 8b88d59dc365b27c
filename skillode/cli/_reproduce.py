"""`skillode reproduce --out DIR [--quick]`: every experiment, and the paper-vs-skillode table."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._files import check_output_dir
from ._validate import add_execution_arguments, execution_options


def register(sub) -> None:
    ap = sub.add_parser(
        "reproduce",
        help="run every validation experiment and write the paper-vs-skillode table (reproduction.md)",
        description="Run every validation experiment (grokking and scaling_laws included) and write "
        "reproduction.md / .json: each figure and printed number of the paper the experiments cover, the "
        "paper's value, ours (median and "
        "spread over seeds), the command, and a verdict; report.md holds the sections and the figures. "
        "Full size takes over an hour on 2 cores (grokking alone 41 minutes, scaling_laws about 13); --quick a few "
        "minutes.",
    )
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--quick", action="store_true", help="small configs (a few minutes on 2 cores)")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for training (default: automatic)")
    ap.add_argument(
        "--modular-sweep",
        type=Path,
        default=None,
        metavar="DIR",
        help="a finished `skillode sweep modular` folder: its Fig 18 rows join the table (the sweep itself "
        "takes 1.8 h at the paper's grid with --jobs 2, so it is run separately)",
    )
    add_execution_arguments(ap)
    ap.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_dir(args.out)
    try:
        from ..validation import EXPERIMENTS, write_report
    except ImportError as exc:
        raise ValueError(f"the validation package needs torch ({exc}); install torch==2.13.0") from exc
    report = write_report(
        list(EXPERIMENTS),
        out,
        quick=args.quick,
        progress=args.progress,
        threads=args.threads,
        modular_sweep=args.modular_sweep,
        **execution_options(args),
    )
    print((report.out_dir / "reproduction.md").read_text())
    table = report.out_dir / "reproduction.md"
    print(f"wrote {table}, reproduction.json, {report.report} and {len(report.figures)} figures")
    for name, why in report.skipped.items():
        print(f"skipped {name}: {why}")
    return 0
