"""Compiled (numba) CPU kernel for the Geometry model: whole chunks of optimizer steps in one call.

The torch path of `simulate` pays a fixed ~5-10 us per tensor operation, about ten operations a
step, whatever the size; for the paper's runs (10 skills, N = 1000) that overhead is most of the
time. This kernel runs the same update loop compiled, one run after another, so a step costs only
its arithmetic: two n x D matrix-vector products and the optimizer's per-coordinate update.

The equations are those of `skillode.models.GeometryModel` (its module docstring) and the kernel follows the torch
path operation by operation, so the two backends agree to rounding (tests/solvers/test_simulate_backends.py).
"""

from __future__ import annotations

import importlib.util
import math
from functools import cache

import numpy as np

OPTIMIZER_CODES = {"sgd": 0, "signgd": 1, "lion": 2, "adam": 3, "ademamix": 4}

# 'reassoc' lets the dot products vectorise; no 'nnan'/'ninf', so diverging runs still give inf/nan.
_FASTMATH = {"reassoc", "contract"}
# Below this, values are flushed to 0: subnormal arithmetic is ~100x slower (a converged SGD
# residual or a decaying Adam moment reaches it), and nothing here is meaningful at 1e-308.
TINY = 2.2250738585072014e-308


@cache
def available() -> bool:
    """Whether numba is installed (checked without importing it: `import skillode` stays light)."""
    return importlib.util.find_spec("numba") is not None


def _sign(v):
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v  # 0 stays 0, nan stays nan (as torch.sign)


def _lerp(start, end, weight):
    # torch.lerp's two-branch formula, so Adam/Lion momenta round as in the torch path.
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _advance(
    X,
    M,
    V,
    M2,
    S,
    G,
    T,
    t_index,
    basis,
    transposed,
    Wc,
    w_fixed,
    Zc,
    lr,
    b1,
    b2,
    b3,
    eps,
    amix,
    opt,
    mse,
    k0,
    this,
    rec_pos,
    out,
):
    """Advance every run `this` steps from step k0, in place.

    Shapes (R runs, n skills, D simulated coordinates, U distinct task matrices):
        X, M, V, M2: (R, D) parameters and optimizer moments (moments unused by sgd/signgd);
        S: (n,) and G: (D,) scratch; T: (U, n, D) task vectors, run r uses T[t_index[r]]
        (ignored when basis: then D = min(n, N), s = x padded with zeros: tasks beyond N have zero
        vectors), or (U, D, n) when transposed, which keeps
        the inner loops long (and vectorised) when D < n; Wc: (this, R, n) per-step sample fractions,
        or shape (0, R, n) to use w_fixed (R, n) every step; Zc: (this, R, D) gradient noise or
        shape (0, R, D) for none; lr, b1, b2, b3, eps, amix: (R,) per-run settings;
        rec_pos: (this,) row of `out` (n_rec, R, n) that receives s before step k0 + j, or -1.
    """
    R, D = X.shape
    n = S.shape[0]
    batched = Wc.shape[0] > 0
    noisy = Zc.shape[0] > 0
    for r in range(R):
        u = t_index[r]
        lr_r = lr[r]
        b1_r = b1[r]
        b2_r = b2[r]
        b3_r = b3[r]
        for j in range(this):
            _task_skills(X, r, T, u, basis, transposed, S)
            row = rec_pos[j]
            if row >= 0:
                for q in range(n):
                    out[row, r, q] = S[q]
            _weighted_slopes(S, Wc, w_fixed, j, r, batched, mse)  # v = w * dl/ds, kept in S
            _task_gradient(S, T, u, basis, transposed, G)
            if noisy:
                for i in range(D):
                    G[i] += Zc[j, r, i]
            k = k0 + j + 1
            if opt <= 1:
                _sign_sgd_update(X, G, r, lr_r, opt == 1)
            elif opt == 2:
                _lion_update(X, M, G, r, lr_r, b1_r, b2_r)
            else:
                _adam_update(X, M, V, M2, G, r, k, lr_r, b1_r, b2_r, b3_r, eps[r], amix[r], opt == 4)


