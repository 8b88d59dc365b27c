"""solve(model, times, method=...): the method is looked up by model type and name, never by isinstance.

Each solver module registers what it can solve:

    register_method(ResourceModel, "ode", solve_ode)     # fn(model, times, options) -> Solution

and `solve` finds the function for type(model) (or its nearest registered base class). A new model
type plugs in by registering its methods; `solve` itself does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_count, as_scalar, as_times
from ._solution import Solution

ODE_METHODS = ("auto", "LSODA", "RK45", "RK23", "DOP853", "Radau", "BDF")


@dataclass(frozen=True)
class SolverOptions:
    """Options every method receives (each reads those it uses).

    Attributes:
        rtol, atol: tolerances of "ode" (rtol also of the root find of "exact").
        ode_method: scipy method of "ode" (see solve).
        max_evaluations: the most vector-field evaluations "ode" may spend before it gives up;
            "map" refuses more steps than max(max_evaluations, MAP_MIN_STEP_BUDGET).
    """

    rtol: float = 1e-10
    atol: float = 1e-13
    ode_method: str = "auto"
    max_evaluations: int = 200_000


SolverFunction = Callable[[Any, np.ndarray, SolverOptions], Solution]
_REGISTRY: dict[type, dict[str, SolverFunction]] = {}


def register_method(model_type: type, method: str, function: SolverFunction) -> None:
    """Make `function(model, times, options) -> Solution` the solver `method` of `model_type`.

    times is a checked 1-D float64 array of non-negative, strictly increasing times; options a
    SolverOptions. Registering a name again for the same type replaces the earlier function.
    """
    if not isinstance(model_type, type):
        raise ValueError(f"model_type must be a class, got {model_type!r}")
    if not isinstance(method, str) or not method:
        raise ValueError(f"method must be a non-empty string, got {method!r}")
    if not callable(function):
        raise ValueError(f"function must be callable, got {function!r}")
    _REGISTRY.setdefault(model_type, {})[method.lower()] = function


def methods_for(model: Any) -> tuple[str, ...]:
    """The method names that `solve` accepts for this model (or model type)."""
    return tuple(_methods(model if isinstance(model, type) else type(model)))


def registered_methods() -> tuple[str, ...]:
    """Every method name registered for any model type."""
    names: list[str] = []
    for table in _REGISTRY.values():
        names.extend(m for m in table if m not in names)
    return tuple(names)


def _methods(model_type: type) -> dict[str, SolverFunction]:
    table: dict[str, SolverFunction] = {}
    for base in reversed(model_type.__mro__):  # a subclass's registration overrides its base's
        table.update(_REGISTRY.get(base, {}))
    return table


def solve(
    model: Any,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    steps: int | None = None,
    method: str = "auto",
    rtol: float = 1e-10,
    atol: float = 1e-13,
    ode_method: str = "auto",
    max_evaluations: int = 200_000,
) -> Solution:
    """Solve a skill-learning model on a time grid.

    Args:
        model: ResourceModel, DominoModel, ParallelModel or SignGDMeanField ("map" only), or any
            type with registered methods (see register_method, methods_for).
        times: shape (n_t,), strictly increasing non-negative times; or give `steps` for 0..steps.
        method: "auto" (default: "exact" where a closed form applies, else "ode", else "map"; the
            Solution's method says which ran), "exact" (closed form: Domino, Parallel, and the
            Resource model with C = I and no gates), "ode" (scipy solve_ivp, any ResourceModel) or
            "map" (the paper's discrete update with clipping at 0, one step per unit time; times
            must be integers).
        rtol, atol: tolerances of "ode" (and the root find of "exact").
        ode_method: scipy method for "ode": "auto" (default), "LSODA", "RK45", "RK23",
            "DOP853", "Radau" or "BDF". With C = I "ode" integrates the model in its intrinsic time
            (no singularity, memory linear in n) and "auto" takes DOP853; with overlapping skills
            it integrates the state with the analytic Jacobian, "auto" taking RK45 for MSE (a
            skill held at zero loss while its neighbours pull on it is a non-smooth motion on
            which implicit steps can stall) and LSODA for CE. "LSODA", "Radau" and "BDF" form a
            dense n x n Jacobian and are refused where it would exceed 1 GiB.
        max_evaluations: the budget of "ode": past this many evaluations of the vector field it
            stops with a RuntimeError instead of grinding on. "map" (one evaluation per step)
            refuses times beyond max(max_evaluations, 1e7) steps up front with a ValueError.
    """
    function = _lookup(model, _auto_method(model) if str(method).lower() == "auto" else method)
    t = _time_grid(times, steps)
    options = SolverOptions(
        rtol=as_scalar(rtol, "rtol", positive=True),
        atol=as_scalar(atol, "atol", positive=True),
        ode_method=_ode_method_name(ode_method),
        max_evaluations=as_count(max_evaluations, "max_evaluations"),
    )
    return function(model, t, options)


def _exact_applies(model: Any) -> bool:
    """Whether the closed form covers this model (duck-typed: the Resource model's C, gates and reweighting)."""
    if not getattr(model, "is_orthogonal", True) or getattr(model, "has_gates", False):
        return False
    return not (getattr(model, "reweight", "none") == "loss" and getattr(model, "loss", "mse") == "ce")


def _auto_method(model: Any) -> str:
    """method="auto": exact where it applies, else ode, else map, else the first registered."""
    table = _methods(type(model))
    if "exact" in table and _exact_applies(model):
        return "exact"
    for name in ("ode", "map"):
        if name in table:
            return name
    return next(iter(table), "exact")  # no registered method: _lookup names the problem


def _lookup(model: Any, method: str) -> SolverFunction:
    known = registered_methods()
    key = str(method).lower()
    if key not in known:
        raise ValueError(f"method must be one of {', '.join(map(repr, known))}; got {method!r}")
    table = _methods(type(model))
    if not table:
        types = ", ".join(sorted(t.__name__ for t in _REGISTRY))
        raise ValueError(
            f"model must be one of the types with registered solvers ({types}), got {type(model).__name__}; "
            "a new model type registers its methods with skillode.solvers.register_method"
        )
    if key not in table:
        supported = ", ".join(map(repr, table))
        raise ValueError(f"method {method!r} does not apply to {type(model).__name__}; its methods: {supported}")
    return table[key]


def _time_grid(times: Any, steps: Any) -> np.ndarray:
    if times is None and steps is None:
        raise ValueError("give times (an array of steps) or steps (an int)")
    if times is not None and steps is not None:
        raise ValueError("give times or steps, not both")
    if steps is not None:
        count = as_count(steps, "steps")
        if count > 2**31:  # the grid itself would not fit in memory
            raise ValueError(f"steps = {count} is too many for a grid of every step; give times instead")
        return np.arange(count + 1, dtype=np.float64)
    return as_times(times, "times")


def _ode_method_name(name: Any) -> str:
    by_key = {m.lower(): m for m in ODE_METHODS}
    key = str(name).lower()
    if key not in by_key:
        raise ValueError(f"ode_method must be one of {', '.join(map(repr, ODE_METHODS))}; got {name!r}")
    return by_key[key]
