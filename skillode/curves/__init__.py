"""SkillCurves, the one data type every model, solver, experiment and file becomes, and its file formats."""

from ._skill_curves import SkillCurves

__all__ = ["SkillCurves"]