def _task_skills(X, r, T, u, basis, transposed, S):
    """S = s of run r: T[u] x_r (x_r itself when basis, padded with zeros when D < n), T laid out as in _advance."""
    D = X.shape[1]
    n = S.shape[0]
    if basis:
        for q in range(D):
            S[q] = X[r, q]
        for q in range(D, n):  # basis tasks beyond N have zero vectors (the modular model): s = 0
            S[q] = 0.0
    elif transposed:
        for q in range(n):
            S[q] = 0.0
        for i in range(D):
            xi = X[r, i]
            for q in range(n):
                S[q] += T[u, i, q] * xi
    else:
        for q in range(n):
            acc = 0.0
            for i in range(D):
                acc += T[u, q, i] * X[r, i]
            S[q] = acc


def _weighted_slopes(S, Wc, w_fixed, j, r, batched, mse):
    """S <- w * dl/ds at s = S (subnormal values flushed to 0), w the step's sample fractions of run r."""
    for q in range(S.shape[0]):
        w = Wc[j, r, q] if batched else w_fixed[r, q]
        if mse:
            v = (S[q] - 1.0) * 2.0 * w
        else:
            v = -(1.0 / (1.0 + math.exp(S[q]))) * w
        S[q] = v if abs(v) >= TINY else 0.0


def _task_gradient(S, T, u, basis, transposed, G):
    """G = T[u]^T v with v = S (G = v[:D] when basis), T laid out as in _advance."""
    D = G.shape[0]
    n = S.shape[0]
    if basis:
        for i in range(D):
            G[i] = S[i]
    elif transposed:
        for i in range(D):
            acc = 0.0
            for q in range(n):
                acc += T[u, i, q] * S[q]
            G[i] = acc
    else:
        for i in range(D):
            G[i] = 0.0
        for q in range(n):
            vq = S[q]
            for i in range(D):
                G[i] += T[u, q, i] * vq


def _sign_sgd_update(X, G, r, lr_r, signed):
    """SGD (x -= lr g) or, when signed, SignGD (x -= lr sign(g)) on run r."""
    if signed:
        for i in range(G.shape[0]):
            X[r, i] -= lr_r * _sign(G[i])
    else:
        for i in range(G.shape[0]):
            X[r, i] -= lr_r * G[i]


def _lion_update(X, M, G, r, lr_r, b1_r, b2_r):
    """Lion on run r: x -= lr sign(lerp(g, m, b1)), then m = lerp(m, g, 1 - b2)."""
    for i in range(G.shape[0]):
        step = _sign(_lerp(G[i], M[r, i], b1_r))
        m = _lerp(M[r, i], G[i], 1.0 - b2_r)
        M[r, i] = m if abs(m) >= TINY else 0.0
        X[r, i] -= lr_r * step


def _adam_update(X, M, V, M2, G, r, k, lr_r, b1_r, b2_r, b3_r, eps_r, amix_r, ademamix):
    """Adam (or, when ademamix, AdEMAMix with its slow momentum M2) at step k on run r."""
    bc1 = 1.0 - b1_r**k
    bc2 = 1.0 - b2_r**k
    for i in range(G.shape[0]):
        g = G[i]
        m = _lerp(M[r, i], g, 1.0 - b1_r)
        m = m if abs(m) >= TINY else 0.0
        M[r, i] = m
        v2 = V[r, i] * b2_r + g * (g * (1.0 - b2_r))
        v2 = v2 if v2 >= TINY else 0.0
        V[r, i] = v2
        denom = math.sqrt(v2 / bc2) + eps_r
        step = m / bc1
        if ademamix:
            m2 = _lerp(M2[r, i], g, 1.0 - b3_r)
            m2 = m2 if abs(m2) >= TINY else 0.0
            M2[r, i] = m2
            step += m2 * amix_r
        X[r, i] -= lr_r * (step / denom)


