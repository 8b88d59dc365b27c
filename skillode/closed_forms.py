"""Closed forms of the skill-learning models, each written once in sympy and lambdified for numpy.

The sympy expressions (upper-case names) are what derivations/ proves and renders; the numpy
functions (lower-case names) are what the solvers and users call. A numpy function is either
`sympy.lambdify` of its expression or, where the lambdified form would overflow (the CE logit
through LambertW), a numerically stable rewrite that derivations/ checks against the expression.

Notation (the Resource model with C = I and no gates; see skillode.models.ResourceModel):

    dl_k/dt = -eta p_k l_k / (sum_j p_j l_j + N0)                       (MSE, l_k(0) = 1)
    dz_k/dt = +eta p_k sigmoid(-z_k) / (sum_j p_j sigmoid(-z_j) + N0)    (CE,  z_k(0) = 0)

The intrinsic time tau, dtau/dt = eta / (sum_j p_j g_j + N0), decouples the skills:
dx_k/dtau = -+p_k g(x_k). Every skill then has a closed form in tau, and

    eta t(tau) = sum_k progress_k(tau) + N0 tau,   progress_k = |x_k(tau) - x_k(0)|.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy.special import gamma as _gamma
from scipy.special import wrightomega
from scipy.special import zeta as _hurwitz_zeta

# ----------------------------------------------------------------------------- symbols
p, tau, t, eta, eps = sp.symbols("p tau t eta epsilon", positive=True)
N0 = sp.Symbol("N_0", nonnegative=True)
z = sp.Symbol("z", real=True)
r = sp.Symbol("r", positive=True)  # frequency ratio p1 / p2 (>= 1 by convention)
nu = sp.Symbol("nu", nonnegative=True)  # N0 / p1: wasted resource in units of skill 1's pull
alpha = sp.Symbol("alpha", positive=True)  # Zipf exponent, > 1
amplitude = sp.Symbol("A", positive=True)  # p_k = A k^-alpha
n_params, n_steps, compute = sp.symbols("N S C", positive=True)
chin_E = sp.Symbol("E", nonnegative=True)
chin_A, chin_B, chin_a, chin_b = sp.symbols("A_N B_S a b", positive=True)

# -------------------------------------------------------- per-skill solution along tau
#: MSE loss of a skill of frequency p at intrinsic time tau.
MSE_LOSS = sp.exp(-p * tau)
#: Its share of eta t: the loss it has shed, 1 - l.
MSE_PROGRESS = 1 - MSE_LOSS
#: CE logit, implicitly: z + e^z = p tau + 1.
CE_LOGIT_IMPLICIT = sp.Eq(z + sp.exp(z), p * tau + 1)
#: CE logit, explicitly, through the Lambert W function (z = log omega(p tau + 1), omega Wright's).
CE_LOGIT = sp.log(sp.LambertW(sp.exp(p * tau + 1)))
#: CE loss from the logit.
CE_LOSS_OF_LOGIT = sp.log(1 + sp.exp(-z))

mse_loss = sp.lambdify((p, tau), MSE_LOSS, "numpy")
mse_loss.__doc__ = "l(tau) = exp(-p tau), broadcasting p and tau."


def ce_logit(p_tau: np.ndarray | float) -> np.ndarray:
    """CE logit z solving z + e^z = p tau + 1, as a function of the product p*tau (any shape).

    Equal to CE_LOGIT = log W(exp(p tau + 1)); written with Wright's omega, omega(x) = W(e^x),
    so that large p tau does not overflow exp.
    """
    return np.log(wrightomega(np.asarray(p_tau, dtype=np.float64) + 1.0))


#: tau at which a CE skill reaches logit z (the implicit equation solved for tau).
CE_TAU_AT_LOGIT = sp.solve(CE_LOGIT_IMPLICIT, tau)[0]
_ce_tau_at_logit = sp.lambdify((p, z), CE_TAU_AT_LOGIT, "numpy")


def ce_logit_and_pull(p_tau: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(z, sigmoid(-z)) for z + e^z = p tau + 1, from one evaluation of w = omega(p tau + 1) = e^z.

    z = log w and sigmoid(-z) = 1 / (1 + w): the logit and the skill's pull on the resource.
    """
    w = wrightomega(np.asarray(p_tau, dtype=np.float64) + 1.0)
    return np.log(w), 1.0 / (1.0 + w)


def ce_tau_at_loss(p_freq: np.ndarray | float, loss: float) -> np.ndarray:
    """tau at which a CE skill of frequency p reaches `loss` (0 < loss < log 2): (z + e^z - 1)/p."""
    if not 0.0 < loss < math.log(2.0):
        raise ValueError(f"loss must lie in (0, log 2) for a CE skill starting at logit 0, got {loss}")
    z_at = -math.log(math.expm1(loss))  # inverse of log(1 + e^-z), via expm1 for small losses
    return _ce_tau_at_logit(np.asarray(p_freq, dtype=np.float64), z_at)


