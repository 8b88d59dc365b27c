"""Geometry -> Resource mapping: C = T T^T, eta = c * lr * sqrt(N), N0 fitted.

For SignGD on task vectors spread over many coordinates, the Geometry model behaves like the
Resource model

    dl_k/dt = -eta (C r)_k / (sum_j r_j + N0),   r_j = p_j l_j,   C = T T^T,

with eta proportional to lr * sqrt(N) (the paper uses c = 2) and N0 a "wasted resource" that
grows with gradient noise and falls with batch size. `fit_resource_mapping` fits eta (or only
the constant c) and N0 by least squares of the Resource model's per-skill l against a
Geometry-model run and reports how well it reproduces the curves.

Which Geometry quantity l stands for (derivations/geometry_mapping.py). The Resource model's pull
r_k = p_k l_k is skill k's share of the gradient, p_k |d loss_k / d s_k|, and for the MSE loss
(1 - s)^2 that is proportional to the residual 1 - s_k: so l_k is the residual, not the loss, and
the paper's notebooks (scripts/Fig7_top_geometry_resource_compare.ipynb) compare 1 - l with s.
The squared residual l^2 obeys dL/dt = -2 eta p L / (sum_j p_j sqrt(L_j) + N0), which is not a
Resource model: fitted as one, it mixes the two regimes (eta doubles in the N0-dominated limit)
and biases both parameters. So quantity="residual" (the default for MSE) fits l to
|1 - s| = sqrt(Geometry loss) (the curves hold the loss; |1 - s| = 1 - s until s overshoots 1,
by about lr per step under SignGD); quantity="loss" keeps the earlier fit of l to (1 - s)^2 by
name. Under CE the Resource model's state is the logit s itself and its loss the Geometry loss:
only "loss" applies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from .._checks import as_scalar, choice
from .._repr import short_repr
from ..curves import SkillCurves
from ..models import GeometryModel, ResourceModel
from ..models._mapping import PAPER_ETA_CONSTANT, resource_model_for
from ..solvers import simulate, solve


@dataclass(frozen=True, eq=False)
class ResourceMapping:
    """A Resource model fitted to one Geometry-model run.

    Attributes:
        resource: the fitted ResourceModel.
        eta: fitted eta; eta_constant = eta / (lr sqrt(N)) (the paper: 2).
        N0: fitted wasted resource (in units of sum(p) = 1).
        rmse: root-mean-square difference of per-skill losses (all skills, all sampled steps).
        max_abs_error: the largest per-skill loss difference.
        geometry: the Geometry-model curves that were fitted, in the fitted quantity (residual
            |1 - s| or loss).
        predicted: the fitted Resource model's curves at the same steps (its l).
        fitted: which parameters were free ("eta", "N0").
        quantity: "residual" (l against |1 - s|, the paper's) or "loss" (l against the loss).
        eta_constant_se, N0_se: standard errors from the fit's Jacobian (delta method; NaN when
            singular; the residuals are autocorrelated in time, so read them as a scale, not
            an interval). eta_constant_se is 0 when eta is fixed.
        N0_determined: N0 > 2 N0_se: the data tell N0 from 0. False typically when eta is free
            and N0 small: the two trade off, eta absorbs N0 (fix eta to read N0).
        success, message: least_squares' status.
    """

    resource: ResourceModel
    eta: float
    eta_constant: float
    N0: float
    rmse: float
    max_abs_error: float
    geometry: SkillCurves
    predicted: SkillCurves
    fitted: tuple[str, ...]
    success: bool
    message: str
    quantity: str = "residual"
    eta_constant_se: float = math.nan
    N0_se: float = math.nan
    N0_determined: bool = True

    def __repr__(self) -> str:
        # the model and both curves stay on .resource, .geometry and .predicted
        return short_repr(
            self,
            ("eta", "eta_constant", "N0", "rmse", "max_abs_error", "fitted", "quantity", "success"),
            values={"n_skills": self.geometry.n_skills, "n_times": self.geometry.n_times},
        )


def _predict(resource: ResourceModel, times: np.ndarray) -> np.ndarray:
    if resource.C is None:
        return solve(resource, times, method="exact").curves.loss
    # With overlaps, MSE losses that reach the clip at 0 make the field non-smooth there; LSODA
    # (the core default) can stall on that kink, an explicit Runge-Kutta method steps over it.
    return solve(resource, times, method="ode", rtol=1e-7, atol=1e-10, ode_method="RK45").curves.loss


QUANTITIES = ("residual", "loss")
N0_OFFSET = 1e-6  # N0 is searched as log(N0 + N0_OFFSET)


def _check_mapping_arguments(model: Any, curves: Any, quantity: str | None, fit_eta: Any) -> tuple[str, np.ndarray]:
    """fit_resource_mapping's arguments checked; (quantity, the fitted target (n_t, n))."""
    if not isinstance(model, GeometryModel):
        raise ValueError(f"model must be a GeometryModel, got {type(model).__name__}")
    if not isinstance(curves, SkillCurves) or curves.n_skills != model.n_skills:
        raise ValueError(f"curves must be SkillCurves with {model.n_skills} skills")
    if not isinstance(fit_eta, (bool, np.bool_)):
        raise ValueError(f"fit_eta must be True or False, got {fit_eta!r}")
    return _target(model, curves, quantity)


