"""Loss-proportional example reweighting in the Resource model (reweight="loss", issue 13 item 3):
each solver against an independent implementation, the closed form, the Jacobian, and checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit

import skillode as sk

P = np.array([0.6, 0.3, 0.1])


def loop_map(p, eta, N0, steps, C=None):
    """The reweighted map written out: train on loss * w, w = loss / mean loss over examples, clipped at 0."""
    C = np.eye(p.size) if C is None else C
    phat = p / p.sum()
    l = np.ones(p.size)
    out = [l.copy()]
    for _ in range(steps):
        w = l / (phat @ l) if phat @ l > 0 else np.zeros_like(l)
        r = p * l * w
        l = np.maximum(l - eta * C @ r / (r.sum() + N0), 0.0)
        out.append(l.copy())
    return np.array(out)


def closed_form_times(p, eta, N0, eps):
    """t_k at loss eps from l_k = 1 / (1 + p_k tau), eta t = sum (1 - l) + N0/P sum log(1 + p tau)."""
    tau = (1.0 / eps - 1.0) / p
    ptau = np.outer(tau, p)
    return ((1.0 - 1.0 / (1.0 + ptau)).sum(axis=1) + N0 / p.sum() * np.log1p(ptau).sum(axis=1)) / eta


def test_reweight_is_a_checked_option_recorded_in_the_config():
    m = sk.ResourceModel(P, 0.1, 0.01, reweight="loss")
    assert m.config()["reweight"] == "loss"
    assert sk.ResourceModel(P, 0.1).config()["reweight"] == "none"
    with pytest.raises(ValueError, match="reweight must be one of 'none', 'loss'"):
        sk.ResourceModel(P, 0.1, reweight="focal")
    with pytest.raises(ValueError, match="reweight='loss' needs clip=True"):
        sk.ResourceModel(P, 0.1, reweight="loss", clip=False)


def test_map_is_the_reweighted_loop_step_for_step():
    for C in (None, np.array([[1.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.0]])):
        m = sk.ResourceModel(P, 0.05, 0.02, C=C, reweight="loss")
        sol = sk.solve(m, steps=400, method="map")
        np.testing.assert_allclose(sol.curves.loss, loop_map(P, 0.05, 0.02, 400, C), rtol=0, atol=1e-13)


@pytest.mark.parametrize("N0", [0.0, 0.01, 1.0, 100.0])
def test_exact_closed_form_agrees_with_the_ode_and_the_learning_times(N0):
    eta = 0.1
    m = sk.ResourceModel(P, eta, N0, reweight="loss")
    lt = closed_form_times(P, eta, N0, 0.05)
    t = np.linspace(0, 1.2 * lt.max(), 300)  # learning times are reported within the solved range
    exact = sk.solve(m, t, method="exact")
    ode = sk.solve(m, t, method="ode", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ode.curves.loss, exact.curves.loss, rtol=0, atol=1e-7)
    # l_k = 1 / (1 + p_k tau) along the solver's own tau
    np.testing.assert_allclose(exact.curves.loss[1:], 1 / (1 + np.outer(exact.tau[1:], P)), rtol=1e-12)
    np.testing.assert_allclose(exact.learning_times(0.05), lt, rtol=1e-9)
    np.testing.assert_allclose(ode.learning_times(0.05), lt, rtol=1e-5)


def test_reweighting_speeds_the_rare_skill_and_slows_the_frequent_one():
    eta, N0, eps = 0.1, 0.01, 0.05
    t = np.array([0.0, 2.0 * closed_form_times(P, eta, N0, eps).max()])
    plain = sk.solve(sk.ResourceModel(P, eta, N0), t, method="exact").learning_times(eps)
    rew = sk.solve(sk.ResourceModel(P, eta, N0, reweight="loss"), t, method="exact").learning_times(eps)
    np.testing.assert_allclose(rew, closed_form_times(P, eta, N0, eps), rtol=1e-9)
    assert rew[2] < plain[2] and rew[0] > plain[0]
    # with N0 = 0 both reach every loss at eta t = n, the same horizon
    horizon = P.size / eta
    t = np.array([0.0, horizon * (1 + 1e-9)])
    assert np.all(sk.solve(sk.ResourceModel(P, eta, 0.0, reweight="loss"), t, method="exact").curves.loss[-1] == 0)


def ce_field(p, eta, N0):
    phat = p / p.sum()

    def f(_t, z):
        loss = np.logaddexp(0.0, -z)
        r = p * expit(-z) * loss / (phat @ loss)
        return eta * r / (r.sum() + N0)

    return f


def test_ce_ode_and_map_against_an_independent_field():
    eta, N0 = 0.2, 0.05
    m = sk.ResourceModel(P, eta, N0, loss="ce", reweight="loss")
    t = np.linspace(0, 300, 61)
    ref = integrate.solve_ivp(ce_field(P, eta, N0), (0, 300), np.zeros(3), t_eval=t, rtol=1e-11, atol=1e-12)
    ode = sk.solve(m, t, method="ode", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ode.curves.loss, np.logaddexp(0.0, -ref.y.T), rtol=0, atol=1e-7)
    z = np.zeros(3)
    f = ce_field(P, eta, N0)
    for _ in range(50):
        z = z + f(0, z)
    np.testing.assert_allclose(sk.solve(m, steps=50, method="map").state[-1], z, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="MSE only"):
        sk.solve(m, t, method="exact")


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("overlap", [False, True])
def test_jacobian_matches_finite_differences(loss, overlap):
    C = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]]) if overlap else None
    gates = [sk.Gate(2, (0,), "and", 0.5)]
    m = sk.ResourceModel(P, 0.3, 0.02, C=C, loss=loss, gates=gates, reweight="loss")
    x = np.array([0.7, 0.4, 0.9]) if loss == "mse" else np.array([1.5, 0.3, -0.2])
    J = m.jacobian(0.0, x)
    h = 1e-6
    fd = np.column_stack([(m.vector_field(0, x + h * e) - m.vector_field(0, x - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-9)


def test_scale_invariance_and_underflowed_ce_losses():
    a = 2.0**-600
    base = sk.ResourceModel(P, 0.1, 0.01, reweight="loss")
    tiny = sk.ResourceModel(P * a, 0.1, 0.01 * a, reweight="loss")
    t = np.linspace(0, 100, 11)
    np.testing.assert_allclose(
        sk.solve(tiny, t, method="ode").curves.loss, sk.solve(base, t, method="ode").curves.loss, rtol=1e-9
    )
    ce = sk.ResourceModel(P, 1.0, 0.0, loss="ce", reweight="loss")
    z = np.array([800.0, 795.0, 790.0])  # every loss underflows to 0 in float64, their ratios do not
    f = ce.vector_field(0.0, z)
    assert np.all(np.isfinite(f)) and np.all(f > 0)
    # r_k ~ p_k sigmoid(-z_k) softplus(-z_k) ~ p_k e^(-2 z_k): dz/dt = eta r / sum r, kept in log space
    r = P * np.exp(-2.0 * (z - z.min()))
    np.testing.assert_allclose(f, r / r.sum(), rtol=1e-9)


def test_symbolic_form_carries_the_weights():
    import sympy as sp

    m = sk.ResourceModel(P, 0.1, 0.02, reweight="loss")
    system = m.symbolic()
    x = np.array([0.8, 0.5, 0.9])
    subs = {**system.values, **{system.state[k]: x[k] for k in range(3)}}
    rhs = np.array([float(sp.N(e.subs(subs))) for e in system.rhs])
    np.testing.assert_allclose(rhs, m.vector_field(0.0, x), rtol=1e-12)
