"""High-dimensional mean field of the Geometry model under SignGD: its skill curves with nothing fitted.

SignGD moves every one of the N coordinates by lr per step, along sign(g_i), where the gradient is
g = T^T (w * dl/ds) + noise (T: (n, N) unit task vectors, w: sample fractions). When the task
vectors are spread over many coordinates, the pairs (t_ki, g_i) over coordinates i look jointly
Gaussian, and Bussgang's theorem (E[z sign(y)] = sqrt(2/pi) E[z y] / sqrt(E[y^2])) gives the
expected step of each skill variable s_k = t_k . x:

    s_k(t+1) = s_k(t) + kappa (C a)_k / sqrt(a^T C a + V),     kappa = lr sqrt(2 N / pi),

    a_k = -w_k dl_k/ds_k      MSE: a_k = 2 w_k (1 - s_k);   CE: a_k = w_k sigmoid(-s_k)
    V   = d^T [(diag(w) - w w^T) o C] d / B  +  N sigma^2,   d_k = dl_k/ds_k,

with C = T T^T, w = p / sum(p), B the batch size (no term for the exact gradient) and sigma the
gradient-noise standard deviation. V is the summed variance of the gradient noise over all
coordinates: batch sampling and added noise waste part of the fixed per-step movement, which is
what the Resource model's N0 stands for.

Compared with the Resource model, dl_k/dt = -eta (C p l)_k / (sum_j p_j l_j + N0), the skills
share the resource through an L2 norm of their pulls, not an L1 sum, and there is nothing to fit:
in the paper's Fig 6 setting this map reproduces the simulated curves more closely than the Resource
model with eta and N0 fitted (docs/geometry.md). It is iterated as a map, one step per optimizer
step, because for MSE the field is discontinuous where a skill is learned (s_k = 1): there SignGD
oscillates by ~lr around the target, and so does the map.

Assumption: task vectors delocalised over many coordinates (N >> 1; "orthogonal" or "gaussian"
task kinds). Basis-aligned tasks break it (each skill then moves exactly lr per step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .._checks import (
    as_count,
    as_frequencies,
    as_matrix,
    as_names,
    as_scalar,
    as_seed,
    choice,
)
from .._repr import model_repr

LOSSES = ("mse", "ce")
BATCH_NOISE = ("variance", "sampled")


@dataclass(frozen=True, eq=False)
class SignGDMeanField:
    """The SignGD mean-field map (module docstring).

    Args:
        p: shape (n,), skill frequencies (normalised to sum 1 internally).
        lr: SignGD learning rate (> 0).
        N: number of parameters (> 0).
        C: shape (n, n), task overlaps T T^T (symmetric, unit diagonal), or None for identity.
        loss: "mse" (state s, l = (1 - s)^2) or "ce" (l = log(1 + exp(-s))).
        batch: samples per step B, or None for the exact expected gradient.
        noise: gradient-noise standard deviation sigma per coordinate (>= 0).
        batch_noise: how a finite batch enters: "variance" (deterministic: its summed variance
            joins V) or "sampled" (each step draws the sample fractions w ~ Multinomial(B, p) / B
            from a numpy Generator seeded with `seed` and takes the step with them, V keeping only
            the N sigma^2 term). Small batches (B <~ 16) need "sampled": their noise spans only
            the few sampled task directions, which a variance term does not capture.
        seed: seed of the sampled batches.
        names: n skill names.
    """

    p: np.ndarray
    lr: float
    N: float
    C: np.ndarray | None = None
    loss: str = "mse"
    batch: int | None = None
    noise: float = 0.0
    batch_noise: str = "variance"
    seed: int = 0
    names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return model_repr(self)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        p = p / p.sum()
        p.setflags(write=False)
        object.__setattr__(self, "p", p)
        n = p.size
        object.__setattr__(self, "lr", as_scalar(self.lr, "lr", positive=True))
        object.__setattr__(self, "N", as_scalar(self.N, "N", positive=True))
        if self.C is not None:
            C = as_matrix(self.C, n, "C")  # checked symmetric positive semi-definite
            C.setflags(write=False)
            object.__setattr__(self, "C", C)
        object.__setattr__(self, "loss", choice(self.loss, "loss", LOSSES))
        if self.batch is not None:
            object.__setattr__(self, "batch", as_count(self.batch, "batch"))
        object.__setattr__(self, "noise", as_scalar(self.noise, "noise", nonnegative=True))
        object.__setattr__(self, "batch_noise", choice(self.batch_noise, "batch_noise", BATCH_NOISE))
        object.__setattr__(self, "seed", as_seed(self.seed, "seed"))
        object.__setattr__(self, "names", as_names(self.names, n))

    @property
    def n_skills(self) -> int:
        return self.p.size

    @property
    def kappa(self) -> float:
        """lr sqrt(2 N / pi): the expected movement of a skill that has the gradient to itself."""
        return self.lr * math.sqrt(2.0 * self.N / math.pi)

    @property
    def initial_loss(self) -> float:
        return 1.0 if self.loss == "mse" else math.log(2.0)

    def state_to_loss(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        return (1.0 - s) ** 2 if self.loss == "mse" else np.logaddexp(0.0, -s)

    def step(self, s: np.ndarray, fractions: np.ndarray | None = None) -> np.ndarray:
        """The expected change of s in one SignGD step, shape like s (n,) or batched (..., n).

        fractions: this step's sample fractions (shape (n,), summing to 1) for batch_noise
        "sampled"; None takes w = p and, with a batch, its variance term.
        """
        s = np.asarray(s, dtype=np.float64)
        w = self.p if fractions is None else fractions
        d = -2.0 * (1.0 - s) if self.loss == "mse" else -expit(-s)  # dl/ds
        a = -w * d
        Ca = a if self.C is None else a @ self.C
        signal = np.sum(a * Ca, axis=-1)
        wasted = self.N * self.noise**2
        if self.batch is not None and fractions is None:
            # d^T [(diag(w) - w w^T) o C] d = sum_k w_k d_k^2 C_kk - (w d)^T C (w d), with C_kk = 1
            wd = w * d
            Cwd = wd if self.C is None else wd @ self.C
            wasted = wasted + (np.sum(w * d * d, axis=-1) - np.sum(wd * Cwd, axis=-1)) / self.batch
        norm = np.sqrt(np.maximum(signal + wasted, 0.0))
        norm = np.where(norm > 0.0, norm, np.inf)  # nothing pulls and no noise: no movement
        return self.kappa * Ca / np.expand_dims(norm, -1)

    def config(self) -> dict:
        names = self.names
        assert names is not None  # set by __post_init__
        return {
            "model": "signgd-mean-field",
            "p": self.p.tolist(),
            "lr": self.lr,
            "N": self.N,
            "C": None if self.C is None else self.C.tolist(),
            "loss": self.loss,
            "batch": self.batch,
            "noise": self.noise,
            "batch_noise": self.batch_noise,
            "seed": self.seed,
            "names": list(names),
        }
