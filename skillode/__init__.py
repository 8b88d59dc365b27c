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
from ._geometry import GeometryModel, GeometryResult, log_steps, simulate, zipf_frequencies
from ._limits import DominoModel, ParallelModel
from ._mean_field import SignGDMeanField, mean_field_for
from ._mapping import ResourceMapping, fit_resource_mapping, n0_study, resource_model_for
from ._resource import Gate, ResourceModel
from ._solvers import Solution, solve
from ._sweep import (
    ChinchillaFit,
    PowerLawFit,
    ScalingSweepConfig,
    fit_chinchilla,
    fit_power_law,
    load_scaling_sweep,
    run_scaling_sweep,
    summarize_scaling,
    two_skill_sweep,
)
from ._symbolic import SymbolicSystem

__version__ = "0.1.0"

__all__ = [
    "ChinchillaFit",
    "Comparison",
    "DominoModel",
    "FitConfig",
    "FitResult",
    "Gate",
    "GeometryModel",
    "GeometryResult",
    "ParallelModel",
    "PowerLawFit",
    "PredictionError",
    "ResourceMapping",
    "ResourceModel",
    "ScalingSweepConfig",
    "SignGDMeanField",
    "SkillCurves",
    "Solution",
    "SymbolicSystem",
    "closed_forms",
    "compare",
    "fit",
    "fit_chinchilla",
    "fit_power_law",
    "fit_resource_mapping",
    "load_curves",
    "load_scaling_sweep",
    "log_steps",
    "mean_field_for",
    "n0_study",
    "predict",
    "prediction_error",
    "resource_model_for",
    "run_scaling_sweep",
    "simulate",
    "solve",
    "summarize_scaling",
    "to_loss",
    "two_skill_sweep",
    "zipf_frequencies",
]
