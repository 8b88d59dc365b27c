"""Method "ode": the Resource model integrated numerically, in bounded time and memory.

Two formulations, both on the unit-scaled model (skillode.solvers._scale: max p of order one,
time s = eta t), so that the scales of p, N0 and eta do not matter:

- orthogonal skills (C = I, with or without gates): the intrinsic time tau (_ode_tau), where the
  field has no singularity; memory linear in n, so 1e6 skills solve;
- overlapping skills (C != I): the state (losses or logits) in s, with scipy's solve_ivp and the
  model's analytic Jacobian, stopped by an event once every pull has vanished (clipped MSE; the
  unclipped MSE model, clip=False, only with N0 = 0, where its signed residuals can all vanish at
  a finite horizon; with N0 > 0 its field is smooth and linear near zero: nothing to stop for).

Either way the integrator has a budget of field evaluations (SolverOptions.max_evaluations) and
stops with a clear RuntimeError when it runs out or the field turns non-finite: it never hangs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate

from ..models import ResourceModel
from ._ode_tau import EvaluationBudgetExceeded, NonFiniteField, TauRun, TauSystem, integrate_tau
from ._registry import SolverOptions, register_method
from ._scale import intrinsic_times, unit_scaled
from ._solution import Solution, _curves

IMPLICIT = ("LSODA", "Radau", "BDF")  # these form a dense n x n Jacobian
DENSE_JACOBIAN_LIMIT_BYTES = 1 << 30


def plan_method(model: ResourceModel, name: str) -> str:
    """The scipy method "ode" uses for this model, refusing a dense Jacobian too big for memory.

    "auto": DOP853 (explicit, 8th order) for orthogonal skills, whose intrinsic-time form is not
    stiff; for overlapping skills RK45 in the clipped MSE form (a skill held at zero loss while its
    neighbours pull on it is a non-smooth "sliding" motion, on which LSODA's implicit steps can
    stall) and LSODA in the smooth forms: CE, and MSE with clip=False (nothing is held at zero).
    """
    if name == "auto":
        if model.is_orthogonal:
            return "DOP853"
        return "RK45" if model._clips else "LSODA"
    n = model.n_skills + (1 if model.is_orthogonal and model.reweight == "none" else 0)
    if name in IMPLICIT and 8 * n * n > DENSE_JACOBIAN_LIMIT_BYTES:
        raise ValueError(
            f"ode_method {name!r} needs a dense {n} x {n} Jacobian ({8 * n * n / 2**30:.3g} GiB); "
            "use ode_method='auto' (explicit, memory linear in the number of skills) or 'RK45'"
        )
    return name


def solve_resource_ode(model: ResourceModel, t: np.ndarray, options: SolverOptions) -> Solution:
    ode_method = plan_method(model, options.ode_method)
    s = intrinsic_times(model, t)
    scaled, _ = unit_scaled(model, eta=1.0)
    if model.is_orthogonal and model.reweight == "none":  # the tau form has no reweighting
        return _solve_in_tau(model, scaled, t, s, options, ode_method)
    return _solve_in_state(model, scaled, t, s, options, ode_method)


def _guarded(run, what: str, max_evaluations: int):
    """run(), with the integrator's budget and non-finite guards turned into clear errors."""
    try:
        return run()
    except EvaluationBudgetExceeded as exc:
        raise RuntimeError(
            f"ode: gave up on {what} after {max_evaluations} evaluations of the vector field "
            "(max_evaluations); the problem may be stiff: try another ode_method, looser rtol/atol, "
            "or method='exact' (C = I, no gates) or 'map'"
        ) from exc
    except NonFiniteField as exc:
        raise RuntimeError(f"ode: {exc} while solving {what}; check the model's parameters") from exc


# ------------------------------------------------------------------ orthogonal skills: tau
def _solve_in_tau(model, scaled, t, s, options: SolverOptions, ode_method: str) -> Solution:
    solver_class = getattr(integrate, ode_method)
    system = TauSystem(scaled, options.max_evaluations)

    def integrate_once(x_cross: float | None = None) -> tuple[TauRun, TauSystem]:
        fresh = TauSystem(scaled, options.max_evaluations)
        run = _guarded(
            lambda: integrate_tau(fresh, solver_class, s, options.rtol, options.atol, x_cross),
            f"the {model.n_skills}-skill Resource model",
            options.max_evaluations,
        )
        return run, fresh

    run, system = integrate_once()
    state = np.exp(run.states) if model.loss == "mse" else run.states
    loss = model.state_to_loss(state)
    if run.stopped_early:
        message = f"every pull had vanished by t = {run.u_stop[-1] / model.eta:.6g}; continued in closed form"
    else:
        message = f"integrated in intrinsic time: {run.steps} steps"

    def learning_time(thr: float) -> np.ndarray:
        return _tau_learning_times(model, scaled, run, thr, integrate_once) / model.eta

    extra = {"ode_method": ode_method, "rtol": options.rtol, "atol": options.atol, "formulation": "intrinsic time"}
    curves = _curves(model, t, loss, "ode", extra)
    return Solution(curves, "ode", message, state, None, system.evaluations, learning_time, model.initial_loss)


