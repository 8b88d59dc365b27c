"""The solvers finish in bounded time and memory, at any scale, or fail with a clear error.

Independent reference throughout: the exact solver (closed form, C = I), and the model's
invariance under p -> c p, N0 -> c N0 (the field is a ratio of pulls) and t -> t / c, eta -> c eta.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import skillode as sk

P10 = np.arange(1, 11.0) ** -2.0
T = np.linspace(0.0, 3000.0, 301)


def _agree(a, b, loss_tol=1e-9, time_tol=1e-8, threshold=0.1):
    assert np.abs(a.curves.loss - b.curves.loss).max() < loss_tol
    np.testing.assert_allclose(a.learning_times(threshold), b.learning_times(threshold), rtol=time_tol)


def test_extreme_scales_finish_in_bounded_time():
    # Each of these ground on for ever in LSODA; a subprocess with a timeout proves they return.
    code = textwrap.dedent(
        """
        import numpy as np, skillode as sk
        p = np.arange(1, 11.0) ** -2.0
        t = np.linspace(0.0, 3000.0, 301)
        for model in (
            sk.ResourceModel(p, 1e150, 0.003),
            sk.ResourceModel(p * 1e150, 0.019, 0.003),
            sk.ResourceModel(p * 1e250, 0.019, 0.003),
            sk.ResourceModel(p, 0.019, 1e-152),
            sk.ResourceModel(p * 1e-300, 0.019, 0.003 * 1e-300),
            sk.ResourceModel(p, 1e150, 0.003, loss="ce"),
        ):
            sk.solve(model, t, method="ode")
        print("done")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"


@pytest.mark.parametrize(
    "scaled, reference",
    [
        # p -> c p, N0 -> c N0 leaves the dynamics unchanged
        ((P10 * 1e150, 0.019, 0.003 * 1e150), (P10, 0.019, 0.003)),
        ((P10 * 1e-300, 0.019, 0.0), (P10, 0.019, 0.0)),
        ((P10 * 1e250, 0.019, 0.0), (P10, 0.019, 0.0)),
    ],
)
@pytest.mark.parametrize("method", ["exact", "ode"])
def test_frequency_scale_does_not_matter(scaled, reference, method):
    a = sk.solve(sk.ResourceModel(*scaled), T, method=method)
    b = sk.solve(sk.ResourceModel(*reference), T, method="exact")
    _agree(a, b)


def test_subnormal_frequencies_are_not_silently_zero():
    p = P10 * 1e-310  # subnormal: ~44 bits of precision left, so a looser tolerance
    sol = sk.solve(sk.ResourceModel(p, 0.019, 0.0), T, method="exact")
    ref = sk.solve(sk.ResourceModel(P10, 0.019, 0.0), T, method="exact")
    assert np.abs(sol.curves.loss - ref.curves.loss).max() < 1e-9
    assert sol.curves.loss[1:10].min() > 0.0


def test_huge_eta_is_time_rescaled():
    # eta -> c eta, t -> t / c: the same curves
    c = 1e150
    a = sk.solve(sk.ResourceModel(P10, 0.019 * c, 0.003), T / c, method="ode")
    b = sk.solve(sk.ResourceModel(P10, 0.019, 0.003), T, method="exact")
    assert np.abs(a.curves.loss - b.curves.loss).max() < 1e-9
    np.testing.assert_allclose(a.learning_times(0.1) * c, b.learning_times(0.1), rtol=1e-8)


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_many_skills_solve_in_memory_linear_in_n(loss):
    n = 20_000  # a dense Jacobian would be 3.2 GB
    model = sk.ResourceModel(np.arange(1, n + 1.0) ** -1.5, 0.019, 0.003, loss=loss)
    t = np.linspace(0.0, 3000.0, 5)
    tracemalloc.start()
    try:
        ode = sk.solve(model, t, method="ode")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100e6  # ~50 arrays of n floats; n^2 floats would be 3.2e9 bytes
    exact = sk.solve(model, t, method="exact")
    assert np.abs(ode.curves.loss - exact.curves.loss).max() < 1e-9


@pytest.mark.slow
def test_a_million_skills_solve_with_ode():
    n = 1_000_000
    model = sk.ResourceModel(np.arange(1, n + 1.0) ** -2.0, 0.019, 0.003)
    t = np.linspace(0.0, 3000.0, 4)
    ode = sk.solve(model, t, method="ode")
    exact = sk.solve(model, t, method="exact")
    assert np.abs(ode.curves.loss - exact.curves.loss).max() < 1e-9


