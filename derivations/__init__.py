"""Closed-form results about the skill-learning models, each proved in sympy where possible and
checked numerically against skillode's solvers.

    import derivations
    derivations.names()                   # registered results
    report = derivations.run("exact_solution")
    print(derivations.render([report], "markdown"))
"""

from ._core import (
    FORMATS,
    Derivation,
    DerivationReport,
    NumericCheck,
    Statement,
    SymbolicCheck,
    get,
    names,
    render,
    run,
)
from . import exact_solution, learning_time, limits, scaling  # noqa: F401  (each module registers its Derivation on import)

__all__ = [
    "FORMATS",
    "Derivation",
    "DerivationReport",
    "NumericCheck",
    "Statement",
    "SymbolicCheck",
    "get",
    "names",
    "render",
    "run",
]
