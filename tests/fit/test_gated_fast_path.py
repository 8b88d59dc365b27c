"""Gated fits reuse one intrinsic-time trajectory for every eta and N0 (fitting._problem.REUSE_TRAJECTORIES):
they recover the truth and agree with the reference path (a full ODE solve per evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk
from skillode.fitting import _problem

P = np.array([0.5, 0.3, 0.2])
T = np.linspace(0.0, 500.0, 61)
GATES = [sk.Gate("c", ("a", "b"))]


def _run(exponent: float = 1.0, noise: float = 0.004, seed: int = 0) -> sk.SkillCurves:
    truth = sk.ResourceModel(P, 0.008, 0.1, gates=[sk.Gate("c", ("a", "b"), exponent=exponent)], names=("a", "b", "c"))
    clean = sk.solve(truth, T).curves
    rng = np.random.default_rng(seed)
    return sk.SkillCurves(T, clean.loss + noise * rng.standard_normal(clean.loss.shape), ("a", "b", "c"), P)


def _fit_both(monkeypatch, curves, free, **kwargs):
    """(fast fit, reference fit, ode solves made by the fast one)."""
    solves = []
    real_solve = _problem.solve

    def counting(model, times, **kw):
        if kw.get("method") == "ode":
            solves.append(1)
        return real_solve(model, times, **kw)

    monkeypatch.setattr(_problem, "solve", counting)
    fast = sk.fit(curves, "resource", free, gates=GATES, normalize=True, **kwargs)
    n_fast = len(solves)
    monkeypatch.setattr(_problem, "REUSE_TRAJECTORIES", False)
    reference = sk.fit(curves, "resource", free, gates=GATES, normalize=True, **kwargs)
    assert len(solves) > n_fast  # the reference path does solve per evaluation
    return fast, reference, n_fast


def test_the_gated_fit_agrees_with_the_reference_path(monkeypatch):
    """eta and N0 free (the gated compare's fit) with 4 bootstrap refits: no ODE solve per evaluation,
    and estimates, standard errors and intervals within 1e-5 (relative) of the reference path's."""
    # a given initial N0: one start instead of four (the reference path is the slow one)
    run = _run()
    fast, reference, n_solves = _fit_both(monkeypatch, run, ["eta", "N0"], n_bootstrap=4, seed=1, initial={"N0": 0.2})
    assert n_solves == 0
    for name in ("eta", "N0"):
        assert fast.estimates[name] == pytest.approx(reference.estimates[name], rel=1e-5)
        assert fast.stderr[name] == pytest.approx(reference.stderr[name], rel=1e-4)
        assert fast.intervals[name] == pytest.approx(reference.intervals[name], rel=1e-5)
    assert fast.rss == pytest.approx(reference.rss, rel=1e-6)
    np.testing.assert_allclose(fast.fitted[0].loss, reference.fitted[0].loss, atol=1e-7)
    # the truth: eta 0.008, N0 0.1 (noise 0.004 on 183 points)
    assert fast.estimates["eta"] == pytest.approx(0.008, rel=0.02)
    assert fast.estimates["N0"] == pytest.approx(0.1, rel=0.05)


def test_a_free_gate_exponent_is_recovered_and_agrees_with_the_reference_path(monkeypatch):
    """Exponent 3 (the compare holds it at 1; fit frees it): recovered within 10% from noisy curves,
    eta within 2%, N0 within 10%, and every estimate within 1e-5 of the reference path's."""
    curves = _run(exponent=3.0, noise=0.002)
    free = ["eta", "N0", "gate_exponent"]
    fast, reference, _ = _fit_both(monkeypatch, curves, free, n_bootstrap=0, initial={"N0": 0.2, "gate_exponent": 2.0})
    for name in free:
        assert fast.estimates[name] == pytest.approx(reference.estimates[name], rel=1e-5)
    assert fast.estimates["gate_exponent"] == pytest.approx(3.0, rel=0.1)
    assert fast.estimates["eta"] == pytest.approx(0.008, rel=0.02)
    assert fast.estimates["N0"] == pytest.approx(0.1, rel=0.1)
