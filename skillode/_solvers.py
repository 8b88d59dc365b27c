"""Solvers, chosen by name: "exact" (closed form), "ode" (solve_ivp) and "map" (the paper's update).

    solve(model, times, method="exact" | "ode" | "map") -> Solution
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy.integrate import solve_ivp

from ._checks import as_scalar, as_times, choice
from ._curves import SkillCurves
from ._limits import DominoModel, ParallelModel
from ._mean_field import SignGDMeanField, iterate_mean_field
from ._resource import LOG2, ResourceModel

METHODS = ("exact", "ode", "map")


@dataclass(frozen=True, eq=False)
class Solution:
    """What a solver returns.

    Attributes:
        curves: the per-skill loss as SkillCurves.
        method: "exact", "ode" or "map".
        message: the solver's status message (a solver that fails raises instead of returning).
        state: shape (n_t, n), the raw state (losses for MSE, logits for CE).
        tau: shape (n_t,), the intrinsic time of the exact solution (l_k = exp(-p_k tau)), or None.
        nfev: right-hand-side evaluations (ode), iterations (map), 0 (exact).
    """

    curves: SkillCurves
    method: str
    message: str
    state: np.ndarray
    tau: np.ndarray | None = None
    nfev: int = 0
    _learning_time: Callable[[float], np.ndarray] | None = field(default=None, repr=False)

    def learning_times(self, threshold: float = 0.1) -> np.ndarray:
        """Time at which each skill's loss first reaches threshold, shape (n,).

        Exact solutions invert the closed form, "ode" root-finds on the dense output, "map"
        interpolates between steps; NaN where a skill does not get there within the solved times.
        """
        thr = as_scalar(threshold, "threshold")
        if self._learning_time is None:
            return self.curves.learning_times(thr)
        out = np.asarray(self._learning_time(thr), dtype=np.float64)
        return np.where(out <= self.curves.times[-1] * (1 + 1e-12), out, np.nan)


def solve(
    model: Any,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    steps: int | None = None,
    method: str = "exact",
    rtol: float = 1e-10,
    atol: float = 1e-13,
    ode_method: str = "auto",
) -> Solution:
    """Solve a skill-learning model on a time grid.

    Args:
        model: ResourceModel, DominoModel, ParallelModel or SignGDMeanField ("map" only).
        times: shape (n_t,), strictly increasing non-negative times; or give `steps` for 0..steps.
        method: "exact" (closed form: Domino, Parallel, and the Resource model with C = I and no
            gates), "ode" (scipy solve_ivp, any ResourceModel) or "map" (the paper's discrete
            update with clipping at 0, one step per unit time; times must be integers).
        rtol, atol: tolerances of "ode" (and the root find of "exact").
        ode_method: solve_ivp method for "ode": "auto" (default), "LSODA", "RK45", "RK23",
            "DOP853", "Radau" or "BDF" ("LSODA", "Radau", "BDF" use the analytic Jacobian). "auto"
            takes LSODA (stiffness-switching) where the field is smooth, and RK45 for the MSE form
            with a non-identity C: there a skill whose loss reaches 0 is held at 0 while its
            neighbours still pull on it, a non-smooth "sliding" motion on which LSODA's implicit
            steps can stall, while an explicit method just rejects steps across it.
    """
    method = choice(method, "method", METHODS)
    if times is None and steps is None:
        raise ValueError("give times (an array of steps) or steps (an int)")
    if times is not None and steps is not None:
        raise ValueError("give times or steps, not both")
    if steps is not None:
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        t = np.arange(int(steps) + 1, dtype=np.float64)
    else:
        t = as_times(times, "times")
    if isinstance(model, (DominoModel, ParallelModel)):
        if method != "exact":
            raise ValueError(f"method {method!r} does not apply to {type(model).__name__}; use 'exact'")
        return _solve_closed_form(model, t)
    if isinstance(model, SignGDMeanField):
        if method != "map":
            raise ValueError(f"method {method!r} does not apply to SignGDMeanField (a per-step map); use 'map'")
        return _solve_mean_field(model, t)
    if not isinstance(model, ResourceModel):
        raise ValueError("model must be a ResourceModel, DominoModel, ParallelModel or SignGDMeanField, "
                         f"got {type(model).__name__}")
    rtol = as_scalar(rtol, "rtol", positive=True)
    atol = as_scalar(atol, "atol", positive=True)
    if method == "exact":
        return _solve_exact(model, t, rtol)
    if method == "ode":
        return _solve_ode(model, t, rtol, atol, _ode_method(model, ode_method))
    return _solve_map(model, t)


def _curves(model: Any, t: np.ndarray, loss: np.ndarray, method: str, extra: dict | None = None) -> SkillCurves:
    meta = {"model": model.config(), "solver": method} | (extra or {})
    return SkillCurves(t, loss, model.names, model.p, meta)


def _solve_closed_form(model: DominoModel | ParallelModel, t: np.ndarray) -> Solution:
    loss = model.loss(t)
    return Solution(_curves(model, t, loss, "exact"), "exact", "closed form", loss,
                    _learning_time=model.learning_times)


# ------------------------------------------------------------------------------- exact
class _Family:
    """Per-skill closed form along the intrinsic time tau, where dx_k/dtau = +-p_k g(x_k).

    progress(tau): sum_k |x_k(tau) - x_k(0)| = integral of sum_k p_k g_k dtau, so that
    t(tau) = (progress(tau) + N0 tau) / eta. The per-skill formulas live in
    skillode._closed_forms (MSE: l = exp(-p tau); CE: z + e^z = p tau + 1), where
    derivations/ proves and checks them.
    """

    def __init__(self, model: ResourceModel):
        from . import _closed_forms  # the single home of the closed forms

        self.cf = _closed_forms
        self.p = model.p
        self.mse = model.loss == "mse"
        self.n = model.n_skills
        self.rate0 = float(self.p.sum()) * (1.0 if self.mse else 0.5)

    def state(self, tau: np.ndarray) -> np.ndarray:
        """x_k(tau), shape tau.shape + (n,)."""
        if self.mse:
            return self.cf.mse_loss(self.p, np.asarray(tau)[..., None])
        return self.cf.ce_logit(np.multiply.outer(tau, self.p))

    def progress_and_rate(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.mse:
            loss = self.cf.mse_loss(self.p, np.asarray(tau)[..., None])
            return self.n - loss.sum(axis=-1), loss @ self.p  # progress = sum_k (1 - l_k)
        logit, pull = self.cf.ce_logit_and_pull(np.multiply.outer(tau, self.p))
        return logit.sum(axis=-1), pull @ self.p

    def tau_at_loss(self, thr: float) -> np.ndarray:
        """tau at which each skill's loss equals thr (0 < thr < l(0)), shape (n,)."""
        if self.mse:
            return self.cf.mse_tau_at_loss(self.p, thr)
        return self.cf.ce_tau_at_loss(self.p, thr)


