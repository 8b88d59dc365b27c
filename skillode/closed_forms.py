"""Closed forms of the skill-learning models, each stated once in sympy and evaluated with numpy.

The sympy expressions (upper-case names, and the symbols p, tau, t, eta, eps, N0, ...) are what
derivations/ proves and renders; the numpy functions (lower-case names) are what the solvers and
users call. A numpy function is either `sympy.lambdify` of its expression, built on its first call,
or plain numpy: the hot per-skill forms the exact solver calls (mse_loss, mse_tau_at_loss, the CE
logit) are written out by hand, and the CE logit through LambertW is rewritten with Wright's omega
so that it does not overflow; tests and derivations/ check every hand-written form against its
expression.

sympy is imported only when an expression is first asked for: the module attributes are built on
first access (PEP 562 module __getattr__), in small groups, and cached, so `import skillode` does
not load sympy.

Notation (the Resource model with C = I and no gates; see skillode.models.ResourceModel):

    dl_k/dt = -eta p_k l_k / (sum_j p_j l_j + N0)                       (MSE, l_k(0) = 1)
    dz_k/dt = +eta p_k sigmoid(-z_k) / (sum_j p_j sigmoid(-z_j) + N0)    (CE,  z_k(0) = 0)

The intrinsic time tau, dtau/dt = eta / (sum_j p_j g_j + N0), decouples the skills:
dx_k/dtau = -+p_k g(x_k). Every skill then has a closed form in tau, and

    eta t(tau) = sum_k progress_k(tau) + N0 tau,   progress_k = |x_k(tau) - x_k(0)|.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy.special import gamma as _gamma
from scipy.special import wrightomega
from scipy.special import zeta as _hurwitz_zeta

# =============================================================== lazily built sympy objects
# name -> the (cached) builder that makes it, together with the other names of its group
_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {}


def _provides(*names: str) -> Callable[[Callable[[], dict[str, Any]]], Callable[[], dict[str, Any]]]:
    """Register a builder of the module attributes `names` (it returns name -> object)."""

    def register(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        @functools.cache
        def cached() -> dict[str, Any]:
            built = build()
            if set(built) != set(names):
                raise RuntimeError(f"{build.__name__} built {sorted(built)}, declared {sorted(names)}")
            return built

        for name in names:
            _BUILDERS[name] = cached
        return cached

    return register


def __getattr__(name: str) -> Any:
    """The sympy symbols and expressions, built (sympy imported) on first access and then cached."""
    build = _BUILDERS.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    built = build()
    globals().update(built)  # later accesses are plain module attributes
    return built[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_BUILDERS))


def _ns(*names: str) -> SimpleNamespace:
    """The lazily built objects `names`, as attributes (for use inside the builders)."""
    return SimpleNamespace(**{name: __getattr__(name) for name in names})


_SYMBOLS = (
    "p",
    "tau",
    "t",
    "eta",
    "eps",
    "N0",
    "z",
    "r",
    "nu",
    "alpha",
    "amplitude",
    "n_params",
    "n_steps",
    "compute",
    "chin_E",
    "chin_A",
    "chin_B",
    "chin_a",
    "chin_b",
    "k_index",
    "geo_mean",
    "n_skills_sym",
)


@_provides(*_SYMBOLS)
def _symbols() -> dict[str, Any]:
    import sympy as sp

    p, tau, t, eta, eps = sp.symbols("p tau t eta epsilon", positive=True)
    chin_A, chin_B, chin_a, chin_b = sp.symbols("A_N B_S a b", positive=True)
    n_params, n_steps, compute = sp.symbols("N S C", positive=True)
    return {
        "p": p,
        "tau": tau,
        "t": t,
        "eta": eta,
        "eps": eps,
        "N0": sp.Symbol("N_0", nonnegative=True),
        "z": sp.Symbol("z", real=True),
        "r": sp.Symbol("r", positive=True),  # frequency ratio p1 / p2 (>= 1 by convention)
        "nu": sp.Symbol("nu", nonnegative=True),  # N0 / p1: wasted resource in units of skill 1's pull
        "alpha": sp.Symbol("alpha", positive=True),  # Zipf exponent, > 1
        "amplitude": sp.Symbol("A", positive=True),  # p_k = A k^-alpha
        "n_params": n_params,
        "n_steps": n_steps,
        "compute": compute,
        "chin_E": sp.Symbol("E", nonnegative=True),
        "chin_A": chin_A,
        "chin_B": chin_B,
        "chin_a": chin_a,
        "chin_b": chin_b,
        "k_index": sp.Symbol("k", positive=True, integer=True),  # the k-th skill (Domino limit)
        "geo_mean": sp.Symbol("G_p", positive=True),  # (prod_k p_k)^(1/n)
        "n_skills_sym": sp.Symbol("n", positive=True, integer=True),
    }


# -------------------------------------------------------- per-skill solution along tau
@_provides("MSE_LOSS", "MSE_PROGRESS", "CE_LOGIT_IMPLICIT", "CE_LOGIT", "CE_LOSS_OF_LOGIT", "CE_TAU_AT_LOGIT")
def _per_skill() -> dict[str, Any]:
    import sympy as sp

    s = _ns("p", "tau", "z")
    ce_logit_implicit = sp.Eq(s.z + sp.exp(s.z), s.p * s.tau + 1)
    mse_loss = sp.exp(-s.p * s.tau)
    return {
        #: MSE loss of a skill of frequency p at intrinsic time tau.
        "MSE_LOSS": mse_loss,
        #: Its share of eta t: the loss it has shed, 1 - l.
        "MSE_PROGRESS": 1 - mse_loss,
        #: CE logit, implicitly: z + e^z = p tau + 1.
        "CE_LOGIT_IMPLICIT": ce_logit_implicit,
        #: CE logit, explicitly, through the Lambert W function (z = log omega(p tau + 1), omega Wright's).
        "CE_LOGIT": sp.log(sp.LambertW(sp.exp(s.p * s.tau + 1))),
        #: CE loss from the logit.
        "CE_LOSS_OF_LOGIT": sp.log(1 + sp.exp(-s.z)),
        #: tau at which a CE skill reaches logit z (the implicit equation solved for tau).
        "CE_TAU_AT_LOGIT": sp.solve(ce_logit_implicit, s.tau)[0],
    }


# -------------------------------------------------------------------- learning times
@_provides("MSE_TAU_AT_LOSS")
def _mse_tau_at_loss() -> dict[str, Any]:
    import sympy as sp

    s = _ns("p", "eps")
    #: tau at which an MSE skill of frequency p reaches loss eps.
    return {"MSE_TAU_AT_LOSS": sp.log(1 / s.eps) / s.p}


@_provides("TWO_SKILL_RATIO")
def _two_skill_ratio() -> dict[str, Any]:
    """t2/t1 from t_i = (sum_k progress_k(tau_i) + N0 tau_i)/eta with p1 = r p2, N0 = nu p1.

    TWO_SKILL_RATIO: t2/t1 for two skills, p1 = r p2 (r >= 1), N0 = nu p1; eta and the scale of p cancel.
    """
    import sympy as sp

    s = _ns("p", "tau", "eta", "eps", "N0", "r", "nu", "MSE_TAU_AT_LOSS", "MSE_PROGRESS")
    p1, p2 = sp.symbols("p_1 p_2", positive=True)

    def time_to_eps(p_i: Any) -> Any:
        tau_i = s.MSE_TAU_AT_LOSS.subs(s.p, p_i)
        shed = sum(s.MSE_PROGRESS.subs({s.p: p_k, s.tau: tau_i}) for p_k in (p1, p2))
        return (shed + s.N0 * tau_i) / s.eta

    ratio = (time_to_eps(p2) / time_to_eps(p1)).subs(s.N0, s.nu * p1).subs(p1, s.r * p2)
    ratio = sp.powsimp(sp.expand_log(ratio, force=True), force=True)
    num, den = sp.fraction(sp.together(sp.expand(ratio)))
    # expand_log leaves eps^r as exp(r log eps); write powers of eps back as powers
    as_power = {e: s.eps ** sp.simplify(e.args[0] / sp.log(s.eps)) for e in (num + den).atoms(sp.exp)}
    return {"TWO_SKILL_RATIO": num.subs(as_power) / den.subs(as_power)}


@_provides("DOMINO_LEARNING_TIME", "PARALLEL_LOSS")
def _limits() -> dict[str, Any]:
    import sympy as sp

    s = _ns("k_index", "eps", "eta", "p", "t", "N0")
    return {
        #: Domino limit of skill k's learning time to loss eps (N0 = 0, p_{j+1}/p_j -> 0).
        "DOMINO_LEARNING_TIME": (s.k_index - s.eps) / s.eta,
        #: Parallel limit (N0 -> oo at fixed eta t / N0) of the MSE loss.
        "PARALLEL_LOSS": sp.exp(-s.eta * s.p * s.t / s.N0),
    }


# ------------------------------------------------------------------------------ scaling
@_provides("ZIPF_PROGRESS", "ZIPF_LOSS_OF_TAU", "SCALING_PREFACTOR", "ZIPF_LOSS_OF_TIME", "CAPACITY_LOSS")
def _scaling() -> dict[str, Any]:
    import sympy as sp

    s = _ns("alpha", "amplitude", "tau", "t", "eta", "n_params")
    a, A = s.alpha, s.amplitude
    return {
        #: Continuum sum_k (1 - exp(-p_k tau)) for p_k = A k^-alpha: eta t (N0 = 0, infinitely many skills).
        "ZIPF_PROGRESS": sp.gamma(1 - 1 / a) * (A * s.tau) ** (1 / a),
        #: Continuum sum_k p_k exp(-p_k tau): the frequency-weighted loss L (= eta dt/dtau).
        "ZIPF_LOSS_OF_TAU": sp.gamma(1 - 1 / a) * A ** (1 / a) * s.tau ** (1 / a - 1) / a,
        #: Prefactor of L(t) ~ SCALING_PREFACTOR * t^-(alpha-1) (valid for 1 << eta t << n, alpha > 1).
        "SCALING_PREFACTOR": A / a * sp.gamma(1 - 1 / a) ** a * s.eta ** (1 - a),
        #: L(t) at leading order, with the Euler-Maclaurin shift: sum_{k>=1} = integral_0^oo - 1/2.
        "ZIPF_LOSS_OF_TIME": A / a * sp.gamma(1 - 1 / a) ** a * (s.eta * s.t + sp.Rational(1, 2)) ** (1 - a),
        #: Loss of a model that has learned the N most frequent skills (capacity limit), asymptotically.
        "CAPACITY_LOSS": A * s.n_params ** (1 - a) / (a - 1),
    }


# ------------------------------------------------------------------- compute optimum
@_provides("CHINCHILLA_LOSS", "CHINCHILLA_N_OPT", "CHINCHILLA_S_OPT", "CHINCHILLA_L_OPT")
def _chinchilla() -> dict[str, Any]:
    s = _ns("chin_E", "chin_A", "chin_B", "chin_a", "chin_b", "n_params", "n_steps", "compute")
    E, A, B, a, b = s.chin_E, s.chin_A, s.chin_B, s.chin_a, s.chin_b
    G = (a * A / (b * B)) ** (1 / (a + b))
    n_opt = G * s.compute ** (b / (a + b))
    return {
        #: The Chinchilla loss with a compute budget C = N S spent on N parameters and S steps.
        "CHINCHILLA_LOSS": E + A * s.n_params ** (-a) + B * s.n_steps ** (-b),
        #: Compute-optimal N, S and L for the budget C = N S.
        "CHINCHILLA_N_OPT": n_opt,
        "CHINCHILLA_S_OPT": s.compute ** (a / (a + b)) / G,
        "CHINCHILLA_L_OPT": E + (a + b) / b * A * n_opt ** (-a),
    }


# ------------------------------------------------------------------------ CE limits
@_provides("CE_SMALL_N0_LOSS", "CE_LARGE_N0_LOGIT", "CE_LARGE_N0_TAIL")
def _ce_limits() -> dict[str, Any]:
    import sympy as sp

    s = _ns("geo_mean", "p", "eta", "t", "n_skills_sym", "tau", "N0", "CE_LOGIT")
    return {
        #: CE with N0 = 0, late times (p_k tau >> 1): every loss decays at the common rate eta / n.
        "CE_SMALL_N0_LOSS": s.geo_mean / s.p * sp.exp(-s.eta * s.t / s.n_skills_sym),
        #: CE with N0 -> oo at fixed eta t / N0: independent logistic learning, z = log omega(1 + eta p t / N0).
        "CE_LARGE_N0_LOGIT": s.CE_LOGIT.subs(s.tau, s.eta * s.t / s.N0),
        #: Its late-time tail: l ~ N0 / (eta p t), a power law.
        "CE_LARGE_N0_TAIL": s.N0 / (s.eta * s.p * s.t),
    }


# ================================================== numpy forms lambdified on first call
# key -> (argument symbols, expression name(s), lambdify modules)
_SCIPY = "scipy-gamma"
_LAMBDIFIED: dict[str, tuple[tuple[str, ...], str | tuple[str, ...], str]] = {
    "two_skill_time_ratio": (("r", "eps", "nu"), "TWO_SKILL_RATIO", "numpy"),
    "domino_learning_time": (("k_index", "eps", "eta"), "DOMINO_LEARNING_TIME", "numpy"),
    "parallel_loss": (("p", "t", "eta", "N0"), "PARALLEL_LOSS", "numpy"),
    "capacity_loss": (("n_params", "alpha", "amplitude"), "CAPACITY_LOSS", "numpy"),
    "scaling_prefactor": (("alpha", "amplitude", "eta"), "SCALING_PREFACTOR", _SCIPY),
    "zipf_loss_of_time": (("t", "alpha", "amplitude", "eta"), "ZIPF_LOSS_OF_TIME", _SCIPY),
    "zipf_progress": (("tau", "alpha", "amplitude"), "ZIPF_PROGRESS", _SCIPY),
    "zipf_loss_of_tau": (("tau", "alpha", "amplitude"), "ZIPF_LOSS_OF_TAU", _SCIPY),
    "chinchilla": (
        ("compute", "chin_E", "chin_A", "chin_B", "chin_a", "chin_b"),
        ("CHINCHILLA_N_OPT", "CHINCHILLA_S_OPT", "CHINCHILLA_L_OPT"),
        "numpy",
    ),
    "ce_small_n0_loss": (("p", "t", "eta", "geo_mean", "n_skills_sym"), "CE_SMALL_N0_LOSS", "numpy"),
}


@functools.cache
def _lambdified(key: str) -> Callable[..., Any]:
    """sympy.lambdify of the expression registered under `key` (sympy is imported here, once)."""
    import sympy as sp

    arg_names, expr_names, modules = _LAMBDIFIED[key]
    args = tuple(__getattr__(name) for name in arg_names)
    if isinstance(expr_names, tuple):
        expr = tuple(__getattr__(name) for name in expr_names)
    else:
        expr = __getattr__(expr_names)
    return sp.lambdify(args, expr, [{"gamma": _gamma}, "numpy"] if modules == _SCIPY else modules)


# ================================================================= numpy: per-skill forms
def mse_loss(p: np.ndarray | float, tau: np.ndarray | float) -> np.ndarray:
    """l(tau) = exp(-p tau), broadcasting p and tau (MSE_LOSS)."""
    return np.exp(-p * tau)


def ce_logit(p_tau: np.ndarray | float) -> np.ndarray:
    """CE logit z solving z + e^z = p tau + 1, as a function of the product p*tau (any shape).

    Equal to CE_LOGIT = log W(exp(p tau + 1)); written with Wright's omega, omega(x) = W(e^x),
    so that large p tau does not overflow exp.
    """
    return np.log(wrightomega(np.asarray(p_tau, dtype=np.float64) + 1.0))


def _ce_tau_at_logit(p: np.ndarray | float, z: float) -> np.ndarray:
    """(z + e^z - 1) / p: CE_TAU_AT_LOGIT."""
    return (z + np.exp(z) - 1) / p


def ce_logit_and_pull(p_tau: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(z, sigmoid(-z)) for z + e^z = p tau + 1, from one evaluation of w = omega(p tau + 1) = e^z.

    z = log w and sigmoid(-z) = 1 / (1 + w): the logit and the skill's pull on the resource.
    """
    w = wrightomega(np.asarray(p_tau, dtype=np.float64) + 1.0)
    return np.log(w), 1.0 / (1.0 + w)


