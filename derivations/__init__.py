"""Closed-form results about the skill-learning models, each proved in sympy where possible and
checked numerically against skillode's solvers.

    import derivations
    derivations.names()                   # registered results
    report = derivations.run("exact_solution")
    print(derivations.render([report], "markdown"))
"""

# Each module registers its Derivation on import; this order is the order of the document.
from . import ce_limits, compute_optimal, exact_solution, learning_time, limits, scaling, signgd_mean_field, modular  # noqa: F401, I001
from . import geometry_mapping, reweighting  # noqa: F401, I001
from ._core import (
    FORMATS,
    Derivation,
    DerivationReport,
    Evaluation,
    NumericCheck,
    Statement,
    SymbolicCheck,
    evaluate,
    get,
    names,
    parse_values,
    render,
    run,
)

__all__ = [
    "FORMATS",
    "Derivation",
    "DerivationReport",
    "Evaluation",
    "NumericCheck",
    "Statement",
    "SymbolicCheck",
    "get",
    "names",
    "render",
    "run",
    "evaluate",
    "parse_values",
]
