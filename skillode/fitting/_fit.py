"""Fit the Resource, Domino and Parallel models to observed skill curves.

    fit(curves, model="resource", free=("eta", "N0")) -> FitResult
    compare(curves) -> Comparison           (ranks the models by AIC or BIC)
    predict(result, frequencies | curves)   (the fitted model on another setting)
    prediction_error(result, curves)        (held-out skills or frequency settings)

The fit is nonlinear least squares (scipy.optimize.least_squares) of the model's per-skill
loss against the observed one, over every (time, skill) point of every frequency setting:

    minimise  sum_{s, i, k} (lhat_model[s](t_i - offset)_k - y[s]_ik)^2

Several SkillCurves (frequency settings) are fitted jointly: they share eta, N0, the time
offset and the gate exponent, and each uses its own frequencies.

Quantities. The data y are losses (quantity="loss") or accuracies (quantity="accuracy").
Accuracy is mapped to a loss-equivalent, the fraction of the skill not yet learned,

    y = (1 - acc) / (1 - chance)  =  1 - (acc - chance) / (1 - chance),

with chance the accuracy of guessing (0.5 for a binary task, 0 by default); it is 1 at chance
and 0 at perfect accuracy. Such data are compared with the model's loss in units of its
initial loss, lhat = l / l(0) (l(0) = 1 for MSE, log 2 for CE). With normalize=True (losses in
unknown units) every curve, observed or model, is divided by its value at its first time:
lhat(t) = l(t - offset) / l(t_first - offset), so data logged from a step past 0 are compared
in the same units. It applies to accuracy as well: the loss-equivalent is divided by its first
value, y = (1 - acc) / (1 - acc_first), which does not depend on chance.

Parameters. eta and N0 are fitted as log eta, log N0 (positivity); the gate exponent as log a
(any a > 0: the gate terms are computed stably down to the paper's 1e-4); the time offset as
is (the model runs on max(t - offset, 0)). Free frequencies are fitted as log p_k relative to
the first skill, whose frequency stays fixed: the dynamics are unchanged by p -> c p,
N0 -> c N0, so one frequency must set the scale. The Parallel model depends on eta / N0 only:
N0 stays fixed (default 1) and eta is the free one.

Uncertainty. Standard errors come from the Jacobian at the optimum, cov = s^2 (J^T J)^+ with
s^2 = RSS / (m - k), carried to natural units by the delta method. Intervals come from a
residual bootstrap: the residuals of each setting are resampled with replacement, added to
the fitted curves, and the fit is repeated from the optimum; the interval is the percentile
interval of the refits. The seed is stored in the result.

Model comparison. Gaussian errors with unknown variance give
    AIC = m ln(RSS/m) + 2 (k + 1),   BIC = m ln(RSS/m) + (k + 1) ln m,
with m data points and k free parameters (the +1 is the noise variance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import OptimizeResult, least_squares

from .._checks import as_count, as_matrix, as_scalar, choice
from ..curves import SkillCurves
from ._config import (
    _LOG_BOUND,
    MODELS,
    QUANTITIES,
    FitConfig,
    _fixed_values,
    _free_parameters,
    _Param,
)
from ._data import (
    _fit_columns,
    _frequencies_from_data,
    _frequencies_per_setting,
    _order_from_data,
    as_settings,
    to_loss,
)
from ._problem import _build_model, _Problem, _starting_points
from ._result import FitResult
from ._uncertainty import _Uncertainty, _uncertainty


def fit(
    curves: SkillCurves | Sequence[SkillCurves],
    model: str = "resource",
    free: Sequence[str] | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
    initial: Mapping[str, float] | None = None,
    frequencies: Sequence[float] | np.ndarray | Sequence[Sequence[float]] | None = None,
    quantity: str = "loss",
    chance: float = 0.0,
    normalize: bool = False,
    loss: str = "mse",
    C: Any = None,
    gates: Any = None,
    skills: Sequence[int | str] | None = None,
    n_bootstrap: int = 100,
    seed: int = 0,
    level: float = 0.95,
    progress: bool = False,
) -> FitResult:
    """Least-squares fit of a skill-learning model to observed per-skill curves.

    Args:
        curves: SkillCurves (n_t, n) or a list of them, one per frequency setting; settings
            share eta, N0, offset and gate exponent. Values are losses or accuracies (quantity).
        model: "resource", "domino" or "parallel".
        free: parameters to fit, from "eta", "N0" (resource, parallel), "offset",
            "gate_exponent" (resource with gates), "p" (frequencies, resource and parallel).
            Default: resource ("eta", "N0"), domino ("eta",), parallel ("eta",); "p" is added
            when the curves carry no frequencies and none are given.
        fixed: values of parameters that are not free (defaults: N0 = 0 for resource, 1 for
            parallel; offset 0; gate_exponent from the gates).
        initial: starting values of free scalar parameters (default: guessed from the data).
        frequencies: shape (n,) or one (n,) per setting; overrides the curves' frequencies.
        quantity, chance, normalize: how data become losses, see to_loss. normalize=True
            divides each observed curve and each model curve by its value at the first time,
            for losses and for accuracies (whose loss-equivalent is divided the same way).
        loss: "mse" or "ce", the Resource model's loss.
        C: shape (n, n) overlap matrix of the Resource model (fixed); gates: its gates.
        skills: names or indices of the skills whose curves are fitted (the model still
            contains every skill); the rest can be predicted, see prediction_error.
        n_bootstrap: residual-bootstrap refits for the intervals (0: Wald intervals).
        seed: seed of the bootstrap's np.random.default_rng, stored in the result.
        level: interval coverage, in (0, 1).
        progress: show a tqdm bar over bootstrap refits.
    """
    model, quantity, loss, level, n_bootstrap, seed, chance = _check_arguments(
        model, quantity, loss, level, n_bootstrap, seed, chance, C, gates
    )
    settings, given = _prepare_settings(curves, quantity, chance, normalize, frequencies)
    free_list = _free_parameters(model, free, given, gates)
    fixed_values = _fixed_values(model, fixed, free_list, gates)
    C = _overlap_matrix(C, settings)
    fit_columns, skill_names = _fit_columns(skills, settings)
    freqs, orders = _frequencies_and_orders(model, settings, given, free_list, skill_names)
    config = FitConfig(
        model=model,
        free=tuple(free_list),
        fixed=fixed_values,
        loss=loss,
        quantity=quantity,
        chance=chance,
        normalize=bool(normalize),
        skills=skill_names,
        C=C,
        gates=gates,
        n_bootstrap=n_bootstrap,
        seed=seed,
        level=level,
    )
    params = _make_params(free_list, settings, freqs, fit_columns)
    _check_enough_data(settings, fit_columns, params)
    problem = _Problem(settings, freqs, config, params, orders, fit_columns)
    best, run = _optimise(problem, initial)
    gof = _goodness_of_fit(problem, best)
    fitted = problem.curves_at(best.x)
    unc = _uncertainty(problem, run, best, gof.rss, fitted, progress)
    return _assemble_result(problem, best, gof, unc, fitted)


# ------------------------------------------------------------------ stages of fit
def _check_arguments(
    model: str, quantity: str, loss: str, level: float, n_bootstrap: int, seed: int, chance: float, C: Any, gates: Any
) -> tuple[str, str, str, float, int, int, float]:
    """The scalar arguments of fit, checked and normalised (model, quantity, loss, level, n_bootstrap, seed, chance)."""
    model = choice(model, "model", MODELS)
    quantity = choice(quantity, "quantity", QUANTITIES)
    loss = choice(loss, "loss", ("mse", "ce"))
    level = as_scalar(level, "level")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    n_bootstrap = as_count(n_bootstrap, "n_bootstrap", minimum=0)
    seed = as_count(seed, "seed", minimum=0)  # np.random.default_rng takes non-negative seeds
    chance = as_scalar(chance, "chance")
    if model != "resource":
        if loss != "mse":
            raise ValueError(f"loss={loss!r} applies to the resource model only")
        if C is not None or gates is not None:
            raise ValueError("C and gates apply to the resource model only")
    return model, quantity, loss, level, n_bootstrap, seed, chance


def _prepare_settings(
    curves: Any, quantity: str, chance: float, normalize: bool, frequencies: Any
) -> tuple[list[SkillCurves], list[np.ndarray | None]]:
    """Each setting's curves in the compared units (see to_loss) and its given frequencies (or None)."""
    raw = as_settings(curves)  # SkillCurves, DataFrames, or a list of either
    if not raw:
        raise ValueError("curves must be a SkillCurves or a non-empty list of them")
    settings = [
        to_loss(c, quantity, chance=chance, normalize=normalize, name=f"curves[{i}]" if len(raw) > 1 else "curves")
        for i, c in enumerate(raw)
    ]
    return settings, _frequencies_per_setting(frequencies, settings)


