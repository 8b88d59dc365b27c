"""Method "exact": the closed forms (Domino, Parallel, and the Resource model with C = I, no gates)."""

from __future__ import annotations

import numpy as np

from .. import closed_forms
from ..models import DominoModel, ParallelModel, ResourceModel
from ._registry import SolverOptions, register_method
from ._scale import unit_scaled
from ._solution import Solution, _curves


def solve_closed_form(model: DominoModel | ParallelModel, t: np.ndarray, options: SolverOptions) -> Solution:
    loss = model.loss(t)
    return Solution(_curves(model, t, loss, "exact"), "exact", "closed form", loss, _learning_time=model.learning_times)


CE_LOG_TAU_LOGIT = 700.0  # beyond this logit CE learning times are computed from log tau


class _Family:
    """Per-skill closed form along the intrinsic time tau, where dx_k/dtau = +-p_k g(x_k).

    progress(tau): sum_k |x_k(tau) - x_k(0)| = integral of sum_k p_k g_k dtau, so that
    t(tau) = (progress(tau) + N0 tau) / eta. The per-skill formulas live in
    skillode.closed_forms (MSE: l = exp(-p tau); CE: z + e^z = p tau + 1), where
    derivations/ proves and checks them.
    """

    time_N0: float | None = None  # None: the model's N0 multiplies tau in t(tau)

    def __init__(self, model: ResourceModel):
        self.cf = closed_forms  # the single home of the closed forms
        self.p = model.p
        self.mse = model.loss == "mse"
        self.n = model.n_skills
        self.rate0 = float(self.p.sum()) * (1.0 if self.mse else 0.5)
        self.horizon = self.mse and model.N0 == 0.0  # every loss reaches 0 at eta t = n

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

    def progress_and_rate_chunked(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """progress_and_rate for many tau, in chunks of ~8 MB so that memory stays linear in n."""
        chunk = max(1, 1_000_000 // self.n)
        parts = [self.progress_and_rate(tau[i : i + chunk]) for i in range(0, tau.size, chunk)]
        return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])

    def tau_at_loss(self, thr: float) -> np.ndarray:
        """tau at which each skill's loss equals thr (0 < thr < l(0)), shape (n,)."""
        if self.mse:
            return self.cf.mse_tau_at_loss(self.p, thr)
        return self.cf.ce_tau_at_loss(self.p, thr)

    def eta_time_at_loss(self, thr: float, time_N0: float) -> np.ndarray:
        """eta t at which each skill's loss equals thr, shape (n,).

        CE below a loss of e^-700 the logit z_at is past exp's range: tau_k = (z + e^z - 1) / p_k is
        taken as a log, log tau_k = z + log1p((z - 1) e^-z) - log p_k, and there every other logit
        is z_j = log(p_j tau + 1) = log p_j + log tau_k to float64 precision (z + e^z = p tau + 1 with
        e^z >= e^700 >> z); N0 tau_k may then overflow: the time is beyond float64 (inf).
        """
        z_at = -np.log(np.expm1(thr)) if not self.mse else 0.0
        if self.mse or z_at < CE_LOG_TAU_LOGIT:
            tau_k = self.tau_at_loss(thr)
            prog, _ = self.progress_and_rate_chunked(tau_k)  # n x n work, linear memory
            return prog + time_N0 * tau_k
        log_tau = z_at + np.log1p((z_at - 1.0) * np.exp(-z_at)) - np.log(self.p)
        u = np.log(self.p)[None, :] + log_tau[:, None]  # log(p_j tau_k), (n, n)
        with np.errstate(over="ignore"):
            small = np.where(u < CE_LOG_TAU_LOGIT, np.exp(np.minimum(u, CE_LOG_TAU_LOGIT)), 0.0)
            logits = np.where(u < CE_LOG_TAU_LOGIT, self.cf.ce_logit(small), u)
            wasted = time_N0 * np.exp(log_tau) if time_N0 > 0 else 0.0
        return logits.sum(axis=1) + wasted


