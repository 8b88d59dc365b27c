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