def _skills(X, T, t_index, basis, transposed, n):
    """s = T x for every run, shape (R, n) (T laid out as in _advance; basis: s = x, 0 beyond D)."""
    R, D = X.shape
    S = np.zeros((R, n), dtype=X.dtype)
    for r in range(R):
        for q in range(n):
            if basis:
                if q < D:
                    S[r, q] = X[r, q]
            else:
                acc = 0.0
                for i in range(D):
                    acc += (T[t_index[r], i, q] if transposed else T[t_index[r], q, i]) * X[r, i]
                S[r, q] = acc
    return S


# Helpers of _advance, inlined into it (numba IR inlining: compiled with the kernel's flags).
_INLINED = (
    "_sign",
    "_lerp",
    "_task_skills",
    "_weighted_slopes",
    "_task_gradient",
    "_sign_sgd_update",
    "_lion_update",
    "_adam_update",
)


@cache
def kernels():
    """(advance, skills) compiled; numba is imported on first use, the machine code cached on disk."""
    import numba

    # the compiled helpers must be module globals for the kernels to inline them
    for name in _INLINED:
        globals()[name] = numba.njit(inline="always", cache=True)(globals()[name])
    jit = numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, nogil=True)
    # _advance allocates nothing, so it runs without reference counting (_nrt=False, as numba's own
    # hot helpers do): otherwise every array handed to an inlined helper costs an incref/decref pair
    # per step, ~2x the step time of the smallest runs.
    advance = numba.njit(cache=True, fastmath=_FASTMATH, boundscheck=False, nogil=True, _nrt=False)(_advance)
    return advance, jit(_skills)


def alias_tables(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables (prob, alias) of the distribution p, shape (n,) each.

    A sample is k = floor(u n) with u uniform in [0, 1), kept if frac(u n) < prob[k], else alias[k]:
    one uniform and two table reads per sample, whatever n (np.random.multinomial walks all n
    categories per draw). Exact up to the rounding of p n.
    """
    q = np.asarray(p, dtype=np.float64) * (p.size / float(np.sum(p)))
    prob, alias = np.ones(p.size), np.arange(p.size, dtype=np.int64)
    small = [int(i) for i in np.flatnonzero(q < 1.0)]
    large = [int(i) for i in np.flatnonzero(q >= 1.0)]
    while small and large:
        s, big = small.pop(), large.pop()
        prob[s], alias[s] = q[s], big
        q[big] -= 1.0 - q[s]
        (small if q[big] < 1.0 else large).append(big)
    return prob, alias  # the leftovers (rounding) keep prob 1: they always sample themselves


def _alias_fractions(u, prob, alias, rows, scale, out):
    """out[t, rows[a]] = scale x the counts of the samples u[t] under tables (prob[a], alias[a])."""
    this, B = u.shape
    A, n = prob.shape
    for t in range(this):
        for a in range(A):
            for q in range(n):
                out[t, rows[a], q] = 0.0
        for b in range(B):
            x = u[t, b] * n
            i = min(int(x), n - 1)
            f = x - i
            for a in range(A):
                j = i if f < prob[a, i] else alias[a, i]
                out[t, rows[a], j] += scale


def alias_fractions(u, prob, alias, rows, scale, out) -> None:
    """Fill out (this, R, n) rows `rows` with sample fractions drawn from uniforms u (this, B).

    The runs in `rows` share u (runs of one seed share their count stream), so the uniforms are
    drawn once for all of them. Compiled when numba is installed, a vectorised numpy loop otherwise.
    """
    if available():
        _alias_kernel()(u, prob, alias, rows, scale, out)
        return
    this, B = u.shape
    x = u * prob.shape[1]
    idx = np.minimum(x.astype(np.int64), prob.shape[1] - 1)
    frac = x - idx
    offsets = (np.arange(this) * prob.shape[1])[:, None]
    for a, r in enumerate(rows):
        pick = np.where(frac < prob[a][idx], idx, alias[a][idx]) + offsets
        out[:, r] = np.bincount(pick.ravel(), minlength=out.shape[0] * out.shape[2]).reshape(this, -1) * scale


@cache
def _alias_kernel():
    import numba

    return numba.njit(cache=True, boundscheck=False, nogil=True)(_alias_fractions)
