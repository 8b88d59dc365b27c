"""Fitting models to skill curves: parameter recovery, uncertainty, model ranking, held-out prediction.

Every synthetic data set comes from the solvers with known parameters (the independent source);
noise is Gaussian from a seeded np.random.default_rng.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import skillode as sk
from skillode.cli import main as cli_main
from skillode.fitting._result import residual_autocorrelation

DATA = Path(__file__).parent / "data"
# tests/data/resource_wide.csv and resource_accuracy_long.csv were generated with these
FIXTURE_P = np.array([0.6, 0.3, 0.1])
FIXTURE_ETA, FIXTURE_N0 = 0.01, 0.2


def noisy(model, times, sigma, seed, *, method="exact", frequencies=True) -> sk.SkillCurves:
    clean = sk.solve(model, times, method=method).curves
    rng = np.random.default_rng(seed)
    loss = clean.loss + sigma * rng.standard_normal(clean.loss.shape)
    return sk.SkillCurves(
        clean.times, loss, clean.names, clean.frequencies if frequencies else None, {"seed": seed, "sigma": sigma}
    )


P4 = np.array([0.5, 0.3, 0.15, 0.05])
T = np.linspace(0.0, 800.0, 81)


# ---------------------------------------------------------------- exact recovery
@pytest.mark.parametrize(
    "model, free, truth",
    [
        (sk.ResourceModel(P4, 0.01, 0.2), ["eta", "N0"], {"eta": 0.01, "N0": 0.2}),
        (sk.DominoModel(P4, 0.006), ["eta"], {"eta": 0.006}),
        (sk.ParallelModel(P4, 0.01, 1.0), ["eta"], {"eta": 0.01}),
    ],
)
def test_noise_free_curves_are_recovered_exactly(model, free, truth):
    curves = sk.solve(model, T).curves
    name = {"ResourceModel": "resource", "DominoModel": "domino", "ParallelModel": "parallel"}[type(model).__name__]
    res = sk.fit(curves, name, free, n_bootstrap=0)
    for key, value in truth.items():
        assert res.estimates[key] == pytest.approx(value, rel=1e-6)
    assert res.rmse < 1e-7
    assert res.r2 == pytest.approx(1.0, abs=1e-12)


def test_ce_model_on_binary_accuracy_is_recovered():
    model = sk.ResourceModel([0.5, 0.3, 0.2], 0.02, 0.3, loss="ce")
    loss = sk.solve(model, T).curves
    chance = 0.5
    # accuracy rising from chance to 1 as the CE loss falls from log 2 to 0
    acc = chance + (1 - chance) * (1 - loss.loss / math.log(2))
    res = sk.fit(
        sk.SkillCurves(T, acc, frequencies=model.p),
        "resource",
        quantity="accuracy",
        chance=chance,
        loss="ce",
        n_bootstrap=0,
    )
    assert res.estimates["eta"] == pytest.approx(0.02, rel=1e-6)
    assert res.estimates["N0"] == pytest.approx(0.3, rel=1e-6)


def test_accuracy_map_is_one_minus_excess_over_chance():
    acc = np.array([[0.25, 0.25], [0.5, 0.625], [1.0, 0.9]])
    out = sk.to_loss(sk.SkillCurves([0, 1, 2], acc), "accuracy", chance=0.25)
    # 1 - (acc - chance)/(1 - chance), by hand
    assert np.allclose(out.loss, [[1.0, 1.0], [2 / 3, 0.5], [0.0, 1 - 0.65 / 0.75]], rtol=0, atol=1e-15)
    assert out.metadata["quantity"]["chance"] == 0.25


def test_normalize_divides_out_the_loss_scale():
    model = sk.ResourceModel([0.5, 0.3, 0.2], 0.02, 0.3, loss="ce")
    loss = sk.solve(model, T).curves.loss
    # the same curves in other units (e.g. a loss summed over 3 output tokens)
    res = sk.fit(
        sk.SkillCurves(T, 3.0 * loss, frequencies=model.p), "resource", normalize=True, loss="ce", n_bootstrap=0
    )
    assert res.estimates["eta"] == pytest.approx(0.02, rel=1e-6)
    assert np.allclose(res.data[0].loss[0], 1.0)
    with pytest.raises(ValueError, match="positive first loss"):
        sk.fit(sk.SkillCurves(T, loss - loss[0], frequencies=model.p), normalize=True, n_bootstrap=0)


def test_normalize_applies_to_accuracy_too():
    # accuracy logged from step 100 on a task whose chance level the user does not know (true
    # chance 0.5, passed as the default 0): (1 - acc) / (1 - acc(first step)) no longer depends on
    # chance, and the model must be divided by l(first step) the same way
    model = sk.ResourceModel([0.5, 0.3, 0.2], 0.02, 0.3, loss="ce")
    t = np.linspace(100.0, 800.0, 36)
    loss = sk.solve(model, t).curves.loss
    acc = 0.5 + 0.5 * (1 - loss / math.log(2))
    res = sk.fit(
        sk.SkillCurves(t, acc, frequencies=model.p),
        "resource",
        quantity="accuracy",
        normalize=True,
        loss="ce",
        n_bootstrap=0,
    )
    # before: normalize was silently dropped, eta 3e5 and N0 3e6 (rmse 0.03)
    assert res.estimates["eta"] == pytest.approx(0.02, rel=1e-6)
    assert res.estimates["N0"] == pytest.approx(0.3, rel=1e-6)
    # closed form of the compared units: l(t) / l(t_first) = (1 - acc) / (1 - acc_first)
    assert np.allclose(res.data[0].loss, (1 - acc) / (1 - acc[0]), rtol=0, atol=1e-12)
    assert np.allclose(res.fitted[0].loss, loss / loss[0], rtol=0, atol=1e-9)
    assert res.data[0].metadata["quantity"]["observed"] == "accuracy"
    # a held-out setting is scored in the same units
    other = sk.ResourceModel([0.2, 0.5, 0.3], 0.02, 0.3, loss="ce")
    held = sk.solve(other, t).curves.loss
    held_acc = 0.5 + 0.5 * (1 - held / math.log(2))
    assert sk.prediction_error(res, sk.SkillCurves(t, held_acc, frequencies=other.p)).max_abs < 1e-6
    # a skill already perfect at the first step has no scale to divide by
    acc[0, 1] = 1.0
    with pytest.raises(ValueError, match="normalize needs a positive first loss"):
        sk.fit(sk.SkillCurves(t, acc, frequencies=model.p), quantity="accuracy", normalize=True, n_bootstrap=0)


def test_offset_and_free_frequencies_are_recovered():
    p = np.array([0.5, 0.3, 0.2])
    model = sk.ResourceModel(p, 0.01, 0.1)
    shifted = np.maximum(T - 37.0, 0.0)
    u, inv = np.unique(shifted, return_inverse=True)
    loss = sk.solve(model, u).curves.loss[inv]
    res = sk.fit(
        sk.SkillCurves(T, loss, frequencies=[0.5, 0.2, 0.3]), "resource", ["eta", "N0", "offset", "p"], n_bootstrap=0
    )
    assert res.estimates["offset"] == pytest.approx(37.0, abs=1e-4)
    # p is fitted relative to the first skill, held at its given 0.5
    assert res.estimates["p[skill2]"] == pytest.approx(0.3, rel=1e-5)
    assert res.estimates["p[skill3]"] == pytest.approx(0.2, rel=1e-5)
    assert res.estimates["N0"] == pytest.approx(0.1, rel=1e-5)


@pytest.mark.parametrize("exponent", [3.0, 0.05])
def test_gate_exponent_is_recovered_with_the_ode_solver(exponent):
    # exponents below 1 too: the paper's compositional models use 0.01 and less
    p = np.array([0.5, 0.3, 0.2])
    t = np.linspace(0.0, 600.0, 31)
    truth = sk.ResourceModel(p, 0.01, 0.1, gates=[sk.Gate(2, (0,), exponent=exponent)])
    curves = sk.solve(truth, t, method="ode").curves
    res = sk.fit(
        curves,
        "resource",
        ["eta", "N0", "gate_exponent"],
        gates=[sk.Gate(2, (0,))],
        initial={"N0": 0.2, "gate_exponent": 2.0},
        n_bootstrap=0,
    )
    assert res.estimates["gate_exponent"] == pytest.approx(exponent, rel=1e-4)
    assert res.estimates["eta"] == pytest.approx(0.01, rel=1e-5)
    assert res.estimates["N0"] == pytest.approx(0.1, rel=1e-4)


# --------------------------------------------------------- recovery with noise
def test_noisy_resource_parameters_lie_in_their_intervals():
    truth = sk.ResourceModel(P4, 0.01, 0.2)
    res = sk.fit(noisy(truth, T, 0.01, seed=11), "resource", n_bootstrap=100, seed=5)
    assert res.interval_method == "bootstrap"
    assert res.bootstrap_samples.shape == (100, 2)
    for key, value in {"eta": 0.01, "N0": 0.2}.items():
        lo, hi = res.intervals[key]
        assert lo < value < hi
        assert abs(res.estimates[key] - value) < 3 * res.stderr[key]
        # two estimates of the same uncertainty: bootstrap width vs 2 * 1.96 * Jacobian SE
        assert 0.6 < (hi - lo) / (2 * 1.96 * res.stderr[key]) < 1.6
    # residual scatter estimates the noise level
    assert res.rmse == pytest.approx(0.01, rel=0.15)
    assert res.config.seed == 5 and res.to_dict()["seed"] == 5


def test_bootstrap_is_reproducible_from_its_seed():
    data = noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.01, seed=3)
    a = sk.fit(data, n_bootstrap=20, seed=1)
    b = sk.fit(data, n_bootstrap=20, seed=1)
    c = sk.fit(data, n_bootstrap=20, seed=2)
    assert np.array_equal(a.bootstrap_samples, b.bootstrap_samples)
    assert not np.array_equal(a.bootstrap_samples, c.bootstrap_samples)


def test_information_criteria_follow_from_the_residuals():
    res = sk.fit(noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.02, seed=4), n_bootstrap=0)
    m, k = res.residuals.size, 2
    assert m == T.size * 4 and res.n_free == k
    rss = float(np.sum(res.residuals**2))
    assert res.aic == pytest.approx(m * math.log(rss / m) + 2 * (k + 1), rel=1e-12)
    assert res.bic == pytest.approx(m * math.log(rss / m) + (k + 1) * math.log(m), rel=1e-12)
    # residuals are fitted minus observed
    assert np.allclose(res.residuals, (res.fitted[0].loss - res.data[0].loss).ravel(), atol=1e-12)


# ------------------------------------------------------------------- ranking
def test_domino_data_rank_domino_and_resource_above_parallel():
    p = np.array([0.6, 0.25, 0.1, 0.05])
    t = np.linspace(0.0, 500.0, 101)
    cmp = sk.compare(noisy(sk.DominoModel(p, 0.01), t, 0.01, seed=21), n_bootstrap=0)
    assert cmp.ranking[0] == "domino"
    assert cmp.ranking[-1] == "parallel"
    assert cmp.best.estimates["eta"] == pytest.approx(0.01, rel=0.01)
    assert cmp.weights["domino"] > 0.99


def test_parallel_data_rank_parallel_and_resource_above_domino():
    p = np.array([0.6, 0.25, 0.1, 0.05])
    t = np.linspace(0.0, 2000.0, 101)
    cmp = sk.compare(noisy(sk.ParallelModel(p, 0.01, 0.5), t, 0.01, seed=22), n_bootstrap=0)
    assert cmp.ranking[-1] == "domino"
    assert set(cmp.ranking[:2]) == {"parallel", "resource"}
    # only eta / N0 is identifiable; with N0 held at 1 the estimate is eta / N0 = 0.02
    assert cmp.results["parallel"].estimates["eta"] == pytest.approx(0.02, rel=0.01)
    # the Resource model approaches Parallel as N0 grows: its fitted N0 dwarfs sum(p) = 1
    assert cmp.results["resource"].estimates["N0"] > 10


def test_resource_data_rank_resource_first_by_bic():
    cmp = sk.compare(noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.01, seed=23), criterion="bic", n_bootstrap=0)
    assert cmp.ranking[0] == "resource"
    assert cmp.deltas["resource"] == 0.0 and all(d > 100 for n, d in cmp.deltas.items() if n != "resource")


def _ar1_noise(shape, sigma, rho, seed):
    """Gaussian AR(1) noise in time (axis 0) with stationary standard deviation sigma."""
    rng = np.random.default_rng(seed)
    e = np.empty(shape)
    e[0] = sigma * rng.standard_normal(shape[1:])
    for i in range(1, shape[0]):
        e[i] = rho * e[i - 1] + sigma * math.sqrt(1 - rho**2) * rng.standard_normal(shape[1:])
    return e


def test_weights_are_flagged_when_the_best_fits_residuals_are_autocorrelated():
    # White noise on Resource curves: the Resource fit's residuals are the noise (lag-1 r ~ 0, within
    # 3/sqrt(n) of it) and no caveat is printed. AR(1) noise with rho = 0.95: its residuals keep that
    # correlation (r near 0.95, lowered by the fit), the weights still read 1.000, and summary() says
    # that they overstate the confidence.
    clean = sk.solve(sk.ResourceModel(P4, 0.01, 0.2), T).curves
    white = sk.SkillCurves(T, clean.loss + _ar1_noise(clean.loss.shape, 0.01, 0.0, 5), clean.names, clean.frequencies)
    cmp = sk.compare(white, n_bootstrap=0)
    assert cmp.ranking[0] == "resource" and abs(cmp.table()[0]["residual_autocorrelation"]) < 3 / math.sqrt(T.size)
    assert "overstate" not in cmp.summary()
    red = sk.SkillCurves(T, clean.loss + _ar1_noise(clean.loss.shape, 0.01, 0.95, 5), clean.names, clean.frequencies)
    cmp = sk.compare(red, n_bootstrap=0)
    r = cmp.table()[0]["residual_autocorrelation"]
    assert 0.6 < r < 0.97
    assert f"lag-1 r = {r:.2f}" in cmp.summary() and "overstate the confidence" in cmp.summary()
    # two settings: the autocorrelation is taken within each, never across the seam between them
    other = sk.solve(sk.ResourceModel(P4[::-1] / P4.sum(), 0.01, 0.2), T).curves
    shifted = sk.SkillCurves(T, other.loss + 0.05, other.names, other.frequencies)
    joint = sk.fit([red, shifted], "resource", ["eta", "N0"], n_bootstrap=0)
    blocks = joint.residuals.reshape(2, T.size, P4.size)
    manual = []
    for b in blocks:
        x = b - b.mean(axis=0)
        manual += list(np.sum(x[1:] * x[:-1], axis=0) / np.sum(x * x, axis=0))
    assert residual_autocorrelation(joint) == pytest.approx(np.mean(manual), rel=1e-12)


# ----------------------------------------------------------- held-out prediction
def test_joint_fit_of_two_settings_predicts_a_third():
    settings = [np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.5, 0.3]), np.array([0.34, 0.33, 0.33])]
    t = np.linspace(0.0, 600.0, 61)
    sigma = 0.01
    data = [noisy(sk.ResourceModel(q, 0.01, 0.2), t, sigma, seed=30 + i) for i, q in enumerate(settings)]
    res = sk.fit(data[:2], "resource", ["eta", "N0"], n_bootstrap=0)
    assert res.estimates["eta"] == pytest.approx(0.01, rel=0.02)
    err = sk.prediction_error(res, data[2])
    # a right model predicts to the noise level (rmse of pure noise is sigma)
    assert err.rmse == pytest.approx(sigma, rel=0.2)
    # the predicted curves match the noise-free truth of the held-out setting
    truth = sk.solve(sk.ResourceModel(settings[2], 0.01, 0.2), t).curves.loss
    assert np.max(np.abs(sk.predict(res, data[2]).loss - truth)) < 0.2 * sigma
    model = res.model_for(settings[2])
    assert isinstance(model, sk.ResourceModel) and model.eta == res.estimates["eta"]


@pytest.mark.parametrize("seed", range(8))
def test_joint_fit_starts_from_every_setting_not_just_the_first(seed):
    # setting 0: rare skills (sum p = 0.01) logged over t in [0, 0.01]; its loss falls by < 1e-5,
    # far below the noise, so its own rate is pure noise. Setting 1 carries the information.
    eta, n0, sigma = 0.01, 0.2, 0.01
    rare = noisy(sk.ResourceModel([0.006, 0.003, 0.001], eta, n0), np.linspace(0.0, 0.01, 21), sigma, seed)
    full = noisy(sk.ResourceModel([0.2, 0.5, 0.3], eta, n0), np.linspace(0.0, 800.0, 41), sigma, 100 + seed)
    res = sk.fit([rare, full], "resource", n_bootstrap=0)
    # before (starting values from setting 0 only): seeds 1, 2, 3, 5, 7 ended at eta 1.0 to 2000
    # with N0 0 to 37; now the error is noise-limited (stderr ~1% for eta, ~3% for N0)
    assert res.estimates["eta"] == pytest.approx(eta, rel=0.05)
    assert res.estimates["N0"] == pytest.approx(n0, rel=0.15)
    assert abs(res.estimates["eta"] - eta) < 4 * res.stderr["eta"]
    assert abs(res.estimates["N0"] - n0) < 4 * res.stderr["N0"]
    # second method: the same objective with the settings listed the other way round
    swapped = sk.fit([full, rare], "resource", n_bootstrap=0)
    for key in ("eta", "N0"):
        assert res.estimates[key] == pytest.approx(swapped.estimates[key], rel=1e-5)


def test_joint_domino_fit_starts_from_every_setting():
    # the Domino fit starts at three eta scales around the guess: a noise-only first setting
    # (logged over t in [0, 0.01]) put all three far from the truth
    eta, sigma = 0.01, 0.01
    wrong = 0
    for seed in range(10):
        short = noisy(sk.DominoModel([0.6, 0.3, 0.1], eta), np.linspace(0.0, 0.01, 21), sigma, seed)
        full = noisy(sk.DominoModel([0.2, 0.5, 0.3], eta), np.linspace(0.0, 800.0, 41), sigma, 100 + seed)
        res = sk.fit([short, full], "domino", n_bootstrap=0)
        # before: seeds 2, 3, 5, 7, 9 gave eta 0.35, 1.03, 0.57, 0.70, 0.40
        wrong += abs(res.estimates["eta"] / eta - 1) > 0.02
    assert wrong == 0


def test_held_out_skill_is_predicted_from_the_others():
    sigma = 0.01
    data = noisy(sk.ResourceModel(P4, 0.01, 0.2), T, sigma, seed=40)
    res = sk.fit(data, "resource", skills=["skill1", "skill2", "skill3"], n_bootstrap=0)
    assert res.n_points == T.size * 3
    held = sk.prediction_error(res, data, skills=["skill4"])
    assert held.n_points == T.size
    assert held.rmse == pytest.approx(sigma, rel=0.25)
    # the wrong model predicts the held-out skill far worse
    par = sk.fit(data, "parallel", skills=["skill1", "skill2", "skill3"], n_bootstrap=0)
    assert sk.prediction_error(par, data, skills=["skill4"]).rmse > 3 * held.rmse


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"model": "logistic"}, "model must be one of"),
        ({"free": ["eta", "alpha"]}, "'alpha' is not a parameter"),
        ({"model": "parallel", "free": ["eta", "N0"]}, "eta / N0 only"),
        ({"model": "domino", "free": ["p"]}, "order"),
        ({"free": ["eta", "gate_exponent"]}, "needs gates"),
        ({"free": ["N0"]}, "eta is not free"),
        ({"level": 1.5}, "level must lie"),
        ({"n_bootstrap": -1}, "n_bootstrap"),
        ({"quantity": "accuracy"}, "accuracy must lie in"),
        ({"fixed": {"eta": 0.1}, "free": ["eta"]}, "also listed as free"),
        ({"frequencies": [0.5, 0.5]}, "4 entries"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    data = noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.01, seed=1)  # noise puts values outside [0, 1]
    with pytest.raises(ValueError, match=match):
        sk.fit(data, **{"n_bootstrap": 0, **kwargs})


def test_missing_frequencies_need_p_free_or_given():
    data = noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.0, seed=1, frequencies=False)
    with pytest.raises(ValueError, match="carry no frequencies"):
        sk.fit(data, "resource", ["eta", "N0"], n_bootstrap=0)
    with pytest.raises(ValueError, match="held-out skills need known frequencies"):
        sk.fit(data, "resource", skills=["skill1"], n_bootstrap=0)
    # default free adds p: frequencies relative to the first skill come back
    res = sk.fit(data, "resource", n_bootstrap=0)
    assert np.allclose(res.frequencies[0] / res.frequencies[0][0], P4 / P4[0], rtol=1e-5)


# ----------------------------------------------------------------------- CLI
def test_cli_fits_wide_csv_and_writes_table_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli_main(
        ["fit", str(DATA / "resource_wide.csv"), "--frequencies", "0.6,0.3,0.1", "--bootstrap", "30", "--out", str(out)]
    )
    assert rc == 0
    assert "resource" in capsys.readouterr().out
    for name in (
        "models.csv",
        "parameters.csv",
        "fit.json",
        "overlay.png",
        "fitted_resource.npz",
        "fitted_domino.npz",
        "fitted_parallel.npz",
    ):
        assert (out / name).exists()
    models = list(csv.DictReader(open(out / "models.csv")))
    assert models[0]["model"] == "resource"
    params = {(r["model"], r["parameter"]): r for r in csv.DictReader(open(out / "parameters.csv"))}
    for key, truth in (("eta", FIXTURE_ETA), ("N0", FIXTURE_N0)):
        row = params[("resource", key)]
        assert float(row["low"]) < truth < float(row["high"])
    meta = json.loads((out / "fit.json").read_text())
    assert meta["results"]["resource"]["seed"] == 0 and meta["ranking"][0] == "resource"
    fitted = sk.SkillCurves.load(out / "fitted_resource.npz")
    assert fitted.names == ("add", "mul", "mod")


def test_cli_fits_long_accuracy_csv_with_held_out_skill(tmp_path, capsys):
    out = tmp_path / "acc"
    rc = cli_main(
        [
            "fit",
            str(DATA / "resource_accuracy_long.csv"),
            "--quantity",
            "accuracy",
            "--chance",
            "0.5",
            "--model",
            "resource",
            "--frequencies",
            "0.6,0.3,0.1",
            "--holdout-skills",
            "mod",
            "--bootstrap",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    meta = json.loads((out / "fit.json").read_text())
    res = meta["results"]["resource"]
    assert res["skills"] == ["add", "mul"]
    assert res["estimates"]["eta"] == pytest.approx(FIXTURE_ETA, rel=0.05)
    (err,) = meta["heldout"]["resource"].values()
    # accuracy noise 0.005 is loss-equivalent noise 0.01
    assert err["rmse"] < 0.02


def test_cli_reads_each_file_once(tmp_path, monkeypatch, capsys):
    # before: every FILE was read twice (once to validate it, once to fit it)
    t = np.linspace(0.0, 600.0, 31)
    paths = []
    for i, q in enumerate(([0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.34, 0.33, 0.33])):
        path = tmp_path / f"setting{i}.npz"
        sk.solve(sk.ResourceModel(q, 0.01, 0.2), t).curves.save(path)
        paths.append(path)
    reads: list[Path] = []
    original = sk.SkillCurves.load.__func__

    def counting_load(cls, path):
        reads.append(Path(path))
        return original(cls, path)

    monkeypatch.setattr(sk.SkillCurves, "load", classmethod(counting_load))
    out = tmp_path / "once"
    rc = cli_main(
        [
            "fit",
            str(paths[0]),
            str(paths[1]),
            "--model",
            "resource",
            "--test",
            str(paths[2]),
            "--bootstrap",
            "0",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert sorted(reads) == sorted(paths)
    # the single read still feeds the fit: noise-free data give the generating parameters
    meta = json.loads((out / "fit.json").read_text())
    assert meta["results"]["resource"]["estimates"]["eta"] == pytest.approx(0.01, rel=1e-6)
    assert meta["results"]["resource"]["estimates"]["N0"] == pytest.approx(0.2, rel=1e-6)


def test_cli_bad_second_file_is_named(tmp_path, capsys):
    rc = cli_main(
        [
            "fit",
            str(DATA / "resource_wide.csv"),
            str(DATA / "bad_nan.csv"),
            "--bootstrap",
            "0",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("skillode fit: error:") and "bad_nan.csv" in err and "not finite" in err


@pytest.mark.parametrize(
    "name, extra, match",
    [
        ("bad_steps.csv", [], "strictly increasing"),
        ("bad_missing.csv", [], "has 2 columns"),
        ("bad_nan.csv", [], "not finite"),
        ("bad_accuracy_long.csv", ["--quantity", "accuracy"], "accuracy must lie in"),
        ("resource_wide.csv", ["--model", "all", "--free", "eta"], "single --model"),
        ("resource_wide.csv", ["--holdout-skills", "div"], "no skill 'div'"),
    ],
)
def test_cli_bad_files_give_a_clean_error(tmp_path, capsys, name, extra, match):
    rc = cli_main(["fit", str(DATA / name), "--bootstrap", "0", "--out", str(tmp_path / "o"), *extra])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("skillode fit: error:") and match in err


# ---------------------------------------------------------------------- slow
@pytest.mark.slow
def test_jacobian_standard_errors_match_monte_carlo_spread():
    truth = sk.ResourceModel(P4, 0.01, 0.2)
    estimates, stderrs, covered = [], [], 0
    for seed in range(60):
        res = sk.fit(noisy(truth, T, 0.02, seed=1000 + seed), n_bootstrap=40, seed=seed)
        estimates.append([res.estimates["eta"], res.estimates["N0"]])
        stderrs.append([res.stderr["eta"], res.stderr["N0"]])
        covered += res.intervals["eta"][0] < 0.01 < res.intervals["eta"][1]
    spread = np.std(estimates, axis=0, ddof=1)
    assert np.allclose(np.mean(stderrs, axis=0), spread, rtol=0.3)
    # 95% intervals: binomial(60, 0.95) puts coverage above 49 with probability > 0.999
    assert covered >= 50


def test_cli_joint_settings_and_held_out_setting(tmp_path, capsys):
    t = np.linspace(0.0, 600.0, 31)
    paths = []
    for i, q in enumerate(([0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.34, 0.33, 0.33])):
        path = tmp_path / f"setting{i}.npz"
        noisy(sk.ResourceModel(q, 0.01, 0.2), t, 0.01, seed=50 + i).save(path)
        paths.append(str(path))
    out = tmp_path / "joint"
    rc = cli_main(
        ["fit", paths[0], paths[1], "--model", "resource", "--test", paths[2], "--bootstrap", "0", "--out", str(out)]
    )
    assert rc == 0
    meta = json.loads((out / "fit.json").read_text())
    assert meta["results"]["resource"]["estimates"]["eta"] == pytest.approx(0.01, rel=0.03)
    assert (out / "fitted_resource_0.npz").exists() and (out / "fitted_resource_1.npz").exists()
    (err,) = meta["heldout"]["resource"].values()
    assert err["rmse"] == pytest.approx(0.01, rel=0.3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seed": None}, "seed must be an integer"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"n_bootstrap": None}, "n_bootstrap must be an integer"),
        ({"chance": "x"}, "chance must be a number"),
        ({"C": [[1.0, 0.0], [0.0]]}, "C must be a numeric matrix"),
        ({"C": np.eye(3)}, r"C must have shape \(4, 4\)"),
        ({"gates": {7: (0,)}}, "gates: skill 7"),
    ],
)
def test_bad_model_arguments_fail_before_the_optimiser_runs(monkeypatch, kwargs, match):
    # before: TypeError from int(None), numpy's "inhomogeneous shape", and a bad C or gate reported
    # only after a whole optimisation over the 1e3 penalty residual
    import skillode.fitting._fit as fit_module

    def never(*args, **kw):
        raise AssertionError("least_squares ran before the arguments were checked")

    monkeypatch.setattr(fit_module, "least_squares", never)
    data = noisy(sk.ResourceModel(P4, 0.01, 0.2), T, 0.0, seed=1)
    with pytest.raises(ValueError, match=match):
        sk.fit(data, "resource", **{"n_bootstrap": 0, **kwargs})


def test_normalize_with_data_logged_from_a_later_step():
    # logging starts at step 100: the data are divided by l(100), so must the model be
    model = sk.ResourceModel([0.5, 0.3, 0.2], 0.01, 0.2)
    t = np.linspace(100.0, 800.0, 36)
    loss = sk.solve(model, t).curves.loss
    res = sk.fit(sk.SkillCurves(t, 3.0 * loss, frequencies=model.p), "resource", normalize=True, n_bootstrap=0)
    # before: eta 0.0062, N0 0.024, rmse 0.06 (the model was divided by l(0) = 1)
    assert res.estimates["eta"] == pytest.approx(0.01, rel=1e-6)
    assert res.estimates["N0"] == pytest.approx(0.2, rel=1e-6)
    assert np.allclose(res.fitted[0].loss, loss / loss[0], rtol=0, atol=1e-9)
    # a held-out setting logged from step 100 as well is predicted in the same units
    other = sk.ResourceModel([0.2, 0.5, 0.3], 0.01, 0.2)
    held = sk.solve(other, t).curves
    assert sk.prediction_error(res, sk.SkillCurves(t, 5.0 * held.loss, frequencies=other.p)).max_abs < 1e-6


def test_compare_rejects_free_for_unknown_models():
    curves = sk.solve(sk.ResourceModel([1.0, 0.2], 0.05, 0.1), steps=200).curves
    with pytest.raises(ValueError, match="free names unknown models"):
        sk.compare(curves, free={"resorce": ["eta"]})


@pytest.mark.parametrize("model", ["resource", "parallel"])
def test_held_out_curves_do_not_move_the_fit(model):
    # The fit of skills 0-2 must not depend on skills 3-4's curves at all, starting values included:
    # replacing the held-out curves by "never learned" gives bit-identical estimates and evaluations.
    p = sk.zipf_frequencies(5, 1.5)
    truth = sk.ResourceModel(p, 0.05, 0.1) if model == "resource" else sk.ParallelModel(p, 0.05, 0.1)
    clean = sk.solve(truth, np.linspace(0, 300, 121)).curves
    rng = np.random.default_rng(0)
    loss = clean.loss + 0.005 * rng.standard_normal(clean.loss.shape)
    other = loss.copy()
    other[:, 3:] = 1.0
    a = sk.fit(sk.SkillCurves(clean.times, loss, clean.names, p), model=model, skills=[0, 1, 2])
    b = sk.fit(sk.SkillCurves(clean.times, other, clean.names, p), model=model, skills=[0, 1, 2])
    assert a.estimates == b.estimates
    assert a.nfev == b.nfev
    # parallel: only eta/N0 is identified, and N0 is fixed at 1 by default
    assert a.estimates["eta"] == pytest.approx(0.05 if model == "resource" else 0.05 / 0.1, rel=0.05)


def test_too_little_data_is_refused_not_given_meaningless_intervals():
    one_time = sk.SkillCurves([0.0], [[1.0, 1.0]], frequencies=[1.0, 0.1])
    with pytest.raises(ValueError, match="single time point"):
        sk.fit(one_time, "resource", n_bootstrap=10)
    two_points = sk.SkillCurves([0.0, 10.0], [[1.0], [0.5]], frequencies=[1.0])
    with pytest.raises(ValueError, match="too little data: 2 fitted points for 2 free parameter"):
        sk.fit(two_points, "resource", free=["eta", "N0"], n_bootstrap=0)


def test_cli_fit_reads_training_logs_and_warns_of_a_rising_loss(tmp_path):
    # A tracker CSV with two loss columns of a Resource run and an accuracy column. Read as skillode's
    # own CSV, every column is a skill: the rising accuracy is named in a warning (it was fitted silently).
    # With --pattern it is read as a log, as compare reads it: the loss columns only, and the fit finds
    # the run's eta/N0 (N0 >> sum p here, so only the ratio is determined: compared as such).
    p = np.array([0.7, 0.3])
    times = np.linspace(0.0, 400.0, 41)
    loss = sk.solve(sk.ResourceModel(p, 0.01, 0.05), times).curves.loss
    lines = ["step,loss/a,loss/b,acc/a"] + [f"{t:g},{a:.10g},{b:.10g},{1 - a:.10g}" for t, (a, b) in zip(times, loss)]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning) as seen:
        assert (
            cli_main(
                ["fit", str(path), "--bootstrap", "0", "--frequencies", "0.7,0.3,0.1", "--out", str(tmp_path / "a")]
            )
            == 0
        )
    assert any("skill 'acc/a' rises overall" in str(w.message) for w in seen)
    # ... and, starting at 0, it is named as fitted in other units than the models'
    assert any("start at acc/a 0, the models at 1, so the fit mixes units" in str(w.message) for w in seen)
    out = tmp_path / "b"
    args = ["fit", str(path), "--pattern", r"loss/(.+)", "--frequencies", "0.7,0.3", "--model", "resource"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the two losses start at 1: nothing to warn of
        assert cli_main([*args, "--bootstrap", "0", "--out", str(out)]) == 0
    fit = json.loads((out / "fit.json").read_text())
    assert set(fit["identifiability"]["resource"]) == {"unidentified", "notes", "combinations", "correlations"}
    text = json.dumps(fit)
    assert "acc/a" not in text
    est = fit["results"]["resource"]["estimates"]
    assert est["eta"] / est["N0"] == pytest.approx(0.01 / 0.05, rel=1e-3)
