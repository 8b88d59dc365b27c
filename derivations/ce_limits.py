"""Result 5: the cross-entropy Resource model at N0 = 0 (late times) and N0 -> infinity.

N0 = 0: eta t = sum_k z_k and z_k ~ log(p_k tau), so every loss decays at the common rate
eta/n: l_k ~ (G/p_k) exp(-eta t / n), G the geometric mean of the p's (no finite horizon, unlike
MSE). N0 -> oo: each logit follows its own logistic law, z_k = log omega(1 + eta p_k t / N0),
whose loss falls as a power law, l_k ~ N0 / (eta p_k t).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk
from skillode import closed_forms as cf

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register

P_CE = (0.5, 0.3, 0.2)
LATE_TIMES = (20.0, 30.0, 40.0)  # eta t at N0 = 0: p_min tau from 5e2 to 4e5
N0_LARGE = (1e2, 1e4)
S_MAX = 20.0  # eta t / N0 range of the large-N0 check

_x = sp.Symbol("x", positive=True)  # p tau
_k, _n = sp.symbols("k n", positive=True, integer=True)
_P, _l = sp.IndexedBase("p", positive=True), sp.IndexedBase("l")


def statements() -> tuple[Statement, ...]:
    p_k = _P[_k]
    return (
        Statement(
            "N0 = 0, p_k tau >> 1: common exponential decay (G = (prod_k p_k)^(1/n))",
            sp.Eq(_l[_k], cf.CE_SMALL_N0_LOSS.subs({cf.p: p_k, cf.n_skills_sym: _n})),
        ),
        Statement(
            "N0 -> oo at fixed eta t / N0: independent logistic learning",
            sp.Eq(sp.IndexedBase("z")[_k], cf.CE_LARGE_N0_LOGIT.subs(cf.p, p_k)),
        ),
        Statement("... whose late-time tail is a power law", sp.Eq(_l[_k], cf.CE_LARGE_N0_TAIL.subs(cf.p, p_k))),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = []
    z = cf.z
    # e^z / (p tau) = 1 + (1 - z)/(p tau) on the solution, and 0 <= z <= log(p tau + 1).
    implicit_ez = sp.solve(cf.CE_LOGIT_IMPLICIT, sp.exp(z))[0]
    checks.append(
        equal(
            "on z + e^z = p tau + 1: e^z / (p tau) = 1 + (1 - z)/(p tau)",
            implicit_ez / (cf.p * cf.tau),
            1 + (1 - z) / (cf.p * cf.tau),
        )
    )
    checks.append(
        equal(
            "(1 - z)/(p tau) -> 0 as p tau -> oo, since |1 - z| <= 1 + log(p tau + 1)",
            sp.limit((1 + sp.log(_x + 1)) / _x, _x, sp.oo),
            0,
        )
    )
    # N0 = 0: eta t = sum_k log(p_k tau) fixes tau; then l_k ~ e^-z_k = 1/(p_k tau).
    n = 3
    ps = sp.symbols(f"p1:{n + 1}", positive=True)
    geo = sp.Mul(*ps) ** sp.Rational(1, n)
    tau_sol = sp.solve(sp.Eq(cf.eta * cf.t, sum(sp.log(pk * cf.tau) for pk in ps)), cf.tau)
    checks.append(
        equal(
            f"N0 = 0, {n} skills: eta t = sum_k log(p_k tau) gives tau = exp(eta t/n)/G",
            sp.simplify(tau_sol[0] * geo * sp.exp(-cf.eta * cf.t / n)),
            1,
        )
    )
    checks.append(
        equal(
            "... so l_k ~ 1/(p_k tau) = (G/p_k) exp(-eta t/n)",
            (1 / (ps[0] * tau_sol[0])),
            cf.CE_SMALL_N0_LOSS.subs({cf.p: ps[0], cf.geo_mean: geo, cf.n_skills_sym: n}),
        )
    )
    # N0 -> oo: in s = eta t / N0 the CE field is N0 p_k sigmoid(-z_k)/(sum + N0) -> p_k sigmoid(-z_k).
    sys_ = sk.ResourceModel(list(P_CE), 1.0, N0=1.0, loss="ce").symbolic()
    for k in range(len(P_CE)):
        p_k = sys_.parameters[f"p{k + 1}"]
        checks.append(
            equal(
                f"lim_(N0 -> oo) dz_{k + 1}/ds = p_{k + 1} / (1 + e^z_{k + 1})",
                sp.limit(sys_.rhs[k] * cf.N0 / cf.eta, cf.N0, sp.oo),
                p_k / (1 + sp.exp(sys_.state[k])),
            )
        )
    checks.append(
        equal(
            "tail: l = log(1 + e^-z) and e^-z ~ 1/(p s), so l (p s) -> 1: lim_(y -> 0) log(1 + y)/y",
            sp.limit(sp.log(1 + _x) / _x, _x, 0),
            1,
        )
    )
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    p = np.array(P_CE)
    eta = 1.0
    out = []
    t = np.array(LATE_TIMES) / eta
    ode = sk.solve(sk.ResourceModel(p, eta, loss="ce"), t, method="ode", rtol=1e-12, atol=1e-14)
    rel = np.max(np.abs(ode.curves.loss / cf.ce_small_n0_loss(p, t, eta) - 1), axis=1)
    tau = sk.solve(sk.ResourceModel(p, eta, loss="ce"), t, method="exact").tau
    x = p.min() * tau
    estimate = np.log(x) / x  # the first correction, (1 - z)/(p tau) with z ~ log(p tau)
    out.append(
        NumericCheck(
            f"N0 = 0: max over eta t in {LATE_TIMES} of |l_ODE / ((G/p_k) e^(-eta t/n)) - 1| divided by "
            "ln(p_min tau)/(p_min tau)",
            float(np.max(rel / estimate)),
            1.0,
            (("relative errors", ", ".join(fmt(v) for v in rel)), ("p_min tau", ", ".join(fmt(v) for v in x))),
        )
    )
    for N0 in N0_LARGE:
        times = np.linspace(0.0, S_MAX, 101) * N0 / eta
        loss = sk.solve(
            sk.ResourceModel(p, eta, N0=N0, loss="ce"), times, method="ode", rtol=1e-12, atol=1e-14
        ).curves.loss
        err = float(np.max(np.abs(loss - cf.ce_large_n0_loss(p, times, eta, N0))))
        # |tau - s| = sum_j z_j / N0, |dz/dtau| <= p/2 and |dl/dz| <= 1/2
        bound = float(p.max() * p.size * cf.ce_logit(p.max() * S_MAX) / (4 * N0))
        out.append(
            NumericCheck(
                f"N0 = {N0:g}: max |l_ODE - log(1 + 1/omega(1 + eta p t / N0))| for eta t / N0 in [0, {S_MAX:g}]; "
                "tolerance n max(p) z_max / (4 N0) (the bound)",
                err,
                bound,
            )
        )
    s_late = 1e6
    z_late = cf.ce_logit(p * s_late)
    tail_rel = float(np.max(np.abs(np.logaddexp(0.0, -z_late) * p * s_late - 1)))
    out.append(
        NumericCheck(
            f"tail: max_k |l_k (p_k s) - 1| on the N0 -> oo solution at s = eta t / N0 = {s_late:g}; "
            "tolerance 2 ln(p s)/(p s)",
            tail_rel,
            float(2 * np.log(p.min() * s_late) / (p.min() * s_late)),
        )
    )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="ce_limits",
        title="Cross-entropy variant: N0 = 0 (common exponential decay) and N0 -> oo (logistic, power-law tail)",
        assumptions=("CE loss l = log(1 + e^-z), z_k(0) = 0", "C = identity, no gates"),
        regime=(
            "N0 = 0: asymptotic for p_min tau >> 1, relative error ~ ln(p tau)/(p tau); "
            "N0 -> oo: a limit at fixed eta t / N0, within p_max n z_max / (4 N0) at finite N0"
        ),
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "With cross-entropy the pull sigmoid(-z) never vanishes, so at N0 = 0 there is no horizon: "
            "eta t = sum_k z_k grows only logarithmically in tau and all skills end up decaying together "
            "at rate eta/n, more frequent skills ahead by the factor 1/p_k. For any N0 > 0 the term "
            "N0 tau eventually dominates sum_k z_k ~ n log tau, so late enough every CE run enters the "
            "power-law tail N0/(eta p_k t) (the crossover is logarithmically slow; not checked here). "
            "Numeric checks use scipy's LSODA (rtol 1e-12), independent of the closed forms."
        ),
    )
)
