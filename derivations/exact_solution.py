"""Result 1: the exact implicit solution of the Resource model (C = I, no gates), the collapse
l_i^(1/p_i) = e^-tau shared by all skills, and the finite learning horizon n / eta at N0 = 0."""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk
from skillode import closed_forms as cf

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register, simplifies_to_zero

SEED = 20250122  # draws the test frequencies; recorded in every check's details
N_SYMBOLIC = 3  # skills in the sympy system that the solution is substituted into

_k, _n = sp.symbols("k n", positive=True, integer=True)
_P = sp.IndexedBase("p", positive=True)
_l, _zk = sp.IndexedBase("l"), sp.IndexedBase("z")


def statements() -> tuple[Statement, ...]:
    p_k = _P[_k]
    eta_t = sp.Sum(cf.MSE_PROGRESS.subs(cf.p, p_k), (_k, 1, _n)) + cf.N0 * cf.tau
    return (
        Statement("MSE loss of skill k along the intrinsic time tau", sp.Eq(_l[_k], cf.MSE_LOSS.subs(cf.p, p_k))),
        Statement("wall-clock time (MSE)", sp.Eq(cf.t, eta_t / cf.eta)),
        Statement(
            "intrinsic time", sp.Eq(sp.Derivative(cf.tau, cf.t), cf.eta / (sp.Sum(p_k * _l[_k], (_k, 1, _n)) + cf.N0))
        ),
        Statement("collapse: one number for every skill", sp.Eq(_l[_k] ** (1 / p_k), sp.exp(-cf.tau))),
        Statement(
            "finite horizon at N0 = 0 (all losses reach 0)",
            sp.Eq(sp.Limit(eta_t.subs(cf.N0, 0) / cf.eta, cf.tau, sp.oo), _n / cf.eta),
        ),
        Statement("CE logit of skill k (implicit)", cf.CE_LOGIT_IMPLICIT.subs({cf.z: _zk[_k], cf.p: p_k})),
        Statement("CE logit of skill k (explicit, W = Lambert W)", sp.Eq(_zk[_k], cf.CE_LOGIT.subs(cf.p, p_k))),
        Statement("wall-clock time (CE)", sp.Eq(cf.t, (sp.Sum(_zk[_k], (_k, 1, _n)) + cf.N0 * cf.tau) / cf.eta)),
    )


