"""Gates of compositional skills: a skill draws resource only as its parents are learned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_scalar, choice

GATE_MODES = ("and", "or")


@dataclass(frozen=True)
class Gate:
    """Skill `skill` draws resource only as its `parents` are learned.

    mode "and" multiplies the parents' openings (1 - lhat^exponent), "or" takes their maximum.
    exponent > 0: 1 opens the gate in proportion to a parent's progress; smaller values keep it
    shut until the parent is nearly learned, larger ones open it early. Skills are given by index
    or by name.
    """

    skill: int | str
    parents: tuple[int | str, ...]
    mode: str = "and"
    exponent: float = 1.0

    def __post_init__(self) -> None:
        # what can be checked without the model's skills is checked here, where the value enters
        _check_reference(self.skill, "skill")
        parents = self.parents
        if isinstance(parents, (str, int, np.integer)):
            parents = (parents,)
        try:
            parents = tuple(parents)
        except TypeError:
            raise ValueError(f"Gate parents must be a sequence of skill indices or names, got {parents!r}") from None
        if not parents:
            raise ValueError(f"Gate of skill {self.skill!r} needs at least one parent")
        for parent in parents:
            _check_reference(parent, "parent")
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "mode", choice(self.mode, "Gate mode", GATE_MODES))
        object.__setattr__(self, "exponent", as_scalar(self.exponent, "Gate exponent", positive=True))


def _check_reference(ref: Any, what: str) -> None:
    if isinstance(ref, bool) or not isinstance(ref, (int, np.integer, str)):
        raise ValueError(f"Gate {what} must be a skill index or name, got {ref!r}")
    if isinstance(ref, (int, np.integer)) and ref < 0:
        raise ValueError(f"Gate {what} must be a non-negative skill index, got {ref}")


@dataclass(frozen=True)
class _ResolvedGate:
    skill: int
    parents: np.ndarray
    mode: str
    exponent: float


def _resolve_gates(gates: Any, names: tuple[str, ...]) -> tuple[_ResolvedGate, ...]:
    if gates is None:
        return ()
    if isinstance(gates, Mapping):
        items = [Gate(k, tuple(v) if isinstance(v, (list, tuple)) else (v,)) for k, v in gates.items()]
    elif isinstance(gates, Gate):
        items = [gates]
    else:
        try:
            items = list(gates)
        except TypeError:
            raise ValueError(f"gates must be a dict {{skill: parents}} or a list of Gate, got {gates!r}") from None
        if not all(isinstance(g, Gate) for g in items):
            raise ValueError("gates must be a dict {skill: parents} or a list of Gate objects")

    def index(ref: Any, what: str) -> int:
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            if not 0 <= int(ref) < len(names):
                raise ValueError(f"gates: {what} {ref} is not a skill index (0..{len(names) - 1})")
            return int(ref)
        if isinstance(ref, str) and ref in names:
            return names.index(ref)
        raise ValueError(f"gates: {what} {ref!r} names an unknown skill; known: {', '.join(names)}")

    resolved: list[_ResolvedGate] = []
    seen: set[int] = set()
    for g in items:
        k = index(g.skill, "skill")
        if k in seen:
            raise ValueError(f"gates: skill {names[k]!r} is gated twice")
        seen.add(k)
        if len(g.parents) == 0:
            raise ValueError(f"gates: skill {names[k]!r} needs at least one parent")
        parents = np.array([index(pr, "parent") for pr in g.parents], dtype=int)
        if k in parents:
            raise ValueError(f"gates: skill {names[k]!r} cannot be its own parent")
        mode = choice(g.mode, "gate mode", GATE_MODES)
        a = as_scalar(g.exponent, "gate exponent", positive=True)
        resolved.append(_ResolvedGate(k, parents, mode, a))
    _check_acyclic(resolved, names)
    return tuple(resolved)


def _check_acyclic(gates: Sequence[_ResolvedGate], names: tuple[str, ...]) -> None:
    parents = {g.skill: set(g.parents.tolist()) for g in gates}
    state: dict[int, int] = {}

    def visit(k: int) -> None:
        if state.get(k) == 1:
            raise ValueError(f"gates: dependency cycle through skill {names[k]!r}")
        if state.get(k) == 2:
            return
        state[k] = 1
        for j in parents.get(k, ()):
            visit(j)
        state[k] = 2

    for k in parents:
        visit(k)


# ------------------------------------------------------------------ the gate terms, computed stably
# A parent's opening is 1 - lhat^a with lhat its normalised loss clipped to [0, 1] (a loss at or
# below zero counts as learned, one at or above its start as not begun). The paper's exponents go
# down to 1e-4, where lhat^a is 1 - O(a) and 1 - lhat^a cancels, and where the slope
# -a lhat^(a - 1) overflows long before lhat underflows; so both are computed from log lhat:
#
#     opening  = -expm1(a log lhat)                  (exactly 1 at lhat = 0, exactly 0 at lhat = 1)
#     slope    = d opening / d lhat = -a exp((a - 1) log lhat)
#     log form = d opening / d log lhat = -a exp(a log lhat)          (bounded by a)
#
# The slope diverges as lhat -> 0 for a < 1: it is capped at exp(SLOPE_LOG_CAP) ~ 1e299 (only
# Jacobians use it) and taken as 0 at lhat = 0 exactly, where the gate is fully open.
SLOPE_LOG_CAP = 690.0


def gate_openings(log_lhat: np.ndarray, exponent: float | np.ndarray) -> np.ndarray:
    """1 - lhat^a for lhat = exp(log_lhat) clipped to [0, 1] (log_lhat = -inf: lhat = 0, open)."""
    return -np.expm1(exponent * np.minimum(log_lhat, 0.0))


def gate_slopes(log_lhat: np.ndarray, exponent: float | np.ndarray) -> np.ndarray:
    """d(1 - lhat^a)/d lhat = -a lhat^(a - 1) for 0 < lhat <= 1 (capped, see SLOPE_LOG_CAP); 0 elsewhere."""
    inside = np.isfinite(log_lhat) & (log_lhat <= 0.0)
    log_safe = np.where(inside, log_lhat, 0.0)
    return np.where(inside, -exponent * np.exp(np.minimum((exponent - 1.0) * log_safe, SLOPE_LOG_CAP)), 0.0)


def gate_log_slopes(log_lhat: np.ndarray, exponent: float | np.ndarray) -> np.ndarray:
    """d(1 - lhat^a)/d log lhat = -a lhat^a for lhat <= 1; 0 above 1 (bounded by a; 0 at lhat = 0)."""
    return np.where(log_lhat <= 0.0, -exponent * np.exp(exponent * np.minimum(log_lhat, 0.0)), 0.0)


def gate_factor(mode: str, openings: np.ndarray, slopes: np.ndarray | None = None) -> tuple[float, np.ndarray | None]:
    """(c, dc/d(parent)) of one gate from its parents' openings and their slopes (None: no slopes).

    AND: c = prod_i o_i, dc/di = o_i' prod_{j != i} o_j;  OR: c = max_i o_i (the first maximum).
    """
    if mode == "and":
        c = float(np.prod(openings))
        if slopes is None:
            return c, None
        others = np.array([np.prod(np.delete(openings, i)) for i in range(openings.size)])
        return c, others * slopes
    j = int(np.argmax(openings))
    if slopes is None:
        return float(openings[j]), None
    dc = np.zeros(openings.size)
    dc[j] = slopes[j]
    return float(openings[j]), dc


@dataclass(frozen=True)
class _GateTable:
    """Every gate at once: their parents concatenated gate after gate, so that the factors of all
    gates come from one vectorised pass (the field is evaluated once per step or stage)."""

    skills: np.ndarray  # (m,) the gated skills
    parents: np.ndarray  # (P,) each gate's parents, gate after gate
    exponents: np.ndarray  # (P,) the exponent of the gate each parent entry belongs to
    starts: np.ndarray  # (m + 1,) gate i's parents are parents[starts[i]:starts[i + 1]]
    is_and: np.ndarray  # (m,) AND (True) or OR gate

    @classmethod
    def build(cls, gates: Sequence[_ResolvedGate]) -> _GateTable:
        sizes = [g.parents.size for g in gates]
        return cls(
            skills=np.array([g.skill for g in gates], dtype=int),
            parents=np.concatenate([g.parents for g in gates]) if gates else np.zeros(0, dtype=int),
            exponents=np.repeat([g.exponent for g in gates], sizes).astype(np.float64),
            starts=np.concatenate([[0], np.cumsum(sizes)]).astype(int),
            is_and=np.array([g.mode == "and" for g in gates], dtype=bool),
        )

    def factors(self, openings: np.ndarray) -> np.ndarray:
        """Each gate's factor from the openings of parents[...] (AND: product, OR: maximum)."""
        heads = self.starts[:-1]
        return np.where(self.is_and, np.multiply.reduceat(openings, heads), np.maximum.reduceat(openings, heads))
