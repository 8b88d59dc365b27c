"""One intrinsic-time trajectory of the gated Resource model (C = I, MSE), reused for every eta and N0.

In the intrinsic time tau (see _ode_tau) the MSE losses follow dy_k/dtau = -c_k(y) p_k with
y = log l: neither eta nor N0 enters. They set only the clock, through the exact invariant

    s = eta t = sum_k (1 - l_k(tau)) + N0 tau        (TauSystem.s_invariant),

so one integration of y(tau) serves every (eta, N0). A fit that varies only those (the gated
compare fits eta and N0) integrates once; each of its evaluations then only finds, for every
queried time, the tau at which the invariant reaches s (a bracketed root find on the stored step
interpolants, to float64 resolution, as the "ode" solver locates its queries) and reads the
losses there. The integration uses the "ode" solver's scheme (DOP853 in tau, the same stopping
rule and closed-form tail), so the losses agree with solve(model, t, method="ode") to within its
tolerances; only the step sizes differ (they are chosen for y alone, not for a given N0's s).

The steps are kept (memory ~ 7 n per step): TauTrajectory is for fits of modest n (MAX_SKILLS),
and it extends itself lazily, step by step, until the latest queried time is covered.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict

import numpy as np
from scipy import integrate
from scipy.integrate._ivp import rk

from ..models import ResourceModel
from ._ode_tau import TauSystem
from ._scale import intrinsic_times, unit_scaled

MAX_SKILLS = 1000  # beyond this the stored steps (7 n floats each) cost too much memory: solve per call
ROOT_ITERATIONS = 200  # safeguarded secant steps per query (typically 5-10 are needed)


class TauTrajectory:
    """y(tau) = log l(tau) of one gated, orthogonal MSE Resource model, for any eta and N0 > 0.

    model: its frequencies, gates and loss define the trajectory (eta and N0 are ignored);
    rtol, atol, max_evaluations: as solve(method="ode").
    """

    def __init__(self, model: ResourceModel, rtol: float, atol: float, max_evaluations: int):
        if not applies(model):
            raise ValueError("TauTrajectory needs an orthogonal, gated MSE ResourceModel without reweighting")
        scaled, _ = unit_scaled(model, eta=1.0)
        self.n = model.n_skills
        # N0 = 0: the integrated s component is the progress alone (it does not steer anything here)
        self.system = TauSystem(dataclasses.replace(scaled, N0=0.0), max_evaluations)
        self.solver = integrate.DOP853(
            self.system, 0.0, self.system.initial(), np.inf, rtol=rtol, atol=atol, vectorized=False
        )
        self.tau_ends = [0.0]  # tau at the step boundaries
        self.y_ends = [np.zeros(self.n)]  # y there
        self.dense: list = []  # each step's interpolant
        self.finished = False  # the rest is closed form: y falls at the rate c p of the last step
        self.cp_stop = np.zeros(self.n)
        self._stacked: tuple | None = None

    # -------------------------------------------------------------- integration
    def _step(self) -> None:
        self.solver.step()
        if self.solver.status == "failed":
            raise RuntimeError(f"ode: the integrator failed at tau = {self.solver.t:.6g}")
        self.dense.append(self.solver.dense_output())
        u = self.solver.y
        self.tau_ends.append(float(self.solver.t))
        self.y_ends.append(u[:-1].copy())
        self._stacked = None
        progress = float(self.system.s_invariant(u[:-1], self.solver.t))
        # the "ode" solver's rule (TauSystem.finished) with the smallest s any N0 gives: never earlier
        if self.system.finished(u, progress):
            self.finished = True
            self.cp_stop = self.system.gate_weights(u[:-1])

    def _s_ends(self, N0: float) -> np.ndarray:
        tau = np.asarray(self.tau_ends)
        return -np.expm1(np.asarray(self.y_ends)).sum(axis=1) + N0 * tau

    def _extend(self, s_max: float, N0: float) -> None:
        while not self.finished and float(self._s_ends(N0)[-1]) < s_max:
            self._step()

    # -------------------------------------------------------------- queries
    def _interpolate(self, idx: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """y at tau within step idx (per query), shape (m, n)."""
        if self._stacked is None:
            if all(type(d) is rk.Dop853DenseOutput for d in self.dense):
                self._stacked = (
                    np.array([d.t_old for d in self.dense]),
                    np.array([d.h for d in self.dense]),
                    np.stack([d.y_old[: self.n] for d in self.dense]),
                    np.stack([d.F[:, : self.n] for d in self.dense]),
                )
            else:
                self._stacked = ()
        if not self._stacked:  # another interpolant: evaluated step by step
            out = np.empty((idx.size, self.n))
            for i in np.unique(idx):
                sel = idx == i
                out[sel] = np.asarray(self.dense[i](tau[sel]))[: self.n].T
            return out
        t_old, h, y_old, F = self._stacked
        x = ((tau - t_old[idx]) / h[idx])[:, None]
        coefficients = F[idx]  # (m, 7, n)
        y = np.zeros((idx.size, self.n))
        for i in range(coefficients.shape[1]):  # DOP853's nested form, as its dense output evaluates it
            y += coefficients[:, coefficients.shape[1] - 1 - i]
            y *= x if i % 2 == 0 else 1.0 - x
        return y + y_old[idx]

    def states(self, s: np.ndarray, N0: float) -> np.ndarray:
        """y = log l at intrinsic times s = eta t (shape (m,), non-negative), shape (m, n); N0 > 0."""
        s = np.asarray(s, dtype=np.float64)
        out = np.zeros((s.size, self.n))
        if s.size == 0 or float(s.max()) <= 0.0:
            return out
        self._extend(float(s.max()), N0)
        s_ends = self._s_ends(N0)
        positive = s > 0.0
        inside = positive & (s <= s_ends[-1])
        if inside.any():
            out[inside] = self._located(s[inside], s_ends, N0)
        tail = positive & ~inside  # only once finished: every pull is below float64 resolution of s
        if tail.any():
            dtau = (s[tail] - s_ends[-1]) / N0
            cp = self.cp_stop
            out[tail] = self.y_ends[-1][None, :] - np.where(cp[None, :] > 0, cp[None, :] * dtau[:, None], 0.0)
        return out

    def _located(self, s: np.ndarray, s_ends: np.ndarray, N0: float) -> np.ndarray:
        """y where the invariant reaches each s (all within the integrated steps), shape (m, n).

        Illinois (a bracketed secant, superlinear) per query inside its step, with a bisection every
        eighth step as a safeguard, until the invariant matches s to 4e-16 (|s| + 1) (the "ode"
        solver's criterion) or the bracket is a few ulps wide.
        """
        n_steps = len(self.dense)
        idx = np.clip(np.searchsorted(s_ends, s, side="left") - 1, 0, n_steps - 1)
        tau_ends = np.asarray(self.tau_ends)
        lo, hi = tau_ends[idx], tau_ends[idx + 1]
        f_lo, f_hi = s_ends[idx] - s, s_ends[idx + 1] - s
        tol = 4e-16 * (np.abs(s) + 1.0)
        tau = np.where(np.abs(f_hi) <= np.abs(f_lo), hi, lo)
        y = np.asarray(self.y_ends)[np.where(tau == hi, idx + 1, idx)]
        active = np.minimum(np.abs(f_lo), np.abs(f_hi)) > tol
        side = np.zeros(s.size)
        for it in range(ROOT_ITERATIONS):
            if not active.any():
                break
            a = np.flatnonzero(active)
            width = hi[a] - lo[a]
            denom = f_hi[a] - f_lo[a]
            with np.errstate(divide="ignore", invalid="ignore"):
                guess = hi[a] - f_hi[a] * width / denom
            mid = lo[a] + 0.5 * width
            bad = ~np.isfinite(guess) | (guess <= lo[a]) | (guess >= hi[a]) | (it % 8 == 7)
            t_a = np.where(bad, mid, guess)
            y_a = self._interpolate(idx[a], t_a)
            f = -np.expm1(y_a).sum(axis=1) + N0 * t_a - s[a]
            tau[a], y[a] = t_a, y_a
            past = f >= 0.0
            # Illinois: halve the kept end's value when the same end moves twice in a row
            kept_lo = np.where(side[a] > 0, 0.5 * f_lo[a], f_lo[a])
            kept_hi = np.where(side[a] < 0, 0.5 * f_hi[a], f_hi[a])
            hi[a], f_hi[a] = np.where(past, t_a, hi[a]), np.where(past, f, kept_hi)
            lo[a], f_lo[a] = np.where(past, lo[a], t_a), np.where(past, kept_lo, f)
            side[a] = np.where(past, 1.0, -1.0)
            done = (np.abs(f) <= tol[a]) | (hi[a] - lo[a] <= 4e-16 * np.abs(hi[a]))
            active[a[done]] = False
        return y


def applies(model: ResourceModel) -> bool:
    """Whether a TauTrajectory can stand in for solve(method="ode") (for N0 > 0; see the module)."""
    return (
        isinstance(model, ResourceModel)
        and model.loss == "mse"
        and model.reweight == "none"
        and model.has_gates
        and model.is_orthogonal
        and model.n_skills <= MAX_SKILLS
    )


class TrajectoryCache:
    """The last few TauTrajectory objects, keyed by what defines them (frequencies and gates).

    losses(model, t) is solve(model, t, method="ode", rtol, atol).curves.loss for models that
    `applies` covers with N0 > 0, from a stored trajectory when one exists for the model's p and
    gates; None for any other model (solve it instead).
    """

    def __init__(self, rtol: float, atol: float, max_evaluations: int = 200_000, size: int = 8):
        self.rtol, self.atol, self.max_evaluations, self.size = rtol, atol, max_evaluations, size
        self._items: OrderedDict = OrderedDict()

    def losses(self, model: ResourceModel, t: np.ndarray) -> np.ndarray | None:
        if not applies(model) or not model.N0 > 0.0:
            return None
        key = (model.p.tobytes(), repr(model.gates))
        trajectory = self._items.get(key)
        if trajectory is None:
            trajectory = TauTrajectory(model, self.rtol, self.atol, self.max_evaluations)
            self._items[key] = trajectory
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        s = intrinsic_times(model, np.asarray(t, dtype=np.float64))
        _, exponent = math.frexp(float(model.p.max()))  # the scaling unit_scaled gives the trajectory
        try:
            return np.exp(trajectory.states(s, float(np.ldexp(model.N0, -exponent))))
        except Exception:
            self._items.pop(key, None)  # an integrator that failed mid-step is not to be continued
            raise
