"""The SignGD mean-field map against Geometry-model simulations (nothing fitted) and closed forms."""

import math

import numpy as np
import pytest

import skillode as sk
from skillode import GeometryModel, simulate, zipf_frequencies

REC = np.arange(0, 3001, 25)


def _fig6(loss, **kw):
    # The paper's Fig 6 setting: N = 1000, 10 Zipf(2) skills, SignGD lr 3e-4, batch 1024, 3000 steps.
    return GeometryModel(zipf_frequencies(10, 2.0), 1000, tasks="orthogonal", lr=3e-4, batch=1024, loss=loss, **kw)


def _compare(model, seed=0, batch_noise="variance"):
    sim = simulate(model, 3000, seeds=seed, record=REC).curves[0]
    mf = sk.solve(sk.mean_field_for(model, seed, batch_noise=batch_noise), REC, method="map").curves
    thr = 0.1 * model.initial_loss
    rmse = float(np.sqrt(np.mean((mf.loss - sim.loss) ** 2)))
    lt_err = np.abs(mf.learning_times(thr) / sim.learning_times(thr) - 1.0)
    return sim, mf, rmse, lt_err


def test_one_skill_moves_by_lr_times_the_l1_norm_of_its_task_vector():
    # One skill: sign(g) = -sign(t) until s reaches 1, so s grows by lr ||t||_1 per step exactly,
    # and for a random unit vector ||t||_1 = sqrt(2 N / pi) (1 + O(N^-1/2)): the map's kappa.
    N, lr = 4000, 1e-4
    m = GeometryModel([1.0], N, tasks="orthogonal", lr=lr, task_seed=3)
    l1 = np.abs(m.task_vectors()).sum()
    s = 1.0 - np.sqrt(simulate(m, 150, record=[150]).curves[0].loss[0, 0])  # s < 1 still
    assert s == pytest.approx(150 * lr * l1, rel=1e-9)
    mf = sk.mean_field_for(m)
    assert mf.kappa == pytest.approx(lr * l1, rel=0.03)
    assert mf.kappa == pytest.approx(lr * math.sqrt(2 * N / math.pi), rel=1e-12)
    s_mf = sk.solve(mf, [0, 150], method="map").state[-1, 0]
    assert s_mf == pytest.approx(150 * mf.kappa, rel=1e-12)


@pytest.mark.parametrize("loss, rmse_max, lt_max", [("mse", 0.010, 0.04), ("ce", 0.015, 0.05)])
def test_fig6_mean_field_reproduces_the_simulation_without_fitting(loss, rmse_max, lt_max):
    # Measured (seeds 0, 1): MSE rmse 0.0075, learning times within 1.7 %; CE 0.012 and 2.6 %.
    model = _fig6(loss)
    sim, mf, rmse, lt_err = _compare(model)
    assert rmse < rmse_max
    assert lt_err.max() < lt_max
    # The Resource model, even with eta and N0 fitted, does worse on the same run.
    fit = sk.fit_resource_mapping(model, sim)
    assert fit.rmse > rmse


def test_gradient_noise_is_captured_by_the_variance_term():
    # sigma = 0.01: the summed noise variance N sigma^2 = 0.1 dominates the signal late in training.
    sim, _, rmse, lt_err = _compare(_fig6("mse", noise=0.01))
    assert rmse < 0.012
    learned = np.isfinite(lt_err)  # the rarest skills do not reach the threshold in 3000 steps
    assert learned.sum() >= 7 and lt_err[learned].max() < 0.1
    # Dropping the noise term (the noiseless map) misses the simulation by far more.
    quiet = sk.solve(sk.mean_field_for(_fig6("mse")), REC, method="map").curves.loss
    assert np.sqrt(np.mean((quiet - sim.loss) ** 2)) > 3 * rmse


def test_small_batches_need_sampled_fractions():
    model = GeometryModel(zipf_frequencies(10, 2.0), 1000, lr=3e-4, batch=4, loss="ce")
    _, _, rmse_var, _ = _compare(model, batch_noise="variance")
    _, _, rmse_sampled, _ = _compare(model, batch_noise="sampled")
    assert rmse_sampled < 0.05 < rmse_var


def test_step_is_batched_over_leading_axes():
    mf = sk.SignGDMeanField([0.5, 0.3, 0.2], 1e-3, 500, loss="ce", batch=32, noise=0.01)
    states = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(mf.step(states), np.stack([mf.step(s) for s in states]), rtol=1e-14)


def test_batch_variance_term_matches_its_definition():
    # V_batch = d^T [(diag(w) - w w^T) o C] d / B, written out with explicit matrices.
    rng = np.random.default_rng(1)
    T = rng.normal(size=(4, 50))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    C = T @ T.T
    p = np.array([0.4, 0.3, 0.2, 0.1])
    B = 8
    mf = sk.SignGDMeanField(p, 1e-3, 50, C=C, batch=B)
    s = np.array([0.2, -0.1, 0.5, 0.9])
    d = -2 * (1 - s)
    a = -p * d
    V = d @ ((np.diag(p) - np.outer(p, p)) * C) @ d / B
    expected = mf.kappa * (C @ a) / np.sqrt(a @ C @ a + V)
    np.testing.assert_allclose(mf.step(s), expected, rtol=1e-12)


def test_bad_input_names_the_argument():
    p = [0.7, 0.3]
    with pytest.raises(ValueError, match="optimizer"):
        sk.mean_field_for(GeometryModel(p, 100, optimizer="adam"))
    with pytest.raises(ValueError, match="basis"):
        sk.mean_field_for(GeometryModel(p, 100, tasks="basis"))
    with pytest.raises(ValueError, match="geometry"):
        sk.mean_field_for("not a model")
    with pytest.raises(ValueError, match="batch_noise"):
        sk.SignGDMeanField(p, 1e-3, 100, batch_noise="gaussian")
    with pytest.raises(ValueError, match="seed"):
        sk.SignGDMeanField(p, 1e-3, 100, seed=-1)
    with pytest.raises(ValueError, match="batch"):
        sk.SignGDMeanField(p, 1e-3, 100, batch=0)
    with pytest.raises(ValueError, match="C"):
        sk.SignGDMeanField(p, 1e-3, 100, C=[[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="'map'"):
        sk.solve(sk.SignGDMeanField(p, 1e-3, 100), steps=10, method="ode")
    with pytest.raises(ValueError, match="integers"):
        sk.solve(sk.SignGDMeanField(p, 1e-3, 100), [0.0, 1.5], method="map")