def ce_tau_at_loss(p: np.ndarray | float, loss: float) -> np.ndarray:
    """tau at which a CE skill of frequency p reaches `loss` (0 < loss < log 2): (z + e^z - 1)/p."""
    if not 0.0 < loss < math.log(2.0):
        raise ValueError(f"loss must lie in (0, log 2) for a CE skill starting at logit 0, got {loss}")
    z_at = -math.log(math.expm1(loss))  # inverse of log(1 + e^-z), via expm1 for small losses
    return _ce_tau_at_logit(np.asarray(p, dtype=np.float64), z_at)


# ----------------------------------------------------------------- numpy: learning times
def mse_tau_at_loss(p: np.ndarray | float, eps: np.ndarray | float) -> np.ndarray:
    """log(1/eps) / p: the intrinsic time at which an MSE skill reaches loss eps (MSE_TAU_AT_LOSS)."""
    return -np.log(eps) / p  # not log(1/eps): 1/eps overflows for a subnormal eps


def mse_time_of_tau(p: np.ndarray, tau: np.ndarray, eta: float, N0: float) -> np.ndarray:
    """t(tau) = (sum_k (1 - exp(-p_k tau)) + N0 tau) / eta.

    Args:
        p: shape (n,), frequencies.
        tau: any shape; the result has its shape.
    """
    tau_arr = np.asarray(tau, dtype=np.float64)
    shed = 1.0 - mse_loss(np.asarray(p, dtype=np.float64), tau_arr[..., None])
    return (shed.sum(axis=-1) + N0 * tau_arr) / eta


