"""The scaling sweep through Dask (issue #16): bit-identical to the local run, survives a killed
worker, fails clearly on an unreachable scheduler. Loopback only: a LocalCluster on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from skillode.cli import main
from skillode.sweeps import ScalingSweepConfig, load_scaling_sweep, point_path, run_scaling_sweep

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """Two single-thread worker processes on loopback, no dashboard (shared by this module's tests)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        yield lc


def small_config(**kw) -> ScalingSweepConfig:
    base = dict(alphas=(1.5, 2.0), Ns=(8, 16, 32, 64), seeds=(0, 1), steps=800, n_skills=60, lr=1e-3, n_record=20)
    return ScalingSweepConfig(**(base | kw))


@pytest.mark.slow  # worker start-up, imports and warm-up: about a minute on a loaded 2-core machine
def test_dask_sweep_is_bit_identical_to_the_local_run(tmp_path, cluster, capsys):
    cfg = small_config()
    # local reference: the arithmetic of a local worker (one torch thread per point), in this process
    run_scaling_sweep(cfg, tmp_path / "local", threads=1)
    written = run_scaling_sweep(cfg, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert [p.name for p in written] == [point_path(tmp_path, N).name for N in cfg.Ns]
    local, dask = load_scaling_sweep(tmp_path / "local"), load_scaling_sweep(tmp_path / "dask")
    assert dask.missing == ()
    np.testing.assert_array_equal(dask.total_loss, local.total_loss)
    # resume through Dask: nothing to do, nothing rewritten
    assert run_scaling_sweep(cfg, tmp_path / "dask", scheduler=cluster.scheduler_address) == []
    # the CLI, with the address from the environment (as dask-jobqueue scripts set it)
    os.environ["DASK_SCHEDULER_ADDRESS"] = cluster.scheduler_address
    try:
        args = ["sweep", "scaling", "--out", str(tmp_path / "cli"), "--alphas", "1.5", "2", "--N", "8", "16", "32"]
        args += ["--seeds", "0", "1", "--steps", "800", "--skills", "60", "--lr", "1e-3"]
        assert main(args) == 0  # with the progress bar on
    finally:
        del os.environ["DASK_SCHEDULER_ADDRESS"]
    captured = capsys.readouterr()
    assert "3 point(s) written" in captured.out and "workers" in captured.err


def _kill_a_worker_after_first_point(cluster, out, done: list) -> None:
    """Wait for the first point file, then SIGKILL one worker process (its nanny starts a new one)."""
    deadline = time.monotonic() + 120
    while not list((out / "points").glob("N*.npz")) and time.monotonic() < deadline:
        time.sleep(0.02)
    with distributed.Client(cluster.scheduler_address, timeout=30) as client:
        busy = [w for w, tasks in client.processing().items() if tasks] or list(client.scheduler_info()["workers"])
        pids = client.run(os.getpid, workers=busy[:1])
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)
    done.append(busy[0])


@pytest.mark.slow
def test_a_killed_worker_does_not_lose_or_change_points(tmp_path, cluster):
    cfg = small_config(Ns=(8, 16, 32, 64, 128, 256), steps=6000, n_skills=100)
    killed: list = []
    out = tmp_path / "dask"
    killer = threading.Thread(target=_kill_a_worker_after_first_point, args=(cluster, out, killed))
    killer.start()
    try:
        run_scaling_sweep(cfg, out, scheduler=cluster.scheduler_address)
    finally:
        killer.join(timeout=120)
    assert killed, "no worker was killed"
    run_scaling_sweep(cfg, tmp_path / "local", threads=1)
    dask = load_scaling_sweep(out)
    assert dask.missing == ()
    np.testing.assert_array_equal(dask.total_loss, load_scaling_sweep(tmp_path / "local").total_loss)


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1 within 2 s"):
        run_scaling_sweep(small_config(), tmp_path / "api", scheduler="tcp://127.0.0.1:1", timeout=2)
    assert time.monotonic() - start < 30
    args = ["sweep", "scaling", "--out", str(tmp_path / "cli"), "--scheduler", "tcp://127.0.0.1:1"]
    assert main([*args, "--scheduler-timeout", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "tcp://127.0.0.1:1" in err and "Traceback" not in err


def _double_or_fail(item: int) -> int:
    if item == 13:
        raise ValueError("thirteen")
    return 2 * item


@pytest.mark.slow
def test_batched_tasks_return_every_point_and_fail_only_the_bad_one(cluster):
    from skillode.sweeps._engine import PointFailure, Scheduler, run_points

    sched = Scheduler("dask", address=cluster.scheduler_address)
    with run_points(_double_or_fail, range(50), scheduler=sched, batch=8) as (results, workers, _):
        got = dict(results)
        assert workers() == 2
    assert sorted(got) == list(range(50))
    assert isinstance(got[13], PointFailure) and "thirteen" in got[13].error
    assert all(got[i] == 2 * i for i in range(50) if i != 13)


def test_auto_batch_sends_about_four_tasks_per_worker():
    from skillode.sweeps._engine import MAX_BATCH, auto_batch

    assert auto_batch(6, 2) == 1  # a few long points: one per task, as before
    assert auto_batch(1000, 2) == MAX_BATCH == 64
    assert auto_batch(100, 2) == 13 and auto_batch(100, 0) == 25
    assert auto_batch(0, 4) == 1
