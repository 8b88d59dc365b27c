"""The command line checks every argument before it works, and ends cleanly on Ctrl-C and SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from skillode.cli import main


def test_options_a_model_does_not_use_are_refused(tmp_path, capsys):
    rc = main(["solve", "domino", "--p", "1,0.1", "--eta", "0.1", "--N0", "1", "--steps", "5", "--out", str(tmp_path)])
    assert rc == 2
    assert "--N0 does not apply to the domino model" in capsys.readouterr().err
    rc = main(["solve", "parallel", "--p", "1", "--eta", "0.1", "--loss", "ce", "--steps", "5", "--out", str(tmp_path)])
    assert rc == 2
    assert "--loss does not apply to the parallel model" in capsys.readouterr().err


def test_unknown_arguments_are_named_under_the_subcommands_usage(tmp_path, capsys):
    # A list written with spaces leaves numbers over: the error is the subcommand's and shows the list
    # written as it must be; other leftovers are named plainly, under the subcommand's usage too.
    out = str(tmp_path / "o")
    args = ["compare", "run.csv", "--frequencies", "0.7", "0.2", "0.1", "--out", out]
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "usage: skillode compare" in err
    assert (
        "unrecognized arguments: 0.2 0.1 (--frequencies takes one comma-separated list: --frequencies 0.7,0.2,0.1)"
        in err
    )
    with pytest.raises(SystemExit):
        main(["solve", "resource", "--p", "1,0.1", "--eta", "0.1", "--steps", "5", "--out", out, "--bogus", "3"])
    err = capsys.readouterr().err
    assert "usage: skillode solve" in err and err.rstrip().endswith("unrecognized arguments: --bogus 3")
    assert not (tmp_path / "o").exists()


def test_solve_checks_the_threshold_before_writing(tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(
        ["solve", "resource", "--p", "1,0.1", "--eta", "0.1", "--steps", "5", "--threshold", "1.5", "--out", str(out)]
    )
    assert rc == 2
    assert "--threshold must lie in [0, 1)" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", ["solve", "fit", "derive"])
def test_an_existing_file_as_out_is_a_clear_error(tmp_path, capsys, command):
    target = tmp_path / "taken"
    target.write_text("user data\n")
    data = tmp_path / "c.csv"
    data.write_text("step,a\n0,1\n1,0.5\n2,0.25\n3,0.1\n")
    args = {
        "solve": ["solve", "resource", "--p", "1", "--eta", "0.1", "--steps", "3", "--out", str(target)],
        "fit": ["fit", str(data), "--frequencies", "1", "--bootstrap", "0", "--out", str(target)],
        "derive": ["derive", "exact_solution", "--out", str(target / "x.md")],
    }[command]
    rc = main(args)
    assert rc == 2
    err = capsys.readouterr().err
    assert str(target) in err and "Traceback" not in err
    assert target.read_text() == "user data\n"  # untouched


# derive, with each derivation made slow and announced, so that the signal lands mid-work
_SLOW_DERIVE = """
import sys, time
import skillode.derivations as derivations
from skillode.cli import main

def slow(name, check=True):
    print("working", flush=True)
    time.sleep(60)

derivations.run = slow
sys.exit(main(["derive", "--all", "--out", sys.argv[1]]))
"""


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_interruption_exits_cleanly_with_one_line(tmp_path, sig, code, word):
    out = tmp_path / "DERIVATIONS.md"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_DERIVE, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "working"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"skillode derive: {word}; finished outputs are kept"]
    assert not out.exists()  # nothing half-written


def test_warnings_are_one_line_of_the_command_and_name_its_options(tmp_path):
    # Run as a user runs it (a fresh process: no test harness recording the warnings): the reader's
    # warning is one line "skillode compare: warning: ...", names --skills rather than skills=[...],
    # and shows neither a path into our source nor a line of it; the error then lists the skills.
    log = tmp_path / "log.csv"
    rows = [f"{s},{0.9 ** (s / 10):.6f},{0.95 ** (s / 10):.6f},{0.97 ** (s / 10):.6f},0.001" for s in range(0, 200, 10)]
    log.write_text("step,train_loss,loss_a,loss_b,lr\n" + "\n".join(rows) + "\n")
    cmd = [
        sys.executable,
        "-m",
        "skillode",
        "compare",
        str(log),
        "--frequencies",
        "0.7,0.3",
        "--out",
        str(tmp_path / "o"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"skillode compare: warning: {log}: took the 3 column(s) with 'loss' in the name")
    assert "(--skills A,B)" in lines[0] and "skills=[" not in proc.stderr and ".py:" not in proc.stderr
    assert lines[1] == (
        "skillode compare: error: --frequencies must have 3 entries (one per skill: train_loss, loss_a, loss_b), got 2"
    )
    assert len(lines) == 2
