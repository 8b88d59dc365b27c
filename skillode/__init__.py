"""skillode: the physics of skill learning (Liu, Liu, Michaud, Gore, Tegmark, arXiv 2501.12391).

Models are data plus a vector field; solvers are chosen by name; everything produces SkillCurves.
"""

from . import _closed_forms as closed_forms
from ._curves import SkillCurves
from ._fit import (
    Comparison,
    FitConfig,
    FitResult,
    PredictionError,
    compare,
    fit,
    load_curves,
    predict,
    prediction_error,
    to_loss,
)
from ._limits import DominoModel, ParallelModel
from ._resource import Gate, ResourceModel
from ._solvers import Solution, solve
from ._symbolic import SymbolicSystem

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "DominoModel",
    "FitConfig",
    "FitResult",
    "Gate",
    "ParallelModel",
    "PredictionError",
    "ResourceModel",
    "SkillCurves",
    "Solution",
    "SymbolicSystem",
    "closed_forms",
    "compare",
    "fit",
    "load_curves",
    "predict",
    "prediction_error",
    "solve",
    "to_loss",
]
