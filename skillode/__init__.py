"""skillode: the physics of skill learning (Liu, Liu, Michaud, Gore, Tegmark, arXiv 2501.12391).

Models are data plus a vector field; solvers are chosen by name; everything produces SkillCurves.
"""

from . import closed_forms, plot
from ._version import __version__
from .curves import SkillCurves, read_curves
from .fitting import (
    Comparison,
    FitConfig,
    FitResult,
    PredictionError,
    ResourceMapping,
    compare,
    fit,
    fit_resource_mapping,
    load_curves,
    n0_study,
    predict,
    prediction_error,
    to_loss,
)
from .models import (
    DominoModel,
    Gate,
    GeometryModel,
    ParallelModel,
    ResourceModel,
    SignGDMeanField,
    SymbolicSystem,
    mean_field_for,
    resource_model_for,
    zipf_frequencies,
)
from .plot import plot_curves, plot_total_loss
from .solvers import GeometryResult, Solution, log_steps, methods_for, register_method, simulate, solve
from .sweeps import (
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
    "methods_for",
    "n0_study",
    "plot",
    "plot_curves",
    "plot_total_loss",
    "predict",
    "prediction_error",
    "read_curves",
    "register_method",
    "resource_model_for",
    "run_scaling_sweep",
    "simulate",
    "solve",
    "summarize_scaling",
    "to_loss",
    "two_skill_sweep",
    "zipf_frequencies",
    "__version__",
]
