"""Properties of the Resource model and its solvers under random frequencies, scales, shapes and thresholds.

Every input either is refused with a ValueError whose message names the offending argument, or
gives a result that passes the model's own invariants:

- losses finite, in [0, 1] (MSE) or [0, log 2] (CE), starting at the initial loss, non-increasing
  in time for C = I (also with gates);
- "exact" and "ode" agree to 1e-7 absolute, at any scale (p from subnormal to 1e300, eta 1e-6..1e6);
- l(p c, N0 c) = l(p, N0): exactly for c a power of two, to rounding for any c;
- learning times: non-decreasing in 1/p (rarer skills learn later), the same from "exact" and
  "ode", and the exact curve is at the threshold at the learning time;
- solve never mutates or freezes the caller's arrays, and returns none of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, example, given, note, settings
from hypothesis import strategies as st

import skillode as sk

from . import array_argument, budget, mentions, time_limit, wild_float

LOG2 = math.log(2.0)
INITIAL = {"mse": 1.0, "ce": LOG2}
ODE_VS_EXACT_ATOL = 1e-7  # absolute, on losses
MONOTONE_ATOL = 1e-12  # a loss may rise by at most this between two times (C = I)

scalar_argument = st.one_of(
    wild_float, st.sampled_from([None, "abc", "1e-3", "nan", True, False, [1.0], (), 1j, np.float32(2.5)])
)
loss_argument = st.sampled_from(["mse", "ce", "MSE", "Ce", "l1", "", "cross-entropy"])


# ---------------------------------------------------------------------------- oracles
def ok_frequencies(value) -> np.ndarray | None:
    """What as_frequencies should accept: the 1-D float64 array, or None where it must refuse."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    arr = arr.reshape(1) if arr.ndim == 0 else arr
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        return None
    return arr


def ok_scalar(value, *, positive: bool = False) -> float | None:
    """A finite float (> 0 when positive, else >= 0), or None where the argument must be refused."""
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(x) or (x <= 0 if positive else x < 0):
        return None
    return x


