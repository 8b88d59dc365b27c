"""Validation: torch-trained networks against the skill-learning models, with a report writer.

Experiments (each a frozen config dataclass and run(config) -> ExperimentResult):

* domino: two-task sparse parity, t2/t1 vs 1/p2, Resource model fitted on some p2 and predicting
  the others (validation.domino);
* compositional: x1^x2, x3^x4, x1^x2^x3^x4 vs an independent 4-bit parity, gated Resource model
  (validation.compositional);
* modularity: the paper's Fig 19 setup, a SiLU MLP [2, 100, 100, 2] vs two 50-unit towers on 990 / 10
  points of two tasks, and loss-proportional reweighting, the notebook's 100 runs per condition
  (validation.modularity; the earlier weighted-task variant is modularity.WEIGHTED_TASKS);
* geometry: Geometry model vs Resource model, the paper's Fig 7 top and its variants (validation.geometry);
* n0_dependence: the wasted resource N0 against noise, learning rate and batch size, Fig 7 bottom
  (validation.n0_dependence);
* grokking: modular addition mod 59 with an embedding MLP, SignGD vs Adam with and without weight
  decay, against the paper's notebook (validation.grokking, Fig 13);
* scaling_laws: the Geometry model's exponents alpha_N and alpha_S on the paper's Fig 10 grid, SignGD
  and Adam, by the notebook's estimators (validation.scaling_laws).

write_report(names, out_dir, quick=False) runs them and writes report.md, PNGs and metrics.json;
`skillode validate NAME|all --out DIR [--quick]` is the command-line form.
"""

from ._common import ExperimentResult
from ._train import (
    TrainRecord,
    TrainSettings,
    embed,
    embedding_mlp_forward,
    init_embedding,
    init_mlp,
    make_optimizer,
    mlp_forward,
    seed_generators,
    train,
)
from .compositional import CompositionalConfig
from .domino import DominoConfig
from .geometry import GeometryConfig
from .grokking import GrokkingConfig
from .modularity import ModularityConfig
from .n0_dependence import N0DependenceConfig
from .report import EXPERIMENTS, Experiment, Report, resolve_names, write_report
from .scaling_laws import ScalingLawsConfig
from .sparse_parity import ParityTask, make_parity_data, train_parity

__all__ = [
    "CompositionalConfig",
    "DominoConfig",
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "GeometryConfig",
    "GrokkingConfig",
    "ModularityConfig",
    "N0DependenceConfig",
    "ParityTask",
    "Report",
    "ScalingLawsConfig",
    "TrainRecord",
    "TrainSettings",
    "embed",
    "embedding_mlp_forward",
    "init_embedding",
    "init_mlp",
    "make_optimizer",
    "make_parity_data",
    "mlp_forward",
    "resolve_names",
    "seed_generators",
    "train",
    "train_parity",
    "write_report",
]
