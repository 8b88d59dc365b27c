"""`skillode derive [NAME ...] [--all] [--format text|latex|markdown] [--out FILE]`.

Prints (or writes) closed-form results from derivations/, each with its assumptions, its
statement and, unless --no-check, the outcome of its symbolic and numeric checks. Exits 1 when
a check fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._files import atomic_write, check_output_dir, check_output_file

_SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".txt": "text"}


def register(sub) -> None:
    ap = sub.add_parser(
        "derive",
        help="print closed-form results (exact solution, learning times, limits, scaling laws) with their checks",
        description=(
            "Render derivations: sympy statements with assumptions, checked symbolically and against "
            "skillode's solvers. No NAME (or --all) means every result."
        ),
    )
    ap.add_argument("names", nargs="*", metavar="NAME", help="results to render (see --list); default all")
    ap.add_argument("--all", action="store_true", help="every result (the default when no NAME is given)")
    ap.add_argument("--list", action="store_true", help="list the result names and titles, then exit")
    ap.add_argument(
        "--format",
        choices=("text", "latex", "markdown"),
        default=None,
        help="output format (default: from --out's suffix .md/.tex/.txt, else text)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    ap.add_argument("--no-check", action="store_true", help="statements only; skip the (seconds-long) checks")
    ap.add_argument(
        "--at",
        nargs="+",
        metavar="NAME=VALUE",
        default=None,
        help="evaluate the statements of NAME at these symbol values, e.g. learning_time --at r=10 eps=0.05 nu=0.01",
    )
    ap.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import skillode.derivations as derivations

    if args.list:
        for name in derivations.names():
            print(f"{name:18s} {derivations.get(name).title}")
        return 0
    if args.all and args.names:
        raise ValueError("give NAMEs or --all, not both")
    chosen = list(args.names) if args.names else list(derivations.names())
    for name in chosen:
        derivations.get(name)  # a ValueError naming the unknown result and the known ones
    if args.at is not None:
        return _evaluate(derivations, chosen, args)
    fmt = args.format
    if fmt is None:
        fmt = _SUFFIX_FORMATS.get(args.out.suffix.lower(), "text") if args.out is not None else "text"
    if args.out is not None:  # before the derivations run: a bad path must not cost the run
        check_output_dir(args.out.parent if str(args.out.parent) else ".", name="--out folder")
        check_output_file(args.out, name="--out")
    reports = [derivations.run(name, check=not args.no_check) for name in chosen]
    text = derivations.render(reports, fmt)
    if args.out is not None:
        atomic_write(args.out, text)
        print(f"wrote {len(reports)} result(s) to {args.out}")
    else:
        sys.stdout.write(text)
    failed = [r.derivation.name for r in reports if not r.passed]
    if failed:
        print(f"skillode derive: checks FAILED in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _evaluate(derivations, chosen: list[str], args: argparse.Namespace) -> int:
    """Print each statement's value at --at's symbol values (or which symbols it still needs)."""
    if len(chosen) != 1:
        raise ValueError("--at evaluates one result: give exactly one NAME")
    if args.out is not None or args.format is not None:
        raise ValueError("--at prints numbers; --out and --format do not apply")
    values = derivations.parse_values(args.at)
    derivation = derivations.get(chosen[0])
    at = ", ".join(f"{k} = {v:g}" for k, v in values.items())
    print(f"{derivation.name}: {derivation.title}  (at {at})")
    for ev in derivations.evaluate(derivation, values):
        shown = f"{ev.value:.10g}" if ev.value is not None else f"needs {', '.join(ev.missing)}"
        print(f"  {ev.label}: {shown}")
    return 0
