"""Result 2: the time for skill i to reach loss eps, and the two-skill ratio t2/t1.

The ratio depends on r = p1/p2, eps and nu = N0/p1 only. eta drops out (it sets the unit of
time) and N0 enters only relative to the frequencies (p -> c p, N0 -> c N0 leaves the dynamics
unchanged), so N0 * eta is not a parameter of the ratio; nu ln(1/eps) measures how much of the
resource is wasted while skill 1 is learned, relative to the total it sheds.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk
from skillode import closed_forms as cf

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register

_k, _i, _n = sp.symbols("k i n", positive=True, integer=True)
_P = sp.IndexedBase("p", positive=True)
_p1, _p2, _c = sp.symbols("p_1 p_2 c", positive=True)
_lam = sp.Symbol("lambda", positive=True)  # ln(1/eps), so that eps^r = exp(-lambda r) has known limits

R_GRID = (1.5, 3.0, 30.0)  # not r = 1: there both sides are 1 by symmetry
EPS_GRID = (0.1, 0.01)
NU_GRID = (0.0, 1.0, 10.0)


def _slope_at_equal_frequencies() -> sp.Expr:
    """d(t2/t1)/dr at r = 1, stated by hand: ln(1/eps) (2 eps + nu) / (2 (1 - eps) + nu ln(1/eps)).

    At r = 1 numerator and denominator of the ratio are both D = 2 - 2 eps + nu ln(1/eps), so the
    slope is (N' - D')/D with N' = (eps^r + nu) ln(1/eps) and D' = -eps^(1/r) ln(1/eps) / r^2.
    """
    lam = sp.log(1 / cf.eps)
    return lam * (2 * cf.eps + cf.nu) / (2 * (1 - cf.eps) + cf.nu * lam)


def _time_to_eps(p_i: sp.Expr, ps: tuple[sp.Expr, ...]) -> sp.Expr:
    tau_i = cf.MSE_TAU_AT_LOSS.subs(cf.p, p_i)
    return (sum(cf.MSE_PROGRESS.subs({cf.p: pk, cf.tau: tau_i}) for pk in ps) + cf.N0 * tau_i) / cf.eta


def statements() -> tuple[Statement, ...]:
    tau_i = cf.MSE_TAU_AT_LOSS.subs(cf.p, _P[_i])
    general = (sp.Sum(1 - cf.eps ** (_P[_k] / _P[_i]), (_k, 1, _n)) + cf.N0 * tau_i) / cf.eta
    ratio = cf.TWO_SKILL_RATIO
    return (
        Statement("intrinsic time at which skill i reaches loss eps", sp.Eq(sp.Symbol("tau_i"), tau_i)),
        Statement("learning time of skill i (MSE, C = I)", sp.Eq(sp.Symbol("t_i"), general)),
        Statement("two skills, r = p1/p2 >= 1, nu = N0/p1: t2/t1", sp.Eq(sp.Symbol("t_2") / sp.Symbol("t_1"), ratio)),
        Statement(
            "Domino: r -> oo at N0 = 0 (then eps -> 0 gives 2)",
            sp.Eq(sp.Limit(ratio.subs(cf.nu, 0), cf.r, sp.oo), (2 - cf.eps) / (1 - cf.eps)),
        ),
        Statement("equal frequencies: r -> 1", sp.Eq(sp.Limit(ratio, cf.r, 1), 1)),
        Statement(
            "near equal frequencies: slope in r at r = 1 (t2/t1 = 1 + slope (r - 1) + O((r - 1)^2))",
            sp.Eq(
                sp.Subs(sp.Derivative(sp.Symbol("t_2") / sp.Symbol("t_1"), cf.r), cf.r, 1),
                _slope_at_equal_frequencies(),
            ),
        ),
        Statement("parallel learning: nu -> oo", sp.Eq(sp.Limit(ratio, cf.nu, sp.oo), cf.r)),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = [equal("the skill's loss at tau_i is eps", cf.MSE_LOSS.subs(cf.tau, cf.MSE_TAU_AT_LOSS), cf.eps)]
    general = _time_to_eps(_p2, (_p1, _p2)) / _time_to_eps(_p1, (_p1, _p2))
    checks.append(
        equal(
            "t2/t1 from t_i, with p1 = r p2 and N0 = nu p1, is the stated ratio",
            general.subs(cf.N0, cf.nu * _p1).subs(_p1, cf.r * _p2),
            cf.TWO_SKILL_RATIO,
        )
    )
    checks.append(equal("eta cancels: d(t2/t1)/d eta = 0", sp.diff(general, cf.eta), 0))
    checks.append(
        equal(
            "scale invariance: (p, N0) -> c (p, N0) leaves t2/t1 unchanged",
            general.subs({_p1: _c * _p1, _p2: _c * _p2, cf.N0: _c * cf.N0}, simultaneous=True),
            general,
        )
    )
    in_lambda = cf.TWO_SKILL_RATIO.subs(cf.eps, sp.exp(-_lam))
    domino = sp.limit(in_lambda.subs(cf.nu, 0), cf.r, sp.oo)
    checks.append(
        equal(
            "lim_{r -> oo} t2/t1 at nu = 0 is (2 - eps)/(1 - eps)",
            domino.subs(_lam, -sp.log(cf.eps)),
            (2 - cf.eps) / (1 - cf.eps),
        )
    )
    checks.append(equal("... and that tends to 2 as eps -> 0", sp.limit(domino, _lam, sp.oo), 2))
    checks.append(equal("lim_{r -> 1} t2/t1 = 1 (any eps, nu)", sp.limit(in_lambda, cf.r, 1), 1))
    checks.append(
        equal(
            "d(t2/t1)/dr at r = 1 is ln(1/eps) (2 eps + nu) / (2 (1 - eps) + nu ln(1/eps))",
            sp.diff(cf.TWO_SKILL_RATIO, cf.r).subs(cf.r, 1),
            _slope_at_equal_frequencies(),
        )
    )
    checks.append(equal("lim_{nu -> oo} t2/t1 = r", sp.limit(in_lambda, cf.nu, sp.oo), cf.r))
    return tuple(checks)


def _ode_ratio(r: float, eps: float, nu: float, eta: float = 1.0) -> float:
    p = np.array([r, 1.0]) / (1.0 + r)
    model = sk.ResourceModel(p, eta, N0=nu * p[0])
    t_end = 1.2 * float(np.max(cf.mse_learning_times(p, eps, eta, nu * p[0])))
    sol = sk.solve(model, [0.0, t_end], method="ode", ode_method="DOP853", rtol=1e-12, atol=1e-15)
    t1, t2 = sol.learning_times(eps)
    return float(t2 / t1)


def numeric() -> tuple[NumericCheck, ...]:
    worst, where = 0.0, ""
    for r in R_GRID:
        for eps in EPS_GRID:
            for nu in NU_GRID:
                err = abs(_ode_ratio(r, eps, nu) / float(cf.two_skill_time_ratio(r, eps, nu)) - 1.0)
                if err >= worst:
                    worst, where = err, f"r={r:g}, eps={eps:g}, nu={nu:g}"
    out = [
        NumericCheck(
            f"max relative error of t2/t1 against the ODE solver's crossings over r in {R_GRID}, "
            f"eps in {EPS_GRID}, nu in {NU_GRID}",
            worst,
            1e-7,
            (("worst at", where),),
        )
    ]
    ratios = [_ode_ratio(10.0, 0.05, 2.0, eta) for eta in (0.5, 5.0)]
    out.append(
        NumericCheck(
            "eta drops out: |t2/t1(eta = 5) / t2/t1(eta = 0.5) - 1| at r = 10, eps = 0.05, nu = 2 "
            "(N0 eta differs tenfold)",
            abs(ratios[1] / ratios[0] - 1.0),
            1e-8,
            (("t2/t1", fmt(ratios[0])),),
        )
    )
    eps = 0.01
    lam = np.log(1 / eps)
    r_big = 1e4
    domino_times = sk.DominoModel([r_big, 1.0], 1.0).learning_times(eps)
    domino = float(domino_times[1] / domino_times[0])
    resource = _ode_ratio(r_big, eps, 0.0)
    # first-order correction: the denominator gains 1 - eps^(1/r) ~ lambda / r
    out.append(
        NumericCheck(
            f"Domino limit: |t2/t1(ODE, r = 1e4, N0 = 0) / t2/t1(DominoModel) - 1|, eps = {eps}; "
            "tolerance 2 ln(1/eps) / (r (1 - eps))",
            abs(resource / domino - 1.0),
            2 * lam / (r_big * (1 - eps)),
            (("Domino t2/t1", fmt(domino)), ("Resource t2/t1", fmt(resource))),
        )
    )
    nu_big, r = 1e5, 5.0
    parallel_times = sk.ParallelModel([r, 1.0], 1.0, nu_big * r).learning_times(eps)
    parallel = float(parallel_times[1] / parallel_times[0])
    resource = _ode_ratio(r, eps, nu_big)
    out.append(
        NumericCheck(
            f"parallel limit: |t2/t1(ODE, nu = 1e5) / t2/t1(ParallelModel) - 1| at r = 5, "
            f"eps = {eps}; tolerance 2 / (nu ln(1/eps))",
            abs(resource / parallel - 1.0),
            2 / (nu_big * lam),
            (("Parallel t2/t1", fmt(parallel)),),
        )
    )
    # Near r = 1. At r = 1 exactly the two skills obey the same ODE, so t2/t1 = 1 holds for any
    # solver by symmetry and checks nothing. Just above it, the ODE solver's (t2/t1 - 1)/delta
    # must match the sympy slope; the tolerance is twice the second-order term, c2 delta / c1,
    # with c2 = (1/2) d^2(t2/t1)/dr^2 at r = 1, also from sympy (the solver's own error,
    # ~1e-12 / delta, is far below it).
    eps, nu, delta = 0.1, 3.0, 1e-3
    c1 = float(_slope_at_equal_frequencies().subs({cf.eps: eps, cf.nu: nu}))
    c2 = float((sp.diff(cf.TWO_SKILL_RATIO, cf.r, 2) / 2).subs({cf.r: 1, cf.eps: eps, cf.nu: nu}))
    near = _ode_ratio(1.0 + delta, eps, nu)
    slope = (near - 1.0) / delta
    out.append(
        NumericCheck(
            f"near equal frequencies: |((t2/t1)(ODE, r = 1 + {delta:g}) - 1) / {delta:g} / slope - 1| "
            f"at eps = {eps:g}, nu = {nu:g}, slope = d(t2/t1)/dr at r = 1 from sympy; tolerance "
            "2 |c2| delta / slope (c2: the second-order coefficient)",
            abs(slope / c1 - 1.0),
            2 * abs(c2) * delta / c1,
            (("slope (sympy)", fmt(c1)), ("(t2/t1 - 1)/delta (ODE)", fmt(slope)), ("c2 (sympy)", fmt(c2))),
        )
    )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="learning_time",
        title="Learning time to loss eps, and the two-skill ratio t2/t1(r, eps, nu = N0/p1)",
        assumptions=(
            "MSE, C = identity, no gates",
            "0 < eps < 1",
            "two-skill ratio: p1 = r p2 with r >= 1, nu = N0/p1",
        ),
        regime="exact; the three limits are limits of the exact ratio",
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "Dimensionless combination: the ratio depends on r, eps and nu = N0/p1 only. eta cancels (it "
            "only sets the unit of time) and the model is unchanged by p -> c p, N0 -> c N0, so N0 "
            "enters relative to the frequencies, not as N0 eta. Which limit applies is set by "
            "nu ln(1/eps) against 1 (skill 1's pull) and by r nu ln(1/eps) against 1: the Domino value "
            "(2 - eps)/(1 - eps) needs r nu ln(1/eps) << 1, parallel learning (ratio r) needs "
            "nu ln(1/eps) >> 1. The 2 of the Domino limit ('2x, not 10x') is the eps -> 0 value. "
            "Numeric checks: threshold crossings of scipy's DOP853 solution (rtol 1e-12) against the "
            "formula on a grid, and the limits against DominoModel and ParallelModel with tolerances "
            "set by the first-order corrections."
        ),
    )
)