def mse_learning_times(p: np.ndarray, eps: float, eta: float, N0: float = 0.0) -> np.ndarray:
    """Time each skill's MSE loss reaches eps, shape (n,):

    t_i = (sum_k (1 - eps^(p_k / p_i)) + N0 ln(1/eps) / p_i) / eta.
    """
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must lie in (0, 1) for MSE skills starting at loss 1, got {eps}")
    p_arr = np.asarray(p, dtype=np.float64)
    tau_i = mse_tau_at_loss(p_arr, eps)
    return mse_time_of_tau(p_arr, tau_i, eta, N0)


def two_skill_time_ratio(r: np.ndarray | float, eps: np.ndarray | float, nu: np.ndarray | float) -> np.ndarray:
    """t2/t1 for two skills with p1 = r p2, loss threshold eps and nu = N0 / p1 (numpy broadcasting):

    (2 - eps - eps^r + r nu ln(1/eps)) / (2 - eps - eps^(1/r) + nu ln(1/eps))   (TWO_SKILL_RATIO).
    """
    return _lambdified("two_skill_time_ratio")(r, eps, nu)


def domino_learning_time(k: np.ndarray | int, eps: float, eta: float) -> np.ndarray:
    """(k - eps) / eta: the Domino-limit time for the k-th skill (k = 1, 2, ...) to reach eps."""
    return _lambdified("domino_learning_time")(k, eps, eta)


