"""Sweeps: deterministic grids of Geometry-model simulations (resumable, shardable), and the scaling laws
fitted to them."""

from ._engine import MissingExtraError, PointFailure, Scheduler, parse_scheduler
from ._laws import ChinchillaFit, PowerLawFit, fit_chinchilla, fit_power_law
from ._scaling import (
    ScalingSweepConfig,
    ScalingSweepResults,
    SweepPointsFailed,
    compute_point,
    load_scaling_sweep,
    parse_shard,
    point_path,
    read_config,
    read_point,
    run_scaling_sweep,
    shard_points,
    write_point,
)
from ._summary import ScalingSummary, learning_window, summarize_scaling
from ._two_skill import TwoSkillSweep, two_skill_sweep

__all__ = [
    "ChinchillaFit",
    "MissingExtraError",
    "PointFailure",
    "Scheduler",
    "SweepPointsFailed",
    "compute_point",
    "parse_scheduler",
    "read_config",
    "read_point",
    "write_point",
    "PowerLawFit",
    "ScalingSummary",
    "ScalingSweepConfig",
    "ScalingSweepResults",
    "TwoSkillSweep",
    "fit_chinchilla",
    "fit_power_law",
    "learning_window",
    "load_scaling_sweep",
    "parse_shard",
    "point_path",
    "run_scaling_sweep",
    "shard_points",
    "summarize_scaling",
    "two_skill_sweep",
]
