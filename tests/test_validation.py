"""Tests of validation/: batched training, data, learning times, fits, experiments and the report.

Tiny configs (a few seeds, a few hundred steps, 8-16 bits) keep the default run short; the
full-size sparse-parity sweep is marked slow.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import skillode as sk  # noqa: E402
from skillode.cli import main  # noqa: E402
from validation import (CompositionalConfig, DominoConfig, GeometryConfig, ModularityConfig, ParityTask,  # noqa: E402
                        TrainSettings, make_parity_data, train_parity, write_report)
from validation._common import (TimesCase, bootstrap_ci, finite_mean, first_step, first_step_relative,  # noqa: E402
                                fit_resource_times, resource_learning_times)
from validation import domino, modularity  # noqa: E402

TINY_DOMINO = DominoConfig(n_bits=8, hidden=32, p2_values=(1.0, 0.1), seeds=(0, 1, 2), train_size=1000,
                           test_size=200, steps=500, fit_p2=(1.0,))
TINY_COMP = CompositionalConfig(n_bits=8, hidden=32, seeds=(0, 1), train_size=400, test_size=100, steps=250)
TINY_MOD = ModularityConfig(hidden=100, seeds=(0, 1, 2, 3), train_size=32, test_size=32, steps=500, loss_fraction=0.05)
TINY_GEOM = GeometryConfig(n_skills=3, N=100, steps=150, seeds=(0,))


# ----------------------------------------------------------------------------- batching
def test_batched_seeds_match_sequential_runs():
    tasks = [ParityTask((0, 1), 1.0), ParityTask((2, 3), 0.2)]
    kw = dict(n_bits=12, hidden=24, train_size=300, test_size=60, settings=TrainSettings(200, threads=1))
    batched = train_parity(tasks, [3, 7, 11], **kw)
    for i, seed in enumerate([3, 7, 11]):
        alone = train_parity(tasks, [seed], **kw)
        np.testing.assert_allclose(batched.loss[i], alone.loss[0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(batched.test_loss[i], alone.test_loss[0], rtol=0, atol=1e-5)
    # the runs are genuinely different seeds, and training moved the loss
    assert np.abs(batched.loss[0] - batched.loss[1]).max() > 1e-2
    assert batched.loss[:, -1, 0].max() < 0.5 * batched.loss[:, 0, 0].min()


def test_seed_groups_give_the_same_runs(monkeypatch):
    import validation._train as vt

    assert vt.seed_groups(5, 100, 250) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert vt.seed_groups(3, 10**9, 10) == [slice(0, 1), slice(1, 2), slice(2, 3)]
    tasks = [ParityTask((0, 1), 1.0)]
    kw = dict(n_bits=8, hidden=16, train_size=100, test_size=20, settings=TrainSettings(40, threads=1))
    whole = train_parity(tasks, [1, 2, 3], **kw)
    monkeypatch.setattr(vt, "GROUP_ELEMENTS", 2 * 100 * 16)  # groups of two seeds
    split = train_parity(tasks, [1, 2, 3], **kw)
    assert split.seeds == (1, 2, 3)
    np.testing.assert_allclose(split.test_loss, whole.test_loss, rtol=0, atol=1e-5)


def test_modular_replicas_match_single_seed_runs():
    cfg3 = ModularityConfig(hidden=16, seeds=(0, 5, 9), train_size=24, test_size=24, steps=60)
    cfg1 = ModularityConfig(hidden=16, seeds=(5,), train_size=24, test_size=24, steps=60)
    for cond in ("modular", "nonmodular"):
        many = modularity.train_condition(cfg3, cond)
        one = modularity.train_condition(cfg1, cond)
        np.testing.assert_allclose(many.test_loss[1], one.test_loss[0], rtol=0, atol=1e-5)


def test_modular_network_keeps_tasks_separate():
    # In the modular net the rare task's loss depends only on its own module: changing the
    # frequent task's weight must leave it unchanged (to round-off), unlike the shared net.
    base = ModularityConfig(hidden=16, seeds=(0, 1), train_size=24, test_size=24, steps=80)
    other = ModularityConfig(frequencies=(0.5, 0.01), hidden=16, seeds=(0, 1), train_size=24, test_size=24, steps=80)
    a = modularity.train_condition(base, "modular").test_loss[:, :, 1]
    b = modularity.train_condition(other, "modular").test_loss[:, :, 1]
    # Adam is invariant to a constant rescaling of a module's loss, up to eps
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)
    c = modularity.train_condition(base, "nonmodular").test_loss[:, :, 1]
    d = modularity.train_condition(other, "nonmodular").test_loss[:, :, 1]
    assert np.abs(c - d).max() > 1e-3


# --------------------------------------------------------------------------------- data
def test_parity_data_targets_and_label_fractions():
    tasks = [ParityTask((0, 1), 1.0), ParityTask((2, 3, 5), 0.25)]
    data = make_parity_data(tasks, [4, 8], n_bits=10, train_size=400, test_size=50)
    x = data.x_train.numpy()
    assert set(np.unique(x)) == {-1.0, 1.0}
    bits = (x > 0).astype(int)
    xor1 = bits[..., 0] ^ bits[..., 1]
    xor2 = bits[..., 2] ^ bits[..., 3] ^ bits[..., 5]
    np.testing.assert_array_equal(data.y_train.numpy()[..., 0], np.where(xor1 == 1, 1.0, -1.0))
    np.testing.assert_array_equal(data.y_train.numpy()[..., 1], np.where(xor2 == 1, 1.0, -1.0))
    np.testing.assert_array_equal(data.w_train.numpy().sum(axis=1), [[400, 100], [400, 100]])
    # same seed -> same data regardless of batch companions
    again = make_parity_data(tasks, [8], n_bits=10, train_size=400, test_size=50)
    np.testing.assert_array_equal(again.x_train.numpy()[0], x[1])


def test_parity_data_rejects_bad_tasks():
    with pytest.raises(ValueError, match="bits"):
        make_parity_data([ParityTask((0, 12))], [0], n_bits=10, train_size=10, test_size=5)
    with pytest.raises(ValueError, match="frequency"):
        make_parity_data([ParityTask((0, 1), 1.5)], [0], n_bits=10, train_size=10, test_size=5)


# ---------------------------------------------------------------------- learning times
def test_first_step_helpers_on_hand_made_curves():
    acc = np.array([[0.5, 0.2], [0.8, 0.3], [0.96, 0.4], [0.99, 0.5]])[None]  # (1, 4 steps, 2 tasks)
    np.testing.assert_array_equal(first_step(acc, 0.95, above=True), [[2.0, np.nan]])
    loss = np.array([[1.0, 2.0], [0.5, 1.5], [0.09, 0.3], [0.01, 0.1]])[None]
    np.testing.assert_array_equal(first_step_relative(loss, 0.1), [[2.0, 3.0]])


def test_finite_mean_skips_unlearned_seeds():
    t = np.array([[10.0, np.nan], [20.0, np.nan], [np.nan, np.nan]])  # (seeds, tasks)
    np.testing.assert_array_equal(finite_mean(t, axis=0), [15.0, np.nan])
    np.testing.assert_array_equal(finite_mean(t, axis=1), [10.0, 20.0, np.nan])


def test_bootstrap_ci_point_is_ratio_of_means_and_covers_it():
    a = np.array([10.0, 12.0, 14.0, np.nan])
    b = np.array([4.0, 5.0, 6.0])
    point, lo, hi = bootstrap_ci(a, b, seed=1)
    assert point == pytest.approx(12.0 / 5.0, rel=1e-12)
    assert lo < point < hi
    assert math.isnan(bootstrap_ci([np.nan], seed=0)[0])


def test_bootstrap_ci_paired_ratio_keeps_runs_together():
    # t2 = 2 t1 in every run, with run-to-run spread in t1: every resample of whole runs has
    # ratio exactly 2; run 3 never learned task 2, so its t1 must leave the denominator too.
    t1 = np.array([100.0, 150.0, 300.0, 120.0, 500.0])
    t2 = np.array([200.0, 300.0, 600.0, np.nan, 1000.0])
    point, lo, hi = bootstrap_ci(t2, t1, seed=0, paired=True)
    assert (point, lo, hi) == pytest.approx((2.0, 2.0, 2.0), rel=1e-12)
    unpaired = bootstrap_ci(t2, t1, seed=0)
    assert unpaired[0] == pytest.approx(2100 / 4 / (1170 / 5), rel=1e-12)  # mixes different runs
    assert unpaired[2] - unpaired[1] > 1.0
    with pytest.raises(ValueError, match="paired"):
        bootstrap_ci(t2, t1[:3], paired=True)


# --------------------------------------------------------------------------------- fits
def test_fit_resource_times_recovers_known_parameters():
    # synthetic "measurements" from the exact Resource solution (an independent closed form)
    eta, n0, thr = 0.02, 0.3, 0.1
    cases = [TimesCase((1.0, p2), tuple(resource_learning_times([1.0, p2], eta, n0, thr)), thr)
             for p2 in (1.0, 0.3, 0.05)]
    f_eta, f_n0, rms = fit_resource_times(cases)
    assert f_eta == pytest.approx(eta, rel=1e-4)
    assert f_n0 == pytest.approx(n0, rel=1e-3)
    assert rms < 1e-6
    # and the closed form itself: C = I, N0 = 0 learning time t = (sum_k 1 - l_k) / eta at tau
    tau = math.log(1 / thr) / 0.5
    expect = (1 - math.exp(-tau) + 1 - thr) / 0.01
    assert resource_learning_times([1.0, 0.5], 0.01, 0.0, thr)[1] == pytest.approx(expect, rel=1e-9)


def test_fit_resource_times_with_gate_recovers_parameters():
    gates = {2: (0, 1)}
    eta, n0, thr = 0.05, 0.5, 0.1
    times = resource_learning_times((1.0, 1.0, 1.0), eta, n0, thr, gates=gates)
    assert times[2] > 1.25 * times[0]  # the gate delays the composite skill
    f_eta, f_n0, _ = fit_resource_times([TimesCase((1.0, 1.0, 1.0), tuple(times), thr, gates)])
    assert f_eta == pytest.approx(eta, rel=1e-3)
    assert f_n0 == pytest.approx(n0, rel=1e-2)


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="p2_values"):
        DominoConfig(p2_values=(0.0,))
    with pytest.raises(ValueError, match="fit_p2"):
        DominoConfig(p2_values=(1.0, 0.5), fit_p2=(0.2,))
    with pytest.raises(ValueError, match="seeds"):
        DominoConfig(seeds=(1, 1))
    with pytest.raises(ValueError, match="hidden"):
        ModularityConfig(hidden=7)
    with pytest.raises(ValueError, match="steps"):
        CompositionalConfig(steps=0)
    with pytest.raises(ValueError, match="lr"):
        TrainSettings(10, lr=-1.0)


# -------------------------------------------------------------------------- experiments
def test_domino_experiment_frequent_task_first_and_fit():
    res = domino.run(TINY_DOMINO)
    acc_times = res.arrays["acc_times"]  # (n_p2, n_seeds, 2)
    rare = acc_times[1]
    t2 = np.where(np.isfinite(rare[:, 1]), rare[:, 1], np.inf)
    assert np.all(rare[:, 0] < t2), "the frequent task must be learned before the rare one"
    row = res.metrics["rows"][1]
    assert row["p2"] == 0.1
    # Domino effect: far less delay than independent learning's 1/p2 = 10
    assert 1.0 < row["t2_over_t1"][0] < 5.0
    # the fitted Resource model reproduces the measurement it was fitted on (p2 = 1) to 15%
    r0 = res.metrics["rows"][0]
    assert abs(r0["resource_relative_error"][0]) < 0.15
    assert res.metrics["resource_fit"]["eta"] > 0


def test_write_report_all_experiments(tmp_path):
    rep = write_report("all", tmp_path, configs={"domino": TINY_DOMINO, "compositional": TINY_COMP,
                                                 "modularity": TINY_MOD, "geometry": TINY_GEOM})
    text = (tmp_path / "report.md").read_text()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("domino", "compositional", "modularity", "geometry"):
        assert f"`{name}`" in text
        assert name in metrics
    for fig in rep.figures:
        assert fig.exists() and fig.stat().st_size > 1000 and f"]({fig.name})" in text
    assert len(rep.figures) == 6
    # the saved seed-mean curves load back as SkillCurves with the measured values
    curves = sk.SkillCurves.load(tmp_path / "curves_domino_measured_p2_0.1.npz")
    np.testing.assert_allclose(curves.loss, rep.results["domino"].curves["measured_p2=0.1"].loss)
    with np.load(tmp_path / "arrays_domino.npz") as arrays:
        assert arrays["test_loss"].shape == (2, 3, TINY_DOMINO.steps + 1, 2)  # (p2, seed, step, task)
        np.testing.assert_allclose(arrays["test_loss"][1].mean(axis=0), curves.loss)
    comp = metrics["compositional"]["metrics"]
    # the composite parity's onset comes after both of its parents' (measured)
    assert comp["onset_order_measured"][-1].startswith("AB")
    geo = metrics["geometry"]["metrics"]
    # fitting eta and N0 can only improve on the paper's parameter-free mapping
    assert geo["fitted_mapping"]["rmse"] <= geo["paper_mapping"]["rmse"] + 1e-9
    # the quoted constant is the one the model used: eta = c lr sqrt(N)
    paper = geo["paper_mapping"]
    assert paper["eta"] == pytest.approx(paper["eta_constant"] * TINY_GEOM.lr * math.sqrt(TINY_GEOM.N), rel=1e-12)
    mod = metrics["modularity"]["metrics"]
    assert mod["speedups"]["modular_rare"][0] > 1.0


def test_report_survives_runs_where_nothing_is_learned(tmp_path):
    short = DominoConfig(n_bits=8, hidden=8, p2_values=(1.0, 0.5), seeds=(0,), train_size=50, test_size=20,
                         steps=2, fit_p2=(1.0,))
    rep = write_report("domino", tmp_path, configs={"domino": short})
    m = json.loads(rep.metrics.read_text())["domino"]["metrics"]
    assert m["prediction_mean_abs_relative_error"] is None
    assert m["rows"][0]["task2_learned_fraction"] == 0.0
    assert "n/a" in rep.report.read_text()


def test_cli_validate_rejects_unknown_experiment(tmp_path, capsys):
    assert main(["validate", "nonsense", "--out", str(tmp_path / "x")]) == 2
    assert "nonsense" in capsys.readouterr().err


# ------------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_full_domino_sweep_matches_paper_shape():
    res = domino.run(DominoConfig())
    rows = {r["p2"]: r for r in res.metrics["rows"]}
    # the paper: t2/t1 about 2 at p2 = 0.1, far below 1/p2 = 10
    assert 1.5 < rows[0.1]["t2_over_t1"][0] < 4.0
    assert rows[1.0]["t2_over_t1"][0] == pytest.approx(1.0, abs=0.2)
    ratios = [rows[p]["t2_over_t1"][0] for p in (1.0, 0.5, 0.2, 0.1)]
    assert ratios == sorted(ratios)
    assert res.metrics["prediction_mean_abs_relative_error"] < 0.35


@pytest.mark.slow
def test_full_compositional_composite_learned_before_independent():
    from validation import compositional

    res = compositional.run(CompositionalConfig())
    m = res.metrics
    assert m["onset_order_measured"][-1].startswith("AB")
    speedup = m["composite_vs_independent_speedup"]
    assert speedup[1] > 1.0  # CI lower bound: the composite parity is learned faster
    # the gated model fits the three learning times better than the ungated one
    assert m["resource"]["gated"]["rms_log_residual_fit"] < m["resource"]["ungated"]["rms_log_residual_fit"]


@pytest.mark.slow
def test_full_modularity_speeds_up_the_rare_task():
    res = modularity.run(ModularityConfig())
    s = res.metrics["speedups"]
    assert s["modular_rare"][1] > 1.5 and s["reweighted_rare"][1] > 1.5  # CI lower bounds
    assert res.metrics["measured"]["nonmodular"]["t2_over_t1"][0] > 2.0


def test_bootstrap_ci_rejects_an_unknown_statistic():
    with pytest.raises(ValueError, match="statistic must be 'mean' or 'median'"):
        bootstrap_ci([1.0, 2.0, 3.0], statistic="meen")