def _invert_time(fam: _Family, eta: float, N0: float, t: np.ndarray, rtol: float) -> np.ndarray:
    """tau(t) for t(tau) = (progress(tau) + N0 tau)/eta, vectorised over t (inf past the horizon).

    t(tau) is increasing and concave, so Newton's method started left of the root never
    overshoots; a log-spaced table of t(tau) supplies a start inside a narrow bracket.
    """
    target = eta * t
    tau = np.zeros_like(t)
    live = target > 0
    if fam.mse and N0 == 0.0:
        beyond = target >= fam.n * (1.0 - 1e-15)  # every skill has reached zero loss
        tau[beyond] = np.inf
        live &= ~beyond
    if not live.any():
        return tau
    tmax = target[live].max()
    lo = target[live].min() / (fam.rate0 + N0)
    hi = float(tmax / (fam.rate0 + N0))
    while True:
        prog, _ = fam.progress_and_rate(np.array([hi]))
        if prog[0] + N0 * hi >= tmax:
            break
        hi *= 2.0
        if not np.isfinite(hi):
            raise ValueError(
                f"times: t = {t.max():.6g} lies beyond the intrinsic time float64 can represent for this "
                "model (every loss has long underflowed); use smaller times"
            )
    grid = np.geomspace(lo, hi, 256)
    prog, _ = fam.progress_and_rate(grid)
    g_val = prog + N0 * grid
    j = np.clip(np.searchsorted(g_val, target[live], side="right") - 1, -1, grid.size - 1)
    x = np.where(j >= 0, grid[np.maximum(j, 0)], target[live] / (fam.rate0 + N0))
    idx = np.flatnonzero(live)
    active = np.ones(x.size, dtype=bool)
    pmax = float(fam.p.max())
    for _ in range(200):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        prog, rate = fam.progress_and_rate(x[a])
        f = prog + N0 * x[a] - target[idx[a]]
        step = np.maximum(-f / (rate + N0), 0.0)
        x[a] += step
        done = (step * pmax <= 0.1 * rtol) | (step <= 1e-15 * x[a]) | ~np.isfinite(step)
        active[a[done]] = False
    tau[idx] = x
    return tau


