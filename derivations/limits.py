"""Result 3: the Domino model (well-separated frequencies, N0 = 0) and the Parallel model
(N0 -> infinity) as limits of the Resource model (MSE, C = I)."""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk
from skillode import closed_forms as cf

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, register

N_SKILLS = 4  # skills in the symbolic and numeric Domino checks
Q_DOMINO = 1e-3  # p_{j+1} / p_j in the numeric Domino check
N0_PARALLEL = (1e2, 1e4)

_q = sp.Symbol("q", positive=True)  # p_{j+1} / p_j -> 0
_lam = sp.Symbol("lambda", positive=True)  # ln(1/eps)
_s = sp.Symbol("s", positive=True)  # eta t / N0
_k, _n = sp.symbols("k n", positive=True, integer=True)
_P, _l = sp.IndexedBase("p", positive=True), sp.IndexedBase("l")


def statements() -> tuple[Statement, ...]:
    return (
        Statement(
            "Domino limit of the learning time of the k-th most frequent skill (N0 = 0, p_{j+1}/p_j -> 0)",
            sp.Eq(sp.Symbol("t_k"), cf.DOMINO_LEARNING_TIME),
        ),
        Statement("Domino limit of the curves", sp.Eq(_l[_k], sp.Min(1, sp.Max(0, 1 - cf.eta * cf.t + (_k - 1))))),
        Statement("Parallel limit (N0 -> oo at fixed eta t / N0)", sp.Eq(_l[_k], cf.PARALLEL_LOSS.subs(cf.p, _P[_k]))),
        Statement(
            "distance from the Parallel limit, every t",
            sp.Le(sp.Abs(_l[_k] - cf.PARALLEL_LOSS.subs(cf.p, _P[_k])), _n * _P[_k] / cf.N0),
        ),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = []
    ps = [_q**j for j in range(N_SKILLS)]
    for k in range(1, N_SKILLS + 1):
        tau_k = cf.MSE_TAU_AT_LOSS.subs(cf.p, ps[k - 1])
        t_k = sum(cf.MSE_PROGRESS.subs({cf.p: pj, cf.tau: tau_k}) for pj in ps) / cf.eta
        t_k = sp.powsimp(sp.expand_log(t_k.subs(cf.eps, sp.exp(-_lam)), force=True), force=True)
        limit = sp.limit(t_k, _q, 0, "+")
        checks.append(
            equal(
                f"lim_(q -> 0) t_{k} = ({k} - eps)/eta for p_j = q^(j-1), {N_SKILLS} skills",
                limit,
                cf.DOMINO_LEARNING_TIME.subs({_k: k, cf.eps: sp.exp(-_lam)}),
            )
        )
    # During stage 2 of 3: skill 1 learned (l = 0), skill 3 untouched (l = 1), 0 < l_2 <= 1.
    model = sk.ResourceModel([1.0, 0.5, 0.25], 1.0)
    sys_ = model.symbolic()
    l1, l2, l3 = sys_.state
    stage = {l1: 0, l3: 1, sys_.parameters["p1"]: 1, sys_.parameters["p2"]: _q, sys_.parameters["p3"]: _q**2, cf.N0: 0}
    l2_pos = sp.Symbol("l_2", positive=True)
    rhs = [sp.limit(sys_.rhs[k].subs(stage).subs(l2, l2_pos), _q, 0, "+") for k in (1, 2)]
    checks.append(equal("stage 2 as q -> 0: the active skill falls at the full rate, dl_2/dt -> -eta", rhs[0], -cf.eta))
    checks.append(equal("stage 2 as q -> 0: the next skill waits, dl_3/dt -> 0", rhs[1], 0))
    # Parallel: in s = eta t / N0 the field is -N0 p_k l_k / (sum p l + N0) -> -p_k l_k.
    sys_ = sk.ResourceModel([1.0, 0.5, 0.25], 1.0, N0=1.0).symbolic()
    for k in range(3):
        rescaled = sys_.rhs[k] * cf.N0 / cf.eta
        p_k = sys_.parameters[f"p{k + 1}"]
        checks.append(
            equal(
                f"lim_(N0 -> oo) dl_{k + 1}/ds = -p_{k + 1} l_{k + 1} (s = eta t / N0)",
                sp.limit(rescaled, cf.N0, sp.oo),
                -p_k * sys_.state[k],
            )
        )
    # Bound: s - tau = sum_j (1 - e^(-p_j tau)) / N0 in [0, n/N0], and |e^-a - e^-b| <= |a - b|.
    checks.append(
        equal(
            "s - tau = sum_j (1 - exp(-p_j tau)) / N0 (from eta t = sum + N0 tau)",
            (cf.eta * cf.t / cf.N0 - cf.tau).subs(
                cf.t, (sum(cf.MSE_PROGRESS.subs(cf.p, _P[j]) for j in range(3)) + cf.N0 * cf.tau) / cf.eta
            ),
            sum(cf.MSE_PROGRESS.subs(cf.p, _P[j]) for j in range(3)) / cf.N0,
        )
    )
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    out = []
    q, eta = Q_DOMINO, 1.0
    p = q ** np.arange(N_SKILLS)
    times = np.linspace(0.0, N_SKILLS + 0.5, 2001)
    exact = sk.solve(sk.ResourceModel(p, eta), times, method="exact")
    ode = sk.solve(sk.ResourceModel(p, eta), times, method="ode", rtol=1e-11, atol=1e-14)
    domino = sk.DominoModel(p, eta)
    out.append(
        NumericCheck(
            f"exact and ODE solvers agree at p_j = q^(j-1), q = {q:g}: max |l_exact - l_ode|",
            float(np.max(np.abs(exact.curves.loss - ode.curves.loss))),
            1e-8,
        )
    )
    out.append(
        NumericCheck(
            f"Domino curves: max |l_Resource - l_Domino| over {times.size} times, {N_SKILLS} skills, "
            f"q = {q:g}; tolerance q ln(1/q) (the measured error shrinks like it)",
            float(np.max(np.abs(exact.curves.loss - domino.loss(times)))),
            q * np.log(1 / q),
        )
    )
    eps = 0.01
    domino_times = cf.domino_learning_time(np.arange(1, N_SKILLS + 1), eps, eta)
    err = float(np.max(np.abs(exact.learning_times(eps) - domino_times)))
    out.append(
        NumericCheck(
            f"Domino learning times: max_k |t_k - (k - eps)/eta|, eps = {eps}; tolerance "
            "2 q ln(1/eps) (the next skill's head start)",
            err,
            2 * q * np.log(1 / eps),
        )
    )
    p = np.array([0.5, 0.3, 0.2])
    for N0 in N0_PARALLEL:
        t = np.linspace(0.0, 20.0, 201) * N0 / eta
        loss = sk.solve(sk.ResourceModel(p, eta, N0=N0), t, method="ode", rtol=1e-11, atol=1e-14).curves.loss
        err = float(np.max(np.abs(loss - cf.parallel_loss(p, t[:, None], eta, N0))))
        out.append(
            NumericCheck(
                f"Parallel limit, N0 = {N0:g}: max |l_ODE - exp(-eta p t / N0)| for eta t / N0 in "
                "[0, 20]; tolerance n max(p) / N0 (the bound)",
                err,
                p.size * p.max() / N0,
                (("p", str(p.tolist())),),
            )
        )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="limits",
        title="The Domino (well-separated p, N0 = 0) and Parallel (N0 -> oo) limits of the Resource model",
        assumptions=(
            "MSE, C = identity, no gates",
            "Domino: N0 = 0 and p_{j+1}/p_j = q -> 0 (skills ordered by decreasing frequency)",
            "Parallel: N0 -> oo with s = eta t / N0 held fixed",
        ),
        regime=(
            "Domino: the limit q -> 0; at finite q the curves differ by O(q ln(1/q)). "
            "Parallel: the limit N0 -> oo; at finite N0 the loss differs by at most n p_k / N0 at every t"
        ),
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "Domino: while skill k is learned the finished skills pull nothing and the waiting ones pull "
            "O(q) of it, so skill k receives the whole resource and its loss falls linearly at rate eta; "
            "each skill therefore takes 1/eta and t_k -> k/eta as eps -> 0. Parallel: the wasted "
            "resource dominates the denominator, so each skill decays on its own at rate eta p_k / N0. "
            "Numeric checks: the exact solver (itself checked against the ODE solver) against "
            "DominoModel, and the ODE solver against ParallelModel."
        ),
    )
)
