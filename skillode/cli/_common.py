"""Argument types and readers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def read_log(path: Path, args: argparse.Namespace) -> Any:
    """read_curves(path) with the subcommand's --step/--skills/--pattern/--nan; its errors name the
    options the user typed, not read_curves' keyword arguments."""
    from ..curves import read_curves

    try:
        return read_curves(path, step=args.step, skills=args.skills, pattern=args.pattern, nan=args.nan)
    except ValueError as exc:
        raise ValueError(str(exc).replace("pass nan='drop'", "pass --nan drop")) from exc
