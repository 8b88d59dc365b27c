"""The Resource model of skill learning, as data plus a vector field.

MSE form, state l (per-skill loss, l_k(0) = 1):

    dl_k/dt = -eta * (C r)_k / (sum_j r_j + N0),   r_j = c_j * p_j * l_j

CE form, state z (per-skill logit, z_k(0) = 0, loss l_k = log(1 + exp(-z_k))):

    dz_k/dt = +eta * (C r)_k / (sum_j r_j + N0),   r_j = c_j * p_j * sigmoid(-z_j)

r_j is skill j's pull on the shared learning resource: its frequency times its gradient
magnitude (l for the MSE form, sigmoid(-z) = |dl/dz| for CE). c_j is the gate of a compositional
skill (1 for a skill without parents):

    AND: c_k = prod_{i in parents(k)} (1 - lhat_i^a),    OR: c_k = max_{i in parents(k)} (1 - lhat_i^a)

with lhat_i = l_i / l_i(0) the parent's normalised loss, clipped to [0, 1] (computed from
log lhat: stable for the paper's exponents down to 1e-4; see skillode.models._gates).

Clipping (MSE only). With clip=True (the default) a loss that reaches 0 stays there: the paper's
map clips l at 0 after every step, and the ODE holds a skill at 0 while its neighbours would push
it below. With clip=False nothing is clipped, as in the paper's runs with overlapping skills
(Fig 8: task vectors T, C = T T^T, iterated without np.maximum): l_k is then the signed residual
1 - (skill k's progress along its task direction) of the linear-overlap model, not a loss. It
goes below 0 when the overlaps overshoot a skill and above 1 when they set it back; its pull
r_k = c_k p_k l_k is signed too. The model is defined while the denominator sum_j r_j + N0 is
positive; outside (possible only with clip=False) the field is NaN and the solvers stop with an
error. With C = I the ODE's losses stay positive, so clip only changes the map (whose coarse steps
can overshoot 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

from .._checks import as_frequencies, as_matrix, as_names, as_scalar, choice
from .._repr import model_repr
from ._gates import (
    _GateTable,
    _resolve_gates,
    _ResolvedGate,
    gate_factor,
    gate_log_slopes,
    gate_openings,
    gate_slopes,
)

if TYPE_CHECKING:
    from ._symbolic import SymbolicSystem

LOSSES = ("mse", "ce")
REWEIGHTS = ("none", "loss")
LOG2 = float(np.log(2.0))
LOG_LOG2 = float(np.log(LOG2))
CE_TAIL = 30.0  # logits beyond this use the tail expansions of log softplus(-z) (error O(e^-2z))


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
        clip: MSE form only. True (default): losses are clipped at 0, as the paper's map does.
            False: nothing is clipped, as the paper iterates overlapping skills; the state l is
            then a signed residual, not a loss (see the module docstring), and state_to_loss,
            the curves and the learning times report it as it is, negative values included.
            The CE form (a logit) is never clipped: it accepts only clip=True.
        reweight: "none" (default) or "loss": loss-proportional example reweighting, the paper's
            remedy for rare skills (train on loss * w with w = loss.detach() / mean(loss.detach())).
            Skill k's examples get weight w_k = loss_k / sum_j phat_j loss_j (phat = p / sum p: the
            mean loss over examples), so its pull becomes c_k p_k g_k w_k: its share of the
            resource scales with its current loss as well as its frequency. With C = I, MSE and
            no gates it is solved in closed form (l_k = 1 / (1 + p_k tau); derivations
            reweighting); solvable with "ode" and "map" in every form.
    """

    p: np.ndarray
    eta: float
    N0: float = 0.0
    C: np.ndarray | None = None
    loss: str = "mse"
    gates: Any = None
    names: tuple[str, ...] | None = None
    clip: bool = True
    reweight: str = "none"
    _gates: tuple[_ResolvedGate, ...] = field(init=False, repr=False)
    _gate_table: _GateTable = field(init=False, repr=False)

    def __repr__(self) -> str:
        return model_repr(self)

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
        object.__setattr__(self, "_gate_table", _GateTable.build(self._gates))
        if not isinstance(self.clip, (bool, np.bool_)):
            raise ValueError(f"clip must be True or False, got {self.clip!r}")
        object.__setattr__(self, "clip", bool(self.clip))
        if self.loss == "ce" and not self.clip:
            raise ValueError("clip=False applies to the MSE form only: the CE state is a logit, never clipped")
        object.__setattr__(self, "reweight", choice(self.reweight, "reweight", REWEIGHTS))
        if self.reweight == "loss" and not self.clip:
            raise ValueError("reweight='loss' needs clip=True: a signed residual is not a loss to weight by")

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
    def _clips(self) -> bool:
        """True when the MSE losses are clipped at 0 (clip=True with loss="mse")."""
        return self.loss == "mse" and self.clip

    @property
    def initial_loss(self) -> float:
        """l_k(0): 1 for MSE, log 2 for CE (logit 0)."""
        return 1.0 if self.loss == "mse" else LOG2

    def initial_state(self) -> np.ndarray:
        """x(0), shape (n,): losses 1 (MSE) or logits 0 (CE)."""
        return np.ones(self.n_skills) if self.loss == "mse" else np.zeros(self.n_skills)

    def state_to_loss(self, x: np.ndarray) -> np.ndarray:
        """Per-skill loss from the state (any shape ending in n); with clip=False the MSE state as it
        is (a signed residual, see the module docstring)."""
        x = np.asarray(x, dtype=np.float64)
        if self.loss == "mse":
            return np.maximum(x, 0.0) if self.clip else x.copy()
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
            "clip": self.clip,
            "reweight": self.reweight,
        }

    # --------------------------------------------------------------- the vector field
    def _log_lhat(self, x: np.ndarray) -> np.ndarray:
        """log lhat = log(l / l(0)) from the state x (any shape); -inf where an MSE loss is <= 0.

        CE: log softplus(-z) - log log 2, kept exact where the loss itself underflows (z > ~745).
        """
        x = np.asarray(x, dtype=np.float64)
        if self.loss == "mse":
            positive = x > 0.0  # a loss at or below 0: a learned parent, log lhat = -inf
            return np.log(x, out=np.full(x.shape, -np.inf), where=positive)
        head = x < CE_TAIL
        z_head, z_tail = np.where(head, x, 0.0), np.where(head, CE_TAIL, x)
        # log log1p(u) = log u + log1p(-u/2 + ...), u = e^-z: -z - u/2 to O(u^2) in the tail
        return np.where(head, np.log(np.logaddexp(0.0, -z_head)), -z_tail - 0.5 * np.exp(-z_tail)) - LOG_LOG2

    def _gate_slopes(self, x: np.ndarray, log_lhat: np.ndarray, exponent: np.ndarray) -> np.ndarray:
        """d(1 - lhat^a)/dx at parent states x (0 where lhat is clipped)."""
        if self.loss == "mse":
            return gate_slopes(log_lhat, exponent)  # lhat = l: dlhat/dl = 1
        # d log lhat / dz = -sigmoid(-z) / softplus(-z), which tends to -1 as z grows
        head = x < CE_TAIL
        z_head, z_tail = np.where(head, x, 0.0), np.where(head, CE_TAIL, x)
        ratio = np.where(head, expit(-z_head) / np.logaddexp(0.0, -z_head), 1.0 - 0.5 * np.exp(-z_tail))
        return -gate_log_slopes(log_lhat, exponent) * ratio

    def _gate_values(
        self, x: np.ndarray, derivatives: bool = True
    ) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray]]]:
        """Gate factors c (n,) and, per gated skill, (k, parents, dc_k/dx_parents) (none when not derivatives)."""
        c = np.ones(self.n_skills)
        grads: list[tuple[int, np.ndarray, np.ndarray]] = []
        if not self._gates:
            return c, grads
        table = self._gate_table
        xp = np.asarray(x, dtype=np.float64)[table.parents]
        log_lhat = self._log_lhat(xp)
        openings = gate_openings(log_lhat, table.exponents)
        c[table.skills] = table.factors(openings)
        if derivatives:
            slopes = self._gate_slopes(xp, log_lhat, table.exponents)
            for i, g in enumerate(self._gates):
                part = slice(table.starts[i], table.starts[i + 1])
                _, dc = gate_factor(g.mode, openings[part], slopes[part])
                assert dc is not None  # slopes were given
                grads.append((g.skill, g.parents, dc))
        return c, grads

    def _gate_factors_log(self, log_lhat: np.ndarray) -> np.ndarray:
        """Gate factors c (n,) from every skill's log lhat (the intrinsic-time solver holds log l:
        exact where l underflows, which matters for small exponents)."""
        c = np.ones(self.n_skills)
        if self._gates:
            table = self._gate_table
            c[table.skills] = table.factors(gate_openings(log_lhat[table.parents], table.exponents))
        return c

    def _log_weights(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log w, q) of reweight="loss": w_k = loss_k / sum_j phat_j loss_j, q_k = d log loss_k / dx_k.

        In log space so that CE losses that underflow (z > ~745) keep their ratios; -inf (and
        q = 0) for a clipped MSE skill at 0, whose pull is 0 anyway.
        """
        log_loss = self._log_lhat(x) + (0.0 if self.loss == "mse" else LOG_LOG2)
        log_phat = np.log(self.p) - math.log(float(self.p.sum()))
        finite = np.isfinite(log_loss)
        top = float(np.max(np.where(finite, log_phat + log_loss, -np.inf)))
        if top == -math.inf:
            return np.full(x.shape, -np.inf), np.zeros(x.shape)
        log_mean = top + math.log(float(np.sum(np.exp(np.where(finite, log_phat + log_loss - top, -np.inf)))))
        if self.loss == "mse":
            q = np.where(finite, np.exp(-np.where(finite, log_loss, 0.0)), 0.0)  # 1 / l
        else:  # d log softplus(-z) / dz = -sigmoid(-z) / softplus(-z), -> -1 as z grows
            head = x < CE_TAIL
            z_head, z_tail = np.where(head, x, 0.0), np.where(head, CE_TAIL, x)
            q = -np.where(head, expit(-z_head) / np.logaddexp(0.0, -z_head), 1.0 - 0.5 * np.exp(-z_tail))
        return log_loss - log_mean, q

    def _scaled_pulls(self, x: np.ndarray, derivatives: bool = False):
        """Pulls r = c p g (times w with reweight="loss") and N0, divided by D = max(max |r|, N0).

        Returns (r, n0) or, with derivatives, (r, dr_diag, pg, gate_grads, n0, dlogw): dr_diag =
        c p w dg/dx and pg = p g w (skill k's pull without its gate), in the same units, and dlogw
        (n, n) = d log w_k / dx_j (None without reweighting). None when nothing pulls (every
        clipped MSE skill at 0, or all gated shut). For CE the scale is taken in log space: late
        pulls ~ p exp(-z) underflow (z > ~745) long before their ratios stop mattering.
        """
        c, gate_grads = self._gate_values(x, derivatives)
        if self.reweight == "loss":
            log_w, q = self._log_weights(x)
        else:
            log_w, q = np.zeros(x.shape), None
        if self.loss == "mse":
            # pull = gradient magnitude: l while l > 0, none at 0 (clip=True); clip=False: l, signed
            active = x > 0 if self.clip else np.ones(x.shape, dtype=bool)
            g = np.where(active, x, 0.0)
            w = np.exp(log_w)
            pulls = c * self.p * g * w
            biggest = float(np.abs(pulls).max())
            if not biggest > 0.0:
                return None
            scale = max(biggest, self.N0)
            r, n0 = pulls / scale, self.N0 / scale
            if not derivatives:
                return r, n0
            with np.errstate(over="ignore"):  # inf only if every pull and N0 are below 1 / DBL_MAX
                dr_diag, pg = c * self.p * active * w / scale, self.p * g * w / scale
        else:
            # pull = sigmoid(-z), kept as a log: exp(-softplus(z)) stays exact where it underflows
            log_g = -np.logaddexp(0.0, x) + log_w
            with np.errstate(divide="ignore"):  # a shut gate (c = 0) is log 0 = -inf: no pull; N0 = 0 alike
                log_pulls = np.log(c * self.p) + log_g
                log_n0 = math.log(self.N0) if self.N0 > 0.0 else -math.inf
            log_biggest = float(log_pulls.max())
            if log_biggest == -math.inf:
                return None
            log_scale = max(log_biggest, log_n0)
            r, n0 = np.exp(log_pulls - log_scale), math.exp(log_n0 - log_scale)
            if not derivatives:
                return r, n0
            with np.errstate(over="ignore"):  # a shut gate's own pull, beyond DBL_MAX times the others
                pg = np.exp(np.log(self.p) + log_g - log_scale)
            dr_diag = -r * expit(x)
        dlogw = None
        if q is not None:  # d log w_k / dx_j = delta_kj q_j - phat_j w_j q_j
            phat_w = np.exp(np.log(self.p / self.p.sum()) + log_w)
            dlogw = np.diag(q) - (phat_w * q)[None, :]
        return r, dr_diag, pg, gate_grads, n0, dlogw

    def _denominator(self, x: np.ndarray) -> float:
        """sum_j r_j + N0 at state x, unscaled (for messages: positive wherever the model is defined)."""
        x = np.asarray(x, dtype=np.float64)
        c, _ = self._gate_values(x, derivatives=False)
        if self.loss == "ce":
            g = expit(-x)
        else:
            g = np.maximum(x, 0.0) if self.clip else x
        if self.reweight == "loss":
            g = g * np.exp(self._log_weights(x)[0])
        return float(np.sum(c * self.p * g)) + self.N0

    def vector_field(self, t: float, x: np.ndarray) -> np.ndarray:
        """dx/dt at state x, shape (n,) (t is unused: the model is autonomous).

        NaN where the model is undefined: with clip=False, once sum_j r_j + N0 <= 0.
        """
        x = np.asarray(x, dtype=np.float64)
        pulls = self._scaled_pulls(x)
        if pulls is None:
            return np.zeros_like(x)
        r, n0 = pulls
        num = r if self.C is None else self.C @ r
        den = r.sum() + n0
        if not den > 0.0:  # only with clip=False: the signed pulls cancel the wasted resource
            return np.full_like(x, np.nan)
        if self.loss == "mse":
            f = -self.eta * num / den
            return np.where((x <= 0.0) & (f < 0.0), 0.0, f) if self.clip else f
        return self.eta * num / den

    def jacobian(self, t: float, x: np.ndarray) -> np.ndarray:
        """d(dx/dt)/dx at state x, shape (n, n), analytic (NaN where vector_field is)."""
        x = np.asarray(x, dtype=np.float64)
        n = self.n_skills
        pulls = self._scaled_pulls(x, derivatives=True)
        if pulls is None:
            return np.zeros((n, n))
        r, dr_diag, pg, gate_grads, n0, dlogw = pulls
        den = r.sum() + n0
        if not den > 0.0:
            return np.full((n, n), np.nan)
        # dr/dx = diag(c p w g') + p g w (dc/dx) + r (d log w / dx)
        dr = np.diag(dr_diag)
        for k, parents, dc in gate_grads:
            dr[k, parents] += pg[k] * dc
        if dlogw is not None:
            dr += r[:, None] * dlogw
        num = r if self.C is None else self.C @ r
        dnum = dr if self.C is None else self.C @ dr
        sign = -1.0 if self.loss == "mse" else 1.0
        J = sign * self.eta * (dnum / den - np.outer(num, dr.sum(axis=0)) / den**2)
        if self._clips:
            f = sign * self.eta * num / den
            J[(x <= 0.0) & (f < 0.0), :] = 0.0
        return J

    # ----------------------------------------------------------------------- symbolic
    def symbolic(self) -> SymbolicSystem:
        """The model as a sympy ODE system (sympy is imported here); see skillode.models._symbolic.resource_system."""
        from ._symbolic import resource_system

        return resource_system(self)