# -------------------------------------------------------------------- learning times
#: tau at which an MSE skill of frequency p reaches loss eps.
MSE_TAU_AT_LOSS = sp.log(1 / eps) / p
mse_tau_at_loss = sp.lambdify((p, eps), MSE_TAU_AT_LOSS, "numpy")
mse_tau_at_loss.__doc__ = "log(1/eps) / p: the intrinsic time at which an MSE skill reaches loss eps."


def mse_time_of_tau(p_freq: np.ndarray, tau_value: np.ndarray, eta_value: float, N0_value: float) -> np.ndarray:
    """t(tau) = (sum_k (1 - exp(-p_k tau)) + N0 tau) / eta.

    Args:
        p_freq: shape (n,), frequencies.
        tau_value: any shape; the result has its shape.
    """
    tau_arr = np.asarray(tau_value, dtype=np.float64)
    shed = 1.0 - mse_loss(np.asarray(p_freq, dtype=np.float64), tau_arr[..., None])
    return (shed.sum(axis=-1) + N0_value * tau_arr) / eta_value


def mse_learning_times(p_freq: np.ndarray, eps_value: float, eta_value: float, N0_value: float = 0.0) -> np.ndarray:
    """Time each skill's MSE loss reaches eps, shape (n,):

        t_i = (sum_k (1 - eps^(p_k / p_i)) + N0 ln(1/eps) / p_i) / eta.
    """
    if not 0.0 < eps_value < 1.0:
        raise ValueError(f"eps must lie in (0, 1) for MSE skills starting at loss 1, got {eps_value}")
    p_arr = np.asarray(p_freq, dtype=np.float64)
    tau_i = mse_tau_at_loss(p_arr, eps_value)
    return mse_time_of_tau(p_arr, tau_i, eta_value, N0_value)


def _two_skill_ratio() -> sp.Expr:
    """t2/t1 from t_i = (sum_k progress_k(tau_i) + N0 tau_i)/eta with p1 = r p2, N0 = nu p1."""
    p1, p2 = sp.symbols("p_1 p_2", positive=True)

    def time_to_eps(p_i: sp.Expr) -> sp.Expr:
        tau_i = MSE_TAU_AT_LOSS.subs(p, p_i)
        shed = sum(MSE_PROGRESS.subs({p: p_k, tau: tau_i}) for p_k in (p1, p2))
        return (shed + N0 * tau_i) / eta

    ratio = (time_to_eps(p2) / time_to_eps(p1)).subs(N0, nu * p1).subs(p1, r * p2)
    ratio = sp.powsimp(sp.expand_log(ratio, force=True), force=True)
    num, den = sp.fraction(sp.together(sp.expand(ratio)))
    # expand_log leaves eps^r as exp(r log eps); write powers of eps back as powers
    as_power = {e: eps ** sp.simplify(e.args[0] / sp.log(eps)) for e in (num + den).atoms(sp.exp)}
    return num.subs(as_power) / den.subs(as_power)


#: t2/t1 for two skills, p1 = r p2 (r >= 1), N0 = nu p1; eta and the scale of p cancel.
TWO_SKILL_RATIO = _two_skill_ratio()
two_skill_time_ratio = sp.lambdify((r, eps, nu), TWO_SKILL_RATIO, "numpy")
two_skill_time_ratio.__doc__ = (
    "t2/t1 for two skills with p1 = r p2, loss threshold eps and nu = N0 / p1 (numpy broadcasting):\n"
    "(2 - eps - eps^r + r nu ln(1/eps)) / (2 - eps - eps^(1/r) + nu ln(1/eps))."
)

#: Domino limit of skill k's learning time to loss eps (N0 = 0, p_{j+1}/p_j -> 0).
k_index = sp.Symbol("k", positive=True, integer=True)
DOMINO_LEARNING_TIME = (k_index - eps) / eta
domino_learning_time = sp.lambdify((k_index, eps, eta), DOMINO_LEARNING_TIME, "numpy")
domino_learning_time.__doc__ = "(k - eps) / eta: the Domino-limit time for the k-th skill (k = 1, 2, ...) to reach eps."
#: Parallel limit (N0 -> oo at fixed eta t / N0) of the MSE loss.
PARALLEL_LOSS = sp.exp(-eta * p * t / N0)
parallel_loss = sp.lambdify((p, t, eta, N0), PARALLEL_LOSS, "numpy")
parallel_loss.__doc__ = "exp(-eta p t / N0), broadcasting: the Parallel-limit MSE loss."

