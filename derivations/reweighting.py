"""Result 9: loss-proportional reweighting in the Resource model (MSE, C = I, no gates) in closed form.

The paper's remedy for rare skills trains on loss * w with w = loss.detach() / mean(loss.detach()).
In the Resource model skill k's examples get w_k = l_k / Lhat, Lhat = sum_j phat_j l_j (phat = p / P,
P = sum p), so its pull is p_k l_k w_k and

    dl_k/dt = -eta p_k l_k^2 / (sum_j p_j l_j^2 + N0 Lhat).

In the intrinsic time d tau = eta dt / (sum_j p_j l_j^2 + N0 Lhat) every skill decouples,
dl_k/d tau = -p_k l_k^2, so l_k = 1 / (1 + p_k tau): a power law in tau where the unweighted model
decays exponentially. Integrating d(eta t)/d tau back gives

    eta t(tau) = sum_k (1 - l_k) + (N0 / P) sum_k log(1 + p_k tau),

and the learning time of skill k (loss eps) follows from tau_k = (1/eps - 1) / p_k. With N0 = 0 the
horizon is the same as without reweighting (eta t = n); what changes is the order: a rare skill
reaches loss eps sooner, a frequent one later (tested in tests/models/test_reweighting.py).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register, simplifies_to_zero

_tau, _eta, _N0, _eps = sp.symbols("tau eta N_0 epsilon", positive=True)
_pk = sp.Symbol("p_k", positive=True)
_ps = sp.symbols("p1:4", positive=True)

CHECK = dict(p=(0.6, 0.3, 0.1), eta=0.1, N0s=(0.0, 0.01, 1.0), eps=0.05)


def _loss(p):
    return 1 / (1 + p * _tau)


def _eta_t(ps):
    P = sum(ps)
    return sum(1 - _loss(p) for p in ps) + _N0 / P * sum(sp.log(1 + p * _tau) for p in ps)


def statements() -> tuple[Statement, ...]:
    k = sp.Symbol("k")
    return (
        Statement("per-skill loss along tau", sp.Eq(sp.Symbol("l_k"), _loss(_pk))),
        Statement(
            "time along tau (P = sum_j p_j)",
            sp.Eq(
                _eta * sp.Symbol("t"),
                sp.Sum(1 - sp.Symbol("l_j"), (sp.Symbol("j"), 1, sp.Symbol("n")))
                + _N0
                / sp.Symbol("P")
                * sp.Sum(sp.log(1 + sp.Symbol("p_j") * _tau), (sp.Symbol("j"), 1, sp.Symbol("n"))),
            ),
        ),
        Statement("intrinsic time at which skill k reaches loss eps", sp.Eq(sp.Symbol("tau_k"), (1 / _eps - 1) / _pk)),
        Statement("learning order", sp.Eq(sp.Symbol("t_" + str(k)), sp.Symbol("t(tau_k) / eta"))),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = [
        simplifies_to_zero(
            "l = 1/(1 + p tau) solves dl/dtau = -p l^2", sp.diff(_loss(_pk), _tau) + _pk * _loss(_pk) ** 2
        ),
        equal("l(0) = 1", _loss(_pk).subs(_tau, 0), 1),
    ]
    # d(eta t)/d tau must equal sum_j p_j l_j^2 + N0 Lhat, Lhat = sum_j (p_j / P) l_j, for 3 skills
    ls = [_loss(p) for p in _ps]
    P = sum(_ps)
    denominator = sum(p * x**2 for p, x in zip(_ps, ls)) + _N0 * sum(p / P * x for p, x in zip(_ps, ls))
    checks.append(
        simplifies_to_zero(
            "3 skills: d(eta t)/dtau = sum_j p_j l_j^2 + N0 sum_j phat_j l_j (the field's denominator)",
            sp.diff(_eta_t(_ps), _tau) - denominator,
        )
    )
    # chain rule: dl_k/dt = (dl_k/dtau) / (dt/dtau) is the reweighted field
    for k in range(3):
        field = -_eta * _ps[k] * ls[k] ** 2 / denominator
        checks.append(
            simplifies_to_zero(
                f"3 skills: dl_{k + 1}/dt along the closed form = -eta p_{k + 1} l_{k + 1}^2 / (sum p l^2 + N0 Lhat)",
                sp.diff(ls[k], _tau) * _eta / sp.diff(_eta_t(_ps), _tau) - field,
            )
        )
    checks.append(
        equal(
            "N0 = 0: lim_(tau -> oo) eta t = n (the unweighted horizon)",
            sp.limit(_eta_t(_ps).subs(_N0, 0), _tau, sp.oo),
            3,
        )
    )
    checks.append(equal("l_k(tau_k) = eps", sp.simplify(_loss(_pk).subs(_tau, (1 / _eps - 1) / _pk)), _eps))
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    out = []
    p = np.array(CHECK["p"])
    eta, eps = CHECK["eta"], CHECK["eps"]
    for N0 in CHECK["N0s"]:
        tau = (1 / eps - 1) / p
        ptau = np.outer(tau, p)
        t_closed = ((1 - 1 / (1 + ptau)).sum(axis=1) + N0 / p.sum() * np.log1p(ptau).sum(axis=1)) / eta
        times = np.linspace(0.0, 1.2 * t_closed.max(), 400)
        model = sk.ResourceModel(p, eta, N0, reweight="loss")
        ode = sk.solve(model, times, method="ode", rtol=1e-10, atol=1e-12)  # the field, integrated in l
        err = float(np.max(np.abs(ode.learning_times(eps) / t_closed - 1)))
        out.append(
            NumericCheck(
                f"p = {CHECK['p']}, eta = {eta}, N0 = {N0:g}: learning times (loss {eps}) of the ODE integrated in the"
                " state against t(tau_k): max relative difference; tolerance 1e-5",
                err,
                1e-5,
                (("closed form t_k", ", ".join(fmt(x) for x in t_closed)),),
            )
        )
    plain = sk.solve(sk.ResourceModel(p, eta, 0.01), np.array([0.0, 1e3]), method="exact").learning_times(eps)
    tau = (1 / eps - 1) / p
    ptau = np.outer(tau, p)
    rew = ((1 - 1 / (1 + ptau)).sum(axis=1) + 0.01 / p.sum() * np.log1p(ptau).sum(axis=1)) / eta
    out.append(
        NumericCheck(
            "N0 = 0.01: reweighting brings the rarest skill forward: t_3(reweighted) / t_3(plain) - 1 (must be <= 0)",
            max(float(rew[-1] / plain[-1] - 1), 0.0),
            0.0,
            (("plain t_k", ", ".join(fmt(x) for x in plain)), ("reweighted t_k", ", ".join(fmt(x) for x in rew))),
        )
    )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="reweighting",
        title="Loss-proportional reweighting in the Resource model: l_k = 1/(1 + p_k tau), closed-form time",
        assumptions=("MSE", "C = I", "no gates", "w_k = l_k / sum_j phat_j l_j (the trainer's loss / mean loss)"),
        regime="exact",
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "skillode.ResourceModel(..., reweight='loss') is this model; method 'exact' evaluates the closed form,"
            " 'ode' and 'map' the field in every form (overlaps, gates, CE). The validation experiment 'modularity'"
            " runs the trainer's reweighting (validation._train, reweight_by_loss) as its third condition."
        ),
    )
)
