"""Method "map": the paper's discrete update, one step per unit time."""

from __future__ import annotations

import numpy as np

from ..models import ResourceModel, SignGDMeanField
from ._registry import SolverOptions, register_method
from ._solution import Solution, _curves


def _integer_times(t: np.ndarray) -> None:
    if np.any(t != np.round(t)):
        raise ValueError("method 'map' advances one step per unit time: times must be integers")


def solve_mean_field_map(model: SignGDMeanField, t: np.ndarray, options: SolverOptions) -> Solution:
    _integer_times(t)
    state = iterate_mean_field(model, t)
    return Solution(
        _curves(model, t, model.state_to_loss(state), "map"),
        "map",
        f"{int(t[-1])} mean-field steps",
        state,
        nfev=int(t[-1]),
    )


def solve_resource_map(model: ResourceModel, t: np.ndarray, options: SolverOptions) -> Solution:
    _integer_times(t)
    n_steps = int(t[-1])
    want = np.zeros(n_steps + 1, dtype=bool)
    want[t.astype(int)] = True
    x = model.initial_state()
    state = np.empty((t.size, model.n_skills))
    row = 0
    clip = model.loss == "mse"
    for step in range(n_steps + 1):
        if want[step]:
            state[row] = x
            row += 1
        if step < n_steps:
            x = x + model.vector_field(step, x)
            if clip:
                np.maximum(x, 0.0, out=x)
    loss = model.state_to_loss(state)
    return Solution(
        _curves(model, t, loss, "map"), "map", f"{n_steps} steps", state, None, n_steps, initial_loss=model.initial_loss
    )


def iterate_mean_field(model: SignGDMeanField, steps: np.ndarray) -> np.ndarray:
    """s at the given integer steps (sorted, >= 0), shape (len(steps), n), from s(0) = 0."""
    out = np.empty((steps.size, model.n_skills))
    s = np.zeros(model.n_skills)
    sampled = model.batch is not None and model.batch_noise == "sampled"
    rng = np.random.default_rng(model.seed) if sampled else None
    k = 0
    for row, target in enumerate(steps.astype(np.int64)):
        while k < target:
            fractions = None
            if rng is not None and model.batch is not None:  # sampled batch noise
                fractions = rng.multinomial(model.batch, model.p) / model.batch
            s = s + model.step(s, fractions)
            k += 1
        out[row] = s
    return out


register_method(ResourceModel, "map", solve_resource_map)
register_method(SignGDMeanField, "map", solve_mean_field_map)