class _ReweightedFamily(_Family):
    """The MSE Resource model with loss-proportional reweighting (C = I, no gates) along tau.

    With w_k = l_k / sum_j phat_j l_j the field is dl_k/dt = -eta p_k l_k^2 / (sum_j p_j l_j^2 + N0 Lhat),
    Lhat = sum_j phat_j l_j. In tau, d tau = eta dt / (sum_j p_j l_j^2 + N0 Lhat), each skill decouples,
    l_k = 1 / (1 + p_k tau), and integrating back

        eta t = sum_k (1 - l_k) + (N0 / P) sum_k log(1 + p_k tau),     P = sum_k p_k,

    (derivations/reweighting.py). The N0 term is folded into the progress, so time_N0 = 0.
    """

    def __init__(self, model: ResourceModel):
        super().__init__(model)
        self.N0_over_P = model.N0 / float(self.p.sum())
        self.rate0 = float(self.p.sum()) + model.N0
        self.horizon = model.N0 == 0.0  # with N0 = 0 every loss reaches 0 at eta t = n

    time_N0 = 0.0

    def state(self, tau: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.multiply.outer(tau, self.p))

    def progress_and_rate(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ptau = np.multiply.outer(tau, self.p)
        loss = 1.0 / (1.0 + ptau)
        progress = self.n - loss.sum(axis=-1) + self.N0_over_P * np.log1p(ptau).sum(axis=-1)
        return progress, (loss * loss) @ self.p + self.N0_over_P * (loss @ self.p)

    def tau_at_loss(self, thr: float) -> np.ndarray:
        return (1.0 / thr - 1.0) / self.p


def _invert_time(fam: _Family, eta: float, N0: float, t: np.ndarray, rtol: float) -> np.ndarray:
    """tau(t) for t(tau) = (progress(tau) + N0 tau)/eta, vectorised over t (inf past the horizon).

    t(tau) is increasing and concave, so Newton's method started left of the root never
    overshoots; a log-spaced table of t(tau) supplies a start inside a narrow bracket.
    """
    target = eta * t
    tau = np.zeros_like(t)
    live = target > 0
    if fam.horizon:
        beyond = target >= fam.n * (1.0 - 1e-15)  # every skill has reached zero loss
        tau[beyond] = np.inf
        live &= ~beyond
    if not live.any():
        return tau
    tmax = target[live].max()
    # a subnormal eta t over the initial rate can underflow to 0: start the bracket at the least float
    least = float(np.nextafter(0.0, 1.0))
    with np.errstate(over="ignore"):
        lo = max(float(target[live].min() / (fam.rate0 + N0)), least)
        hi = max(float(tmax / (fam.rate0 + N0)), least)
    while True:
        if not np.isfinite(hi):
            raise ValueError(
                f"times: t = {t.max():.6g} lies beyond the intrinsic time float64 can represent for this "
                "model; use smaller times"
            )
        prog, _ = fam.progress_and_rate(np.array([hi]))
        if prog[0] + N0 * hi >= tmax:
            break
        hi *= 2.0
        if not np.isfinite(hi) or not np.isfinite(prog[0]):
            raise ValueError(
                f"times: t = {t.max():.6g} lies beyond the intrinsic time float64 can represent for this "
                "model (every loss has long underflowed); use smaller times"
            )
    grid = np.geomspace(lo, hi, 256)
    prog, _ = fam.progress_and_rate_chunked(grid)
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
        prog, rate = fam.progress_and_rate_chunked(x[a])
        f = prog + N0 * x[a] - target[idx[a]]
        step = np.maximum(-f / (rate + N0), 0.0)
        x[a] += step
        done = (step * pmax <= 0.1 * rtol) | (step <= 1e-15 * x[a]) | ~np.isfinite(step)
        active[a[done]] = False
    tau[idx] = x
    if np.isnan(tau).any() or (not fam.horizon and np.isinf(tau).any()):  # t(tau) overflowed on the way
        raise ValueError(
            f"times: t = {t[np.isnan(tau)].min():.6g} lies beyond the intrinsic time float64 can represent for "
            "this model; use smaller times"
        )
    return tau


def solve_resource_exact(model: ResourceModel, t: np.ndarray, options: SolverOptions) -> Solution:
    # clip needs no case: with C = I every loss l = exp(-p tau) stays positive, so clip=False
    # (nothing clipped at 0) and clip=True give the same curves
    rtol = options.rtol
    if not model.is_orthogonal or model.has_gates:
        raise ValueError("method 'exact' needs orthogonal skills (C None or identity) and no gates; use method='ode'")
    # solved on the unit-scaled model (max p of order one), exact in float64: a subnormal or huge p
    # solves like p of order one; tau is reported in the model's own units
    if model.reweight == "loss" and model.loss != "mse":
        raise ValueError("method 'exact' solves the reweighted model (reweight='loss') for MSE only; use method='ode'")
    scaled, exponent = unit_scaled(model)
    fam = _ReweightedFamily(scaled) if model.reweight == "loss" else _Family(scaled)
    time_N0 = scaled.N0 if fam.time_N0 is None else fam.time_N0
    tau_scaled = _invert_time(fam, scaled.eta, time_N0, t, rtol)
    finite = np.isfinite(tau_scaled)
    state = np.zeros((t.size, model.n_skills))
    state[finite] = fam.state(tau_scaled[finite])
    loss = model.state_to_loss(state)
    with np.errstate(over="ignore"):
        tau = np.ldexp(tau_scaled, exponent)

    def learning_time(thr: float) -> np.ndarray:
        if thr <= 0.0:
            horizon = model.n_skills / model.eta if fam.horizon else np.inf
            return np.full(model.n_skills, horizon)
        return fam.eta_time_at_loss(thr, time_N0) / model.eta

    curves = _curves(model, t, loss, "exact")
    return Solution(curves, "exact", "closed form (C = I)", state, tau, 0, learning_time, model.initial_loss)


register_method(DominoModel, "exact", solve_closed_form)
register_method(ParallelModel, "exact", solve_closed_form)
register_method(ResourceModel, "exact", solve_resource_exact)
