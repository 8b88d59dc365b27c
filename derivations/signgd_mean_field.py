"""Result 7: the high-dimensional mean field of SignGD in the Geometry model, and the constant c in
eta = c lr sqrt(N) that maps it onto the Resource model.

SignGD moves each coordinate by lr along sign(g_i), g = T^T (w * dl/ds) + noise. Over coordinates i
the pairs (t_ki, g_i) of delocalised task vectors look jointly Gaussian, so Bussgang's identity
E[z sign(y)] = sqrt(2/pi) E[z y] / sqrt(E[y^2]) turns the sum over coordinates into

    Delta s_k = lr sum_i t_ki sign(g_i) = kappa (C a)_k / sqrt(a^T C a + V),   kappa = lr sqrt(2N/pi),

the map skillode.SignGDMeanField iterates. At the start (s = 0, C = I, no noise) each MSE skill
loses dl_k/dt = -2 kappa p_k / ||p||_2, while the Resource model (N0 = 0) gives -eta p_k; matching
them gives c = 2 sqrt(2/pi) / ||p||_2, which is 2.38 for the paper's 10 Zipf(2) skills: the
constant the Resource fit to the loss finds (2.35), not the paper's 2. Matched instead on the
residual 1 - s (the paper's mapping, derivations/geometry_mapping.py) the initial rates give half
that, sqrt(2/pi) / ||p||_2 = 1.19; the fit over the whole run finds 1.84, because the two models
share the resource differently (L1 sum against L2 norm) as skills are learned: no single c holds
from start to end.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import skillode as sk

from ._core import Derivation, NumericCheck, Statement, SymbolicCheck, equal, fmt, register

_z, _y, _u = sp.symbols("z y u", real=True)
_rho = sp.Symbol("rho", real=True)
_N = sp.Symbol("N", positive=True)
_lr, _p2 = sp.symbols("lr ||p||_2", positive=True)
_kappa = _lr * sp.sqrt(2 * _N / sp.pi)
_phi = sp.exp(-(_z**2) / 2) / sp.sqrt(2 * sp.pi)
C_INITIAL_RATE = 2 * sp.sqrt(2 / sp.pi) / _p2

FIG6 = dict(n=10, alpha=2.0, N=1000, lr=3e-4, batch=1024, steps=3000)


def statements() -> tuple[Statement, ...]:
    V = sp.Symbol("V")
    return (
        Statement(
            "Bussgang: (z, y) jointly Gaussian, zero mean",
            sp.Eq(sp.Symbol("E[z sign(y)]"), sp.sqrt(2 / sp.pi) * sp.Symbol("E[z y]") / sp.sqrt(sp.Symbol("E[y^2]"))),
        ),
        Statement(
            "SignGD mean-field step of skill k (a_k = -w_k dl_k/ds_k)",
            sp.Eq(sp.Symbol("Delta s_k"), _kappa * sp.Symbol("(C a)_k") / sp.sqrt(sp.Symbol("a^T C a") + V)),
        ),
        Statement(
            "one skill: s grows by lr ||t||_1 per step, and for a random unit t in R^N",
            sp.Eq(sp.Symbol("E||t||_1"), _N * sp.gamma(_N / 2) / (sp.sqrt(sp.pi) * sp.gamma((_N + 1) / 2))),
        ),
        Statement(
            "Resource-model constant from the initial rates (MSE, C = I, N0 = 0): eta = c lr sqrt(N)",
            sp.Eq(sp.Symbol("c"), C_INITIAL_RATE),
        ),
    )


def symbolic() -> tuple[SymbolicCheck, ...]:
    checks = [
        equal(
            "E[|z|] = 2 int_0^oo z phi(z) dz = sqrt(2/pi) for z ~ N(0, 1)",
            2 * sp.integrate(_z * _phi, (_z, 0, sp.oo)),
            sp.sqrt(2 / sp.pi),
        )
    ]
    # z = rho y + sqrt(1 - rho^2) u with y, u independent N(0, 1): E[z sign y] = rho E|y| + 0.
    e_u = sp.integrate(_z * _phi, (_z, -sp.oo, sp.oo))  # E[u sign y] = E[u] E[sign y] = 0
    checks.append(
        equal(
            "Bussgang for unit variances: E[(rho y + sqrt(1 - rho^2) u) sign(y)] = sqrt(2/pi) rho",
            _rho * 2 * sp.integrate(_z * _phi, (_z, 0, sp.oo)) + sp.sqrt(1 - _rho**2) * e_u,
            sp.sqrt(2 / sp.pi) * _rho,
        )
    )
    e_l1 = _N * sp.gamma(_N / 2) / (sp.sqrt(sp.pi) * sp.gamma((_N + 1) / 2))
    checks.append(
        equal("lim_(N -> oo) E||t||_1 / sqrt(2 N / pi) = 1", sp.limit(e_l1 / sp.sqrt(2 * _N / sp.pi), _N, sp.oo), 1)
    )
    # Initial rates: MF ds_k = kappa 2 p_k / (2 ||p||_2), dl_k = -2 (1 - s) ds_k at s = 0; Resource: -eta p_k.
    pk = sp.Symbol("p_k", positive=True)
    mf_rate = -2 * _kappa * (2 * pk) / (2 * _p2)
    c = sp.Symbol("c", positive=True)
    solved = sp.solve(sp.Eq(mf_rate, -c * _lr * sp.sqrt(_N) * pk), c)
    checks.append(
        equal("matching dl_k/dt at t = 0 for every k gives c = 2 sqrt(2/pi) / ||p||_2", solved[0], C_INITIAL_RATE)
    )
    return tuple(checks)


def numeric() -> tuple[NumericCheck, ...]:
    out = []
    rng = np.random.default_rng(20250117)
    rho, m = 0.3, 2_000_000
    y = rng.standard_normal(m)
    z = rho * y + np.sqrt(1 - rho**2) * rng.standard_normal(m)
    est = float(np.mean(z * np.sign(y)))
    out.append(
        NumericCheck(
            f"Monte Carlo E[z sign y], rho = {rho}, {m} pairs (seed 20250117): |estimate - sqrt(2/pi) rho|;"
            " tolerance 5 standard errors",
            abs(est - np.sqrt(2 / np.pi) * rho),
            5 * float(np.std(z * np.sign(y))) / np.sqrt(m),
            (("estimate", fmt(est)),),
        )
    )
    p = sk.zipf_frequencies(FIG6["n"], FIG6["alpha"])
    geo = sk.GeometryModel(p, FIG6["N"], tasks="orthogonal", lr=FIG6["lr"], batch=FIG6["batch"], task_seed=0)
    T = geo.task_vectors()
    l1 = np.abs(T).sum(axis=1) / np.sqrt(2 * FIG6["N"] / np.pi)
    out.append(
        NumericCheck(
            f"||t_k||_1 / sqrt(2N/pi) of {FIG6['n']} random orthonormal task vectors, N = {FIG6['N']}:"
            " max |ratio - 1|; tolerance 3 / sqrt(N)",
            float(np.max(np.abs(l1 - 1))),
            3 / np.sqrt(FIG6["N"]),
        )
    )
    record = np.arange(0, FIG6["steps"] + 1, 25)
    sim = sk.simulate(geo, FIG6["steps"], seeds=0, record=record).curves[0]
    mf = sk.solve(sk.mean_field_for(geo), record, method="map").curves
    rmse = float(np.sqrt(np.mean((mf.loss - sim.loss) ** 2)))
    out.append(
        NumericCheck(
            "Fig 6 setting (N = 1000, 10 Zipf(2) skills, lr 3e-4, batch 1024, 3000 steps, seed 0): "
            "per-skill loss RMSE of the mean-field map against the simulation, nothing fitted;"
            " tolerance 0.012 (the fitted Resource model reaches 0.011)",
            rmse,
            0.012,
        )
    )
    # c here matches the rates of the loss (1 - s)^2, so it is compared with the fit of l to the loss
    fit = sk.fit_resource_mapping(geo, sim, quantity="loss")
    c_pred = float(2 * np.sqrt(2 / np.pi) / np.linalg.norm(p))
    out.append(
        NumericCheck(
            "c = 2 sqrt(2/pi)/||p||_2 against the c of the Resource model fitted to that simulation's loss"
            " (quantity='loss'): relative difference; tolerance 0.05",
            abs(c_pred / fit.eta_constant - 1),
            0.05,
            (("predicted c", fmt(c_pred)), ("fitted c", fmt(fit.eta_constant))),
        )
    )
    return tuple(out)


DERIVATION = register(
    Derivation(
        name="signgd_mean_field",
        title="The SignGD mean field of the Geometry model, and the constant c in eta = c lr sqrt(N)",
        assumptions=(
            "SignGD",
            "task vectors delocalised over N >> 1 coordinates (random orthogonal or Gaussian)",
            "c: MSE, C = I, N0 = 0, matched at t = 0",
        ),
        regime="leading order in 1/sqrt(N); c matches initial rates only (the fit weighs the whole curve)",
        statements=statements,
        symbolic=symbolic,
        numeric=numeric,
        notes=(
            "The Resource model shares the resource through the L1 sum of the pulls p_j l_j; SignGD "
            "shares it through the L2 norm of p_j sqrt(l_j) (for MSE), which is why no single eta makes "
            "the two agree over the whole run, and why the fitted constant depends on p. The paper's "
            "c = 2 corresponds to ||p||_2 = 2 sqrt(2/pi)/2 = 0.80. skillode.SignGDMeanField iterates the "
            "map with batch and gradient-noise variance; docs/geometry.md compares it with simulations."
        ),
    )
)