def parallel_loss(p: np.ndarray | float, t: np.ndarray | float, eta: float, N0: float) -> np.ndarray:
    """exp(-eta p t / N0), broadcasting: the Parallel-limit MSE loss (PARALLEL_LOSS)."""
    return _lambdified("parallel_loss")(p, t, eta, N0)


# ------------------------------------------------------------------------ numpy: scaling
def zipf_frequencies(n: int, alpha: float) -> tuple[np.ndarray, float]:
    """p_k = A k^-alpha for k = 1..n normalised to sum 1; returns (p, A) (A = p_1)."""
    from .models._frequencies import zipf_frequencies as normalised_power_law

    p_values = normalised_power_law(n, alpha)
    return p_values, float(p_values[0])


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not (math.isfinite(a) and a > 1.0):
        raise ValueError(f"alpha must exceed 1 (a normalisable power law), got {alpha}")
    return a


def scaling_prefactor(alpha: float, amplitude: float, eta: float = 1.0) -> float:
    """(A / alpha) Gamma(1 - 1/alpha)^alpha eta^-(alpha-1): L(t) ~ this * t^-(alpha-1)."""
    a = _check_alpha(alpha)
    return float(_lambdified("scaling_prefactor")(a, float(amplitude), float(eta)))


def zipf_loss_of_time(t: np.ndarray, alpha: float, amplitude: float, eta: float = 1.0) -> np.ndarray:
    """Leading-order L(t) = (A/alpha) Gamma(1 - 1/alpha)^alpha (eta t + 1/2)^-(alpha-1), for 1 << eta t << n."""
    t_arr = np.asarray(t, dtype=np.float64)
    a = _check_alpha(alpha)
    return _lambdified("zipf_loss_of_time")(t_arr, a, float(amplitude), float(eta))