def _overlap_matrix(C: Any, settings: list[SkillCurves]) -> list | None:
    """The Resource model's overlap matrix as nested lists (shape (n, n)), or None."""
    if C is None:
        return None
    if len({c.n_skills for c in settings}) != 1:
        raise ValueError("C needs every setting to have the same number of skills")
    return as_matrix(C, settings[0].n_skills, "C").tolist()


def _frequencies_and_orders(
    model: str,
    settings: list[SkillCurves],
    given: list[np.ndarray | None],
    free_list: list[str],
    skill_names: tuple[str, ...] | None,
) -> tuple[list[np.ndarray], list[tuple[int, ...] | None]]:
    """Per setting: the (starting) frequencies, shape (n,), and the Domino order guessed from the data."""
    freqs: list[np.ndarray] = []
    orders: list[tuple[int, ...] | None] = []
    for s, data in enumerate(settings):
        p = given[s]
        if p is None:
            if "p" not in free_list and model != "domino":
                raise ValueError(
                    f"curves{'' if len(settings) == 1 else f'[{s}]'} carry no frequencies: "
                    "pass frequencies=... or add 'p' to free"
                )
            if skill_names is not None:
                raise ValueError(
                    "held-out skills need known frequencies (a held-out skill's frequency or Domino position "
                    "cannot be guessed from curves the fit must not see): pass frequencies=..."
                )
            p = _frequencies_from_data(data)
        elif "p" in free_list:
            p = p.copy()
        freqs.append(p)
        if model == "domino":
            orders.append(None if given[s] is not None else _order_from_data(data))
        else:
            orders.append(None)
    return freqs, orders