# ------------------------------------------------------------------------------ scaling
#: Continuum sum_k (1 - exp(-p_k tau)) for p_k = A k^-alpha: eta t (N0 = 0, infinitely many skills).
ZIPF_PROGRESS = sp.gamma(1 - 1 / alpha) * (amplitude * tau) ** (1 / alpha)
#: Continuum sum_k p_k exp(-p_k tau): the frequency-weighted loss L (= eta dt/dtau).
ZIPF_LOSS_OF_TAU = sp.gamma(1 - 1 / alpha) * amplitude ** (1 / alpha) * tau ** (1 / alpha - 1) / alpha
#: Prefactor of L(t) ~ SCALING_PREFACTOR * t^-(alpha-1) (valid for 1 << eta t << n, alpha > 1).
SCALING_PREFACTOR = amplitude / alpha * sp.gamma(1 - 1 / alpha) ** alpha * eta ** (1 - alpha)
#: L(t) at leading order, with the Euler-Maclaurin shift: sum_{k>=1} = integral_0^oo - 1/2.
ZIPF_LOSS_OF_TIME = amplitude / alpha * sp.gamma(1 - 1 / alpha) ** alpha * (eta * t + sp.Rational(1, 2)) ** (1 - alpha)
#: Loss of a model that has learned the N most frequent skills (capacity limit), asymptotically.
CAPACITY_LOSS = amplitude * n_params ** (1 - alpha) / (alpha - 1)


def zipf_frequencies(n: int, alpha_value: float) -> tuple[np.ndarray, float]:
    """p_k = A k^-alpha for k = 1..n normalised to sum 1; returns (p, A) (A = p_1)."""
    from .models._frequencies import zipf_frequencies as normalised_power_law

    p_values = normalised_power_law(n, alpha_value)
    return p_values, float(p_values[0])


_SCIPY = [{"gamma": _gamma}, "numpy"]
_scaling_prefactor = sp.lambdify((alpha, amplitude, eta), SCALING_PREFACTOR, _SCIPY)
_zipf_loss_of_time = sp.lambdify((t, alpha, amplitude, eta), ZIPF_LOSS_OF_TIME, _SCIPY)
_zipf_progress = sp.lambdify((tau, alpha, amplitude), ZIPF_PROGRESS, _SCIPY)
_zipf_loss_of_tau = sp.lambdify((tau, alpha, amplitude), ZIPF_LOSS_OF_TAU, _SCIPY)


def _check_alpha(alpha_value: float) -> float:
    a = float(alpha_value)
    if not (math.isfinite(a) and a > 1.0):
        raise ValueError(f"alpha must exceed 1 (a normalisable power law), got {alpha_value}")
    return a


def scaling_prefactor(alpha_value: float, amplitude_value: float, eta_value: float = 1.0) -> float:
    """(A / alpha) Gamma(1 - 1/alpha)^alpha eta^-(alpha-1): L(t) ~ this * t^-(alpha-1)."""
    return float(_scaling_prefactor(_check_alpha(alpha_value), float(amplitude_value), float(eta_value)))


def zipf_loss_of_time(
    t_value: np.ndarray, alpha_value: float, amplitude_value: float, eta_value: float = 1.0
) -> np.ndarray:
    """Leading-order L(t) = (A/alpha) Gamma(1 - 1/alpha)^alpha (eta t + 1/2)^-(alpha-1), for 1 << eta t << n."""
    t_arr = np.asarray(t_value, dtype=np.float64)
    return _zipf_loss_of_time(t_arr, _check_alpha(alpha_value), float(amplitude_value), float(eta_value))


def capacity_loss_exact(n_learned: np.ndarray | int, alpha_value: float, amplitude_value: float) -> np.ndarray:
    """sum_{k > N} A k^-alpha = A zeta(alpha, N + 1) (Hurwitz zeta), for an infinite Zipf tail."""
    return amplitude_value * _hurwitz_zeta(float(alpha_value), np.asarray(n_learned, dtype=np.float64) + 1.0)


capacity_loss = sp.lambdify((n_params, alpha, amplitude), CAPACITY_LOSS, "numpy")
capacity_loss.__doc__ = "A N^(1-alpha) / (alpha - 1): the capacity-limited loss for large N."

# ------------------------------------------------------------------- compute optimum
#: The Chinchilla loss with a compute budget C = N S spent on N parameters and S steps.
CHINCHILLA_LOSS = chin_E + chin_A * n_params ** (-chin_a) + chin_B * n_steps ** (-chin_b)
_G = (chin_a * chin_A / (chin_b * chin_B)) ** (1 / (chin_a + chin_b))
#: Compute-optimal N, S and L for the budget C = N S.
CHINCHILLA_N_OPT = _G * compute ** (chin_b / (chin_a + chin_b))
CHINCHILLA_S_OPT = compute ** (chin_a / (chin_a + chin_b)) / _G
CHINCHILLA_L_OPT = chin_E + (chin_a + chin_b) / chin_b * chin_A * CHINCHILLA_N_OPT ** (-chin_a)

