"""The `skillode` command line: thin argparse subcommands over the public API.

Each subcommand lives in its own module (cli/_NAME.py) exposing register(subparsers), which adds a
parser whose `func` default takes the parsed arguments and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

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
    args = parser.parse_args(argv)
    previous = _terminate_like_interrupt()
    try:
        return int(args.func(args) or 0)
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
