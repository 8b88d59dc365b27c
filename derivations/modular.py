"""Result 8: the modular Geometry model's plateau, and where random (non-modular) tasks overtake it.

Modular task vectors (the paper's Fig 18): of n skills with p_k ∝ k^-alpha, the N most frequent
get t_k = e_k and the others t_k = 0. A zero task has s_k = t_k . x = 0 whatever x is, so it keeps
its initial loss l0 (log 2 under CE, 1 under MSE) forever, while each learnable one goes to 0:

    L_inf(N) = l0 sum_{k=N+1}^{n} p_k = l0 (zeta(alpha, N+1) - zeta(alpha, n+1)) / (zeta(alpha) - zeta(alpha, n+1))
             ~ l0 N^(1-alpha) / ((alpha - 1) zeta(alpha))          (n -> oo, N >> 1)

Random unit tasks in R^N can all be learned (x -> oo along a direction with t_k . x > 0 for every k)
exactly when the n directions lie in an open half-space. Wendel's theorem (1962; Cover's function
counting theorem) gives the probability of that for symmetric random directions:

    P(n, N) = 2^-(n-1) sum_{k=0}^{N-1} C(n-1, k)  ~  Phi((2N - n) / sqrt(n - 1))

1 for n <= N, 1/2 at n = 2N, and for large n a step from 0 to 1 across N = n/2 of width ~ sqrt(n)/2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import sympy as sp

import skillode as sk
from skillode.sweeps import halfspace_probability, modular_plateau

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register

_a = sp.Symbol("alpha", positive=True)
_beta = sp.Symbol("beta", positive=True)  # alpha = 1 + beta > 1
_k, _N = sp.symbols("k N", positive=True, integer=True)
# not "n": `skillode derive --at` matches names case-blind, and N (parameters) is taken
_n = sp.Symbol("n_tasks", positive=True, integer=True)
_l0 = sp.Symbol("l_0", positive=True)
_x = sp.Symbol("x", positive=True)

PLATEAU_N = 200  # skills of the exact-gradient plateau check
PLATEAU_GRID = ((1.0, 1.5, 2.0), (10, 50, 150))  # alphas x learnable counts N


class _Paper(NamedTuple):
    """The paper's optimizer and batches, on a grid small enough for a check."""

    n: int = 1000
    N: int = 100
    alphas: tuple[float, ...] = (1.0, 1.5)
    steps: int = 3000
    seeds: tuple[int, ...] = (0, 1)


class _Wendel(NamedTuple):
    n: int = 20
    Ns: tuple[int, ...] = (3, 6, 8, 10, 12, 14, 17)
    draws: int = 200
    seed: int = 12391


class _Link(NamedTuple):
    n: int = 20
    N: int = 12  # the tasks fit in a half-space with probability 0.82
    draws: int = 16
    steps: int = 4000
    lr: float = 0.05
    learned: float = 0.05  # "learned": total loss below this times log 2
    floor_tol: float = 0.02


PAPER = _Paper()
# relative: the learned skills' leftover loss (Adam's eps = 1e-8 slows them once |g| ~ eps); measured 9e-6
PAPER_TOL = 1e-4
LAW_ALPHAS = (1.5, 2.0, 3.0)
LAW_N = (100, 300, 1000, 3000, 10000)
WENDEL = _Wendel()
LINK = _Link()


def _plateau_expr() -> sp.Expr:
    return _l0 * (sp.zeta(_a, _N + 1) - sp.zeta(_a, _n + 1)) / (sp.zeta(_a) - sp.zeta(_a, _n + 1))


def _wendel(n: int, N: int) -> sp.Rational:
    """P(n, N) in exact rationals."""
    return sp.Rational(sum(math.comb(n - 1, k) for k in range(min(N, n))), 2 ** (n - 1))


def _wendel_beta() -> sp.Expr:
    """P(n, N) for n > N as I_{1/2}(n - N, N); (the sum form hangs sympy's doit at float n, N, as --at gives)."""
    return sp.betainc_regularized(_n - _N, _N, 0, sp.Rational(1, 2))


def _beta_int(a: int, b: int) -> sp.Rational:
    """B(a, b) = (a-1)! (b-1)! / (a+b-1)! for positive integers, exactly."""
    return sp.Rational(math.factorial(a - 1) * math.factorial(b - 1), math.factorial(a + b - 1))