def _tau_learning_times(model, scaled, run: TauRun, thr: float, integrate_once) -> np.ndarray:
    """s at which each skill's loss first reaches thr (inf: never, or not within the solved times)."""
    system = TauSystem(scaled, 0)
    cp = system.gate_weights(run.u_stop[:-1])
    if thr <= 0.0:
        # an MSE loss reaches 0 only at the N0 = 0 horizon, where every pull has vanished
        horizon = float(run.u_stop[-1]) if (model.loss == "mse" and scaled.N0 == 0.0 and run.stopped_early) else np.inf
        return np.where(cp > 0, horizon, np.inf)
    x_cross = math.log(thr) if model.loss == "mse" else -math.log(math.expm1(thr))
    crossed, _ = integrate_once(x_cross)
    out = np.asarray(crossed.crossing_s, dtype=np.float64).copy()
    late = np.flatnonzero(np.isnan(out))
    if not crossed.stopped_early or late.size == 0:
        return np.where(np.isnan(out), np.inf, out)
    x, s_stop = crossed.u_stop[:-1], float(crossed.u_stop[-1])
    for k in late:
        if cp[k] <= 0:
            out[k] = np.inf
        elif model.loss == "mse":
            out[k] = s_stop + scaled.N0 * (x[k] - x_cross) / cp[k]
        else:
            # dtau = (e^x_cross - e^x_k) / cp_k, kept as a log: a subnormal threshold is a logit past 709
            log_dtau = x_cross + math.log1p(-math.exp(min(x[k] - x_cross, 0.0))) - math.log(cp[k])
            with np.errstate(divide="ignore", over="ignore"):
                rise = np.logaddexp(x, np.log(cp) + log_dtau) - x
                wasted = scaled.N0 * np.exp(log_dtau) if scaled.N0 > 0 else 0.0
            out[k] = s_stop + wasted + float(rise[cp > 0].sum())
    return out


# ------------------------------------------------------------ overlapping skills: the state in s
class _CountedField:
    """The scaled model's field and Jacobian, counted against the budget and checked finite."""

    def __init__(self, model: ResourceModel, max_evaluations: int):
        self.model, self.max_evaluations, self.evaluations = model, max_evaluations, 0

    def _count(self) -> None:
        self.evaluations += 1
        if self.evaluations > self.max_evaluations:
            raise EvaluationBudgetExceeded(f"{self.max_evaluations} evaluations")

    def field(self, s: float, x: np.ndarray) -> np.ndarray:
        self._count()
        f = self.model.vector_field(s, x)
        if not np.all(np.isfinite(f)):
            if not self.model._denominator(x) > 0.0:  # only the unclipped MSE model gets here
                raise NonFiniteField(
                    f"the resource denominator sum_j c_j p_j l_j + N0 is not positive at t = {s:.6g} "
                    "(in units of 1/eta): the unclipped model (clip=False) has left its domain "
                    "(the signed residuals cancel the resource)"
                )
            raise NonFiniteField(f"the vector field is not finite at t = {s:.6g} (in units of 1/eta)")
        return f

    def jacobian(self, s: float, x: np.ndarray) -> np.ndarray:
        self._count()
        return self.model.jacobian(s, x)


def _exhausted_event(model: ResourceModel):
    # The floor is relative to the rarest skill so that it, too, has finished learning:
    # sum_k p_k l_k below it means every l_k < 1e-14 * p_min / p_k <= 1e-14 (unclipped: |l_k|).
    floor = 1e-14 * float(model.p.min())
    clip = model.clip

    def exhausted(_s: float, x: np.ndarray) -> float:
        return float(np.sum(model.p * (np.maximum(x, 0.0) if clip else np.abs(x)))) - floor

    exhausted.terminal = True  # type: ignore[attr-defined]
    exhausted.direction = -1  # type: ignore[attr-defined]
    return exhausted