def test_dense_jacobian_methods_are_refused_when_too_big():
    model = sk.ResourceModel(np.ones(20_000), 0.019, 0.003)
    with pytest.raises(ValueError, match="dense 20001 x 20001 Jacobian"):
        sk.solve(model, [0.0, 1.0], method="ode", ode_method="LSODA")


def test_evaluation_budget_gives_a_clear_error():
    model = sk.ResourceModel(P10, 0.019, 0.003)
    with pytest.raises(RuntimeError, match="after 20 evaluations"):
        sk.solve(model, T, method="ode", max_evaluations=20)
    overlapping = sk.ResourceModel(P10[:3], 0.019, 0.003, C=[[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]])
    with pytest.raises(RuntimeError, match="after 20 evaluations"):
        sk.solve(overlapping, T, method="ode", max_evaluations=20)
    with pytest.raises(ValueError, match="max_evaluations"):
        sk.solve(model, T, method="ode", max_evaluations=0)


def test_a_non_finite_field_is_a_clear_error(monkeypatch):
    model = sk.ResourceModel(P10[:3], 0.019, 0.003, C=[[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]])
    monkeypatch.setattr(sk.ResourceModel, "vector_field", lambda self, t, x: np.full(x.shape, np.nan))
    with pytest.raises(RuntimeError, match="not finite"):
        sk.solve(model, T, method="ode")


def test_time_overflow_is_a_clear_error():
    with pytest.raises(ValueError, match="overflows"):
        sk.solve(sk.ResourceModel(P10, 1e300, 0.003), [0.0, 1e10], method="ode")


def test_solve_never_touches_the_callers_arrays():
    p = P10.copy()
    C = np.eye(10)
    times = T.copy()
    sol = sk.solve(sk.ResourceModel(p, 0.019, 0.003, C=C), times, method="ode")
    for arr, original in ((p, P10), (C, np.eye(10)), (times, T)):
        assert arr.flags.writeable
        np.testing.assert_array_equal(arr, original)
    assert sol.curves.loss.shape == (T.size, 10)


def test_two_dimensional_times_are_refused():
    with pytest.raises(ValueError, match="times"):
        sk.solve(sk.ResourceModel(P10, 0.019), np.arange(6.0).reshape(2, 3), method="exact")
    with pytest.raises(ValueError, match="times must be one-dimensional"):
        sk.SkillCurves(np.arange(6.0).reshape(2, 3), np.ones((6, 1)))


@pytest.mark.parametrize("method", ["exact", "ode", "map"])
def test_learning_time_thresholds_are_validated(method):
    sol = sk.solve(sk.ResourceModel(P10, 0.019), np.arange(101.0), method=method)
    with pytest.raises(ValueError, match="below the initial loss"):
        sol.learning_times(1.5)
    with pytest.raises(ValueError, match="threshold"):
        sol.learning_times(-0.1)
    with pytest.raises(ValueError, match="below the initial loss 0.693"):
        sk.solve(sk.ResourceModel(P10, 0.019, loss="ce"), np.arange(11.0), method=method).learning_times(0.7)
    with pytest.raises(ValueError, match="every skill's first loss"):
        sol.curves.learning_times(1.5)
    with pytest.raises(ValueError, match="relative threshold"):
        sol.curves.learning_times(1.0, relative=True)


@pytest.mark.parametrize("N0", [0.0, 0.003])
@pytest.mark.parametrize("threshold", [0.0, 1e-20, 1e-6, 0.5])
def test_every_solver_means_the_same_learning_time(N0, threshold):
    model = sk.ResourceModel(P10, 0.019, N0)
    t = np.linspace(0.0, 20000.0, 11)
    exact = sk.solve(model, t, method="exact").learning_times(threshold)
    ode = sk.solve(model, t, method="ode").learning_times(threshold)
    np.testing.assert_allclose(ode, exact, rtol=1e-8)
    if threshold == 0.0:  # zero loss only at the N0 = 0 horizon n / eta
        expected = np.full(10, 10 / 0.019) if N0 == 0.0 else np.full(10, np.nan)
        np.testing.assert_allclose(exact, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "xor"}, "Gate mode"),
        ({"exponent": -1.0}, "Gate exponent"),
        ({"exponent": float("nan")}, "Gate exponent"),
    ],
)
def test_gates_are_validated_where_they_are_made(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sk.Gate(2, (0, 1), **kwargs)


def test_gate_parents_and_skill_are_validated_where_they_are_made():
    with pytest.raises(ValueError, match="at least one parent"):
        sk.Gate(2, ())
    with pytest.raises(ValueError, match="skill index or name"):
        sk.Gate(2.5, (0,))
    with pytest.raises(ValueError, match="non-negative"):
        sk.Gate(2, (-1,))
    assert sk.Gate(2, 0).parents == (0,)