def statements() -> tuple[Statement, ...]:
    P, L = sp.Symbol("P(n, N)"), sp.Symbol("L_inf(N)")
    z = sp.Symbol("z")
    return (
        Statement(
            "frequencies",
            sp.Eq(sp.Symbol("p_k"), _k ** (-_a) / sp.Sum(sp.Symbol("j") ** (-_a), (sp.Symbol("j"), 1, _n))),
        ),
        Statement("modular tasks: t_k = e_k for k <= N, t_k = 0 for k > N, so for k > N", sp.Eq(sp.Symbol("s_k"), 0)),
        Statement(
            "modular plateau (l0 = log 2 under CE, 1 under MSE)",
            sp.Eq(L, _l0 * sp.Sum(sp.Symbol("p_k"), (_k, _N + 1, _n))),
        ),
        Statement("... in Hurwitz zeta functions", sp.Eq(L, _plateau_expr())),
        Statement("... n -> oo, N >> 1", sp.Eq(L, _l0 * _N ** (1 - _a) / ((_a - 1) * sp.zeta(_a)))),
        Statement("... alpha = 1 (Zipf), large n and N", sp.Eq(L, _l0 * sp.log(_n / _N) / sp.log(_n))),
        Statement(
            "Wendel, n > N: P(n random directions of R^N lie in an open half-space) = 2^-(n-1) sum_{k<N} C(n-1, k), "
            "a Binomial(n-1, 1/2) CDF: the regularised incomplete beta function",
            sp.Eq(P, _wendel_beta()),
        ),
        Statement(
            "... large n (Binomial(n-1, 1/2) CDF, continuity-corrected)",
            sp.Eq(P, (1 + sp.erf(z / sp.sqrt(2))) / 2).subs(z, (2 * _N - _n) / sp.sqrt(_n - 1)),
        ),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = []
    tail = (sp.harmonic(_n, 1 + _beta) - sp.harmonic(_N, 1 + _beta)).rewrite(sp.zeta)
    checks.append(
        equal(
            "sum_{k=N+1}^n k^-alpha = H_n^(alpha) - H_N^(alpha) = zeta(alpha, N+1) - zeta(alpha, n+1) (alpha > 1)",
            tail,
            sp.zeta(1 + _beta, _N + 1) - sp.zeta(1 + _beta, _n + 1),
        )
    )
    direct = sp.Sum(_k ** (-_a), (_k, 4, 7)).doit()
    checks.append(equal("the same for N = 3, n = 7 term by term", direct, sp.harmonic(7, _a) - sp.harmonic(3, _a)))
    integral = sp.integrate(_x ** (-(1 + _beta)), (_x, _N, sp.oo)).subs(_beta, _a - 1)
    checks.append(
        equal(
            "integral_N^oo x^-alpha dx = N^(1-alpha)/(alpha-1): the tail's leading term",
            integral,
            _N ** (1 - _a) / (_a - 1),
        )
    )
    for al in (2, 3, 4):
        lim = sp.limit(_N ** (al - 1) * sp.expand_func(sp.zeta(al, _N + 1)), _N, sp.oo)
        checks.append(
            equal(f"alpha = {al}: N^(alpha-1) zeta(alpha, N+1) -> 1/(alpha-1) as N -> oo", lim, sp.Rational(1, al - 1))
        )
    checks.append(
        equal(
            "n -> oo: the plateau becomes l0 zeta(alpha, N+1)/zeta(alpha) (zeta(alpha, n+1) -> 0; alpha = 2)",
            sp.limit(_plateau_expr().subs(_a, 2), _n, sp.oo),
            _l0 * sp.zeta(2, _N + 1) / sp.zeta(2),
        )
    )
    t = sp.Symbol("t", positive=True)
    pairs = [(n, N) for n in range(2, 13) for N in range(1, n)]
    as_beta = all(
        sp.integrate(t ** (n - N - 1) * (1 - t) ** (N - 1), (t, 0, sp.Rational(1, 2))) / _beta_int(n - N, N)
        == _wendel(n, N)
        for n, N in pairs
    )
    checks.append(
        SymbolicCheck(
            f"2^-(n-1) sum_{{k<N}} C(n-1, k) = I_(1/2)(n - N, N) exactly for all {len(pairs)} pairs 1 <= N < n <= 12",
            as_beta,
        )
    )
    half = [_wendel(2 * N, N) for N in range(1, 13)]
    checks.append(SymbolicCheck("P(2N, N) = 1/2 exactly for N = 1..12", all(v == sp.Rational(1, 2) for v in half)))
    full = [_wendel(n, N) for N in range(1, 13) for n in range(1, N + 1)]
    checks.append(
        SymbolicCheck(
            "P(n, N) = 1 for every n <= N <= 12 (n tasks always fit in N dimensions)", all(v == 1 for v in full)
        )
    )
    # Cover's recursion for the count C(n, N) = 2^n P(n, N) of dichotomies: C(n+1, N) = C(n, N) + C(n, N-1)
    cover = all(
        2 ** (n + 1) * _wendel(n + 1, N) == 2**n * _wendel(n, N) + 2**n * _wendel(n, N - 1)
        for n in range(1, 15)
        for N in range(2, 15)
    )
    checks.append(
        SymbolicCheck("Cover's recursion C(n+1, N) = C(n, N) + C(n, N-1) for 1 <= n < 15, 2 <= N < 15", cover)
    )
    return tuple(checks)


def _plateau_checks() -> list[NumericCheck]:
    """The modular simulation against the closed-form plateau: exact gradient, and the paper's batches."""
    out = []
    errors = []
    for loss in ("ce", "mse"):
        for a in PLATEAU_GRID[0]:
            models = [
                sk.GeometryModel.modular(sk.zipf_frequencies(PLATEAU_N, a), N, loss=loss, lr=0.25)
                for N in PLATEAU_GRID[1]
            ]
            final = sk.simulate(models, 400, record=[0, 400]).total_loss()[:, -1]  # SignGD: s = 0.25 t, exact
            expect = np.array([float(modular_plateau(PLATEAU_N, N, a, loss)) for N in PLATEAU_GRID[1]])
            errors.append(np.max(np.abs(final / expect - 1)))
    out.append(
        NumericCheck(
            f"modular simulation, SignGD with the exact gradient (lr 0.25, 400 steps), n = {PLATEAU_N}, alpha in "
            f"{PLATEAU_GRID[0]}, N in {PLATEAU_GRID[1]}, CE and MSE: max |L_sim / L_inf - 1|",
            float(max(errors)),
            1e-12,
        )
    )
    n, N = PAPER.n, PAPER.N
    kw = dict(loss="ce", optimizer="adam", betas=(0.0, 0.0), eps=1e-8, lr=0.01, batch=1024)
    models = [sk.GeometryModel.modular(sk.zipf_frequencies(n, a), N, **kw) for a in PAPER.alphas]
    res = sk.simulate(models, PAPER.steps, seeds=list(PAPER.seeds), record=[0, PAPER.steps])
    final = res.total_loss()[:, -1].reshape(len(PAPER.alphas), -1)
    expect = np.array([float(modular_plateau(n, N, a)) for a in PAPER.alphas])[:, None]
    out.append(
        NumericCheck(
            f"the paper's setting (Adam betas (0, 0), eps 1e-8, lr 0.01, batch 1024, CE), n = {n}, N = {N}, "
            f"alpha in {PAPER.alphas}, {PAPER.steps} steps, seeds {PAPER.seeds}: max |L_sim / L_inf - 1|",
            float(np.max(np.abs(final / expect - 1))),
            PAPER_TOL,
            (
                ("L_inf", ", ".join(fmt(v) for v in expect[:, 0])),
                ("never below L_inf", str(bool(np.all(final >= expect)))),
            ),
        )
    )
    return out


def _law_checks() -> list[NumericCheck]:
    """The n -> oo plateau against its power law N^(1-alpha) (fitted exponent, and the prefactor)."""
    from scipy.special import zeta

    out = []
    Ns = np.array(LAW_N, dtype=np.float64)
    for a in LAW_ALPHAS:
        exact = math.log(2.0) * zeta(a, Ns + 1) / zeta(a)
        law = math.log(2.0) * Ns ** (1 - a) / ((a - 1) * zeta(a))
        slope = -np.polyfit(np.log(Ns), np.log(exact), 1)[0]
        out.append(
            NumericCheck(
                f"alpha = {a:g}, n -> oo: exponent of L_inf(N) fitted on N in {LAW_N}: |exponent / (alpha - 1) - 1|; "
                "tolerance 1 %",
                abs(slope / (a - 1) - 1),
                0.01,
                (("fitted", fmt(slope)),),
            )
        )
        out.append(
            NumericCheck(
                f"alpha = {a:g}: |L_inf / (l0 N^(1-alpha) / ((alpha-1) zeta(alpha))) - 1| at N = {LAW_N[-1]}; "
                "tolerance alpha/(2N) (Euler-Maclaurin)",
                abs(exact[-1] / law[-1] - 1),
                a / (2 * LAW_N[-1]),
            )
        )
    return out


def _in_halfspace(T: np.ndarray) -> bool:
    """Whether some x has T x > 0 row by row (an LP: T x >= 1 is feasible)."""
    from scipy.optimize import linprog

    n, N = T.shape
    lp = linprog(np.zeros(N), A_ub=-T, b_ub=-np.ones(n), bounds=[(None, None)] * N, method="highs")
    if lp.status not in (0, 2):
        raise RuntimeError(f"linprog failed: {lp.message}")
    return lp.status == 0


def _wendel_check() -> NumericCheck:
    """Monte Carlo: the fraction of random task sets in an open half-space (LP) against Wendel's P(n, N)."""
    from scipy.stats import chi2

    n, draws = WENDEL.n, WENDEL.draws
    rng = np.random.default_rng(WENDEL.seed)
    chi, rows = 0.0, []
    for N in WENDEL.Ns:
        freq = np.mean([_in_halfspace(rng.standard_normal((n, N))) for _ in range(draws)])
        P = float(halfspace_probability(n, N))
        chi += (freq - P) ** 2 / (P * (1 - P) / draws + 1 / draws**2)
        rows.append(f"N={N}: {freq:.3f} vs {P:.3f}")
    k = len(WENDEL.Ns)
    return NumericCheck(
        f"n = {n} Gaussian task vectors in R^N, N in {WENDEL.Ns}, {draws} draws each, LP feasibility of T x >= 1 "
        f"against Wendel's P(n, N): chi^2 = sum_N (fraction - P)^2 / (P(1-P)/draws + 1/draws^2); tolerance its "
        f"99.9 % quantile for {k} degrees of freedom",
        float(chi),
        float(chi2.ppf(0.999, k)),
        (("fraction vs P", "; ".join(rows)),),
    )


def _convex_minimum(T: np.ndarray, w: np.ndarray) -> float:
    """inf_x sum_k w_k log(1 + exp(-t_k . x)) by BFGS (0 up to ~1e-12 when the tasks fit in a half-space)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    def loss(x: np.ndarray) -> float:
        return float(w @ np.logaddexp(0.0, -(T @ x)))

    def grad(x: np.ndarray) -> np.ndarray:
        return -T.T @ (w * expit(-(T @ x)))

    opts = {"gtol": 1e-12, "maxiter": 10_000}
    return float(minimize(loss, np.zeros(T.shape[1]), jac=grad, method="BFGS", options=opts).fun)


def _link_check() -> list[NumericCheck]:
    """The LP against the loss's infimum, and the Geometry simulation against that infimum."""
    n, N = LINK.n, LINK.N
    p = sk.zipf_frequencies(n, 1.0)
    w = p / p.sum()
    wrong, gaps, stuck, feasible_count = 0, [], 0, 0
    for seed in range(LINK.draws):
        m = sk.GeometryModel(p, N, tasks="gaussian", task_seed=seed, loss="ce", lr=LINK.lr)
        T = m.task_vectors()
        feasible, floor = _in_halfspace(T), _convex_minimum(T, w)
        wrong += feasible != (floor < 1e-6)
        final = float(sk.simulate(m, LINK.steps, record=[0, LINK.steps]).total_loss()[0, -1])
        if feasible:
            feasible_count += 1
            stuck += final >= LINK.learned * math.log(2.0)
        else:
            gaps.append((final - floor) / floor)
    return [
        NumericCheck(
            f"n = {n} Gaussian tasks in R^{N}, {LINK.draws} draws: draws where LP feasibility disagrees with "
            "'inf_x of the CE loss < 1e-6' (BFGS): in a half-space the infimum is 0, else positive",
            float(wrong),
            0.0,
            (("infeasible draws", str(len(gaps))),),
        ),
        NumericCheck(
            f"the infeasible draws, simulated (SignGD lr {LINK.lr}, exact gradient, {LINK.steps} steps), end at "
            "that positive infimum: max |L_sim - L_min| / L_min (SignGD's fixed step stays a little above)",
            float(max(abs(g) for g in gaps)) if gaps else 0.0,
            LINK.floor_tol,
            (
                ("L_sim >= L_min on every infeasible draw", str(all(g >= -1e-9 for g in gaps))),
                (
                    f"feasible draws the simulation left above {LINK.learned} log 2",
                    f"{stuck} of {feasible_count} (a fixed SignGD step can lock into a cycle; a smaller lr goes on)",
                ),
            ),
        ),
    ]


def _threshold_check() -> NumericCheck:
    from scipy.stats import norm

    n = 1000
    Ns = np.arange(400, 601)
    exact = halfspace_probability(n, Ns)
    approx = norm.cdf((2 * Ns - n) / math.sqrt(n - 1))
    width = Ns[np.argmax(exact > 0.975)] - Ns[np.argmax(exact > 0.025)]
    return NumericCheck(
        f"n = {n}: max over N in [400, 600] of |P(n, N) - Phi((2N - n)/sqrt(n - 1))|",
        float(np.max(np.abs(exact - approx))),
        2e-3,
        (
            ("P at N = 500", fmt(float(halfspace_probability(n, 500)))),
            ("N range where P goes 0.025 -> 0.975", str(int(width))),
        ),
    )


def numeric() -> tuple[NumericCheck, ...]:
    return tuple(_plateau_checks() + _law_checks() + [_wendel_check(), _threshold_check()] + _link_check())


DERIVATION = register(
    Derivation(
        name="modular",
        title=(
            "Modular task vectors: the plateau l0 sum_{k>N} p_k ~ N^(1-alpha); random ones: Wendel's half-space law"
        ),
        assumptions=(
            "Geometry model, x(0) = 0, n skills with p_k ∝ k^-alpha, L = sum_k p_k l_k (p normalised)",
            "modular: t_k = e_k for the N most frequent skills, t_k = 0 for the others (GeometryModel.modular)",
            "non-modular: n independent symmetric random directions in R^N (Gaussian, normalised)",
            "the learnable skills are trained to convergence (the plateau is the long-time limit)",
        ),
        regime=(
            "the plateau is exact for every n and N; its power law needs n -> oo and N >> 1; Wendel's law is "
            "exact for directions in general position, its normal form for large n"
        ),
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "A zero task vector leaves s_k = 0 and adds nothing to the gradient, so whatever the optimizer, "
            "batch or noise, the modular model keeps l0 on every task beyond N and its loss can never fall "
            "below L_inf(N). At alpha = 1 the plateau decays only logarithmically; for alpha > 1 it is the "
            "capacity law of the scaling derivation times l0. Random tasks do better or worse depending on "
            "whether their n directions fit in an open half-space of R^N: if they do (probability P(n, N)), "
            "moving x along a common direction sends every t_k . x -> oo and every loss to 0; if not, "
            "the CE loss is bounded below by a positive convex minimum (checked: the simulation stops "
            "at it). P(n, N) is 1/2 at N = n/2 and, for n = 1000, goes from 0.025 to 0.975 within "
            "about 60 N: at long times the ratio non-modular / modular must fall below 1 (towards 0) "
            "once N passes n/2 = 500, while below n/2 random tasks keep a floor of their own. "
            "The finite-time crossing measured by `skillode sweep modular` sits above n/2 (the random "
            "model needs time to exploit its half-space: at 10,000 steps about N = 630 for alpha = 1, "
            "700 for alpha = 1.2; see docs/modular.md), and at large alpha both models are limited by how "
            "rarely the rare skills are sampled rather than by their capacity."
        ),
    )
)