def _target(model: GeometryModel, curves: SkillCurves, quantity: str | None) -> tuple[str, np.ndarray]:
    """The fitted quantity's name and values, shape (n_t, n), from the Geometry loss."""
    if quantity is None:
        quantity = "residual" if model.loss == "mse" else "loss"
    quantity = choice(quantity, "quantity", QUANTITIES)
    if quantity == "residual":
        if model.loss != "mse":
            raise ValueError(
                "quantity='residual' needs the MSE loss: under CE the Resource state is the logit s and its "
                "loss the Geometry loss; use quantity='loss'"
            )
        return quantity, np.sqrt(curves.loss)  # |1 - s| from (1 - s)^2
    return quantity, curves.loss


def _standard_errors(jac: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """sqrt(diag((J^T J)^-1) * RSS / (m - k)); NaN where J^T J is singular."""
    m, k = jac.shape
    jtj = jac.T @ jac
    if m <= k or np.linalg.cond(jtj) > 1e14:
        return np.full(k, math.nan)
    return np.sqrt(np.diag(np.linalg.inv(jtj)) * float(residuals @ residuals) / (m - k))


def fit_resource_mapping(
    model: GeometryModel,
    curves: SkillCurves,
    *,
    seed: int | None = None,
    fit_eta: bool = True,
    eta_constant: float = PAPER_ETA_CONSTANT,
    N0_init: float | None = None,
    quantity: str | None = None,
) -> ResourceMapping:
    """Fit eta (optional) and N0 of the Resource model to a Geometry-model run.

    Least squares of the Resource model's l_k(t) against the Geometry run's quantity, all skills
    and sampled steps alike.

    Args:
        model: the GeometryModel that produced `curves` (gives C = T T^T, lr, N, p, loss).
        curves: its per-skill loss, shape (n_t, n); times are optimizer steps.
        seed: the run's seed (selects the random task vectors when model.task_seed is None);
            default curves.metadata["seed"].
        fit_eta: fit eta too (else eta = eta_constant * lr * sqrt(N) is held fixed).
        eta_constant: initial (or fixed) c in eta = c * lr * sqrt(N).
        N0_init: starting N0 (default 0.1).
        quantity: what l is fitted to: "residual" (default for MSE; the paper's mapping: l against
            |1 - s| = sqrt of the MSE loss, see the module docstring) or "loss" (l against the
            Geometry loss; the only one for CE, and the earlier MSE fit to (1 - s)^2).
    """
    quantity, target = _check_mapping_arguments(model, curves, quantity, fit_eta)
    if seed is None:
        seed = curves.metadata.get("seed")
    scale = model.lr * math.sqrt(model.N)
    base = resource_model_for(model, eta_constant=eta_constant, seed=seed)
    times = curves.times
    x0 = [math.log(as_scalar(eta_constant, "eta_constant", positive=True))] if fit_eta else []
    n0 = 0.1 if N0_init is None else as_scalar(N0_init, "N0_init", nonnegative=True)
    x0.append(math.log(n0 + N0_OFFSET))

    def unpack(x: np.ndarray) -> tuple[float, float]:
        c = math.exp(x[0]) if fit_eta else eta_constant
        return c, max(math.exp(x[-1]) - N0_OFFSET, 0.0)

    def model_at(x: np.ndarray) -> ResourceModel:
        c, N0 = unpack(x)
        return ResourceModel(base.p, eta=c * scale, N0=N0, C=base.C, loss=base.loss, names=base.names)

    def residual(x: np.ndarray) -> np.ndarray:
        return (_predict(model_at(x), times) - target).ravel()

    # N0 is searched on a log scale: it spans decades between noiseless and noisy runs.
    fit = least_squares(residual, np.array(x0), x_scale=1.0, diff_step=1e-4, max_nfev=200)
    best = model_at(fit.x)
    c, N0 = unpack(fit.x)
    pred = _predict(best, times)
    diff = pred - target
    # d(c, N0)/dx = (c, N0 + offset) on the log scales searched
    se = _standard_errors(fit.jac, fit.fun) * np.array([c, N0 + N0_OFFSET][-len(fit.x) :])
    names = model.names
    assert names is not None  # set by GeometryModel.__post_init__
    meta = {"model": best.config(), "fitted_to": "geometry", "eta_constant": c, "quantity": quantity}
    return ResourceMapping(
        resource=best,
        eta=c * scale,
        eta_constant=c,
        N0=N0,
        rmse=float(np.sqrt(np.mean(diff**2))),
        max_abs_error=float(np.max(np.abs(diff))),
        geometry=SkillCurves(times, target, names, model.p, {**curves.metadata, "quantity": quantity}),
        predicted=SkillCurves(times, pred, names, model.p, meta),
        fitted=("eta", "N0") if fit_eta else ("N0",),
        success=bool(fit.success),
        message=str(fit.message),
        quantity=quantity,
        eta_constant_se=float(se[0]) if fit_eta else 0.0,
        N0_se=float(se[-1]),
        N0_determined=bool(N0 > 2.0 * se[-1]),
    )


@dataclass(frozen=True)
class N0Study:
    """Best-fit N0 (and eta constant) across one varied Geometry-model setting.

    Attributes:
        parameter: the varied field ("noise" or "batch").
        values: shape (m,), its values.
        N0: shape (m, n_seeds), fitted N0 per value and seed.
        eta_constant: shape (m, n_seeds), fitted eta / (lr sqrt(N)).
        rmse: shape (m, n_seeds), fit quality.
        seeds: the seeds.
    """

    parameter: str
    values: np.ndarray
    N0: np.ndarray
    eta_constant: np.ndarray
    rmse: np.ndarray
    seeds: tuple[int, ...]

    def __repr__(self) -> str:
        return short_repr(self, array_items=0)


def n0_study(
    base: GeometryModel,
    steps: int,
    parameter: str,
    values: Sequence[float],
    *,
    seeds: Sequence[int] = (0,),
    n_record: int = 120,
    progress: bool = False,
    quantity: str | None = None,
) -> N0Study:
    """Simulate `base` with `parameter` ("noise" or "batch") set to each value, fit eta and N0 to each run.

    All runs are simulated in one batched call per distinct batch size; each is then fitted
    (quantity: as in fit_resource_mapping).
    """
    if parameter not in ("noise", "batch"):
        raise ValueError(f"parameter must be 'noise' or 'batch', got {parameter!r}")
    vals = list(values)
    if not vals:
        raise ValueError("values must hold at least one value")
    models = [base.replace(**{parameter: v}) for v in vals]
    record = np.unique(np.round(np.linspace(0, steps, n_record)).astype(int))
    result = simulate(models, steps, seeds=list(seeds), record=record, progress=progress)
    ns = len(result.seeds) // len(vals)
    shape = (len(vals), ns)
    N0 = np.empty(shape)
    cst = np.empty(shape)
    rmse = np.empty(shape)
    for i, (m, s, c) in enumerate(zip(result.models, result.seeds, result.curves)):
        fit = fit_resource_mapping(m, c, seed=s, quantity=quantity)
        N0[i // ns, i % ns] = fit.N0
        cst[i // ns, i % ns] = fit.eta_constant
        rmse[i // ns, i % ns] = fit.rmse
    return N0Study(parameter, np.asarray(vals, dtype=np.float64), N0, cst, rmse, tuple(int(s) for s in seeds))
