"""Method "map": the paper's discrete update, one step per unit time."""

from __future__ import annotations

import numpy as np

from ..models import ResourceModel, SignGDMeanField
from ._registry import SolverOptions, register_method
from ._solution import Solution, _curves

MAP_MIN_STEP_BUDGET = 10_000_000  # about a minute of Python steps: map's floor on max_evaluations


def _integer_times(t: np.ndarray, options: SolverOptions | None = None) -> None:
    if np.any(t != np.round(t)):
        raise ValueError("method 'map' advances one step per unit time: times must be integers")
    budget = max(MAP_MIN_STEP_BUDGET, options.max_evaluations if options is not None else 0)
    if t.size and t[-1] > budget:
        raise ValueError(
            f"times: method 'map' steps one unit at a time and t = {t[-1]:.6g} is beyond its budget of {budget:,} "
            "steps (raise max_evaluations to allow more, or use method 'ode' or 'exact')"
        )


def solve_mean_field_map(model: SignGDMeanField, t: np.ndarray, options: SolverOptions) -> Solution:
    _integer_times(t, options)
    state = iterate_mean_field(model, t)
    return Solution(
        _curves(model, t, model.state_to_loss(state), "map"),
        "map",
        f"{int(t[-1])} mean-field steps",
        state,
        nfev=int(t[-1]),
    )


def solve_resource_map(model: ResourceModel, t: np.ndarray, options: SolverOptions) -> Solution:
    _integer_times(t, options)
    n_steps = int(t[-1])
    want = np.zeros(n_steps + 1, dtype=bool)
    want[t.astype(int)] = True
    x = model.initial_state()
    state = np.empty((t.size, model.n_skills))
    row = 0
    clip = model._clips  # the paper's np.maximum(l, 0) after every step; clip=False: none
    for step in range(n_steps + 1):
        if want[step]:
            state[row] = x
            row += 1
        if step < n_steps:
            dx = model.vector_field(step, x)
            if not np.all(np.isfinite(dx)):
                raise RuntimeError(_not_finite(model, x, step))
            x = x + dx
            if clip:
                np.maximum(x, 0.0, out=x)
    loss = model.state_to_loss(state)
    return Solution(
        _curves(model, t, loss, "map"), "map", f"{n_steps} steps", state, None, n_steps, initial_loss=model.initial_loss
    )


def _not_finite(model: ResourceModel, x: np.ndarray, step: int) -> str:
    """Why the update from state x at this step is not finite, for the error message."""
    den = model._denominator(x)
    if not den > 0.0:  # only the unclipped MSE model gets here
        return (
            f"map: at step {step} the resource denominator sum_j c_j p_j l_j + N0 = {den:.6g} is not positive: "
            "the unclipped model (clip=False) has left its domain (the signed residuals cancel the resource)"
        )
    return f"map: the update is not finite at step {step}; check the model's parameters"


def iterate_mean_field(model: SignGDMeanField, steps: np.ndarray) -> np.ndarray:
    """s at the given integer steps (sorted, >= 0), shape (len(steps), n), from s(0) = 0."""
    out = np.empty((steps.size, model.n_skills))
    s = np.zeros(model.n_skills)
    batch = model.batch if model.batch_noise == "sampled" else None  # None: no sampled batches
    rng = np.random.default_rng(model.seed)  # drawn from only for sampled batches
    k = 0
    for row, target in enumerate(steps.astype(np.int64)):
        while k < target:
            fractions = None if batch is None else rng.multinomial(batch, model.p) / batch
            s = s + model.step(s, fractions)
            k += 1
        out[row] = s
    return out


register_method(ResourceModel, "map", solve_resource_map)
register_method(SignGDMeanField, "map", solve_mean_field_map)
