"""Method "ode" for orthogonal skills (C = I): the Resource model integrated in its intrinsic time.

With C = I skill k's pull is r_k = c_k p_k g_k (c_k its gate, g_k = l_k for MSE, sigmoid(-z_k) for
CE) and dx_k/dt = -+eta r_k / (S + N0), S = sum_j r_j. In the intrinsic time tau,
dtau/dt = eta / (S + N0), the shared denominator drops out:

    MSE, y_k = log l_k:   dy_k/dtau = -c_k p_k
    CE,  z_k (logit):     dz_k/dtau = +c_k p_k sigmoid(-z_k)
    the time itself:      ds/dtau   = S + N0,      s = eta t

Why tau: in t, the MSE model with N0 = 0 has a finite horizon t = n / eta at which every pull
vanishes (a 0/0 field), and tiny or huge scales of p, N0, eta make the problem stiff or make LSODA
grind; in tau nothing is singular and the solution is smooth on a log scale, so an explicit method
takes geometrically growing steps. The state (x, s) is advanced one step at a time with a scipy
OdeSolver and only the current step's interpolant is kept: memory is linear in n.

The integration stops at the last requested time, or once the rest is known in closed form:
MSE when S < 1e-16 p_min s (every remaining pull is below float64 resolution of s; after that
y_k falls at the rate c_k p_k and s = s_stop + N0 dtau), CE once every pulling logit exceeds 40
(sigmoid(-z) = exp(-z) to 1e-17; after that exp(z_k) grows linearly in tau).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ..models import ResourceModel

CE_ASYMPTOTIC_LOGIT = 40.0  # sigmoid(-z) = exp(-z) (1 - exp(-z) + ...): exact in float64 beyond here
MSE_EXHAUSTED = 1e-16  # S / (p_min s) below this: what is left to learn no longer moves s


class EvaluationBudgetExceeded(RuntimeError):
    """The integrator used more evaluations of the vector field than it was allowed."""


class NonFiniteField(RuntimeError):
    """The vector field returned a non-finite value."""


@dataclass
class TauSystem:
    """The Resource model (C = I) as an autonomous system in tau; state u = (x_1..x_n, s / s_unit).

    model: a ResourceModel whose scale does not matter (solvers hand it p with max p in [0.5, 1)).
    max_evaluations: the budget of field evaluations; exceeding it raises EvaluationBudgetExceeded.
    """

    model: ResourceModel
    max_evaluations: int
    evaluations: int = 0

    def __post_init__(self) -> None:
        self.p = self.model.p
        self.N0 = self.model.N0
        self.mse = self.model.loss == "mse"
        # s is integrated in units of its initial rate sum(p) + N0, so that its error control does
        # not depend on the scale of N0 (with N0 / max p ~ 1e200, s itself is ~1e200 at order-one tau)
        self.s_unit = float(self.p.sum()) + self.N0

    def initial(self) -> np.ndarray:
        return np.zeros(self.model.n_skills + 1)  # y = log 1 = 0, or logit 0; s / s_unit = 0

    def gate_weights(self, x: np.ndarray) -> np.ndarray:
        """c_k p_k at state x (the gates read the losses: for MSE straight from y = log l, so that a
        parent whose loss has underflowed, y < -745, still opens its gate by 1 - exp(a y))."""
        if not self.model.has_gates:
            return self.p
        if self.mse:
            c = self.model._gate_factors_log(x)
        else:
            c, _ = self.model._gate_values(x, derivatives=False)
        return c * self.p

    def pull_sum(self, x: np.ndarray, cp: np.ndarray) -> float:
        g = np.exp(x) if self.mse else expit(-x)
        return float(cp @ g)

    def __call__(self, tau: float, u: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        if self.evaluations > self.max_evaluations:
            raise EvaluationBudgetExceeded(f"{self.max_evaluations} evaluations of the vector field")
        x = u[:-1]
        cp = self.gate_weights(x)
        dx = -cp if self.mse else cp * expit(-x)
        du = np.empty_like(u)
        du[:-1] = dx
        du[-1] = (self.pull_sum(x, cp) + self.N0) / self.s_unit
        if not np.all(np.isfinite(du)):
            raise NonFiniteField(f"the vector field is not finite at tau = {tau:.6g}")
        return du

    def s_invariant(self, x: np.ndarray, tau: np.ndarray | float) -> np.ndarray:
        """s from the state alone: ds/dtau = sum_k c_k p_k g_k = sum_k |dx_k/dtau| (the progress),
        so s = sum_k (1 - l_k) + N0 tau (MSE) or sum_k z_k + N0 tau (CE), exactly, gates or not.

        x: shape (n,) or (n, m) with tau of shape (m,).
        """
        progress = -np.expm1(x) if self.mse else x
        return progress.sum(axis=0) + self.N0 * np.asarray(tau)

    def refine(
        self, dense, tau: np.ndarray, s_target: np.ndarray, lo: float, hi: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(tau, x(tau)) with s_invariant(x(tau)) = s_target, by Newton steps within [lo, hi].

        s's integration error is relative rtol, and near the MSE horizon the losses are as
        sensitive as s itself, so the queried times are located on the exact invariant.
        """
        for _ in range(4):
            x = np.asarray(dense(tau))[:-1].reshape(self.model.n_skills, -1)
            miss = s_target - self.s_invariant(x, tau)
            if np.all(np.abs(miss) <= 4e-16 * (np.abs(s_target) + 1.0)):
                break
            if self.model.has_gates:  # the gates are evaluated one state at a time
                rate = np.array([self.pull_sum(x[:, j], self.gate_weights(x[:, j])) for j in range(tau.size)])
            else:
                rate = self.p @ (np.exp(x) if self.mse else expit(-x))
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(rate + self.N0 > 0, miss / (rate + self.N0), 0.0)
            moved = np.clip(tau + step, lo, hi)
            if np.array_equal(moved, tau):
                break
            tau = moved
        else:
            x = np.asarray(dense(tau))[:-1].reshape(self.model.n_skills, -1)
        return tau, x

    def finished(self, u: np.ndarray, s: float) -> bool:
        """True once the rest of the run has a closed form (see the module docstring)."""
        x = u[:-1]
        cp = self.gate_weights(x)
        if self.mse:
            # what is left of s is at most sum_k l_k <= S / min(c p): below float64 resolution of s
            return self.pull_sum(x, cp) < MSE_EXHAUSTED * float(cp[cp > 0].min()) * s
        pulling = cp > 0
        return bool(np.all(x[pulling] > CE_ASYMPTOTIC_LOGIT))

    def extrapolate(self, u_stop: np.ndarray, s: np.ndarray) -> np.ndarray:
        """States x at times s >= s_stop past the stop, shape (len(s), n), in closed form."""
        x, s_stop = u_stop[:-1], float(u_stop[-1])
        cp = self.gate_weights(x)
        ds = np.asarray(s, dtype=np.float64) - s_stop
        if self.mse:
            # s = s_stop + N0 dtau (the pulls no longer register); with N0 = 0, past the horizon
            with np.errstate(divide="ignore", invalid="ignore"):
                dtau = ds / self.N0 if self.N0 > 0 else np.where(ds > 0, np.inf, 0.0)
            step = np.where(cp[None, :] > 0, cp[None, :] * dtau[:, None], 0.0)
            return x[None, :] - step
        log_dtau = self._ce_log_dtau(x, cp, ds)
        with np.errstate(divide="ignore"):
            log_cp = np.log(cp)
        return np.logaddexp(x[None, :], log_cp[None, :] + log_dtau[:, None])

    def _ce_log_dtau(self, x: np.ndarray, cp: np.ndarray, ds: np.ndarray) -> np.ndarray:
        """log dtau with N0 dtau + sum_k (log(e^z_k + c_k p_k dtau) - z_k) = ds (bisection in log dtau;
        a logit far past float64's exp stays finite this way)."""
        pulling = cp > 0
        z, log_cp = x[pulling], np.log(cp[pulling])

        def gained(log_dtau: np.ndarray) -> np.ndarray:
            rise = np.logaddexp(z[None, :], log_cp[None, :] + log_dtau[:, None]) - z[None, :]
            with np.errstate(over="ignore"):
                wasted = self.N0 * np.exp(np.minimum(log_dtau, 709.0)) if self.N0 > 0 else 0.0
            return rise.sum(axis=1) + wasted

        lo = np.full(ds.shape, -800.0)
        hi = np.full(ds.shape, 800.0)
        while np.any(short := gained(hi) < ds):
            if hi.max() > 1e300:
                raise ValueError("times: t lies beyond what float64 can represent for this model's logits")
            hi = np.where(short, 2.0 * hi, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            below = gained(mid) < ds
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
            if np.all(hi - lo <= 1e-15 * np.abs(hi)):
                break
        return np.where(ds > 0, hi, -np.inf)


def rowwise(dense, rows: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Component rows[i] of a step's interpolant at taus[i], shape (m,), in O(m) where scipy allows.

    scipy's Runge-Kutta interpolants are polynomials per component (RkDenseOutput: y_old + h Q p(x);
    Dop853DenseOutput: nested F terms), evaluated here row by row; other interpolants are evaluated
    whole (O(n m): they serve small models only).
    """
    from scipy.integrate._ivp import rk

    x = (taus - dense.t_old) / (dense.t - dense.t_old)
    if type(dense) is rk.RkDenseOutput:
        powers = np.cumprod(np.tile(x, (dense.Q.shape[1], 1)), axis=0)
        return dense.y_old[rows] + (dense.t - dense.t_old) * np.einsum("mj,jm->m", dense.Q[rows], powers)
    if type(dense) is rk.Dop853DenseOutput:
        y = np.zeros(x.size)
        for i, f in enumerate(reversed(dense.F)):
            y += f[rows]
            y *= x if i % 2 == 0 else 1.0 - x
        return y + dense.y_old[rows]
    return np.asarray(dense(taus))[rows, np.arange(x.size)]


def _bisect(dense, rows: np.ndarray, target: float | np.ndarray, lo: float, hi: float, rising: bool) -> np.ndarray:
    """Per row, the tau in [lo, hi] where the (monotone) component reaches target."""
    m = rows.size
    lo_a, hi_a = np.full(m, lo), np.full(m, hi)
    for _ in range(64):
        mid = 0.5 * (lo_a + hi_a)
        value = rowwise(dense, rows, mid)
        past = value >= target if rising else value <= target
        lo_a, hi_a = np.where(past, lo_a, mid), np.where(past, mid, hi_a)
        if np.all(hi_a - lo_a <= 4e-16 * np.abs(hi_a)):
            break
    return hi_a


@dataclass
class TauRun:
    """What one integration in tau produced.

    states: shape (len(s_queries), n), x at the requested s; u_stop: (x, s) where it stopped;
    steps: accepted steps; crossing_s: s at which each skill first reached x_cross (NaN: not
    within the run; only when a crossing was asked for).
    """

    states: np.ndarray
    u_stop: np.ndarray
    steps: int
    stopped_early: bool
    crossing_s: np.ndarray | None


def integrate_tau(
    system: TauSystem,
    solver_class: type,
    s_queries: np.ndarray,
    rtol: float,
    atol: float,
    x_cross: float | None = None,
) -> TauRun:
    """Advance (x, s) in tau step by step until s passes the last query or the rest is closed-form.

    s_queries: shape (m,), increasing s = eta t at which to report x. x_cross: record the s at
    which each skill's x first reaches it (MSE: falls to log(threshold); CE: rises to the
    threshold's logit).
    """
    n = system.model.n_skills
    states = np.empty((s_queries.size, n))
    at_start = s_queries <= 0.0
    states[at_start] = 0.0
    done = int(at_start.sum())
    crossing = None if x_cross is None else np.full(n, np.nan)
    u = system.initial()
    if done == s_queries.size and crossing is None:
        return TauRun(states, u, 0, False, None)
    solver = solver_class(system, 0.0, u, np.inf, rtol=rtol, atol=atol, vectorized=False)
    steps, stopped_early = 0, False
    s_last = float(s_queries[-1])
    while True:
        message = solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"ode: the integrator failed at tau = {solver.t:.6g}: {message}")
        steps += 1
        dense, u_new = solver.dense_output(), solver.y
        s_new = float(system.s_invariant(u_new[:-1], solver.t))  # exact given x (see s_invariant)
        hit = np.flatnonzero(s_queries[done:] <= s_new) + done
        if hit.size:
            rows = np.full(hit.size, n)
            tau_q = _bisect(dense, rows, s_queries[hit] / system.s_unit, solver.t_old, solver.t, rising=True)
            _, x_q = system.refine(dense, tau_q, s_queries[hit], solver.t_old, solver.t)
            states[hit] = x_q.T
            done = int(hit[-1]) + 1
        if crossing is not None:
            assert x_cross is not None  # crossing is only allocated for a given x_cross
            _record_crossings(system, dense, solver, crossing, x_cross)
        if system.finished(u_new, s_new):
            stopped_early = s_new < s_last
            break
        if s_new >= s_last:
            break
    u_stop = solver.y.copy()
    u_stop[-1] = system.s_invariant(u_stop[:-1], solver.t)
    if done < s_queries.size:
        states[done:] = system.extrapolate(u_stop, s_queries[done:])
    return TauRun(states, u_stop, steps, stopped_early, crossing)


def _record_crossings(system: TauSystem, dense, solver, crossing: np.ndarray, x_cross: float) -> None:
    """Fill crossing[k] with the s at which x_k reached x_cross during this step (bisection in tau)."""
    x_new = solver.y[:-1]
    reached = (x_new <= x_cross) if system.mse else (x_new >= x_cross)
    rows = np.flatnonzero(reached & np.isnan(crossing))
    if rows.size == 0:
        return
    tau = _bisect(dense, rows, x_cross, solver.t_old, solver.t, rising=not system.mse)
    crossing[rows] = rowwise(dense, np.full(rows.size, system.model.n_skills), tau) * system.s_unit