def _solve_exact(model: ResourceModel, t: np.ndarray, rtol: float) -> Solution:
    if not model.is_orthogonal or model.has_gates:
        raise ValueError(
            "method 'exact' needs orthogonal skills (C None or identity) and no gates; use method='ode'"
        )
    fam = _Family(model)
    tau = _invert_time(fam, model.eta, model.N0, t, rtol)
    finite = np.isfinite(tau)
    state = np.zeros((t.size, model.n_skills))
    state[finite] = fam.state(tau[finite])
    loss = model.state_to_loss(state)

    def learning_time(thr: float) -> np.ndarray:
        if thr >= model.initial_loss:
            return np.zeros(model.n_skills)
        if thr <= 0.0:
            horizon = model.n_skills / model.eta if (fam.mse and model.N0 == 0.0) else np.inf
            return np.full(model.n_skills, horizon)
        tau_k = fam.tau_at_loss(thr)
        prog, _ = fam.progress_and_rate(tau_k)
        return (prog + model.N0 * tau_k) / model.eta

    curves = _curves(model, t, loss, "exact")
    return Solution(curves, "exact", "closed form (C = I)", state, tau, 0, learning_time)


# --------------------------------------------------------------------------------- ode
ODE_METHODS = ("auto", "LSODA", "RK45", "RK23", "DOP853", "Radau", "BDF")


def _ode_method(model: ResourceModel, name: str) -> str:
    by_key = {m.lower(): m for m in ODE_METHODS}
    key = str(name).lower()
    if key not in by_key:
        raise ValueError(f"ode_method must be one of {', '.join(map(repr, ODE_METHODS))}; got {name!r}")
    if key != "auto":
        return by_key[key]
    return "RK45" if (model.loss == "mse" and not model.is_orthogonal) else "LSODA"


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
        return Solution(_curves(model, t, model.state_to_loss(state), "ode"), "ode",
                        "nothing to integrate", state)
    sol = solve_ivp(model.vector_field, (0.0, t_end), x0, method=ode_method, t_eval=None,
                    dense_output=True, events=events, rtol=rtol, atol=atol, **kwargs)
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


# --------------------------------------------------------------------------------- map
def _integer_times(t: np.ndarray) -> None:
    if np.any(t != np.round(t)):
        raise ValueError("method 'map' advances one step per unit time: times must be integers")


def _solve_mean_field(model: SignGDMeanField, t: np.ndarray) -> Solution:
    _integer_times(t)
    state = iterate_mean_field(model, t)
    return Solution(_curves(model, t, model.state_to_loss(state), "map"), "map",
                    f"{int(t[-1])} mean-field steps", state, nfev=int(t[-1]))


def _solve_map(model: ResourceModel, t: np.ndarray) -> Solution:
    _integer_times(t)
    n_steps = int(t[-1])
    want = np.zeros(n_steps + 1, dtype=bool)
    want[t.astype(int)] = True
    x = model.initial_state()
    state = np.empty((t.size, model.n_skills))
    row = 0
    clip = model.loss == "mse"
    for step in range(n_steps + 1):
        if want[step]:
            state[row] = x
            row += 1
        if step < n_steps:
            x = x + model.vector_field(step, x)
            if clip:
                np.maximum(x, 0.0, out=x)
    loss = model.state_to_loss(state)
    return Solution(_curves(model, t, loss, "map"), "map", f"{n_steps} steps", state, None, n_steps)