def capacity_loss_exact(n_learned: np.ndarray | int, alpha: float, amplitude: float) -> np.ndarray:
    """sum_{k > N} A k^-alpha = A zeta(alpha, N + 1) (Hurwitz zeta), for an infinite Zipf tail."""
    return amplitude * _hurwitz_zeta(float(alpha), np.asarray(n_learned, dtype=np.float64) + 1.0)


def capacity_loss(n_learned: np.ndarray | float, alpha: float, amplitude: float) -> np.ndarray:
    """A N^(1-alpha) / (alpha - 1): the capacity-limited loss for large N (CAPACITY_LOSS)."""
    return _lambdified("capacity_loss")(n_learned, alpha, amplitude)


def zipf_loss_of_time_finite(t: np.ndarray, alpha: float, amplitude: float, n: int, eta: float = 1.0) -> np.ndarray:
    """L(t) for n Zipf skills p_k = A k^-alpha (N0 = 0), with the finite-n correction.

    The skills k > n that the continuum counts are missing: to first order in A tau x^-alpha they
    would add tau * T to eta t and T to L, where T = A (n + 1/2)^(1-alpha) / (alpha - 1). So

        eta t = Gamma(1 - 1/alpha) (A tau)^(1/alpha) - 1/2 - tau T,   L = L_oo(tau) - T,

    solved for tau at each t (valid for 1 << eta t and A tau n^-alpha << 1). Shape of t.
    """
    from scipy.optimize import brentq

    a, amp = _check_alpha(alpha), float(amplitude)
    zipf_progress = _lambdified("zipf_progress")
    tail = float(capacity_loss(n + 0.5, a, amp))
    t_arr = np.asarray(t, dtype=np.float64)
    taus = np.empty(t_arr.size)
    for i, target in enumerate(eta * t_arr.reshape(-1)):

        def excess(x: float) -> float:
            # called only within this iteration, so target is the current one
            return float(zipf_progress(x, a, amp)) - 0.5 - x * tail - target  # noqa: B023

        hi = 1.0
        while excess(hi) < 0:
            # excess is concave in tau: once it falls as tau grows, no larger tau reaches the target
            if excess(2.0 * hi) <= excess(hi):
                raise ValueError(
                    f"t: eta t = {target:.6g} lies beyond the range of the finite-n correction "
                    f"for n = {n} skills (it needs A tau n^-alpha << 1, i.e. eta t well below n)"
                )
            hi *= 2.0
        taus[i] = brentq(excess, 0.0, hi, xtol=1e-14 * hi, rtol=1e-14)
    return (_lambdified("zipf_loss_of_tau")(taus, a, amp) - tail).reshape(t_arr.shape)


