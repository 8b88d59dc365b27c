"""The Resource model of skill learning, as data plus a vector field.

MSE form, state l (per-skill loss, l_k(0) = 1):

    dl_k/dt = -eta * (C r)_k / (sum_j r_j + N0),   r_j = c_j * p_j * l_j

CE form, state z (per-skill logit, z_k(0) = 0, loss l_k = log(1 + exp(-z_k))):

    dz_k/dt = +eta * (C r)_k / (sum_j r_j + N0),   r_j = c_j * p_j * sigmoid(-z_j)

r_j is skill j's pull on the shared learning resource: its frequency times its gradient
magnitude (l for the MSE form, sigmoid(-z) = |dl/dz| for CE). c_j is the gate of a compositional
skill (1 for a skill without parents):

    AND: c_k = prod_{i in parents(k)} (1 - lhat_i^a),    OR: c_k = max_{i in parents(k)} (1 - lhat_i^a)

with lhat_i = l_i / l_i(0) the parent's normalised loss. In the MSE form a loss that reaches 0
stays there (the continuous analogue of the paper's clipping at 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

from .._checks import as_frequencies, as_matrix, as_names, as_scalar, choice
from ._gates import _resolve_gates, _ResolvedGate

if TYPE_CHECKING:
    from ._symbolic import SymbolicSystem

LOSSES = ("mse", "ce")
LOG2 = float(np.log(2.0))


@dataclass(frozen=True, eq=False)
class ResourceModel:
    """Resource model: skills compete for eta units of learning resource per step.

    Args:
        p: shape (n,), skill frequencies (positive; need not sum to 1: the dynamics are
            unchanged by p -> c p, N0 -> c N0).
        eta: learning resource per step (the paper: eta = 2 * lr * sqrt(N) for SignGD).
        N0: wasted resource (>= 0); N0 -> infinity gives independent (parallel) learning.
        C: shape (n, n) symmetric PSD skill-overlap matrix, None for orthogonal skills (identity).
        loss: "mse" (state is the loss, starting at 1) or "ce" (state is a logit, starting at 0).
        gates: compositional skills, {skill: parents} (AND, exponent 1) or a list of Gate.
        names: n skill names (default "skill1".."skilln").
    """

    p: np.ndarray
    eta: float
    N0: float = 0.0
    C: np.ndarray | None = None
    loss: str = "mse"
    gates: Any = None
    names: tuple[str, ...] | None = None
    _gates: tuple[_ResolvedGate, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        p.setflags(write=False)
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "eta", as_scalar(self.eta, "eta", positive=True))
        object.__setattr__(self, "N0", as_scalar(self.N0, "N0", nonnegative=True))
        object.__setattr__(self, "loss", choice(self.loss, "loss", LOSSES))
        names = as_names(self.names, p.size)
        object.__setattr__(self, "names", names)
        if self.C is not None:
            C = as_matrix(self.C, p.size, "C")
            C.setflags(write=False)
            object.__setattr__(self, "C", C)
        object.__setattr__(self, "_gates", _resolve_gates(self.gates, names))

    # ------------------------------------------------------------------------ basics
    @property
    def n_skills(self) -> int:
        return self.p.size

    @property
    def is_orthogonal(self) -> bool:
        """True when C is None or the identity."""
        return self.C is None or bool(np.array_equal(self.C, np.eye(self.n_skills)))

    @property
    def has_gates(self) -> bool:
        return bool(self._gates)

    @property
    def initial_loss(self) -> float:
        """l_k(0): 1 for MSE, log 2 for CE (logit 0)."""
        return 1.0 if self.loss == "mse" else LOG2

    def initial_state(self) -> np.ndarray:
        """x(0), shape (n,): losses 1 (MSE) or logits 0 (CE)."""
        return np.ones(self.n_skills) if self.loss == "mse" else np.zeros(self.n_skills)

    def state_to_loss(self, x: np.ndarray) -> np.ndarray:
        """Per-skill loss from the state (any shape ending in n)."""
        x = np.asarray(x, dtype=np.float64)
        if self.loss == "mse":
            return np.maximum(x, 0.0)
        return np.logaddexp(0.0, -x)

    def config(self) -> dict:
        """A JSON-serialisable description of the model, for metadata."""
        names = self.names
        assert names is not None  # set by __post_init__
        return {
            "model": "resource",
            "p": self.p.tolist(),
            "eta": self.eta,
            "N0": self.N0,
            "C": None if self.C is None else self.C.tolist(),
            "loss": self.loss,
            "gates": [
                {
                    "skill": names[g.skill],
                    "parents": [names[i] for i in g.parents],
                    "mode": g.mode,
                    "exponent": g.exponent,
                }
                for g in self._gates
            ],
            "names": list(names),
        }

    # --------------------------------------------------------------- the vector field
    def _gate_values(self, x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray]]]:
        """Gate factors c (n,) and, per gated skill, (k, parents, dc_k/dx_parents)."""
        c = np.ones(self.n_skills)
        grads: list[tuple[int, np.ndarray, np.ndarray]] = []
        if not self._gates:
            return c, grads
        lhat = self.state_to_loss(x) / self.initial_loss
        if self.loss == "mse":
            dlhat = (x > 0).astype(np.float64)
        else:
            dlhat = -expit(-x) / LOG2
        for g in self._gates:
            lp = np.clip(lhat[g.parents], 0.0, 1.0)
            inside = (lhat[g.parents] >= 0.0) & (lhat[g.parents] <= 1.0)
            openings = 1.0 - lp**g.exponent
            # a parent at exactly zero loss has a fully open gate: zero slope there, even for a < 1
            safe = np.where(lp > 0.0, lp, 1.0)
            d_open = np.where(inside & (lp > 0.0), -g.exponent * safe ** (g.exponent - 1.0), 0.0)
            d_open = d_open * dlhat[g.parents]
            if g.mode == "and":
                c[g.skill] = float(np.prod(openings))
                others = np.array([np.prod(np.delete(openings, i)) for i in range(openings.size)])
                grads.append((g.skill, g.parents, others * d_open))
            else:
                j = int(np.argmax(openings))
                c[g.skill] = float(openings[j])
                dc = np.zeros(openings.size)
                dc[j] = d_open[j]
                grads.append((g.skill, g.parents, dc))
        return c, grads

    def _scaled_pulls(self, x: np.ndarray):
        """Pulls r = c p g and their parts, all divided by max(r) (the field is a ratio of pulls).

        Returns (r, g, dg, c, gate_grads, N0) in those units, or None when nothing pulls (every MSE
        skill learned, or all gated shut). For CE the scale is taken in log space: late pulls
        ~ p exp(-z) underflow (z > ~745) long before their ratios stop mattering.
        """
        c, gate_grads = self._gate_values(x)
        if self.loss == "mse":
            # pull = gradient magnitude: l itself while l > 0, none once the loss has reached 0
            active = x > 0
            g, dg = np.where(active, x, 0.0), active.astype(np.float64)
            scale = float((c * self.p * g).max())
            if not scale > 0.0:
                return None
            g, dg = g / scale, dg / scale
            n0 = self.N0 / scale
        else:
            # pull = sigmoid(-z), kept as a log: exp(-softplus(z)) stays exact where it underflows
            log_g = -np.logaddexp(0.0, x)
            with np.errstate(divide="ignore"):  # a shut gate (c = 0) is log 0 = -inf: no pull
                log_scale = float((np.log(c * self.p) + log_g).max())
            if log_scale == -np.inf:
                return None
            g = np.exp(log_g - log_scale)
            dg = -g * expit(x)
            n0 = self.N0 * math.exp(min(-log_scale, 709.0)) if self.N0 > 0.0 else 0.0
        return c * self.p * g, g, dg, c, gate_grads, n0

    def vector_field(self, t: float, x: np.ndarray) -> np.ndarray:
        """dx/dt at state x, shape (n,) (t is unused: the model is autonomous)."""
        x = np.asarray(x, dtype=np.float64)
        pulls = self._scaled_pulls(x)
        if pulls is None:
            return np.zeros_like(x)
        r, _, _, _, _, n0 = pulls
        num = r if self.C is None else self.C @ r
        den = r.sum() + n0
        if self.loss == "mse":
            f = -self.eta * num / den
            return np.where((x <= 0.0) & (f < 0.0), 0.0, f)
        return self.eta * num / den

    def jacobian(self, t: float, x: np.ndarray) -> np.ndarray:
        """d(dx/dt)/dx at state x, shape (n, n), analytic."""
        x = np.asarray(x, dtype=np.float64)
        n = self.n_skills
        pulls = self._scaled_pulls(x)
        if pulls is None:
            return np.zeros((n, n))
        r, g, dg, c, gate_grads, n0 = pulls
        # dr/dx = diag(c p g') + p g (dc/dx)
        dr = np.diag(c * self.p * dg)
        for k, parents, dc in gate_grads:
            dr[k, parents] += self.p[k] * g[k] * dc
        num = r if self.C is None else self.C @ r
        dnum = dr if self.C is None else self.C @ dr
        den = r.sum() + n0
        sign = -1.0 if self.loss == "mse" else 1.0
        J = sign * self.eta * (dnum / den - np.outer(num, dr.sum(axis=0)) / den**2)
        if self.loss == "mse":
            f = sign * self.eta * num / den
            J[(x <= 0.0) & (f < 0.0), :] = 0.0
        return J

    # ----------------------------------------------------------------------- symbolic
    def symbolic(self) -> SymbolicSystem:
        """The model as a sympy ODE system (sympy is imported here); see skillode.models._symbolic.resource_system."""
        from ._symbolic import resource_system

        return resource_system(self)