def _system(loss: str):
    model = sk.ResourceModel(np.arange(1.0, N_SYMBOLIC + 1), 1.0, N0=0.5, loss=loss)
    return model.symbolic()


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = []
    # MSE: l_k = exp(-p_k tau(t)), dtau/dt = 1 / (dt/dtau), into the model's own sympy ODE.
    sys_ = _system("mse")
    ps = [sys_.parameters[f"p{k + 1}"] for k in range(N_SYMBOLIC)]
    tau_f = sp.Function("tau")(sys_.t)
    eta_t_of_tau = sum(cf.MSE_PROGRESS.subs(cf.p, p_k) for p_k in ps) + cf.N0 * cf.tau
    dtau_dt = (cf.eta / sp.diff(eta_t_of_tau, cf.tau)).subs(cf.tau, tau_f)
    sub = {x: cf.MSE_LOSS.subs({cf.p: pk, cf.tau: tau_f}) for x, pk in zip(sys_.state, ps)}
    for k, x in enumerate(sys_.state):
        lhs = sp.diff(sub[x], sys_.t).subs(sp.Derivative(tau_f, sys_.t), dtau_dt)
        checks.append(
            simplifies_to_zero(
                f"l_{k + 1} = exp(-p_{k + 1} tau) solves dl_{k + 1}/dt of the {N_SYMBOLIC}-skill MSE system",
                lhs - sys_.rhs[k].subs(sub),
            )
        )
    checks.append(equal("initial condition l_k(tau = 0) = 1", cf.MSE_LOSS.subs(cf.tau, 0), 1))
    checks.append(equal("t(tau = 0) = 0", eta_t_of_tau.subs(cf.tau, 0), 0))
    checks.append(
        equal(
            "collapse (exp(-p tau))^(1/p) = exp(-tau)",
            sp.powsimp(cf.MSE_LOSS ** (1 / cf.p), force=True),
            sp.exp(-cf.tau),
        )
    )
    horizon = sp.limit(eta_t_of_tau.subs(cf.N0, 0) / cf.eta, cf.tau, sp.oo)
    checks.append(equal(f"t(tau -> oo) = {N_SYMBOLIC}/eta at N0 = 0", horizon, N_SYMBOLIC / cf.eta))

    # CE: the explicit logit satisfies the implicit equation and starts at 0.
    w = sp.Symbol("w", positive=True)  # W(e^x): w e^w = e^x, so log w + w = x
    explicit = cf.CE_LOGIT.subs(sp.LambertW(sp.exp(cf.p * cf.tau + 1)), w)
    implicit_lhs = (cf.CE_LOGIT_IMPLICIT.lhs.subs(cf.z, explicit) - cf.CE_LOGIT_IMPLICIT.rhs).subs(
        cf.p * cf.tau + 1, sp.log(w * sp.exp(w))
    )
    checks.append(
        simplifies_to_zero(
            "z = log W(e^(p tau + 1)) satisfies z + e^z = p tau + 1", sp.expand_log(implicit_lhs, force=True)
        )
    )
    checks.append(equal("z(tau = 0) = log W(e) = 0", cf.CE_LOGIT.subs(cf.tau, 0), 0))
    # CE ODE: dz_k/dtau = p_k / (1 + e^z_k) from the implicit equation; t = (sum z + N0 tau)/eta.
    sys_ce = _system("ce")
    zs = sp.symbols(f"z1:{N_SYMBOLIC + 1}", real=True)
    implicit = cf.CE_LOGIT_IMPLICIT.lhs - cf.CE_LOGIT_IMPLICIT.rhs
    dz_dtau = [sp.idiff(implicit, cf.z, cf.tau).subs({cf.z: zk, cf.p: pk}) for zk, pk in zip(zs, ps)]
    dt_dtau = (sum(dz_dtau) + cf.N0) / cf.eta
    state_sub = dict(zip(sys_ce.state, zs))
    for k in range(N_SYMBOLIC):
        checks.append(
            simplifies_to_zero(
                f"z_{k + 1} from z + e^z = p tau + 1 with t = (sum z + N0 tau)/eta "
                f"solves dz_{k + 1}/dt of the CE system",
                dz_dtau[k] / dt_dtau - sys_ce.rhs[k].subs(state_sub),
            )
        )
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    rng = np.random.default_rng(SEED)
    p = rng.uniform(0.05, 1.0, 6)
    p /= p.sum()
    eta, N0 = 2.0, 0.3
    times = np.linspace(0.0, 8.0, 81)
    seed = ("seed", str(SEED))
    out = []
    for loss in ("mse", "ce"):
        model = sk.ResourceModel(p, eta, N0=N0, loss=loss)
        exact = sk.solve(model, times, method="exact")
        ode = sk.solve(model, times, method="ode", ode_method="DOP853", rtol=1e-11, atol=1e-13)
        err = float(np.max(np.abs(exact.curves.loss - ode.curves.loss)))
        out.append(
            NumericCheck(
                f"{loss.upper()}: max |l_exact - l_ode| over 6 skills, t in [0, 8], eta = 2, N0 = 0.3",
                err,
                1e-8,
                (seed,),
            )
        )
    # The collapse seen in an independent solver: log(l_i)/p_i is the same for every skill.
    ode = sk.solve(
        sk.ResourceModel(p, eta, N0=N0), times[1:], method="ode", ode_method="DOP853", rtol=1e-11, atol=1e-14
    )
    minus_tau = np.log(ode.curves.loss) / p
    spread = float(np.max(np.ptp(minus_tau, axis=1) / np.abs(minus_tau).mean(axis=1)))
    out.append(
        NumericCheck("collapse in the ODE solution: max over t of spread_i(ln l_i / p_i) / mean", spread, 1e-7, (seed,))
    )
    # Finite horizon: the ODE run with N0 = 0 stops when the last loss reaches 0.
    n = p.size
    ode0 = sk.solve(sk.ResourceModel(p, eta), np.linspace(0.0, 2 * n / eta, 11), method="ode", rtol=1e-11, atol=1e-14)
    t_stop = float(np.nanmax(ode0.learning_times(0.0)))
    out.append(
        NumericCheck(
            "horizon: |t_stop(ODE) - n/eta| / (n/eta), n = 6, eta = 2, N0 = 0",
            abs(t_stop - n / eta) / (n / eta),
            1e-6,
            (seed, ("t_stop", fmt(t_stop)), ("n/eta", fmt(n / eta))),
        )
    )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="exact_solution",
        title="Exact solution of the Resource model (C = I, no gates), collapse and finite horizon",
        assumptions=(
            "overlap C = identity, no compositional gates",
            "MSE: l_k(0) = 1; CE: z_k(0) = 0",
            "p_k > 0, eta > 0, N0 >= 0",
        ),
        regime="exact, all t >= 0 (MSE: until the horizon n/eta when N0 = 0, after which every l_k = 0)",
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "The intrinsic time tau absorbs the shared denominator, so each skill decays on its own in "
            "tau and only the map t(tau) couples them. With N0 = 0, eta t(tau) counts the loss already "
            "shed, at most n, hence the horizon. Numeric checks: the exact solver against scipy's "
            "DOP853 (rtol 1e-11) on 6 skills drawn with the seed; the collapse and horizon read off the "
            "ODE solver alone."
        ),
    )
)