# ---------------------------------------------------------------- numpy: compute optimum
def chinchilla_optimum(budget: float, E: float, A: float, B: float, a: float, b: float) -> tuple[float, float, float]:
    """(N_opt, S_opt, L_opt) minimising L = E + A N^-a + B S^-b subject to N S = budget:

    N_opt = G budget^(b/(a+b)),  S_opt = budget^(a/(a+b)) / G,  G = (a A / (b B))^(1/(a+b)),
    L_opt = E + (a+b)/b * A * N_opt^-a.
    """
    for name, value in (("budget", budget), ("A", A), ("B", B), ("a", a), ("b", b)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    if not (math.isfinite(E) and E >= 0):
        raise ValueError(f"E must be non-negative and finite, got {E}")
    n_opt, s_opt, l_opt = _lambdified("chinchilla")(budget, E, A, B, a, b)
    return float(n_opt), float(s_opt), float(l_opt)


# ---------------------------------------------------------------------- numpy: CE limits
def ce_small_n0_loss(p: np.ndarray, t: np.ndarray, eta: float) -> np.ndarray:
    """(G / p_k) exp(-eta t / n), G the geometric mean of p; shape (n_t, n). Asymptotic in t."""
    p_arr = np.asarray(p, dtype=np.float64)
    geo = math.exp(float(np.mean(np.log(p_arr))))
    t_arr = np.asarray(t, dtype=np.float64)
    return _lambdified("ce_small_n0_loss")(p_arr, t_arr[..., None], eta, geo, p_arr.size)


def ce_large_n0_loss(p: np.ndarray, t: np.ndarray, eta: float, N0: float) -> np.ndarray:
    """log(1 + exp(-z)), z = log omega(1 + eta p t / N0); shape (n_t, n). The N0 -> oo limit."""
    p_arr = np.asarray(p, dtype=np.float64)
    t_arr = np.asarray(t, dtype=np.float64)
    logit = ce_logit(np.multiply.outer(eta * t_arr / N0, p_arr))
    return np.logaddexp(0.0, -logit)
