"""SkillCurves, the one data type every model, solver, experiment and file becomes, and its file formats.

read_curves reads skillode's own files (.npz, .csv) and the logs researchers already have:
tracker CSV exports (W&B, MLflow, pandas), JSON lines and TensorBoard event files.
SkillCurves.to_pandas / from_pandas / to_xarray convert to and from DataFrames and DataArrays.
"""

from ._skill_curves import SkillCurves
from ._trackers import read_curves

__all__ = ["SkillCurves", "read_curves"]