def _check_enough_data(settings: list[SkillCurves], fit_columns: list[np.ndarray], params: list[_Param]) -> None:
    """Refuse fits the data cannot determine, instead of reporting intervals that mean nothing."""
    for s, data in enumerate(settings):
        if data.n_times < 2:
            where = "curves" if len(settings) == 1 else f"curves[{s}]"
            raise ValueError(
                f"{where} has a single time point: a learning curve needs at least two times (better, many) to fit"
            )
    n_points = sum(data.n_times * len(cols) for data, cols in zip(settings, fit_columns))
    # the residual variance (and so every standard error and interval) needs points beyond the parameters
    if n_points <= len(params) + 1:
        raise ValueError(
            f"too little data: {n_points} fitted points for {len(params)} free parameter(s) "
            f"({', '.join(p.name for p in params)}); give more times or skills, or fix parameters"
        )


def _make_params(
    free_list: list[str], settings: list[SkillCurves], freqs: list[np.ndarray], fit_columns: list[np.ndarray]
) -> list[_Param]:
    """The free parameters with their transforms: scalars first, then free frequencies per setting."""
    params: list[_Param] = []
    for name in free_list:
        if name in ("eta", "N0"):
            params.append(_Param(name, "log"))
        elif name == "offset":
            params.append(_Param(name, "linear"))
        elif name == "gate_exponent":
            params.append(_Param(name, "exponent"))
    if "p" in free_list:
        for s, data in enumerate(settings):
            if data.n_skills < 2:
                raise ValueError("free 'p' needs at least two skills (the first one's frequency sets the scale)")
            # held-out skills keep their given frequencies: their curves must not inform the fit
            for k in (k for k in fit_columns[s] if k != 0):
                suffix = "" if len(settings) == 1 else f"#{s}"
                params.append(_Param(f"p[{data.names[k]}]{suffix}", "logp", s, int(k), float(freqs[s][0])))
    if not params:
        raise ValueError("free must name at least one parameter")
    return params


