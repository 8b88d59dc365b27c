"""solve(method="auto"), the default: exact where a closed form applies, else ode (else map)."""

from __future__ import annotations

import numpy as np

import skillode as sk


def test_auto_picks_exact_where_it_applies_and_ode_elsewhere():
    t = np.linspace(0, 50, 11)
    plain = sk.ResourceModel([1.0, 0.3], 0.1, 0.01)
    gated = sk.ResourceModel([1.0, 0.3, 0.3], 0.1, 0.01, gates={2: [0, 1]})
    overlap = sk.ResourceModel([1.0, 0.3], 0.1, 0.01, C=[[1.0, 0.2], [0.2, 1.0]])
    ce_reweighted = sk.ResourceModel([1.0, 0.3], 0.1, 0.01, loss="ce", reweight="loss")
    assert sk.solve(plain, t).method == "exact"
    for model in (gated, overlap, ce_reweighted):
        auto = sk.solve(model, t)
        assert auto.method == "ode"
        np.testing.assert_array_equal(auto.curves.loss, sk.solve(model, t, method="ode").curves.loss)
    assert sk.solve(sk.DominoModel([1.0, 0.1], 0.1), t).method == "exact"
    mf = sk.SignGDMeanField([1.0, 0.5], 1e-3, 100)
    assert sk.solve(mf, steps=20).method == "map"
