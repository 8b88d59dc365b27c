"""Sweep reliability (issue #15): corrupted point files, malformed config.json, atomic writes,
failed points, and SIGTERM / SIGKILL of a `sweep --jobs 2` with worker processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import skillode.sweeps._scaling as scaling
from skillode.cli import main
from skillode.sweeps import (
    MissingExtraError,
    ScalingSweepConfig,
    SweepPointsFailed,
    load_scaling_sweep,
    parse_scheduler,
    point_path,
    run_scaling_sweep,
)


def tiny_config(**kw) -> ScalingSweepConfig:
    base = dict(alphas=(1.5,), Ns=(8, 16, 32), seeds=(0,), steps=300, n_skills=40, lr=1e-3, n_record=12)
    return ScalingSweepConfig(**(base | kw))


def test_truncated_or_corrupted_point_is_recomputed_and_named(tmp_path, caplog):
    cfg = tiny_config()
    run_scaling_sweep(cfg, tmp_path, threads=1)
    reference = load_scaling_sweep(tmp_path).total_loss
    truncated, flipped = point_path(tmp_path, 8), point_path(tmp_path, 32)
    truncated.write_bytes(truncated.read_bytes()[:100])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside an array: the zip CRC catches it
    flipped.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="skillode.sweeps"):
        loaded = load_scaling_sweep(tmp_path)  # reading never tracebacks: the bad points are missing
        assert loaded.missing == (8, 32)
        caplog.clear()
        rerun = run_scaling_sweep(cfg, tmp_path, threads=1)
    assert [p.name for p in rerun] == [truncated.name, flipped.name]
    text = caplog.text
    assert str(truncated) in text and str(flipped) in text and "recomputing" in text
    np.testing.assert_array_equal(load_scaling_sweep(tmp_path).total_loss, reference)


def test_point_of_another_sweep_is_an_error_not_overwritten(tmp_path):
    cfg = tiny_config()
    run_scaling_sweep(cfg, tmp_path, threads=1)
    other = tmp_path / "other"
    run_scaling_sweep(tiny_config(steps=200), other, threads=1)
    point_path(tmp_path, 16).write_bytes(point_path(other, 16).read_bytes())
    with pytest.raises(ValueError, match="different sweep configuration"):
        run_scaling_sweep(cfg, tmp_path)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"alphas": [1.5], "bogus": 1}', '{"steps": "many"}'])
def test_malformed_config_json_names_the_file(tmp_path, capsys, text):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="config.json"):
        load_scaling_sweep(tmp_path)
    with pytest.raises(ValueError, match="config.json"):
        run_scaling_sweep(tiny_config(), tmp_path)
    assert main(["sweep", "scaling", "--out", str(tmp_path), "--no-progress"]) == 2
    assert str(tmp_path / "config.json") in capsys.readouterr().err


def test_every_sweep_file_is_written_atomically(tmp_path, monkeypatch, capsys):
    import skillode.cli._sweep as cli_sweep

    written: list[str] = []
    real = scaling.atomic_write

    def spy(path, content, **kw):
        written.append(Path(path).name)
        return real(path, content, **kw)

    monkeypatch.setattr(scaling, "atomic_write", spy)
    monkeypatch.setattr(cli_sweep, "atomic_write", spy)
    args = ["--alphas", "1.5", "2", "--N", "8", "16", "32", "--seeds", "0", "--steps", "300", "--skills", "40"]
    assert main(["sweep", "scaling", "--out", str(tmp_path / "s"), *args, "--no-progress"]) == 0
    assert sorted(written) == sorted(
        ["config.json", "N0000008.npz", "N0000016.npz", "N0000032.npz", "summary.json", "scaling.png"]
    )
    written.clear()
    ratio = ["--ratios", "1", "4", "--optimizers", "sgd", "--N", "16", "--no-progress"]
    assert main(["sweep", "ratio", "--out", str(tmp_path / "r"), *ratio]) == 0
    assert sorted(written) == ["ratio.json", "ratio.png"]
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert leftovers == []
    assert (tmp_path / "r" / "ratio.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()


def test_a_failing_point_is_named_and_the_others_are_kept(tmp_path, monkeypatch, capsys):
    real = scaling.compute_point

    def flaky(N, config, threads, device=None):
        if N == 16:
            raise RuntimeError("solver blew up")
        return real(N, config, threads, device)

    monkeypatch.setattr(scaling, "compute_point", flaky)
    with pytest.raises(SweepPointsFailed, match="N=16: RuntimeError: solver blew up") as info:
        run_scaling_sweep(tiny_config(), tmp_path / "api")
    assert [f.item for f in info.value.failures] == [16] and info.value.written == 2
    assert load_scaling_sweep(tmp_path / "api").missing == (16,)
    args = ["--alphas", "1.5", "--N", "8", "16", "32", "--seeds", "0", "--steps", "300", "--skills", "40"]
    assert main(["sweep", "scaling", "--out", str(tmp_path / "cli"), *args, "--lr", "1e-3", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "N=16" in err and "rerun" in err and "Traceback" not in err


def test_scheduler_parsing_and_missing_dask(monkeypatch):
    assert parse_scheduler(None).kind == "local" and parse_scheduler("").kind == "local"
    assert parse_scheduler("local:3").workers == 3
    assert parse_scheduler("tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    for bad in ("local:0", "local:x", "10.0.0.1:8786", "tcp://"):
        with pytest.raises(ValueError, match="scheduler"):
            parse_scheduler(bad)
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(MissingExtraError, match=r"pip install skillode\[distributed\]"):
        run_scaling_sweep(
            tiny_config(), Path(os.environ.get("TMPDIR", "/tmp")) / f"nodask{os.getpid()}", scheduler="local:1"
        )


# --- signals: a real `skillode sweep --jobs 2` in a subprocess -------------------------------------

SIGNAL_GRID = ["--alphas", "1.5", "--N", "8", "16", "32", "64", "128", "256", "--seeds", "0", "1"]
SIGNAL_GRID += ["--steps", "20000", "--skills", "200", "--lr", "1e-3"]


def _signal_config() -> ScalingSweepConfig:
    return ScalingSweepConfig(
        alphas=(1.5,), Ns=(8, 16, 32, 64, 128, 256), seeds=(0, 1), steps=20000, n_skills=200, lr=1e-3
    )


def _descendants(pid: int) -> set[int]:
    """Every live descendant of pid, from /proc (no psutil needed)."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for kid in kids:
                if kid not in found:
                    found.add(kid)
                    frontier.append(kid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its exit status is left


def _start_and_signal(out: Path, sig: int) -> tuple[int, set[int]]:
    """Start the sweep, wait for its first point file, send sig; return (exit code, its descendants)."""
    cmd = [sys.executable, "-m", "skillode", "sweep", "scaling", "--out", str(out), *SIGNAL_GRID]
    proc = subprocess.Popen([*cmd, "--jobs", "2", "--no-progress"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not list((out / "points").glob("N*.npz")):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no point file within 240 s"
            time.sleep(0.05)
        kids = _descendants(proc.pid)
        assert kids, "the sweep should have worker processes"
        proc.send_signal(sig)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return rc, kids


def _assert_all_gone(pids: set[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "worker processes outlived the sweep"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_signal_stops_workers_and_resume_matches_uninterrupted_run(tmp_path, sig):
    out = tmp_path / "interrupted"
    rc, kids = _start_and_signal(out, sig)
    assert rc == (143 if sig == signal.SIGTERM else -signal.SIGKILL)
    _assert_all_gone(kids)
    kept = sorted(p.name for p in (out / "points").iterdir())
    assert all(p.endswith(".npz") and not p.startswith(".") for p in kept), kept  # no partial file
    time.sleep(0.5)
    assert sorted(p.name for p in (out / "points").iterdir()) == kept  # and nobody writes any more
    cfg = _signal_config()
    # the workers ran each point with one torch thread; so do these runs, in this process
    run_scaling_sweep(cfg, out, threads=1)
    run_scaling_sweep(cfg, tmp_path / "straight", threads=1)
    resumed, straight = load_scaling_sweep(out), load_scaling_sweep(tmp_path / "straight")
    assert resumed.missing == () and straight.missing == ()
    np.testing.assert_array_equal(resumed.total_loss, straight.total_loss)
    assert json.loads((out / "config.json").read_text()) == cfg.to_dict()
