"""Seed groups of the validation experiments through the execution layer: local workers and Dask give
the in-process records bit for bit; a failing task names itself; bad options fail before training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch")

from skillode.validation import _execution as ex  # noqa: E402
from skillode.validation import compositional, domino, modularity, scaling_laws, write_report  # noqa: E402

# one torch thread everywhere, so that a worker's arithmetic is this process's
MOD = replace(modularity.QUICK, seeds=(0, 3, 5), steps=40, threads=1)
COMP = replace(compositional.QUICK, seeds=(1, 2), n_samples=400, steps=30, threads=1)
DOMINO = replace(domino.QUICK, p2_values=(1.0, 0.2), seeds=(4, 0, 1), n_samples=300, steps=25, threads=1)
LAWS = scaling_laws.ScalingLawsConfig(alphas=(1.5,), Ns=(20, 40), seeds=(0, 1), steps=210, read_step=210, s_N=20)


def _square(x: int, offset: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x * x + offset


def test_map_tasks_in_process_and_the_default():
    assert ex.current_execution().in_process
    assert ex.map_tasks(_square, [1, 2], (10,), name="t") == [11, 14]
    with ex.execution(jobs=2) as plan:
        assert not plan.in_process and ex.current_execution() is plan
    assert ex.current_execution().in_process  # restored after the block
    with pytest.raises(ValueError, match="jobs"):
        ex.Execution(jobs=0)
    with pytest.raises(ValueError, match="scheduler"):
        ex.Execution(scheduler="nonsense")


@pytest.mark.filterwarnings("ignore:.*tasks have been successfully executed")  # joblib, on the abort
def test_a_failing_task_is_named():
    with ex.execution(jobs=2), pytest.raises(RuntimeError, match="task 3 failed: ValueError: three is not allowed"):
        ex.map_tasks(_square, [1, 2, 3, 4], (0,), name="squares")


def test_workers_only_default_to_one_thread():
    assert ex.one_thread_in_workers(replace(MOD, threads=None)).threads is None
    with ex.execution(jobs=2):
        assert ex.one_thread_in_workers(replace(MOD, threads=None)).threads == 1
        assert ex.one_thread_in_workers(replace(MOD, threads=2)).threads == 2  # named: kept


def test_local_workers_give_the_in_process_records(monkeypatch):
    monkeypatch.setattr(modularity, "GROUP_ELEMENTS", 200_000)  # 2 seeds a group: several tasks
    here = modularity.train_conditions(MOD)
    with ex.execution(jobs=2):
        there = modularity.train_conditions(MOD)
    for cond in modularity.CONDITIONS:
        assert there[cond].seeds == MOD.seeds
        np.testing.assert_array_equal(there[cond].loss, here[cond].loss)


def test_domino_and_scaling_laws_in_workers_give_the_in_process_numbers(monkeypatch):
    monkeypatch.setattr(domino, "seed_groups", lambda n, _elements: [slice(i, i + 1) for i in range(n)])
    here, laws_here = domino.train_all(DOMINO), scaling_laws.simulate_panel_grid(LAWS)
    with ex.execution(jobs=2):
        there, laws_there = domino.train_all(DOMINO), scaling_laws.simulate_panel_grid(LAWS)
    for p2 in (1.0, 0.2):
        assert there[p2].seeds == DOMINO.seeds
        np.testing.assert_array_equal(there[p2].loss, here[p2].loss)
        np.testing.assert_array_equal(there[p2].objective, here[p2].objective)
    # the in-process points run with simulate's threads, the workers' with one: float32 sums may
    # round differently across thread counts, so the points agree to float32 rounding
    for panel in LAWS.panels:
        np.testing.assert_allclose(laws_there[panel]["total_loss"], laws_here[panel]["total_loss"], rtol=1e-5)


@pytest.mark.slow  # a LocalCluster of 2 processes: worker start-up and imports
def test_dask_local_cluster_gives_the_in_process_records(tmp_path):
    pytest.importorskip("distributed")
    here = compositional.train_conditions(COMP)
    with ex.execution(scheduler="local:2"):
        there = compositional.train_conditions(COMP)
    for cond in compositional.CONDITIONS:
        np.testing.assert_array_equal(there[cond].loss, here[cond].loss)
        np.testing.assert_array_equal(there[cond].test_accuracy, here[cond].test_accuracy)


def test_write_report_checks_the_execution_before_training(tmp_path):
    with pytest.raises(ValueError, match="scheduler"):
        write_report("modularity", tmp_path / "out", scheduler="host-without-scheme")
    with pytest.raises(ValueError, match="jobs"):
        write_report("modularity", tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()
