"""Public closed forms reject arguments outside their domain with a ValueError naming them."""

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
    with pytest.raises(ValueError, match="t_value: eta t"):
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
