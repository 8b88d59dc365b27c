"""The least-squares problem: parameter vector -> model curves -> residuals, and where it starts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._checks import as_scalar
from ..curves import SkillCurves
from ..models import DominoModel, Gate, ParallelModel, ResourceModel
from ..models._resource import LOG2
from ..solvers import solve
from ..solvers._trajectory import TrajectoryCache
from ._config import SCALAR_PARAMETERS, FitConfig, _Param
from ._data import _half_times

# The "ode" tolerances of a fit: tight, so that solver noise stays below the finite-difference
# steps of the Jacobian.
ODE_RTOL, ODE_ATOL = 1e-9, 1e-12
# A fit of the gated Resource model (C = I, MSE) integrates its trajectory in intrinsic time once per
# frequencies and gate exponent and reuses it for every eta and N0 (skillode.solvers._trajectory):
# the same losses as a solve per evaluation, to within the solver's tolerances. False: solve per
# evaluation (the reference path; tests and benchmarks compare the two).
REUSE_TRAJECTORIES = True


def _build_model(
    config: FitConfig, scalars: dict, p: np.ndarray, names: tuple[str, ...] | None, order: tuple[int, ...] | None
):
    """The model object for natural parameter values `scalars` and frequencies p (n,)."""
    if config.model == "resource":
        gates = config.gates
        if gates is not None and scalars.get("gate_exponent") is not None:
            gates = _with_exponent(gates, scalars["gate_exponent"])
        return ResourceModel(p, scalars["eta"], scalars["N0"], C=config.C, loss=config.loss, gates=gates, names=names)
    if config.model == "domino":
        return DominoModel(p, scalars["eta"], order=order, names=names)
    return ParallelModel(p, scalars["eta"], scalars["N0"], names=names)


def _solver_method(config: FitConfig) -> str:
    """'exact' where the closed form exists (C = I, no gates), else 'ode'."""
    if config.model == "resource" and (config.gates is not None or not _is_identity(config.C)):
        return "ode"
    return "exact"


def _model_loss(
    config: FitConfig, model: Any, times: np.ndarray, offset: float, trajectories: TrajectoryCache | None = None
) -> np.ndarray:
    """Model loss on max(times - offset, 0), in the compared units, shape (n_t, n).

    normalize (either quantity): divided by its value at times[0], as to_loss divides the data
    by their first value; else accuracy: divided by l(0) (1 for MSE, log 2 for CE).
    trajectories: a fit's stored gated trajectories (see REUSE_TRAJECTORIES), or None.
    """
    shifted = np.maximum(np.asarray(times, dtype=np.float64) - offset, 0.0)
    unique, inverse = np.unique(shifted, return_inverse=True)
    if _solver_method(config) == "exact":
        loss = solve(model, unique, method="exact", rtol=1e-13).curves.loss
    else:
        reused = None if trajectories is None else trajectories.losses(model, unique)
        if reused is not None:
            loss = reused
        else:
            loss = solve(model, unique, method="ode", rtol=ODE_RTOL, atol=ODE_ATOL).curves.loss
    loss = loss[inverse.reshape(-1)]
    if config.normalize:
        loss = loss / loss[0]
    elif config.quantity == "accuracy":
        loss = loss / (LOG2 if getattr(model, "loss", "mse") == "ce" else 1.0)
    return loss


class _Problem:
    """The residual function of one fit: parameter vector -> model minus data, flattened."""

    def __init__(
        self,
        settings: list[SkillCurves],
        frequencies: list[np.ndarray],
        config: FitConfig,
        params: list[_Param],
        orders: list[tuple[int, ...] | None],
        fit_columns: list[np.ndarray],
    ):
        self.settings = settings
        self.frequencies = frequencies
        self.config = config
        self.params = params
        self.orders = orders
        self.fit_columns = fit_columns
        self.method = _solver_method(config)
        reuse = REUSE_TRAJECTORIES and self.method == "ode"
        self.trajectories = TrajectoryCache(ODE_RTOL, ODE_ATOL) if reuse else None

    # natural parameter values for a given internal vector
    def values(self, theta: np.ndarray) -> tuple[dict, list[np.ndarray]]:
        scalars = dict(self.config.fixed)
        freqs = [f.copy() for f in self.frequencies]
        for par, u in zip(self.params, theta):
            if par.kind == "logp":
                assert par.setting is not None and par.skill is not None  # set for every frequency
                freqs[par.setting][par.skill] = par.to_natural(float(u))
            else:
                scalars[par.name] = par.to_natural(float(u))
        return scalars, freqs

    def curves_at(self, theta: np.ndarray) -> list[np.ndarray]:
        scalars, freqs = self.values(theta)
        out = []
        for s, data in enumerate(self.settings):
            model = _build_model(self.config, scalars, freqs[s], data.names, self.orders[s])
            offset = scalars.get("offset", 0.0)
            out.append(_model_loss(self.config, model, data.times, offset, self.trajectories))
        return out

    def residual(self, theta: np.ndarray, targets: list[np.ndarray] | None = None) -> np.ndarray:
        try:
            preds = self.curves_at(theta)
        except (ValueError, RuntimeError, FloatingPointError):
            return np.full(self.n_points, 1e3)
        parts = []
        for s, pred in enumerate(preds):
            cols = self.fit_columns[s]
            y = self.settings[s].loss[:, cols] if targets is None else targets[s]
            parts.append((pred[:, cols] - y).ravel())
        r = np.concatenate(parts)
        return np.where(np.isfinite(r), r, 1e3)

    @property
    def n_points(self) -> int:
        return int(sum(d.n_times * c.size for d, c in zip(self.settings, self.fit_columns)))


def _is_identity(C: Any) -> bool:
    if C is None:
        return True
    C = np.asarray(C, dtype=np.float64)
    return C.ndim == 2 and C.shape[0] == C.shape[1] and bool(np.array_equal(C, np.eye(C.shape[0])))


def _with_exponent(gates: Any, exponent: float) -> list[Gate]:
    """The gates with every exponent replaced (the fitted shared gate exponent)."""
    if isinstance(gates, Mapping):
        items = [Gate(k, tuple(v) if isinstance(v, (list, tuple)) else (v,)) for k, v in gates.items()]
    elif isinstance(gates, Gate):
        items = [gates]
    else:
        items = list(gates)
    return [Gate(g.skill, tuple(g.parents), g.mode, exponent) for g in items]


def _pooled_eta_guess(problem: _Problem) -> float:
    """Starting eta from every setting (they share eta), not from the first one alone.

    Resource/Domino: the total loss falls at rate <= eta (exactly eta while N0 << sum p l), so
    each setting that learned gives drop(t_half) / t_half, t_half the first time its total drop
    reaches half its final drop; the settings' values are pooled by a geometric mean weighted by
    their final drop, so a setting that barely learns in its window (a drop at the noise level)
    hardly counts. Only the fitted skills' curves are used: held-out curves must not inform the fit.
    Parallel (depends on eta / N0): the median over every halved skill of every
    setting of ln 2 / (t_half p_k) times N0; with none halved, the smallest per-setting bound
    N0 / (max p * t_end).
    """
    cfg = problem.config
    if cfg.model == "parallel":
        n0 = cfg.fixed.get("N0", 1.0) if "N0" not in cfg.free else 1.0
        rates, bounds = [], []
        for data, p, cols in zip(problem.settings, problem.frequencies, problem.fit_columns):
            half = _half_times(data)[cols]
            ok = np.isfinite(half) & (half > 0)
            rates.extend((math.log(2.0) / half[ok] / p[cols][ok]).tolist())
            bounds.append(n0 / (float(p[cols].max()) * max(float(data.times[-1]), 1.0)))
        return float(np.median(rates)) * n0 if rates else min(bounds)
    logs, weights, t_ends = [], [], []
    for data, cols in zip(problem.settings, problem.fit_columns):
        t_end = float(data.times[-1])
        t_ends.append(t_end)
        drop = np.maximum(data.loss[0, cols] - data.loss[:, cols], 0.0).sum(axis=1)
        if drop[-1] > 0 and t_end > 0:
            i = int(np.argmax(drop >= 0.5 * drop[-1]))
            logs.append(math.log(drop[i] / max(data.times[i], t_end * 1e-6)))
            weights.append(float(drop[-1]))
    if not logs:
        return 1.0 / max(max(t_ends), 1.0)
    return math.exp(float(np.average(logs, weights=weights)))


def _starting_points(problem: _Problem, initial: dict) -> list[np.ndarray]:
    """Initial internal vectors: data-based guesses at several N0 (resource) or eta (limits) scales.

    The guesses pool every setting (see _pooled_eta_guess; the resource N0 grid is scaled by the
    settings' mean sum of frequencies), so a first setting that barely learns does not mislead.
    """
    cfg = problem.config
    for key in initial:
        if key not in SCALAR_PARAMETERS[cfg.model]:
            raise ValueError(f"initial: {key!r} is not a scalar parameter of the {cfg.model} model")
    eta_guess = _pooled_eta_guess(problem)
    p_sum = float(np.mean([float(p.sum()) for p in problem.frequencies]))
    base: dict[str, float] = {"eta": eta_guess, "offset": 0.0, "gate_exponent": 2.0}
    if cfg.model == "parallel":
        fixed_eta = cfg.fixed.get("eta")
        base["N0"] = (fixed_eta / eta_guess) if fixed_eta else 1.0
    # The resource model's shape depends strongly on N0 / sum(p): start at several ratios. The
    # closed-form limits are cheap and kinked (Domino): start at several eta scales.
    if cfg.model == "resource":
        grid = [{"N0": p_sum * f} for f in (1e-3, 0.1, 1.0, 10.0)]
        vary = "N0"
    else:
        grid = [{"eta": base["eta"] * f} for f in (1.0, 0.5, 2.0)]
        vary = "eta"
    starts = []
    for change in grid:
        values = dict(base)
        values.update(change)
        values.update({k: as_scalar(v, f"initial {k}") for k, v in initial.items()})
        x = []
        for par in problem.params:
            if par.kind == "logp":
                assert par.setting is not None and par.skill is not None  # set for every frequency
                x.append(math.log(problem.frequencies[par.setting][par.skill] / problem.frequencies[par.setting][0]))
            else:
                x.append(par.to_internal(values[par.name], par.name))
        starts.append(np.array(x))
        if vary in initial or vary not in cfg.free:
            break
    return starts
