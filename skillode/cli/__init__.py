"""The `skillode` command line: thin argparse subcommands over the public API.

Each subcommand lives in its own module (cli/_NAME.py) exposing register(subparsers), which adds a
parser whose `func` default takes the parsed arguments and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import warnings

_SUBCOMMAND_MODULES = (
    "skillode.cli._solve",
    "skillode.cli._fit",
    "skillode.cli._compare",
    "skillode.cli._derive",
    "skillode.cli._validate",
    "skillode.cli._reproduce",
    "skillode.cli._sweep",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skillode", description="The physics of skill learning.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # under the subcommand's usage, not the top-level one, with a hint where one helps
        _subcommand_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}{_hint(extra, argv)}")
    previous = _terminate_like_interrupt()
    try:
        formatwarning = warnings.formatwarning  # printing only: a caller recording warnings still gets them
        warnings.formatwarning = _one_line_warning(args.command)
        try:
            return int(args.func(args) or 0)
        finally:
            warnings.formatwarning = formatwarning
    except ValueError as exc:
        print(f"skillode {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # output piped into e.g. `head`, which closed early: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file we could not read or write: name it, no traceback
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"skillode {args.command}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1
    except _Terminated:
        print(f"skillode {args.command}: terminated; finished outputs are kept", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"skillode {args.command}: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


#: The readers' warnings name their keyword arguments; on the command line the options are meant.
_API_TO_OPTIONS = (("(skills=[...])", "(--skills A,B)"), ("pass step='...'", "pass --step NAME"))


def _one_line_warning(command: str):
    """Warnings as one line of the command's own ("skillode fit: warning: ..."), not as a file path,
    a line number and a line of our source."""

    def one_line(message, category, filename, lineno, line=None) -> str:
        text = str(message)
        for api, option in _API_TO_OPTIONS:
            text = text.replace(api, option)
        return f"skillode {command}: warning: {text}\n"

    return one_line


def _subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    return parser


def _hint(extra: list[str], argv: list[str]) -> str:
    """For numbers left over after a list option (`--frequencies 0.7 0.2 0.1`): say how lists are written."""
    try:
        [float(v) for v in extra]
        where = argv.index(extra[0])
    except ValueError:
        return ""
    if where < 2 or not argv[where - 2].startswith("--") or argv[where : where + len(extra)] != extra:
        return ""
    option = argv[where - 2]
    return f" ({option} takes one comma-separated list: {option} {','.join([argv[where - 1], *extra])})"


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds like Ctrl-C (every write is atomic)."""


def _terminate_like_interrupt():
    """Make SIGTERM raise _Terminated in the main thread; returns the previous handler (None if not set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise _Terminated()

    return signal.signal(signal.SIGTERM, handler)