def _least_squares_runner(problem: _Problem) -> Callable[..., OptimizeResult]:
    """run(x0, targets=None): one bounded least-squares fit of the problem (to targets: the bootstrap)."""
    params = problem.params
    lower = np.array([-_LOG_BOUND if p.kind != "linear" else -np.inf for p in params])
    upper = np.array([_LOG_BOUND if p.kind != "linear" else np.inf for p in params])
    diff_step = 1e-5 if problem.method == "ode" else 1e-7

    def run(x0: np.ndarray, targets: list[np.ndarray] | None = None) -> OptimizeResult:
        return least_squares(
            problem.residual,
            np.clip(x0, lower + 1e-9, upper - 1e-9),
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            diff_step=diff_step,
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
            max_nfev=400 * (len(params) + 1),
            kwargs={"targets": targets},
        )

    return run


def _optimise(
    problem: _Problem, initial: Mapping[str, float] | None
) -> tuple[OptimizeResult, Callable[..., OptimizeResult]]:
    """Multi-start least squares: the best (lowest cost) fit over the starting points, and the runner."""
    starts = _starting_points(problem, dict(initial or {}))
    # Build each setting's model once here: a bad C or gate fails now, by name, instead of
    # turning every residual of the optimisation into the 1e3 penalty first.
    start_scalars, start_freqs = problem.values(starts[0])
    for s, data in enumerate(problem.settings):
        _build_model(problem.config, start_scalars, start_freqs[s], data.names, problem.orders[s])
    run = _least_squares_runner(problem)
    best = None
    for x0 in starts:
        sol = run(x0)
        if best is None or sol.cost < best.cost:
            best = sol
    return best, run


class _GoodnessOfFit(NamedTuple):
    rss: float
    r2: float
    aic: float
    bic: float
    n_points: int
    n_free: int


def _goodness_of_fit(problem: _Problem, best: OptimizeResult) -> _GoodnessOfFit:
    """RSS, R^2 = 1 - RSS/TSS over the fitted points, and AIC / BIC with the noise variance counted."""
    resid = best.fun
    m, k = resid.size, best.x.size
    rss = float(resid @ resid)
    observed = np.concatenate([d.loss[:, c].ravel() for d, c in zip(problem.settings, problem.fit_columns)])
    tss = float(np.sum((observed - observed.mean()) ** 2))
    r2 = 1.0 - rss / tss if tss > 0 else float("nan")
    rss_floor = max(rss, 1e-300)
    aic = m * math.log(rss_floor / m) + 2 * (k + 1)
    bic = m * math.log(rss_floor / m) + (k + 1) * math.log(m)
    return _GoodnessOfFit(rss, r2, aic, bic, m, k)


def _assemble_result(
    problem: _Problem, best: OptimizeResult, gof: _GoodnessOfFit, unc: _Uncertainty, fitted_parts: list[np.ndarray]
) -> FitResult:
    """The FitResult: natural parameter values, fitted curves per setting, fit quality and uncertainty."""
    config, settings = problem.config, problem.settings
    names = tuple(p.name for p in problem.params)
    scalars, final_freqs = problem.values(best.x)
    fitted_curves = tuple(
        SkillCurves(d.times, f, d.names, final_freqs[s], {"fit": {"model": config.model, "parameters": dict(scalars)}})
        for s, (d, f) in enumerate(zip(settings, fitted_parts))
    )
    return FitResult(
        config=config,
        parameters={k_: (float(v) if v is not None else None) for k_, v in scalars.items()},
        names=names,
        estimates=dict(zip(names, unc.estimates.tolist())),
        stderr=dict(zip(names, unc.stderr.tolist())),
        intervals={n: (float(a), float(b)) for n, a, b in zip(names, unc.lows, unc.highs)},
        interval_method=unc.method,
        covariance=unc.covariance,
        bootstrap_samples=unc.samples,
        frequencies=tuple(final_freqs),
        data=tuple(settings),
        fitted=fitted_curves,
        residuals=best.fun.copy(),
        rss=gof.rss,
        r2=gof.r2,
        aic=gof.aic,
        bic=gof.bic,
        n_points=gof.n_points,
        n_free=gof.n_free,
        success=bool(best.success),
        message=str(best.message),
        nfev=int(best.nfev),
        orders=tuple(problem.orders),
    )
