"""Solvers: a model and a time grid in, a Solution (SkillCurves plus status) out.

`solve(model, times, method=...)` looks the method up in a registry keyed by model type and
method name (see _registry); "exact", "ode" and "map" register themselves here. The Geometry
model, a stochastic optimisation rather than an ODE, is run by `simulate`, batched over runs.
"""

# Each method module registers its methods on import, in the order methods_for lists them.
from . import _exact  # noqa: F401, I001
from . import _ode  # noqa: F401, I001
from . import _map  # noqa: F401, I001
from ._registry import SolverOptions, methods_for, register_method, solve
from ._simulate import GeometryResult, log_steps, run_grid, simulate
from ._solution import Solution

__all__ = [
    "GeometryResult",
    "Solution",
    "SolverOptions",
    "log_steps",
    "methods_for",
    "register_method",
    "run_grid",
    "simulate",
    "solve",
]
