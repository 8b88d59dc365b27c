"""Result 4b: the compute-optimal split of a budget C = N S between model size N and steps S for
the Chinchilla form L = E + A N^-a + B S^-b."""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from skillode import closed_forms as cf

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, register

#: (E, A, B, a, b): Hoffmann et al. 2022's fit (their approach 3), an asymmetric case, and the
#: skill model's own exponents a = b = alpha - 1 at alpha = 2 (A = 1/zeta(2), eta = 1)
CASES = (
    (1.69, 406.4, 410.7, 0.34, 0.28),
    (0.0, 2.0, 0.5, 1.0, 0.25),
    (0.0, 6 / np.pi**2, cf.scaling_prefactor(2.0, 6 / np.pi**2, 1.0), 1.0, 1.0),
)
BUDGETS = (1e6, 1e12, 1e20)


def statements() -> tuple[Statement, ...]:
    L = sp.Symbol("L")
    return (
        Statement("loss", sp.Eq(L, cf.CHINCHILLA_LOSS)),
        Statement("budget", sp.Eq(cf.compute, cf.n_params * cf.n_steps)),
        Statement("optimal size", sp.Eq(sp.Symbol("N_opt"), cf.CHINCHILLA_N_OPT)),
        Statement("optimal steps", sp.Eq(sp.Symbol("S_opt"), cf.CHINCHILLA_S_OPT)),
        Statement("optimal loss", sp.Eq(sp.Symbol("L_opt"), cf.CHINCHILLA_L_OPT)),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    N, S, C = cf.n_params, cf.n_steps, cf.compute
    on_budget = cf.CHINCHILLA_LOSS.subs(S, C / N)
    slope = sp.diff(on_budget, N)
    curvature = sp.diff(on_budget, N, 2)
    A, B, a, b = cf.chin_A, cf.chin_B, cf.chin_a, cf.chin_b
    # dL/dN = 0  <=>  a A N^-a = b B C^-b N^b; compared in logs, where sympy can split the powers.
    balance = (a * A * N ** (-a), b * B * C ** (-b) * N**b)
    checks = [
        equal("the budget is spent: N_opt S_opt = C", cf.CHINCHILLA_N_OPT * cf.CHINCHILLA_S_OPT, C),
        equal("dL/dN (S = C/N) = (b B C^-b N^b - a A N^-a) / N", slope, (balance[1] - balance[0]) / N),
        equal(
            "stationary: log(a A N^-a) = log(b B C^-b N^b) at N = N_opt",
            *(sp.expand_log(sp.log(side.subs(N, cf.CHINCHILLA_N_OPT)), force=True) for side in balance),
        ),
        equal(
            "L at (N_opt, S_opt) is L_opt",
            cf.CHINCHILLA_LOSS.subs({N: cf.CHINCHILLA_N_OPT, S: cf.CHINCHILLA_S_OPT}),
            cf.CHINCHILLA_L_OPT,
        ),
    ]
    on_balance = {B: balance[0] / (b * C ** (-b) * N**b)}  # the stationarity condition, solved for B
    checks.append(
        equal(
            "d2L/dN2 = a (a + b) A N^-(a+2) > 0 where dL/dN = 0 (a minimum)",
            curvature.subs(on_balance),
            a * (a + b) * A * N ** (-a - 2),
        )
    )
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    worst_n, worst_l, where = 0.0, 0.0, ""
    for E, A, B, a, b in CASES:
        for budget in BUDGETS:

            def loss_at(log_n: float) -> float:
                n = np.exp(log_n)
                # called only within this iteration, so the loop variables are the current ones
                return E + A * n ** (-a) + B * (budget / n) ** (-b)  # noqa: B023

            res = minimize_scalar(loss_at, bounds=(0.0, np.log(budget)), method="bounded", options={"xatol": 1e-12})
            n_opt, _, l_opt = cf.chinchilla_optimum(budget, E, A, B, a, b)
            err_n = abs(np.exp(res.x) / n_opt - 1)
            err_l = abs(res.fun / l_opt - 1)
            if err_n >= worst_n:
                worst_n, where = err_n, f"E={E:g}, A={A:g}, B={B:g}, a={a:g}, b={b:g}, C={budget:g}"
            worst_l = max(worst_l, err_l)
    return (
        NumericCheck(
            f"max |N_opt(numeric minimisation) / N_opt(closed form) - 1| over {len(CASES)} parameter "
            f"sets x budgets {BUDGETS}",
            worst_n,
            1e-6,
            (("worst at", where),),
        ),
        NumericCheck("max |L_opt(numeric) / L_opt(closed form) - 1|", worst_l, 1e-10),
    )


DERIVATION = register(
    Derivation(
        name="compute_optimal",
        title="Compute-optimal split of a budget C = N S for L = E + A N^-a + B S^-b (Chinchilla form)",
        assumptions=("A, B, a, b > 0", "compute C = N S (any constant factor, e.g. 6 N D, rescales C)"),
        regime="exact for the stated loss form",
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "N_opt grows as C^(b/(a+b)) and S_opt as C^(a/(a+b)); with the skill model's exponents "
            "a = b = alpha - 1 (capacity and time laws of 'scaling') the budget splits as sqrt(C). "
            "Caveat: for the Resource model the additive form is itself asymptotic; a model holding N "
            "skills stops improving at its horizon S = N/eta, so where the optimum puts S past N/eta "
            "the additive form overstates the loss (not modelled here). Numeric check: scipy's bounded "
            "scalar minimisation of L(N, C/N) over log N."
        ),
    )
)