def ok_count(value) -> bool:
    """What as_count accepts: an int (or an integer-valued float) >= 1, never a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, np.integer)):
        return value >= 1
    return isinstance(value, float) and value.is_integer() and value >= 1


def ok_times(value) -> np.ndarray | None:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    arr = arr.reshape(1) if arr.ndim == 0 else arr
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or arr[0] < 0:
        return None
    if np.any(np.diff(arr) <= 0):
        return None
    return arr


def check_curves(sol: sk.Solution, model: sk.ResourceModel, times: np.ndarray, *, monotone: bool = True) -> None:
    """The invariants every solution of the Resource model satisfies."""
    loss = sol.curves.loss
    top = INITIAL[model.loss]
    assert loss.shape == (times.size, model.n_skills)
    assert np.array_equal(sol.curves.times, times)
    assert sol.curves.names == model.names
    assert np.array_equal(sol.curves.frequencies, model.p)
    assert sol.initial_loss == top
    assert np.all(np.isfinite(loss)), "a loss is not finite"
    assert loss.min() >= 0.0, f"a loss is negative: {loss.min()!r}"
    assert loss.max() <= top, f"a loss is above the initial loss {top}: {loss.max()!r}"
    if times[0] == 0.0:
        assert np.array_equal(loss[0], np.full(model.n_skills, top)), "l(0) is not the initial loss"
    if monotone and times.size > 1:
        rise = float(np.diff(loss, axis=0).max())
        assert rise <= MONOTONE_ATOL, f"a loss rises by {rise:.3g} between two times"


# ------------------------------------------------------------------------- strategies
@st.composite
def resource_models(draw, *, n_max: int = 5, loss: str | None = None, subnormal: bool = True):
    """A valid C = I Resource model at a random scale: max p from 1e-310 (subnormal) to 1e300,
    frequencies spread over three decades, eta 1e-6..1e6, N0 = 0 or 1e-3..1e2 times sum(p)."""
    n = draw(st.integers(1, n_max))
    top = st.floats(-300.0, 300.0)
    log_top = draw(st.one_of(top, st.just(-310.0)) if subnormal else top)
    spread = np.array(draw(st.lists(st.floats(-3.0, 0.0), min_size=n, max_size=n)))
    p = 10.0 ** (log_top + spread)
    if draw(st.booleans()):
        p[-1] = p[0]  # two skills of equal frequency
    eta = 10.0 ** draw(st.floats(-6.0, 6.0))
    N0 = draw(st.one_of(st.just(0.0), st.floats(-3.0, 2.0).map(lambda e: float(p.sum()) * 10.0**e)))
    loss = loss or draw(st.sampled_from(["mse", "ce"]))
    return sk.ResourceModel(p, eta, N0, loss=loss)


@st.composite
def time_grids(draw, model: sk.ResourceModel, *, max_size: int = 10) -> np.ndarray:
    """Strictly increasing times t = s / eta, s up to a few times what learning every skill takes
    (the MSE horizon n is inside the range, and so are times past it)."""
    reach = model.n_skills + model.N0 / float(model.p.min())
    s_end = reach * 10.0 ** draw(st.floats(-1.5, 1.0))
    fractions = sorted(draw(st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=max_size, unique=True)))
    s = np.array(fractions) * s_end
    if draw(st.booleans()):
        s = np.concatenate([[0.0], s])
    t = np.unique(s / model.eta)
    return t


@st.composite
def models_and_times(draw, **kwargs):
    model = draw(resource_models(**kwargs))
    return model, draw(time_grids(model))


def describe(model: sk.ResourceModel) -> str:
    return f"ResourceModel({model.p.tolist()!r}, eta={model.eta!r}, N0={model.N0!r}, loss={model.loss!r})"


# ---------------------------------------------------------------- model arguments
@settings(max_examples=budget(5))
@given(p=array_argument, eta=scalar_argument, N0=scalar_argument, loss=loss_argument)
@example(p=0.0, eta=1.0, N0=0.0, loss="mse")
@example(p=[1e-310, 5e-324], eta=1e-6, N0=1e300, loss="ce")
@example(p=[[1.0, 2.0]], eta=1.0, N0=0.0, loss="mse")
@example(p=[], eta=1.0, N0=0.0, loss="mse")
@example(p=[1.0], eta=math.nan, N0=0.0, loss="mse")
@example(p=[1.0], eta=1.0, N0=-1.0, loss="mse")
@example(p=[1.0], eta=1.0, N0=math.inf, loss="mse")
@example(p=[1.0], eta=-math.inf, N0=0.0, loss="mse")
def test_resource_model_names_a_bad_argument_or_keeps_the_values(p, eta, N0, loss):
    p_copy = p.copy() if isinstance(p, np.ndarray) else None
    bad = []
    want_p = ok_frequencies(p)
    if want_p is None:
        bad.append("p")
    if ok_scalar(eta, positive=True) is None:
        bad.append("eta")
    if ok_scalar(N0) is None:
        bad.append("N0")
    if str(loss).lower() not in ("mse", "ce"):
        bad.append("loss")
    if bad:
        with pytest.raises(ValueError) as info:
            sk.ResourceModel(p, eta, N0, loss=loss)
        message = str(info.value)
        assert any(mentions(message, a) for a in bad), f"{message!r} names none of {bad}"
    else:
        model = sk.ResourceModel(p, eta, N0, loss=loss)
        assert model.p.dtype == np.float64 and np.array_equal(model.p, want_p)
        assert model.eta == float(eta) and model.N0 == float(N0) and model.loss == loss.lower()
        assert not model.p.flags.writeable  # the model's own copy is frozen ...
    if p_copy is not None:  # ... the caller's array is neither changed nor frozen
        assert p.flags.writeable and np.array_equal(p, p_copy, equal_nan=True)


@settings(max_examples=budget(0.25))
@given(which=st.sampled_from(["p", "eta", "N0"]), big=st.integers(10**309, 10**400))
@example(which="p", big=10**400)
@example(which="N0", big=10**400)
def test_an_integer_beyond_float64_is_refused_by_name(which, big):
    args = {"p": [1.0], "eta": 1.0, "N0": 0.0}
    args[which] = [big] if which == "p" else big
    with pytest.raises(ValueError, match=rf"(?<!\w){which}(?!\w)"):
        sk.ResourceModel(args["p"], args["eta"], args["N0"])


@settings(max_examples=budget(0.25))
@given(bad=st.one_of(st.integers(), st.floats(), st.just(object())))
@example(bad=5)
def test_names_that_are_not_a_sequence_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="names"):
        sk.ResourceModel([1.0], 1.0, names=bad)


# ------------------------------------------------------------------ exact against ode
@settings(max_examples=budget(1.5))
@given(case=models_and_times())
@example(case=(sk.ResourceModel([1e-310, 3e-311], 1.0), np.array([0.0, 1.0, 2.0, 3.0])))  # subnormal, past the horizon
@example(case=(sk.ResourceModel([1e300, 1e299], 1e-6, 1e301, loss="ce"), np.geomspace(1e3, 1e12, 6)))
@example(case=(sk.ResourceModel([1.0, 1e-3], 1e6, 0.0), np.array([1e-6, 1.0005e-6, 2e-6])))  # around the horizon
def test_exact_and_ode_agree_and_satisfy_the_invariants(case):
    model, times = case
    note(describe(model))
    note(f"times = {times.tolist()!r}")
    exact = sk.solve(model, times, method="exact")
    ode = sk.solve(model, times, method="ode")
    check_curves(exact, model, times)
    check_curves(ode, model, times)
    gap = float(np.abs(exact.curves.loss - ode.curves.loss).max())
    assert gap <= ODE_VS_EXACT_ATOL, f"exact and ode differ by {gap:.3g}"


@settings(max_examples=budget(0.75))
@given(
    case=models_and_times(n_max=4),
    k=st.integers(-900, 900),
    decades=st.floats(-250.0, 250.0),
    method=st.sampled_from(["exact", "ode"]),
)
def test_scaling_p_and_N0_together_leaves_the_losses_unchanged(case, k, decades, method):
    model, times = case
    note(describe(model))

    def scaled(c: float) -> sk.ResourceModel | None:
        p, N0 = model.p * c, model.N0 * c
        if not (np.all(np.isfinite(p)) and p.min() >= 1e-300 and math.isfinite(N0)):
            return None  # outside float64 (or into the subnormals, where p c is not exact)
        return sk.ResourceModel(p, model.eta, N0, loss=model.loss)

    base = sk.solve(model, times, method=method).curves.loss
    exact_scale = scaled(2.0**k)  # p 2^k is exact: the solvers see the very same unit-scaled model
    if exact_scale is not None and model.p.min() >= 1e-300:
        again = sk.solve(exact_scale, times, method=method).curves.loss
        assert np.array_equal(again, base), f"c = 2**{k} changes the losses by {np.abs(again - base).max():.3g}"
    any_scale = scaled(10.0**decades)
    if any_scale is not None and model.p.min() >= 1e-300:
        again = sk.solve(any_scale, times, method=method).curves.loss
        tol = 1e-12 if method == "exact" else 1e-8
        gap = float(np.abs(again - base).max())
        assert gap <= tol, f"c = 1e{decades:g} changes the losses by {gap:.3g}"


@settings(max_examples=budget(0.5))
@given(
    case=models_and_times(n_max=4),
    gated=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=2),
    mode=st.sampled_from(["and", "or"]),
    exponent=st.floats(0.25, 4.0),
)
def test_ode_with_gates_keeps_the_invariants(case, gated, mode, exponent):
    model, times = case
    n = model.n_skills
    parents: dict[int, list[int]] = {}
    for a, b in gated:  # skill a gated by earlier skills b (one gate per skill, no cycles)
        if b < a < n and b not in parents.setdefault(a, []):
            parents[a].append(b)
    gates = [sk.Gate(a, tuple(bs), mode, exponent) for a, bs in parents.items() if bs]
    if not gates:
        gates = [sk.Gate(n - 1, tuple(range(n - 1)), mode, exponent)] if n > 1 else []
    gated_model = sk.ResourceModel(model.p, model.eta, model.N0, loss=model.loss, gates=gates or None)
    note(describe(model) + f", gates={gates!r}")
    check_curves(sk.solve(gated_model, times, method="ode"), gated_model, times)


@settings(max_examples=budget(0.25))
@given(
    log_ratio=st.floats(0.0, 300.0),
    loss=st.sampled_from(["mse", "ce"]),
    fractions=st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=4, unique=True),
)
@example(log_ratio=200.0, loss="mse", fractions=[1.0])
def test_ode_solves_any_wasted_resource(log_ratio, loss, fractions):
    model = sk.ResourceModel([1.0, 0.3], 1.0, 10.0**log_ratio, loss=loss)
    times = np.unique(np.array(sorted(fractions)) * 10.0**log_ratio)  # s ~ N0 / p: the skills are learned
    exact = sk.solve(model, times, method="exact")
    ode = sk.solve(model, times, method="ode")
    assert np.abs(exact.curves.loss - ode.curves.loss).max() <= ODE_VS_EXACT_ATOL


@settings(max_examples=budget(0.1), deadline=None)
@given(n=st.integers(1, 8), N0=st.floats(0.0, 1e6), t=st.floats(5e-324, 1e-310))
@example(n=1, N0=10.0, t=5e-324)
def test_exact_finishes_at_a_subnormal_time(n, N0, t):
    model = sk.ResourceModel(np.ones(n), 1.0, N0)
    with time_limit(2.0):
        sol = sk.solve(model, [t], method="exact")
    assert np.array_equal(sol.curves.loss, np.ones((1, n)))


@settings(max_examples=budget(0.25))
@given(N0=st.floats(0.01, 100.0), eta=st.sampled_from([1.0, 1e3, 1e6]), t_end=st.floats(1e306, 1.7e308))
@example(N0=1.25, eta=1.0, t_end=1.7e308)
def test_exact_ce_at_a_huge_time_is_refused_or_learned(N0, eta, t_end):
    model = sk.ResourceModel([1.0], eta, N0, loss="ce")
    try:
        sol = sk.solve(model, [1.0 / eta, t_end], method="exact")
    except ValueError as exc:
        assert mentions(str(exc), "times"), str(exc)
        return
    loss = sol.curves.loss[:, 0]
    assert loss[1] <= loss[0], f"the loss rises from {loss[0]} to {loss[1]}"


def overlapping(model: sk.ResourceModel, overlap: float) -> sk.ResourceModel:
    """The model with C = I + overlap (ones - I): PSD, non-negative, so losses still only fall."""
    n = model.n_skills
    C = np.eye(n) + overlap * (np.ones((n, n)) - np.eye(n))
    return sk.ResourceModel(model.p, model.eta, model.N0, C=C, loss=model.loss)


@settings(max_examples=budget(0.5))
@given(case=models_and_times(n_max=3, subnormal=False), overlap=st.floats(0.01, 0.9), extra=st.floats(0.01, 0.99))
def test_ode_with_overlapping_skills_keeps_the_invariants(case, overlap, extra):
    """C != I (the state formulation): finite, bounded, non-increasing losses, and a grid with one
    more time gives the same losses at the others."""
    model, times = case
    model = overlapping(model, overlap)
    note(describe(model) + f", overlap {overlap}")
    t = times if times[0] == 0.0 else np.concatenate([[0.0], times])
    sol = sk.solve(model, t, method="ode")
    check_curves(sol, model, t)
    between = t[0] + extra * (t[-1] - t[0])
    assume(not np.any(t == between))
    finer = np.sort(np.concatenate([t, [between]]))
    again = sk.solve(model, finer, method="ode").curves.loss[np.isin(finer, t)]
    assert np.abs(again - sol.curves.loss).max() <= 1e-12, "an extra time changes the losses at the others"


@settings(max_examples=budget(0.25))
# strictly past the horizon: at the horizon itself the losses are 0 to the integration's error (4e-15 measured)
@given(n=st.integers(2, 4), overlap=st.floats(0.05, 0.9), later=st.floats(1.001, 10.0))
@example(n=2, overlap=0.2, later=1.2)
def test_ode_with_overlap_past_the_horizon(n, overlap, later):
    model = overlapping(sk.ResourceModel(np.ones(n), 1.0), overlap)
    horizon = n / (1.0 + overlap * (n - 1))  # equal skills: dl/dt = -(1 + overlap (n - 1)) / n
    times = np.array([later * horizon, 2 * later * horizon])
    sol = sk.solve(model, times, method="ode")
    assert np.array_equal(sol.curves.loss, np.zeros((2, n)))


# ------------------------------------------------------------ the caller's arrays
@settings(max_examples=budget(0.5))
@given(
    case=models_and_times(n_max=3, subnormal=False),
    overlap=st.sampled_from([None, 0.0, 0.2]),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_solve_never_mutates_or_freezes_the_callers_arrays(case, overlap, dtype):
    model, times = case
    n = model.n_skills
    p = np.array(model.p, dtype=np.float64)  # float32 would round 1e300 to inf: p stays float64
    t = np.array(times, dtype=np.float64 if dtype is np.float64 or times.max() > 1e38 else dtype)
    assume(t.size < 2 or bool(np.all(np.diff(t) > 0)))  # float32 can round two close times together
    C = None if overlap is None else np.eye(n) + overlap * (np.ones((n, n)) - np.eye(n))
    if overlap and t[0] > 0:  # a grid wholly past the horizon: test_ode_with_overlap_past_the_horizon
        t = np.concatenate([[0.0], t])
    saved = [a.copy() for a in (p, t) + (() if C is None else (C,))]
    m = sk.ResourceModel(p, model.eta, model.N0, C=C, loss=model.loss)
    methods = ["ode"] if overlap else ["exact", "ode"]
    for method in methods:
        sol = sk.solve(m, t, method=method)
        for arr in (sol.curves.times, sol.curves.loss, sol.curves.frequencies, sol.state):
            for mine in (p, t) + (() if C is None else (C,)):
                assert not np.shares_memory(arr, mine), "a result shares memory with the caller's array"
    for arr, before in zip((p, t) + (() if C is None else (C,)), saved):
        assert arr.flags.writeable, "the caller's array was frozen"
        assert np.array_equal(arr, before), "the caller's array was changed"
    p[0] = 12345.0  # and the model keeps its own copy
    assert m.p[0] != 12345.0


# --------------------------------------------------------------- solve's arguments
@st.composite
def small_models(draw) -> sk.ResourceModel:
    """A few fixed models at ordinary and extreme scales (N0 at most sum(p): see the xfail below for more)."""
    p = np.array(draw(st.sampled_from([[1.0], [1.0, 0.25], [2e-300, 1e-300], [1e300, 3e299]])))
    eta = draw(st.sampled_from([1.0, 1e-3, 1e6]))
    N0 = draw(st.sampled_from([0.0, 1.0])) * float(p.sum())
    return sk.ResourceModel(p, eta, N0, loss=draw(st.sampled_from(["mse", "ce"])))


@settings(max_examples=budget(4))
@given(model=small_models(), times=array_argument, method=st.sampled_from(["exact", "ode", "EXACT", "Ode", "rk45", ""]))
@example(model=sk.ResourceModel([1.0], 1e6), times=[0.0, 1e303], method="ode")  # eta t overflows
@example(model=sk.ResourceModel([1.0], 1e6), times=[0.0, 1e303], method="exact")
@example(model=sk.ResourceModel([1.0], 1.0, loss="ce"), times=[0.0, 1e300], method="exact")
@example(model=sk.ResourceModel([1.0], 1.0, loss="ce"), times=[0.0, 1e300], method="ode")
@example(model=sk.ResourceModel([1.0], 1.0), times=[[0.0, 1.0]], method="exact")
@example(model=sk.ResourceModel([1.0], 1.0), times=[1.0, 1.0], method="exact")
def test_solve_names_bad_times_or_method_or_returns_valid_curves(model, times, method):
    want = ok_times(times)
    if method.lower() not in ("exact", "ode"):
        with pytest.raises(ValueError, match="method"):
            sk.solve(model, times, method=method)
        return
    if want is None:
        with pytest.raises(ValueError) as info:
            sk.solve(model, times, method=method)
        assert mentions(str(info.value), "times"), str(info.value)
        return
    # a positive time below 1e-290 can hang "exact" (see test_exact_finishes_at_a_subnormal_time)
    assume(not np.any((want > 0) & (want < 1e-290)))
    # and so can a time near float64's end in the CE form with N0 > 0 (see test_exact_ce_at_a_huge_time)
    assume(not (method.lower() == "exact" and model.loss == "ce" and model.N0 > 0 and model.eta * want[-1] > 1e300))
    try:
        sol = sk.solve(model, want, method=method)
    except ValueError as exc:  # a time beyond what float64 represents for this model: refused by name
        assert mentions(str(exc), "times"), str(exc)
        return
    check_curves(sol, model, want)


@settings(max_examples=budget(1))
@given(model=small_models(), rtol=scalar_argument, atol=scalar_argument, budget_=scalar_argument)
def test_solver_options_are_refused_by_name(model, rtol, atol, budget_):
    bad = [n for n, v in (("rtol", rtol), ("atol", atol)) if ok_scalar(v, positive=True) is None]
    ok_budget = ok_count(budget_)
    if not ok_budget:
        bad.append("max_evaluations")
    if not bad:
        return  # a valid combination; the solvers' results are checked elsewhere
    with pytest.raises(ValueError) as info:
        sk.solve(model, [0.0, 1.0], method="ode", rtol=rtol, atol=atol, max_evaluations=budget_)
    assert any(mentions(str(info.value), a) for a in bad), str(info.value)


@settings(max_examples=budget(0.25))
@given(steps=st.one_of(st.sampled_from(["a", math.nan, math.inf, 10**30, 1e300]), st.text(min_size=1)))
@example(steps="a")
@example(steps=math.nan)
@example(steps=math.inf)
@example(steps=10**30)
def test_bad_steps_are_refused_by_name(steps):
    with pytest.raises(ValueError, match="steps"):
        sk.solve(sk.ResourceModel([1.0], 1.0), steps=steps)


@settings(max_examples=budget(0.25))
@given(t_end=st.floats(1.1e7, 1e300))
@example(t_end=1e300)
def test_map_refuses_a_time_it_cannot_step_to(t_end):
    # beyond max(max_evaluations, 1e7) steps the map refuses up front
    with pytest.raises(ValueError, match="times"):
        sk.solve(sk.ResourceModel([1.0], 1.0), [0.0, float(np.round(t_end))], method="map")


# ------------------------------------------------------------------- learning times
threshold_argument = st.one_of(
    wild_float,
    st.floats(0.0, 1.0),
    st.sampled_from([True, None, "0.1", "x", LOG2, 1.0, math.nextafter(LOG2, 0.0), math.nextafter(1.0, 0.0), 0.0]),
)


@settings(max_examples=budget(1.5))
@given(case=models_and_times(n_max=4), thresholds=st.lists(threshold_argument, min_size=1, max_size=3))
@example(case=(sk.ResourceModel([1.0, 0.5, 0.1], 1.0), np.array([0.5, 1.0, 3.0, 10.0])), thresholds=[0.0, 0.1])
@example(case=(sk.ResourceModel([1.0, 0.5], 2.0, 1.0, loss="ce"), np.array([1.0, 1e3])), thresholds=[LOG2, -0.0])
def test_learning_times_are_ordered_by_frequency_and_agree(case, thresholds):
    model, times = case
    note(describe(model))
    top = INITIAL[model.loss]
    exact = sk.solve(model, times, method="exact")
    ode = sk.solve(model, times, method="ode")
    order = np.argsort(-model.p, kind="stable")  # most frequent first
    for thr in thresholds:
        value = ok_scalar(thr)
        if value is None or value >= top:
            for sol in (exact, ode):
                with pytest.raises(ValueError, match="threshold"):
                    sol.learning_times(thr)
            continue
        if 0.0 < value < 1e-300:  # see test_a_subnormal_threshold_gives_learning_times
            continue
        te, to = exact.learning_times(thr), ode.learning_times(thr)
        note(f"threshold {value!r}: exact {te.tolist()}, ode {to.tolist()}")
        for T in (te, to):
            assert T.shape == (model.n_skills,)
            finite = T[np.isfinite(T)]
            assert np.all(np.isnan(T) | np.isfinite(T)), "a learning time is infinite (past the times: NaN)"
            assert np.all(finite >= 0) and np.all(finite <= times[-1] * (1 + 1e-9))
            key = np.where(np.isnan(T), np.inf, T)[order]
            assert np.all(key[1:] >= key[:-1] * (1 - 1e-9)), "a rarer skill is learned earlier"
        both = np.isfinite(te) & np.isfinite(to)
        # to 1e-6 relative, or 1e-12 of the time scale (n + N0 / p_min) / eta for times near 0
        atol = 1e-12 * (model.n_skills + model.N0 / float(model.p.min())) / model.eta
        assert np.allclose(te[both], to[both], rtol=1e-6, atol=atol), "exact and ode learning times differ"
        one = np.isfinite(te) != np.isfinite(to)  # one inside the solved times, the other just past them
        assert np.allclose(np.where(np.isfinite(te), te, to)[one], times[-1], rtol=1e-6, atol=0.0)
        # at the learning time, the exact curve is at the threshold
        hit = np.flatnonzero(np.isfinite(te))
        if hit.size:
            at = np.unique(te[hit])
            curves = sk.solve(model, at, method="exact").curves.loss
            rows = np.searchsorted(at, te[hit])
            reached = curves[rows, hit]
            assert np.allclose(reached, value, rtol=1e-7, atol=1e-12), f"l(T) = {reached} at threshold {value}"


@settings(max_examples=budget(0.25))
@given(thr=st.floats(5e-324, 2e-308), loss=st.sampled_from(["mse", "ce"]))
@example(thr=1e-310, loss="mse")
@example(thr=1e-310, loss="ce")
def test_a_subnormal_threshold_gives_learning_times(thr, loss):
    model = sk.ResourceModel([1.0, 0.5], 1.0, loss=loss)
    times = np.array([1.0, 100.0])
    exact = sk.solve(model, times, method="exact").learning_times(thr)
    ode = sk.solve(model, times, method="ode").learning_times(thr)
    assert np.allclose(exact, ode, rtol=1e-6, equal_nan=True)


def test_a_ce_learning_time_past_exps_range_is_the_log_space_closed_form():
    # loss 1e-310: logit z = -log(expm1(1e-310)) = 713.8 > 709; with N0 = 0 skill 1 gets there at
    # eta t = z + z_2, z_2 = log(p_2 tau + 1) = z + log(p_2 / p_1) to float64 precision
    model = sk.ResourceModel([1.0, 0.5], 1.0, loss="ce")
    z = -math.log(math.expm1(1e-310))
    times = sk.solve(model, [1.0, 2000.0], method="ode").learning_times(1e-310)
    np.testing.assert_allclose(times[0], 2 * z + math.log(0.5), rtol=1e-9)
