"""Fitting: observed SkillCurves -> fitted models with uncertainty, compared and used to predict.

The fit is a pipeline of named stages (_fit.fit): data in the compared units (_data), the
parameters and their transforms (_config), the least-squares problem and its starting points
(_problem), the optimisation, then uncertainty (_uncertainty) and the result (_result).
_compare ranks models and scores predictions; _report compares the models on a researcher's run
(out of sample, with identifiability); _mapping fits the Resource model to Geometry runs.
"""

from ._compare import compare, predict, prediction_error
from ._config import CRITERIA, MODELS, QUANTITIES, FitConfig
from ._data import load_curves, to_loss
from ._fit import fit
from ._mapping import N0Study, ResourceMapping, fit_resource_mapping, n0_study
from ._report import RunComparison, compare_run
from ._result import Comparison, FitResult, PredictionError

__all__ = [
    "CRITERIA",
    "MODELS",
    "QUANTITIES",
    "Comparison",
    "FitConfig",
    "FitResult",
    "N0Study",
    "PredictionError",
    "ResourceMapping",
    "RunComparison",
    "compare",
    "compare_run",
    "fit",
    "fit_resource_mapping",
    "load_curves",
    "n0_study",
    "predict",
    "prediction_error",
    "to_loss",
]
