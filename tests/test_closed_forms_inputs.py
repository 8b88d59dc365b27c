"""Public closed forms: domain checks (a ValueError naming the argument), the hand-written numpy
forms against their sympy expressions, and the lazily built sympy attributes."""

import math

import numpy as np
import pytest

import skillode as sk

cf = sk.closed_forms


def test_closed_forms_reject_out_of_domain_arguments():
    with pytest.raises(ValueError, match=r"loss must lie in \(0, log 2\)"):
        cf.ce_tau_at_loss(np.array([1.0]), 0.9)
    with pytest.raises(ValueError, match=r"eps must lie in \(0, 1\)"):
        cf.mse_learning_times(np.array([1.0, 0.1]), 1.5, 0.1)
    with pytest.raises(ValueError, match="E must be non-negative and finite"):
        cf.chinchilla_optimum(1e6, math.nan, 1.0, 1.0, 0.3, 0.3)
    p, amp = cf.zipf_frequencies(100, 2.0)
    with pytest.raises(ValueError, match="t: eta t"):
        cf.zipf_loss_of_time_finite(np.array([1e4]), 2.0, amp, 100)


def test_closed_form_learning_times_match_the_solver():
    p = np.array([1.0, 0.3, 0.05])
    model = sk.ResourceModel(p, 0.05, 0.02)
    solved = sk.solve(model, steps=2000).learning_times(0.1)
    assert cf.mse_learning_times(p, 0.1, 0.05, 0.02) == pytest.approx(solved, rel=1e-12)
    ce = sk.solve(sk.ResourceModel(p, 0.05, 0.02, loss="ce"), steps=4000, method="ode")
    tau = cf.ce_tau_at_loss(p, 0.1)
    z, _ = cf.ce_logit_and_pull(np.multiply.outer(tau, p))  # row i: every skill at tau_i
    t_closed = (z.sum(axis=1) + 0.02 * tau) / 0.05
    assert ce.learning_times(0.1) == pytest.approx(t_closed, rel=1e-7)


def test_hand_written_numpy_forms_equal_their_sympy_expressions():
    # the hot forms the exact solver calls are plain numpy, not lambdified: pin them to the expressions
    import sympy as sp

    rng = np.random.default_rng(0)
    p = rng.uniform(1e-3, 3.0, 11)
    tau = rng.uniform(0.0, 40.0, (6, 1))
    eps = rng.uniform(1e-6, 0.99, 11)
    z = rng.uniform(-20.0, 20.0, 11)
    cases = [
        (cf.mse_loss(p, tau), sp.lambdify((cf.p, cf.tau), cf.MSE_LOSS, "numpy")(p, tau)),
        (cf.mse_tau_at_loss(p, eps), sp.lambdify((cf.p, cf.eps), cf.MSE_TAU_AT_LOSS, "numpy")(p, eps)),
        (cf._ce_tau_at_logit(p, z), sp.lambdify((cf.p, cf.z), cf.CE_TAU_AT_LOGIT, "numpy")(p, z)),
        (1.0 - cf.mse_loss(p, tau), sp.lambdify((cf.p, cf.tau), cf.MSE_PROGRESS, "numpy")(p, tau)),
    ]
    for mine, reference in cases:
        np.testing.assert_allclose(mine, reference, rtol=1e-14, atol=0.0)
    # the CE logit (Wright omega) against log W(exp(p tau + 1)) where exp does not overflow
    pt = np.linspace(0.0, 300.0, 61)
    reference = sp.lambdify((cf.p, cf.tau), cf.CE_LOGIT, "scipy")(pt, 1.0)
    np.testing.assert_allclose(cf.ce_logit(pt), np.real(reference), rtol=1e-13, atol=1e-15)
    logit, pull = cf.ce_logit_and_pull(pt)
    np.testing.assert_allclose(logit, cf.ce_logit(pt), rtol=1e-15)
    np.testing.assert_allclose(pull, 1.0 / (1.0 + np.exp(logit)), rtol=1e-14)
    loss = sp.lambdify(cf.z, cf.CE_LOSS_OF_LOGIT, "numpy")(logit)
    assert loss[0] == pytest.approx(math.log(2.0), rel=1e-15)  # z(0) = 0: the CE skill starts at log 2


def test_sympy_attributes_are_built_on_access_and_listed():
    names = (
        "p",
        "tau",
        "t",
        "eta",
        "eps",
        "N0",
        "alpha",
        "amplitude",
        "MSE_LOSS",
        "TWO_SKILL_RATIO",
        "SCALING_PREFACTOR",
        "CAPACITY_LOSS",
        "CHINCHILLA_L_OPT",
        "CE_LARGE_N0_LOGIT",
    )
    listed = dir(cf)
    for name in names:
        assert name in listed
        assert getattr(cf, name) is getattr(cf, name)  # built once, then a plain attribute
    from skillode.closed_forms import MSE_LOSS, p, tau

    assert MSE_LOSS == cf.MSE_LOSS and str(MSE_LOSS) == "exp(-p*tau)" and MSE_LOSS.has(p, tau)
    for name in cf._BUILDERS:  # every declared attribute is built
        getattr(cf, name)
    with pytest.raises(AttributeError, match="NOT_A_CLOSED_FORM"):
        cf.NOT_A_CLOSED_FORM  # noqa: B018


def test_closed_forms_take_the_models_parameter_names():
    p = np.array([1.0, 0.2])
    assert cf.mse_learning_times(p=p, eps=0.1, eta=0.5, N0=0.3) == pytest.approx(
        cf.mse_learning_times(p, 0.1, 0.5, 0.3)
    )
    assert cf.mse_time_of_tau(p=p, tau=1.0, eta=2.0, N0=0.0) == pytest.approx((2.0 - np.exp(-1.0) - np.exp(-0.2)) / 2.0)
    assert cf.scaling_prefactor(alpha=2.0, amplitude=0.7, eta=3.0) == pytest.approx(0.7 * math.pi / 2 / 3.0)
    assert cf.parallel_loss(p=1.0, t=2.0, eta=3.0, N0=4.0) == pytest.approx(math.exp(-1.5))
    assert cf.two_skill_time_ratio(r=1.0, eps=0.3, nu=2.0) == pytest.approx(1.0)
    assert cf.zipf_loss_of_time(t=np.array([10.0]), alpha=2.0, amplitude=1.0, eta=1.0).shape == (1,)
    assert cf.capacity_loss_exact(n_learned=0, alpha=2.0, amplitude=1.0) == pytest.approx(math.pi**2 / 6)
