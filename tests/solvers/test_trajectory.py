"""TauTrajectory: one intrinsic-time integration of a gated Resource model serves every eta and N0,
with the losses of solve(method="ode") to within its tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk
from skillode.solvers._trajectory import TauTrajectory, TrajectoryCache, applies

P = np.array([0.5, 0.3, 0.2])
T = np.linspace(0.0, 500.0, 61)
RTOL, ATOL = 1e-9, 1e-12  # the fits' ode tolerances


def _gated(eta: float, N0: float, exponent: float = 1.0, p=P) -> sk.ResourceModel:
    return sk.ResourceModel(p, eta, N0, gates=[sk.Gate(2, (0, 1), exponent=exponent)])


@pytest.mark.parametrize(("exponent", "scale"), [(1.0, 1.0), (0.05, 1.0), (3.0, 1.0), (1.0, 1e-3), (0.3, 7.0)])
def test_one_trajectory_gives_the_ode_losses_for_every_eta_and_n0(exponent, scale):
    # scale: frequencies (and N0) times `scale`, so the solvers' unit scaling is not the identity
    cache = TrajectoryCache(RTOL, ATOL)
    for eta in (0.008, 0.03, 1e-4):
        for N0 in (0.1, 1e-4, 10.0, 1e3):
            model = _gated(eta, N0 * scale, exponent, p=P * scale)
            fast = cache.losses(model, T)
            tight = sk.solve(model, T, method="ode", rtol=1e-13, atol=1e-16).curves.loss
            reference = sk.solve(model, T, method="ode", rtol=RTOL, atol=ATOL).curves.loss
            # both within the solver's tolerance of a tight solution, so within it of each other
            np.testing.assert_allclose(fast, tight, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(fast, reference, rtol=1e-8, atol=1e-10)
    assert len(cache._items) == 1  # eta and N0 changed: the same trajectory served them all


def test_the_trajectory_is_integrated_once_and_extended_only_for_later_times():
    cache = TrajectoryCache(RTOL, ATOL)
    # the largest s = eta t needs the most tau where N0 is smallest (s = progress + N0 tau)
    cache.losses(_gated(0.011, 0.09), T)
    (trajectory,) = cache._items.values()
    evaluations = trajectory.system.evaluations
    for eta, N0 in ((0.011, 0.1), (0.01, 0.12), (0.009, 0.09)):  # a fit's nearby evaluations
        cache.losses(_gated(eta, N0), T)
    assert trajectory.system.evaluations == evaluations  # no new integration within the covered range
    later = np.linspace(0.0, 5000.0, 11)
    model = _gated(0.01, 0.1)
    np.testing.assert_allclose(
        cache.losses(model, later), sk.solve(model, later, method="ode").curves.loss, rtol=1e-8, atol=1e-10
    )
    assert trajectory.system.evaluations > evaluations  # extended to the later times
    # a new gate exponent or new frequencies are a new trajectory
    cache.losses(_gated(0.01, 0.1, exponent=2.0), T)
    cache.losses(_gated(0.01, 0.1, p=np.array([0.4, 0.4, 0.2])), T)
    assert len(cache._items) == 3


def test_the_step_by_step_interpolation_agrees_with_the_stacked_one():
    model = _gated(0.01, 0.1, exponent=0.3)
    trajectory = TauTrajectory(model, RTOL, ATOL, 100_000)
    s = model.eta * T
    stacked = trajectory.states(s, model.N0)
    trajectory._stacked = ()  # as for an interpolant other than DOP853's
    np.testing.assert_allclose(trajectory.states(s, model.N0), stacked, rtol=1e-13, atol=1e-13)


def test_models_it_does_not_cover_are_left_to_solve():
    cache = TrajectoryCache(RTOL, ATOL)
    assert cache.losses(sk.ResourceModel(P, 0.01, 0.1), T) is None  # no gates: closed form
    assert cache.losses(_gated(0.01, 0.0), T) is None  # N0 = 0: the horizon, solved by "ode"
    ce = sk.ResourceModel(P, 0.01, 0.1, loss="ce", gates=[sk.Gate(2, (0, 1))])
    overlap = sk.ResourceModel(P, 0.01, 0.1, C=np.full((3, 3), 0.1) + 0.9 * np.eye(3), gates=[sk.Gate(2, (0, 1))])
    assert not applies(ce) and not applies(overlap)
    assert cache.losses(ce, T) is None and cache.losses(overlap, T) is None
    with pytest.raises(ValueError, match="TauTrajectory needs"):
        TauTrajectory(ce, RTOL, ATOL, 1000)


def test_a_budget_overrun_is_a_runtime_error_and_the_broken_trajectory_is_dropped():
    cache = TrajectoryCache(RTOL, ATOL, max_evaluations=20)
    with pytest.raises(RuntimeError):
        cache.losses(_gated(0.01, 0.1), T)
    assert not cache._items