def _solve_in_state(model, scaled, t, s, options: SolverOptions, ode_method: str) -> Solution:
    x0 = scaled.initial_state()
    if s[-1] == 0.0:
        state = np.tile(x0, (t.size, 1))
        curves = _curves(model, t, model.state_to_loss(state), "ode")
        return Solution(curves, "ode", "nothing to integrate", state, initial_loss=model.initial_loss)
    counted = _CountedField(scaled, options.max_evaluations)
    kwargs: dict[str, Any] = {"jac": counted.jacobian} if ode_method in IMPLICIT else {}
    # clipped MSE: every pull vanishes at the N0 = 0 horizon, or decays below 1e-14 and is continued
    # in closed form; unclipped: the signed residuals vanish only at the N0 = 0 horizon
    exhausts = model._clips or (model.loss == "mse" and model.N0 == 0.0)
    events = [_exhausted_event(scaled)] if exhausts else None
    sol = _guarded(
        lambda: integrate.solve_ivp(
            counted.field,
            (0.0, float(s[-1])),
            x0,
            method=ode_method,
            dense_output=True,
            events=events,
            rtol=options.rtol,
            atol=options.atol,
            **kwargs,
        ),
        f"the {model.n_skills}-skill Resource model",
        options.max_evaluations,
    )
    if sol.status < 0:
        raise RuntimeError(f"ode: solve_ivp failed: {sol.message}")
    s_stop = float(sol.t[-1])
    state = np.empty((t.size, model.n_skills))
    inside = s <= s_stop
    if inside.any():  # a grid wholly past the stop has nothing for the interpolant
        state[inside] = sol.sol(s[inside]).T
    rates = np.zeros(model.n_skills)
    if sol.status == 1:  # every pull has vanished
        final = sol.y[:, -1].copy()
        rates = _decay_rates(scaled, final)
        state[~inside] = final[None, :] * np.exp(-rates[None, :] * (s[~inside] - s_stop)[:, None])
        message = f"every pull had vanished by t = {s_stop / model.eta:.6g}"
    else:
        message = sol.message
    if model._clips:
        state = np.maximum(state, 0.0)

    def learning_time(thr: float) -> np.ndarray:
        return _dense_crossings(scaled, sol, thr, s_stop, rates) / model.eta

    extra = {"ode_method": ode_method, "rtol": options.rtol, "atol": options.atol, "formulation": "state"}
    curves = _curves(model, t, model.state_to_loss(state), "ode", extra)
    return Solution(curves, "ode", message, state, None, counted.evaluations, learning_time, model.initial_loss)


def _decay_rates(scaled: ResourceModel, final: np.ndarray) -> np.ndarray:
    """Per-skill exponential rates in s after every pull has vanished (MSE).

    With N0 > 0 the field is then linear, dl/ds = -C (c p l) / N0, and each loss is below
    1e-14; it is continued with its own rate at the stop (non-negative: what is learned stays
    learned). With N0 = 0 the horizon has been reached: every learnable loss is 0.
    """
    pulling = (final > 0) if scaled.clip else (final != 0)
    learnable = pulling & (scaled._gate_values(final, derivatives=False)[0] > 0)
    if scaled.N0 == 0.0:
        final[learnable] = 0.0
        return np.zeros(final.size)
    f = scaled.vector_field(0.0, final)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(final > 0, -f / final, 0.0)
    return np.maximum(np.nan_to_num(rates, nan=0.0, posinf=0.0), 0.0)


def _dense_crossings(scaled: ResourceModel, sol: Any, thr: float, s_stop: float, rates: np.ndarray) -> np.ndarray:
    """s at which each skill's loss first reaches thr, by bisection on the dense output."""
    n = scaled.n_skills
    grid = sol.t
    loss = scaled.state_to_loss(sol.y.T)
    below = loss <= thr
    out = np.full(n, np.inf)
    hit = below.any(axis=0)
    if sol.status == 1:
        final = loss[-1]
        if scaled.N0 == 0.0:
            out[~hit] = s_stop  # they reach zero at the horizon
        elif thr > 0.0:
            late = ~hit & (rates > 0)
            out[late] = s_stop + np.log(final[late] / thr) / rates[late]
    if not hit.any():
        return out
    k = np.flatnonzero(hit)
    first = np.argmax(below[:, k], axis=0)
    lo = grid[np.maximum(first - 1, 0)].astype(np.float64)
    hi = grid[first].astype(np.float64)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        vals = scaled.state_to_loss(sol.sol(mid)[k, np.arange(k.size)])
        go_left = vals <= thr
        hi = np.where(go_left, mid, hi)
        lo = np.where(go_left, lo, mid)
    out[k] = np.where(first == 0, grid[0], hi)
    return out


register_method(ResourceModel, "ode", solve_resource_ode)
