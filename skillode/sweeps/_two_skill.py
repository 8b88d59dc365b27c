"""The two-skill sweep: t2/t1 against p1/p2 in the Geometry model, per optimizer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import as_count, as_scalar, choice
from .._repr import short_repr
from ..models import GeometryModel
from ..models._geometry import OPTIMIZERS
from ..solvers import simulate


@dataclass(frozen=True, eq=False)
class TwoSkillSweep:
    """Learning-time ratio t2/t1 of two skills versus their frequency ratio p1/p2.

    Attributes:
        ratios: shape (m,), p1/p2.
        optimizers: optimizer names (rows).
        t1, t2, time_ratio: shape (n_optimizers, m): steps to reach the loss threshold, and t2/t1.
        threshold: the per-skill loss threshold; settings: the shared model settings.
    """

    ratios: np.ndarray
    optimizers: tuple[str, ...]
    t1: np.ndarray
    t2: np.ndarray
    time_ratio: np.ndarray
    threshold: float
    settings: dict

    def __repr__(self) -> str:
        return short_repr(self, array_items=0)

    def to_dict(self) -> dict:
        return {
            "ratios": self.ratios.tolist(),
            "optimizers": list(self.optimizers),
            "t1": self.t1.tolist(),
            "t2": self.t2.tolist(),
            "time_ratio": self.time_ratio.tolist(),
            "threshold": self.threshold,
            "settings": self.settings,
        }


DEFAULT_TWO_SKILL_LR = {"signgd": 3e-4, "adam": 3e-4, "sgd": 1e-2, "lion": 3e-4, "ademamix": 3e-4}


def two_skill_sweep(
    ratios: Sequence[float] = tuple(np.geomspace(1, 100, 9)),
    optimizers: Sequence[str] = ("signgd", "adam", "sgd"),
    *,
    N: int = 256,
    threshold: float = 0.1,
    lr: dict | None = None,
    seed: int = 0,
    max_steps: int = 400_000,
    progress: bool = False,
) -> TwoSkillSweep:
    """t2/t1 vs p1/p2 for two orthogonal skills (random rotation in R^N), exact gradient, MSE.

    Every ratio of one optimizer runs in one batch; the step budget (first 1000) grows 4x until
    both skills of every run reach `threshold`, capped at max_steps (a skill not learned by then
    has a NaN time). SGD gives t2/t1 = p1/p2 (independent skills);
    SignGD shares a fixed step length between skills and levels off near 2.
    """
    ratios_arr = np.asarray([as_scalar(r, "ratios", positive=True) for r in ratios], dtype=np.float64)
    if ratios_arr.size == 0:
        raise ValueError("ratios must hold at least one ratio")
    opts = tuple(choice(o, "optimizers", OPTIMIZERS) for o in optimizers)
    thr = as_scalar(threshold, "threshold", positive=True)
    if thr >= 1:
        raise ValueError(f"threshold must lie in (0, 1) (MSE losses start at 1), got {thr}")
    max_steps = as_count(max_steps, "max_steps")
    lrs = DEFAULT_TWO_SKILL_LR | (lr or {})
    t1 = np.full((len(opts), ratios_arr.size), np.nan)
    t2 = np.full_like(t1, np.nan)
    for i, opt in enumerate(opts):
        models = [
            GeometryModel(np.array([r, 1.0]), N, tasks="orthogonal", optimizer=opt, lr=lrs[opt], task_seed=seed)
            for r in ratios_arr
        ]
        steps = min(1000, max_steps)
        while True:
            res = simulate(models, steps, seeds=seed, record=np.arange(steps + 1), progress=progress)
            lt = np.stack([c.learning_times(thr) for c in res.curves])
            if np.all(np.isfinite(lt)) or steps >= max_steps:
                break
            steps = min(4 * steps, max_steps)
        t1[i], t2[i] = lt[:, 0], lt[:, 1]
    settings = {
        "N": N,
        "lr": {o: lrs[o] for o in opts},
        "seed": seed,
        "tasks": "orthogonal",
        "loss": "mse",
        "gradient": "exact",
    }
    return TwoSkillSweep(ratios_arr, opts, t1, t2, t2 / t1, thr, settings)