_chinchilla_args = (compute, chin_E, chin_A, chin_B, chin_a, chin_b)
_chinchilla = sp.lambdify(_chinchilla_args, (CHINCHILLA_N_OPT, CHINCHILLA_S_OPT, CHINCHILLA_L_OPT), "numpy")


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
    n_opt, s_opt, l_opt = _chinchilla(budget, E, A, B, a, b)
    return float(n_opt), float(s_opt), float(l_opt)


# ------------------------------------------------------------------------ CE limits
geo_mean = sp.Symbol("G_p", positive=True)  # (prod_k p_k)^(1/n)
n_skills_sym = sp.Symbol("n", positive=True, integer=True)
#: CE with N0 = 0, late times (p_k tau >> 1): every loss decays at the common rate eta / n.
CE_SMALL_N0_LOSS = geo_mean / p * sp.exp(-eta * t / n_skills_sym)
#: CE with N0 -> oo at fixed eta t / N0: independent logistic learning, z = log omega(1 + eta p t / N0).
CE_LARGE_N0_LOGIT = CE_LOGIT.subs(tau, eta * t / N0)
#: Its late-time tail: l ~ N0 / (eta p t), a power law.
CE_LARGE_N0_TAIL = N0 / (eta * p * t)


_ce_small_n0_loss = sp.lambdify((p, t, eta, geo_mean, n_skills_sym), CE_SMALL_N0_LOSS, "numpy")


def ce_small_n0_loss(p_freq: np.ndarray, t_value: np.ndarray, eta_value: float) -> np.ndarray:
    """(G / p_k) exp(-eta t / n), G the geometric mean of p; shape (n_t, n). Asymptotic in t."""
    p_arr = np.asarray(p_freq, dtype=np.float64)
    geo = math.exp(float(np.mean(np.log(p_arr))))
    t_arr = np.asarray(t_value, dtype=np.float64)
    return _ce_small_n0_loss(p_arr, t_arr[..., None], eta_value, geo, p_arr.size)


def ce_large_n0_loss(p_freq: np.ndarray, t_value: np.ndarray, eta_value: float, N0_value: float) -> np.ndarray:
    """log(1 + exp(-z)), z = log omega(1 + eta p t / N0); shape (n_t, n). The N0 -> oo limit."""
    p_arr = np.asarray(p_freq, dtype=np.float64)
    t_arr = np.asarray(t_value, dtype=np.float64)
    logit = ce_logit(np.multiply.outer(eta_value * t_arr / N0_value, p_arr))
    return np.logaddexp(0.0, -logit)


def zipf_loss_of_time_finite(
    t_value: np.ndarray, alpha_value: float, amplitude_value: float, n: int, eta_value: float = 1.0
) -> np.ndarray:
    """L(t) for n Zipf skills p_k = A k^-alpha (N0 = 0), with the finite-n correction.

    The skills k > n that the continuum counts are missing: to first order in A tau x^-alpha they
    would add tau * T to eta t and T to L, where T = A (n + 1/2)^(1-alpha) / (alpha - 1). So

        eta t = Gamma(1 - 1/alpha) (A tau)^(1/alpha) - 1/2 - tau T,   L = L_oo(tau) - T,

    solved for tau at each t (valid for 1 << eta t and A tau n^-alpha << 1). Shape of t_value.
    """
    from scipy.optimize import brentq

    a, amp = _check_alpha(alpha_value), float(amplitude_value)
    tail = float(capacity_loss(n + 0.5, a, amp))
    t_arr = np.asarray(t_value, dtype=np.float64)
    taus = np.empty(t_arr.size)
    for i, target in enumerate(eta_value * t_arr.reshape(-1)):
        def excess(x: float) -> float:
            return float(_zipf_progress(x, a, amp)) - 0.5 - x * tail - target

        hi = 1.0
        while excess(hi) < 0:
            # excess is concave in tau: once it falls as tau grows, no larger tau reaches the target
            if excess(2.0 * hi) <= excess(hi):
                raise ValueError(
                    f"t_value: eta t = {target:.6g} lies beyond the range of the finite-n correction "
                    f"for n = {n} skills (it needs A tau n^-alpha << 1, i.e. eta t well below n)"
                )
            hi *= 2.0
        taus[i] = brentq(excess, 0.0, hi, xtol=1e-14 * hi, rtol=1e-14)
    return (_zipf_loss_of_tau(taus, a, amp) - tail).reshape(t_arr.shape)
