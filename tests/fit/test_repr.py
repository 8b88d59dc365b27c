"""Printed forms of the fitting results: a short summary, arrays elided (shape only).

The dataclass default repr printed every field in full: print(compare(curves)) dumped the
bootstrap samples of every model (hundreds of rows), covariances and residuals.
"""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk
from skillode._repr import short_repr, short_value, verbatim
from skillode.fitting import N0Study
from skillode.models import GeometryModel, zipf_frequencies
from skillode.solvers import simulate

P = np.array([0.5, 0.3, 0.2])
T = np.linspace(0.0, 600.0, 41)


def _noisy(model, seed: int = 0, sigma: float = 0.01, frequencies: bool = True) -> sk.SkillCurves:
    clean = sk.solve(model, T).curves
    rng = np.random.default_rng(seed)
    loss = clean.loss + sigma * rng.standard_normal(clean.loss.shape)
    return sk.SkillCurves(clean.times, loss, clean.names, clean.frequencies if frequencies else None)


def _assert_compact(text: str, limit: int = 600) -> None:
    assert "\n" not in text, text
    assert "array(" not in text, text  # numpy's repr of an array: the data themselves
    assert len(text) < limit, text


@pytest.fixture(scope="module")
def comparison() -> sk.Comparison:
    return sk.compare(_noisy(sk.ResourceModel(P, 0.01, 0.2), seed=1), n_bootstrap=30, seed=3)


def test_comparison_repr_is_short_and_shows_the_ranking(comparison):
    text = repr(comparison)
    _assert_compact(text)
    assert text.startswith("Comparison(criterion='aic', ranking=(")
    assert repr(comparison.ranking) in text and comparison.ranking[0] == "resource"
    assert "weights=" in text
    # no bootstrap numbers, no nested FitResult dumps
    best = comparison.best
    assert best.bootstrap_samples.shape == (30, 2)
    for value in best.bootstrap_samples[:, 0]:
        assert f"{value:.6g}" not in text and repr(float(value)) not in text
    assert "FitResult(" not in text and "SkillCurves(" not in text
    assert str(comparison) == text  # print() shows the same line


def test_fit_result_repr_shows_estimates_with_stderr_and_fit_quality(comparison):
    res = comparison.best
    text = repr(res)
    _assert_compact(text)
    assert text.startswith("FitResult(model='resource', estimates={eta: ")
    for name in res.names:
        assert f"{name}: {res.estimates[name]:.6g} +- {res.stderr[name]:.2g}" in text
    for key in ("r2", "rmse", "aic"):
        assert f"{key}={getattr(res, key):.6g}" in text
    assert f"n_points={res.n_points}" in text and f"n_free={res.n_free}" in text
    assert "interval_method='bootstrap'" in text
    assert "bootstrap_samples" not in text and "residuals" not in text and "covariance" not in text
    # the long form is still there
    assert res.summary().count("\n") == len(res.names)


def test_fit_result_repr_with_many_free_parameters_stays_short():
    p = np.array([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05])
    res = sk.fit(_noisy(sk.ResourceModel(p / p.sum(), 0.01, 0.2), frequencies=False), n_bootstrap=0)
    assert res.n_free == 8  # eta, N0 and 6 relative frequencies
    text = repr(res)
    _assert_compact(text)
    assert "... +2 more" in text and "interval_method='wald'" in text


def test_prediction_error_repr_formats_its_numbers(comparison):
    err = sk.prediction_error(comparison.best, _noisy(sk.ResourceModel(P, 0.01, 0.2), seed=2))
    text = repr(err)
    _assert_compact(text)
    assert text.startswith("PredictionError(rmse=")
    assert f"rmse={err.rmse:.6g}" in text and repr(err.rmse) not in text  # not the full float
    assert f"n_points={err.n_points}" in text and "'skill1': " in text


def test_resource_mapping_and_n0_study_reprs_elide_their_arrays():
    m = GeometryModel(zipf_frequencies(3, 2.0), 64, tasks="orthogonal", lr=1e-3, batch=256, task_seed=0)
    run = simulate(m, 300, seeds=0, record=np.arange(0, 301, 10))
    mapping = sk.fit_resource_mapping(m, run.curves[0])
    text = repr(mapping)
    _assert_compact(text)
    assert text.startswith("ResourceMapping(eta=") and f"N0={mapping.N0:.6g}" in text
    assert "SkillCurves(" not in text and "ResourceModel(" not in text

    shape = (3, 2)
    study = N0Study(
        "noise", np.array([0.0, 0.05, 0.2]), np.full(shape, 0.01), np.full(shape, 2.1), np.full(shape, 0.003), (0, 1)
    )
    text = repr(study)
    _assert_compact(text)
    assert "values=<array 3 float64>" in text and "N0=<array 3x2 float64>" in text
    assert "seeds=(0, 1)" in text


def test_solution_repr_elides_state_and_intrinsic_time():
    sol = sk.solve(sk.ResourceModel(P, 0.01, 0.2), T)
    text = repr(sol)
    _assert_compact(text)
    assert text.startswith("Solution(curves=") and "method='exact'" in text
    assert f"state=<array {T.size}x3 float64>" in text and f"tau=<array {T.size} float64>" in text
    ode = sk.solve(sk.ResourceModel(P, 0.01, 0.2), T, method="ode")
    assert "tau=None" in repr(ode) and "\n" not in repr(ode)


def test_short_value_options():
    a = np.arange(4.0)
    assert short_value(a) == "[0., 1., 2., 3.]"  # default: small 1-d arrays are printed
    assert short_value(a, array_items=0) == "<array 4 float64>"
    assert short_value(np.float64(0.123456789)) == "0.123457" and short_value(np.int64(3)) == "3"
    assert short_value((0.123456789, 2)) == "(0.123457, 2)" and short_value((1.5,)) == "(1.5,)"
    assert short_value(verbatim("1 +- 2")) == "1 +- 2"
    assert short_value([np.zeros(3)]) == "<list of 1>"
    study = N0Study("batch", np.ones(2), np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 1)), (0,))
    assert short_repr(study, ("parameter",), values={"n": 2}) == "N0Study(parameter='batch', n=2)"
