"""Method "ode": scipy's solve_ivp on the Resource model's vector field, with its analytic Jacobian."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from ..models import ResourceModel
from ._registry import SolverOptions, register_method
from ._solution import Solution, _curves


def _ode_method(model: ResourceModel, name: str) -> str:
    if name != "auto":
        return name
    return "RK45" if (model.loss == "mse" and not model.is_orthogonal) else "LSODA"


def solve_resource_ode(model: ResourceModel, t: np.ndarray, options: SolverOptions) -> Solution:
    return _solve_ode(model, t, options.rtol, options.atol, _ode_method(model, options.ode_method))


def _solve_ode(model: ResourceModel, t: np.ndarray, rtol: float, atol: float, ode_method: str) -> Solution:
    x0 = model.initial_state()
    t_end = float(t[-1])
    events = None
    if model.loss == "mse" and model.N0 == 0.0:
        # Past the point where every pull vanishes the field is 0/0; stop there (finite horizon).
        # The floor is relative to the rarest skill so that it, too, has finished learning:
        # sum_k p_k l_k below it means every l_k < 1e-14 * p_min / p_k <= 1e-14.
        floor = 1e-14 * float(model.p.min())

        def exhausted(_t: float, x: np.ndarray) -> float:
            return float(np.sum(model.p * np.maximum(x, 0.0))) - floor

        exhausted.terminal = True
        exhausted.direction = -1
        events = [exhausted]
    kwargs: dict[str, Any] = {}
    if ode_method in ("LSODA", "Radau", "BDF"):
        kwargs["jac"] = model.jacobian
    if t_end == 0.0:
        state = np.tile(x0, (t.size, 1))
        return Solution(_curves(model, t, model.state_to_loss(state), "ode"), "ode", "nothing to integrate", state)
    sol = solve_ivp(
        model.vector_field,
        (0.0, t_end),
        x0,
        method=ode_method,
        t_eval=None,
        dense_output=True,
        events=events,
        rtol=rtol,
        atol=atol,
        **kwargs,
    )
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    t_stop = float(sol.t[-1])
    state = np.empty((t.size, model.n_skills))
    inside = t <= t_stop
    state[inside] = sol.sol(t[inside]).T
    final = sol.y[:, -1].copy()
    if sol.status == 1:  # the horizon event: every learnable skill is at zero loss
        final[(final > 0) & _gate_open(model, final)] = 0.0
        state[~inside] = final
    message = sol.message if sol.status == 0 else f"all learnable skills reached zero loss at t = {t_stop:.6g}"
    if model.loss == "mse":
        state = np.maximum(state, 0.0)
    loss = model.state_to_loss(state)

    def learning_time(thr: float) -> np.ndarray:
        return _dense_crossings(model, sol, thr, t_stop)

    curves = _curves(model, t, loss, "ode", {"ode_method": ode_method, "rtol": rtol, "atol": atol})
    return Solution(curves, "ode", message, state, None, int(sol.nfev), learning_time)


def _gate_open(model: ResourceModel, x: np.ndarray) -> np.ndarray:
    c, _ = model._gate_values(x)
    return c > 0


def _dense_crossings(model: ResourceModel, sol: Any, thr: float, t_stop: float) -> np.ndarray:
    """First time each skill's loss reaches thr, by bisection on the dense output."""
    n = model.n_skills
    if thr >= model.initial_loss:
        return np.zeros(n)
    grid = sol.t
    loss = model.state_to_loss(sol.y.T)
    below = loss <= thr
    out = np.full(n, np.nan)
    hit = below.any(axis=0)
    if model.loss == "mse" and model.N0 == 0.0 and sol.status == 1:
        out[~hit] = t_stop  # they reach zero at the horizon
    if not hit.any():
        return out
    k = np.flatnonzero(hit)
    first = np.argmax(below[:, k], axis=0)
    lo = grid[np.maximum(first - 1, 0)].astype(np.float64)
    hi = grid[first].astype(np.float64)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        vals = model.state_to_loss(sol.sol(mid)[k, np.arange(k.size)])
        go_left = vals <= thr
        hi = np.where(go_left, mid, hi)
        lo = np.where(go_left, lo, mid)
    out[k] = np.where(first == 0, grid[0], hi)
    return out


register_method(ResourceModel, "ode", solve_resource_ode)
