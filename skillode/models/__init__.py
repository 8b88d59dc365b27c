"""Models: data plus a vector field (or an update rule); they never solve themselves.

ResourceModel (with Gate), its Domino and Parallel limits, the Geometry model, the SignGD mean
field of the Geometry model, their sympy forms, and the mappings from the Geometry model to the
Resource model and to the mean field. Solving is skillode.solvers' job.
"""

from ._frequencies import zipf_frequencies
from ._gates import Gate
from ._geometry import GeometryModel
from ._limits import DominoModel, ParallelModel
from ._mapping import PAPER_ETA_CONSTANT, mean_field_for, overlap_matrix, resource_model_for
from ._mean_field import SignGDMeanField
from ._resource import ResourceModel
from ._symbolic import SymbolicSystem

__all__ = [
    "PAPER_ETA_CONSTANT",
    "DominoModel",
    "Gate",
    "GeometryModel",
    "ParallelModel",
    "ResourceModel",
    "SignGDMeanField",
    "SymbolicSystem",
    "mean_field_for",
    "overlap_matrix",
    "resource_model_for",
    "zipf_frequencies",
]
