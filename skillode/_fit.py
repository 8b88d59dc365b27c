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

Parameters. eta and N0 are fitted as log eta, log N0 (positivity); the gate exponent as
log(a - 1) (a >= 1); the time offset as is (the model runs on max(t - offset, 0)). Free
frequencies are fitted as log p_k relative to the first skill, whose frequency stays fixed: the
dynamics are unchanged by p -> c p, N0 -> c N0, so one frequency must set the scale. The
Parallel model depends on eta / N0 only: N0 stays fixed (default 1) and eta is the free one.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from ._checks import as_frequencies, as_matrix, as_scalar, choice
from ._curves import SkillCurves
from ._geometry import _as_count
from ._limits import DominoModel, ParallelModel
from ._resource import LOG2, Gate, ResourceModel
from ._solvers import solve

MODELS = ("resource", "domino", "parallel")
QUANTITIES = ("loss", "accuracy")
CRITERIA = ("aic", "bic")
SCALAR_PARAMETERS = {
    "resource": ("eta", "N0", "offset", "gate_exponent"),
    "domino": ("eta", "offset"),
    "parallel": ("eta", "N0", "offset"),
}
DEFAULT_FREE = {"resource": ("eta", "N0"), "domino": ("eta",), "parallel": ("eta",)}
_LOG_BOUND = 60.0  # |log eta|, |log N0| beyond this is numerically meaningless


# ----------------------------------------------------------------------------- data
def to_loss(curves: SkillCurves, quantity: str = "loss", *, chance: float = 0.0,
            normalize: bool = False, name: str = "curves") -> SkillCurves:
    """Observed curves in the units the fit compares, checked.

    quantity="loss": values are used as they are (finite; noisy values below 0 are allowed).
    quantity="accuracy": values must lie in [0, 1] and become the loss-equivalent
    (1 - acc) / (1 - chance), chance in [0, 1).
    normalize=True (either quantity): each skill's loss (for accuracy, the loss-equivalent) is
    then divided by its value at the first time, which must be positive. For accuracy this gives
    (1 - acc) / (1 - acc_first), which no longer depends on chance: use it when the chance level
    is unknown or the log starts after step 0.
    The result's metadata records the mapping under "quantity".
    """
    quantity = choice(quantity, "quantity", QUANTITIES)
    if not isinstance(curves, SkillCurves):
        raise ValueError(f"{name} must be a SkillCurves, got {type(curves).__name__}")
    values = curves.loss
    meta = dict(curves.metadata)
    if quantity == "accuracy":
        chance = as_scalar(chance, "chance")
        if not 0.0 <= chance < 1.0:
            raise ValueError(f"chance must lie in [0, 1), got {chance}")
        bad = np.argwhere((values < 0.0) | (values > 1.0))
        if bad.size:
            r, c = bad[0]
            raise ValueError(
                f"{name}: accuracy must lie in [0, 1]; skill {curves.names[c]!r} at step "
                f"{curves.times[r]:g} is {values[r, c]:g}"
            )
        values = (1.0 - values) / (1.0 - chance)
        meta["quantity"] = {"observed": "accuracy", "chance": chance,
                            "map": "loss = (1 - accuracy) / (1 - chance)"}
    else:
        meta["quantity"] = {"observed": "loss"}
    if not normalize:
        return replace(curves, loss=values, metadata=meta)
    first = values[0]
    if np.any(first <= 0.0):
        k = int(np.flatnonzero(first <= 0.0)[0])
        what = "loss" if quantity == "loss" else "loss-equivalent (accuracy 1 at the first step)"
        raise ValueError(f"{name}: normalize needs a positive first loss; skill {curves.names[k]!r} "
                         f"starts at {what} {first[k]:g}")
    if quantity == "accuracy":
        meta["quantity"]["map"] = "loss = (1 - accuracy) / (1 - accuracy(first step))"
    else:
        meta["quantity"]["map"] = "loss / loss(first step)"
    return replace(curves, loss=values / first, metadata=meta)


def load_curves(path: str | Path, quantity: str = "loss", *, chance: float = 0.0,
                normalize: bool = False) -> SkillCurves:
    """Read a wide or long CSV or an npz (see SkillCurves.load) and map it with to_loss."""
    curves = SkillCurves.load(path)
    return to_loss(curves, quantity, chance=chance, normalize=normalize, name=Path(path).name)


# -------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class FitConfig:
    """Everything that defines a fit besides the data (stored in the result).

    Attributes:
        model: "resource", "domino" or "parallel".
        free: free parameter names as requested ("eta", "N0", "offset", "gate_exponent", "p").
        fixed: values of the parameters that are not free (eta, N0, offset, gate_exponent).
        loss: "mse" or "ce" (Resource model only).
        quantity: "loss" or "accuracy"; chance: accuracy of guessing; normalize: divide every
            curve by its first value, for either quantity (see to_loss).
        skills: names of the skills whose curves enter the residual (None: all).
        C: overlap matrix (n, n) as nested lists, or None; gates: the model's gates.
        n_bootstrap, seed, level: bootstrap size, its seed, interval level.
    """

    model: str
    free: tuple[str, ...]
    fixed: dict
    loss: str = "mse"
    quantity: str = "loss"
    chance: float = 0.0
    normalize: bool = False
    skills: tuple[str, ...] | None = None
    C: Any = None
    gates: Any = None
    n_bootstrap: int = 0
    seed: int = 0
    level: float = 0.95


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "log", "linear", "exponent", "logp"
    setting: int | None = None
    skill: int | None = None
    scale: float = 1.0  # a free frequency is p_k = scale * exp(u), scale = the reference skill's p

    def to_natural(self, u: float) -> float:
        if self.kind in ("log", "logp"):
            return self.scale * _exp(u)
        if self.kind == "exponent":
            return 1.0 + _exp(u)
        return u

    def to_internal(self, x: float, name: str) -> float:
        if self.kind in ("log", "logp"):
            x = x / self.scale
            if x <= 0:
                raise ValueError(f"initial {name} must be positive, got {x}")
            return math.log(x)
        if self.kind == "exponent":
            if x <= 1.0:
                raise ValueError(f"initial gate_exponent must exceed 1, got {x}")
            return math.log(x - 1.0)
        return x

    def dnatural(self, u: float) -> float:
        """d natural / d internal, for the delta method."""
        if self.kind == "linear":
            return 1.0
        return self.scale * _exp(u)


def _exp(u: float) -> float:
    """exp that saturates at the float range (Wald bounds of unidentified log-parameters)."""
    return math.exp(min(u, 709.0))


def _build_model(config: FitConfig, scalars: dict, p: np.ndarray, names: tuple[str, ...] | None,
                 order: tuple[int, ...] | None):
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


def _model_loss(config: FitConfig, model: Any, times: np.ndarray, offset: float) -> np.ndarray:
    """Model loss on max(times - offset, 0), in the compared units, shape (n_t, n).

    normalize (either quantity): divided by its value at times[0], as to_loss divides the data
    by their first value; else accuracy: divided by l(0) (1 for MSE, log 2 for CE).
    """
    shifted = np.maximum(np.asarray(times, dtype=np.float64) - offset, 0.0)
    unique, inverse = np.unique(shifted, return_inverse=True)
    if _solver_method(config) == "exact":
        loss = solve(model, unique, method="exact", rtol=1e-13).curves.loss
    else:
        # tight tolerances keep solver noise below the finite-difference steps of the Jacobian
        loss = solve(model, unique, method="ode", rtol=1e-9, atol=1e-12).curves.loss
    loss = loss[inverse.reshape(-1)]
    if config.normalize:
        loss = loss / loss[0]
    elif config.quantity == "accuracy":
        loss = loss / (LOG2 if getattr(model, "loss", "mse") == "ce" else 1.0)
    return loss


class _Problem:
    """The residual function of one fit: parameter vector -> model minus data, flattened."""

    def __init__(self, settings: list[SkillCurves], frequencies: list[np.ndarray], config: FitConfig,
                 params: list[_Param], orders: list[tuple[int, ...] | None], fit_columns: list[np.ndarray]):
        self.settings = settings
        self.frequencies = frequencies
        self.config = config
        self.params = params
        self.orders = orders
        self.fit_columns = fit_columns
        self.method = _solver_method(config)

    # natural parameter values for a given internal vector
    def values(self, theta: np.ndarray) -> tuple[dict, list[np.ndarray]]:
        scalars = dict(self.config.fixed)
        freqs = [f.copy() for f in self.frequencies]
        for par, u in zip(self.params, theta):
            if par.kind == "logp":
                freqs[par.setting][par.skill] = par.to_natural(float(u))
            else:
                scalars[par.name] = par.to_natural(float(u))
        return scalars, freqs

    def curves_at(self, theta: np.ndarray) -> list[np.ndarray]:
        scalars, freqs = self.values(theta)
        out = []
        for s, data in enumerate(self.settings):
            model = _build_model(self.config, scalars, freqs[s], data.names, self.orders[s])
            out.append(_model_loss(self.config, model, data.times, scalars.get("offset", 0.0)))
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


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted model with uncertainty and goodness of fit.

    Attributes:
        config: the FitConfig (model, free and fixed parameters, quantity, seed, ...).
        parameters: natural values of every scalar parameter used (eta, N0, offset, gate_exponent).
        names: names of the free parameters, in order ("eta", "N0", "offset", "gate_exponent",
            "p[skill]" for free frequencies, "p[skill]#s" for setting s when there are several).
        estimates, stderr: natural values and Jacobian standard errors of the free parameters.
        intervals: {name: (low, high)} at config.level, bootstrap percentiles (or, with no
            bootstrap, the Wald interval of the internal, e.g. log, parameter mapped back).
        interval_method: "bootstrap" or "wald".
        covariance: shape (k, k), covariance of the internal (log-space) parameters.
        bootstrap_samples: shape (B, k), natural values of the successful bootstrap refits.
        frequencies: per setting, shape (n,), the frequencies used (fitted where p was free).
        data: per setting, the observed curves in compared units (see to_loss).
        fitted: per setting, the model's curves on the data's times in the same units.
        residuals: shape (m,), model minus data over the fitted points, settings concatenated.
        rss, r2, aic, bic: residual sum of squares, 1 - RSS/TSS, information criteria.
        n_points, n_free: m and k.
        success, message, nfev: the optimiser's status.
        orders: per setting, the Domino order (skill indices, first learned first), else None.
    """

    config: FitConfig
    parameters: dict
    names: tuple[str, ...]
    estimates: dict
    stderr: dict
    intervals: dict
    interval_method: str
    covariance: np.ndarray
    bootstrap_samples: np.ndarray
    frequencies: tuple[np.ndarray, ...]
    data: tuple[SkillCurves, ...]
    fitted: tuple[SkillCurves, ...]
    residuals: np.ndarray
    rss: float
    r2: float
    aic: float
    bic: float
    n_points: int
    n_free: int
    success: bool
    message: str
    nfev: int
    orders: tuple[tuple[int, ...] | None, ...] = field(default=())

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def rmse(self) -> float:
        return math.sqrt(self.rss / self.n_points)

    def model_for(self, frequencies: Sequence[float] | np.ndarray | None = None, *,
                  names: Sequence[str] | None = None, setting: int = 0):
        """The fitted model (ResourceModel, DominoModel or ParallelModel) for frequencies p.

        frequencies: shape (n,); None gives the frequencies of fitted setting `setting`.
        A Domino model for new frequencies learns in order of decreasing p. The time offset is
        not part of the model object (apply it to times: the model runs on t - offset).
        """
        if frequencies is None:
            if not 0 <= setting < len(self.frequencies):
                raise ValueError(f"setting must be in 0..{len(self.frequencies) - 1}, got {setting}")
            p = self.frequencies[setting]
            names = self.data[setting].names if names is None else names
            order = self.orders[setting] if self.orders else None
        else:
            p = as_frequencies(frequencies, "frequencies")
            order = None
        return _build_model(self.config, self.parameters, p, None if names is None else tuple(names), order)

    def predict(self, target: SkillCurves | Sequence[float] | np.ndarray | None = None,
                times: Sequence[float] | np.ndarray | None = None, *, setting: int = 0) -> SkillCurves:
        """The fitted model's curves, in the units the fit compared (see to_loss; with
        normalize=True each curve is divided by its value at the first of the times).

        target: SkillCurves (its frequencies, names and times; a setting of the fit when its
        frequencies are unknown), frequencies of shape (n,) (then times is required), or None
        (the fitted setting `setting`). times: shape (n_t,), overrides the target's times.
        """
        if isinstance(target, SkillCurves):
            if target.frequencies is not None:
                model = self.model_for(target.frequencies, names=target.names)
            else:
                model = self.model_for(None, setting=setting, names=target.names)
                if model.n_skills != target.n_skills:
                    raise ValueError(
                        f"target has no frequencies and {target.n_skills} skills; fitted setting {setting} "
                        f"has {model.n_skills}: give frequencies"
                    )
            t = target.times if times is None else times
        elif target is None:
            model = self.model_for(None, setting=setting)
            t = self.data[setting].times if times is None else times
        else:
            model = self.model_for(target)
            if times is None:
                raise ValueError("times is required when target is a frequency vector")
            t = times
        t = np.asarray(t, dtype=np.float64)
        loss = _model_loss(self.config, model, t, self.parameters.get("offset", 0.0))
        meta = {"fit": _result_meta(self), "model": model.config()}
        return SkillCurves(t, loss, model.names, model.p, meta)

    def table(self) -> list[dict]:
        """One row per free parameter: name, estimate, stderr, low, high."""
        return [
            {"parameter": n, "estimate": self.estimates[n], "stderr": self.stderr[n],
             "low": self.intervals[n][0], "high": self.intervals[n][1]}
            for n in self.names
        ]

    def summary(self) -> str:
        lines = [f"{self.model} fit: R^2 = {self.r2:.5f}, RMSE = {self.rmse:.4g}, AIC = {self.aic:.2f}, "
                 f"BIC = {self.bic:.2f} ({self.n_points} points, {self.n_free} free)"]
        pct = int(round(100 * self.config.level))
        for row in self.table():
            lines.append(f"  {row['parameter']:>16} = {row['estimate']:.6g} +- {row['stderr']:.3g}  "
                         f"{pct}% [{row['low']:.6g}, {row['high']:.6g}] ({self.interval_method})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-serialisable summary (no arrays of curves)."""
        return _result_meta(self)


def _result_meta(res: FitResult) -> dict:
    cfg = res.config
    return {
        "model": cfg.model, "free": list(res.names), "fixed": dict(cfg.fixed), "loss": cfg.loss,
        "quantity": cfg.quantity, "chance": cfg.chance, "normalize": cfg.normalize,
        "skills": None if cfg.skills is None else list(cfg.skills),
        "parameters": dict(res.parameters),
        "estimates": dict(res.estimates), "stderr": dict(res.stderr),
        "intervals": {k: list(v) for k, v in res.intervals.items()}, "interval_method": res.interval_method,
        "level": cfg.level, "n_bootstrap": cfg.n_bootstrap, "bootstrap_ok": int(res.bootstrap_samples.shape[0]),
        "seed": cfg.seed, "frequencies": [f.tolist() for f in res.frequencies],
        "rss": res.rss, "r2": res.r2, "aic": res.aic, "bic": res.bic,
        "n_points": res.n_points, "n_free": res.n_free, "success": res.success, "message": res.message,
    }


@dataclass(frozen=True, eq=False)
class Comparison:
    """Models ranked by an information criterion.

    Attributes:
        results: {model: FitResult}.
        criterion: "aic" or "bic".
        ranking: model names, best (lowest criterion) first.
        scores: {model: criterion value}; deltas: {model: score - best score}.
        weights: {model: exp(-delta/2) normalised} (Akaike / Schwarz weights).
    """

    results: dict
    criterion: str
    ranking: tuple[str, ...]
    scores: dict
    deltas: dict
    weights: dict

    @property
    def best(self) -> FitResult:
        return self.results[self.ranking[0]]

    def table(self) -> list[dict]:
        """One row per model, best first: model, rank, r2, rmse, aic, bic, delta, weight, n_free."""
        rows = []
        for rank, name in enumerate(self.ranking, start=1):
            r = self.results[name]
            rows.append({"model": name, "rank": rank, "r2": r.r2, "rmse": r.rmse, "aic": r.aic, "bic": r.bic,
                         "delta": self.deltas[name], "weight": self.weights[name], "n_free": r.n_free})
        return rows

    def summary(self) -> str:
        lines = [f"{'rank':>4} {'model':>9} {'R^2':>9} {'RMSE':>10} {'AIC':>11} {'BIC':>11} "
                 f"{'d' + self.criterion.upper():>9} {'weight':>7}"]
        for row in self.table():
            lines.append(f"{row['rank']:>4} {row['model']:>9} {row['r2']:>9.5f} {row['rmse']:>10.4g} "
                         f"{row['aic']:>11.2f} {row['bic']:>11.2f} {row['delta']:>9.2f} {row['weight']:>7.3f}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PredictionError:
    """How well a fitted model predicts curves it was not fitted to.

    Attributes:
        rmse, mae, max_abs: over every predicted point; r2: 1 - SSE / TSS of those points.
        per_skill_rmse: {skill: rmse}.
        n_points: number of (time, skill) points compared.
    """

    rmse: float
    mae: float
    max_abs: float
    r2: float
    per_skill_rmse: dict
    n_points: int


# ------------------------------------------------------------------------------- fit
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
    model = choice(model, "model", MODELS)
    quantity = choice(quantity, "quantity", QUANTITIES)
    loss = choice(loss, "loss", ("mse", "ce"))
    level = as_scalar(level, "level")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    n_bootstrap = _as_count(n_bootstrap, "n_bootstrap", minimum=0)
    seed = _as_count(seed, "seed", minimum=0)  # np.random.default_rng takes non-negative seeds
    chance = as_scalar(chance, "chance")
    if model != "resource":
        if loss != "mse":
            raise ValueError(f"loss={loss!r} applies to the resource model only")
        if C is not None or gates is not None:
            raise ValueError("C and gates apply to the resource model only")

    raw = [curves] if isinstance(curves, SkillCurves) else list(curves) if curves is not None else []
    if not raw:
        raise ValueError("curves must be a SkillCurves or a non-empty list of them")
    settings = [to_loss(c, quantity, chance=chance, normalize=normalize, name=f"curves[{i}]" if len(raw) > 1 else "curves")
                for i, c in enumerate(raw)]
    given = _frequencies_per_setting(frequencies, settings)

    free_list = _free_parameters(model, free, given, gates)
    fixed_values = _fixed_values(model, fixed, free_list, gates)
    if C is not None:
        if len({c.n_skills for c in settings}) != 1:
            raise ValueError("C needs every setting to have the same number of skills")
        C = as_matrix(C, settings[0].n_skills, "C").tolist()
    fit_columns, skill_names = _fit_columns(skills, settings)

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

    config = FitConfig(model=model, free=tuple(free_list), fixed=fixed_values, loss=loss, quantity=quantity,
                       chance=chance, normalize=bool(normalize), skills=skill_names, C=C,
                       gates=gates, n_bootstrap=n_bootstrap, seed=seed, level=level)

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

    problem = _Problem(settings, freqs, config, params, orders, fit_columns)
    starts = _starting_points(problem, dict(initial or {}))
    # Build each setting's model once here: a bad C or gate fails now, by name, instead of
    # turning every residual of the optimisation into the 1e3 penalty first.
    start_scalars, start_freqs = problem.values(starts[0])
    for s, data in enumerate(settings):
        _build_model(config, start_scalars, start_freqs[s], data.names, orders[s])
    lower = np.array([-_LOG_BOUND if p.kind != "linear" else -np.inf for p in params])
    upper = np.array([_LOG_BOUND if p.kind != "linear" else np.inf for p in params])
    diff_step = 1e-5 if problem.method == "ode" else 1e-7

    def run(x0: np.ndarray, targets: list[np.ndarray] | None = None):
        return least_squares(problem.residual, np.clip(x0, lower + 1e-9, upper - 1e-9), bounds=(lower, upper),
                             method="trf", x_scale="jac", diff_step=diff_step, xtol=1e-12, ftol=1e-12, gtol=1e-12,
                             max_nfev=400 * (len(params) + 1), kwargs={"targets": targets})

    best = None
    for x0 in starts:
        sol = run(x0)
        if best is None or sol.cost < best.cost:
            best = sol
    theta = best.x
    resid = best.fun
    m, k = resid.size, theta.size
    rss = float(resid @ resid)
    observed = np.concatenate([d.loss[:, c].ravel() for d, c in zip(settings, fit_columns)])
    tss = float(np.sum((observed - observed.mean()) ** 2))
    r2 = 1.0 - rss / tss if tss > 0 else float("nan")
    rss_floor = max(rss, 1e-300)
    aic = m * math.log(rss_floor / m) + 2 * (k + 1)
    bic = m * math.log(rss_floor / m) + (k + 1) * math.log(m)

    J = np.asarray(best.jac, dtype=np.float64)
    dof = max(m - k, 1)
    cov = (rss / dof) * np.linalg.pinv(J.T @ J)
    se_internal = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    se_internal[_unidentified(J)] = np.inf
    natural = np.array([p.to_natural(float(u)) for p, u in zip(params, theta)])
    se_natural = np.array([abs(p.dnatural(float(u))) * s for p, u, s in zip(params, theta, se_internal)])

    fitted_parts = problem.curves_at(theta)
    samples = np.empty((0, k))
    if n_bootstrap > 0:
        samples = _bootstrap(problem, run, theta, fitted_parts, n_bootstrap, seed, progress)
    names = tuple(p.name for p in params)
    if samples.shape[0] >= 2:
        lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
        lows, highs = np.percentile(samples, lo_q, axis=0), np.percentile(samples, hi_q, axis=0)
        method = "bootstrap"
    else:
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2))
        lows = np.array([p.to_natural(float(u - z * s)) for p, u, s in zip(params, theta, se_internal)])
        highs = np.array([p.to_natural(float(u + z * s)) for p, u, s in zip(params, theta, se_internal)])
        method = "wald"

    scalars, final_freqs = problem.values(theta)
    fitted_curves = tuple(
        SkillCurves(d.times, f, d.names, final_freqs[s],
                    {"fit": {"model": model, "parameters": dict(scalars)}})
        for s, (d, f) in enumerate(zip(settings, fitted_parts))
    )
    return FitResult(
        config=config,
        parameters={k_: (float(v) if v is not None else None) for k_, v in scalars.items()},
        names=names,
        estimates=dict(zip(names, natural.tolist())),
        stderr=dict(zip(names, se_natural.tolist())),
        intervals={n: (float(a), float(b)) for n, a, b in zip(names, lows, highs)},
        interval_method=method,
        covariance=cov,
        bootstrap_samples=samples,
        frequencies=tuple(final_freqs),
        data=tuple(settings),
        fitted=fitted_curves,
        residuals=resid.copy(),
        rss=rss, r2=r2, aic=aic, bic=bic, n_points=m, n_free=k,
        success=bool(best.success), message=str(best.message), nfev=int(best.nfev),
        orders=tuple(orders),
    )


def _unidentified(J: np.ndarray) -> np.ndarray:
    """Parameters the data do not determine: components along null directions of J (mask, (k,))."""
    w, V = np.linalg.eigh(J.T @ J)
    null = w <= 1e-12 * max(float(w.max()), 1e-300)
    if not null.any():
        return np.zeros(J.shape[1], dtype=bool)
    return np.any(np.abs(V[:, null]) > 1e-6, axis=1)


def _frequencies_per_setting(frequencies: Any, settings: list[SkillCurves]) -> list[np.ndarray | None]:
    if frequencies is None:
        return [None if d.frequencies is None else d.frequencies.copy() for d in settings]
    if len(settings) == 1:
        per = [frequencies]
    else:
        per = list(frequencies)
        if len(per) != len(settings):
            raise ValueError(f"frequencies must give one vector per setting ({len(settings)}), got {len(per)}")
    out = []
    for s, (f, d) in enumerate(zip(per, settings)):
        p = as_frequencies(f, "frequencies" if len(settings) == 1 else f"frequencies[{s}]")
        if p.size != d.n_skills:
            raise ValueError(f"frequencies must have {d.n_skills} entries (one per skill), got {p.size}")
        out.append(p)
    return out


def _free_parameters(model: str, free: Sequence[str] | None, given: list, gates: Any) -> list[str]:
    allowed = SCALAR_PARAMETERS[model] + (("p",) if model != "domino" else ())
    if free is None:
        names = list(DEFAULT_FREE[model])
        if model != "domino" and any(g is None for g in given):
            names.append("p")
    else:
        if isinstance(free, str):
            free = [f.strip() for f in free.split(",") if f.strip()]
        names = []
        for f in free:
            f = str(f)
            if f not in allowed:
                hint = " (the Domino model depends on p only through the order)" if f == "p" else ""
                raise ValueError(f"free: {f!r} is not a parameter of the {model} model; choose from "
                                 f"{', '.join(allowed)}{hint}")
            if f not in names:
                names.append(f)
    if model == "parallel" and "eta" in names and "N0" in names:
        raise ValueError("free: the parallel model depends on eta / N0 only; free one of them")
    if "gate_exponent" in names and gates is None:
        raise ValueError("free: 'gate_exponent' needs gates")
    order = list(SCALAR_PARAMETERS[model]) + ["p"]
    return sorted(names, key=order.index)


def _fixed_values(model: str, fixed: Mapping[str, float] | None, free: list[str], gates: Any) -> dict:
    defaults: dict[str, Any] = {"eta": None, "offset": 0.0}
    if model == "resource":
        defaults["N0"] = 0.0
        defaults["gate_exponent"] = None
    elif model == "parallel":
        defaults["N0"] = 1.0
    values = dict(defaults)
    for key, v in dict(fixed or {}).items():
        if key not in defaults:
            raise ValueError(f"fixed: {key!r} is not a parameter of the {model} model; choose from {', '.join(defaults)}")
        if key in free:
            raise ValueError(f"fixed: {key!r} is also listed as free")
        if key == "offset":
            values[key] = as_scalar(v, "fixed offset")
        elif key == "gate_exponent":
            a = as_scalar(v, "fixed gate_exponent")
            if a < 1.0:
                raise ValueError(f"fixed gate_exponent must be >= 1, got {a}")
            values[key] = a
        elif key == "N0" and model == "resource":
            values[key] = as_scalar(v, "fixed N0", nonnegative=True)
        else:
            values[key] = as_scalar(v, f"fixed {key}", positive=True)
    if "eta" not in free and values["eta"] is None:
        raise ValueError("eta is not free: give its value in fixed={'eta': ...}")
    if model == "resource" and "gate_exponent" not in free and values["gate_exponent"] is None:
        values.pop("gate_exponent")
    return values


def _fit_columns(skills: Sequence[int | str] | None, settings: list[SkillCurves]):
    if skills is None:
        return [np.arange(d.n_skills) for d in settings], None
    if isinstance(skills, (str, int)):
        skills = [skills]
    cols = []
    for d in settings:
        idx = sorted({d.skill_index(s) for s in skills})
        if not idx:
            raise ValueError("skills must name at least one skill")
        cols.append(np.array(idx, dtype=int))
    names = tuple(settings[0].names[i] for i in cols[0])
    return cols, names


def _half_times(data: SkillCurves) -> np.ndarray:
    """Time each skill's curve first falls to half its first value (NaN: never)."""
    return data.learning_times(0.5, relative=True)


def _frequencies_from_data(data: SkillCurves) -> np.ndarray:
    """Starting frequencies p_k ~ 1 / (half-loss time), skills never halved get half the smallest."""
    half = _half_times(data)
    half = np.where(half > 0, half, np.nan)
    inv = 1.0 / half
    if np.all(np.isnan(inv)):
        return np.ones(data.n_skills)
    inv = np.where(np.isnan(inv), 0.5 * np.nanmin(inv), inv)
    return inv / inv[0]


def _order_from_data(data: SkillCurves) -> tuple[int, ...]:
    """Domino order from the data: by half-loss time, never-halved skills last by final loss."""
    half = _half_times(data)
    key = np.where(np.isnan(half), np.inf, half)
    return tuple(int(k) for k in np.lexsort((data.loss[-1], key)))


def _pooled_eta_guess(problem: _Problem) -> float:
    """Starting eta from every setting (they share eta), not from the first one alone.

    Resource/Domino: the total loss falls at rate <= eta (exactly eta while N0 << sum p l), so
    each setting that learned gives drop(t_half) / t_half, t_half the first time its total drop
    reaches half its final drop; the settings' values are pooled by a geometric mean weighted by
    their final drop, so a setting that barely learns in its window (a drop at the noise level)
    hardly counts. Only the fitted skills' curves are used: held-out curves must not inform the fit. Parallel (depends on eta / N0): the median over every halved skill of every
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
                x.append(math.log(problem.frequencies[par.setting][par.skill] / problem.frequencies[par.setting][0]))
            else:
                x.append(par.to_internal(values[par.name], par.name))
        starts.append(np.array(x))
        if vary in initial or vary not in cfg.free:
            break
    return starts


def _bootstrap(problem: _Problem, run, theta: np.ndarray, fitted: list[np.ndarray], n_bootstrap: int,
               seed: int, progress: bool) -> np.ndarray:
    """Residual bootstrap: refit to fitted + resampled residuals (per setting), natural values."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    base = []
    pools = []
    for s, data in enumerate(problem.settings):
        cols = problem.fit_columns[s]
        f = fitted[s][:, cols]
        r = (data.loss[:, cols] - f).ravel()
        base.append(f)
        pools.append(r - r.mean())
    out = []
    for _ in tqdm(range(n_bootstrap), desc="bootstrap", disable=not progress, leave=False):
        targets = [b + rng.choice(pool, size=pool.size, replace=True).reshape(b.shape) for b, pool in zip(base, pools)]
        try:
            sol = run(theta, targets)
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            continue
        if sol.status > 0:
            out.append([p.to_natural(float(u)) for p, u in zip(problem.params, sol.x)])
    return np.array(out, dtype=np.float64).reshape(-1, theta.size)


# --------------------------------------------------------------- compare and predict
def compare(
    curves: SkillCurves | Sequence[SkillCurves],
    models: Sequence[str] = MODELS,
    *,
    free: Mapping[str, Sequence[str]] | None = None,
    criterion: str = "aic",
    extra_free: Sequence[str] = (),
    **fit_kwargs: Any,
) -> Comparison:
    """Fit several models to the same curves and rank them by AIC or BIC (lowest first).

    Args:
        curves: as in fit.
        models: model names to compare.
        free: {model: free parameters}; models not named get their defaults (see fit).
        criterion: "aic" or "bic".
        extra_free: parameters added to every model's free set that it has (e.g. ("offset",)).
        fit_kwargs: passed to every fit (quantity, frequencies, n_bootstrap, seed, ...); loss, C
            and gates apply to the resource model only.
    """
    criterion = choice(criterion, "criterion", CRITERIA)
    models = [choice(m, "models", MODELS) for m in models]
    if not models:
        raise ValueError("models must name at least one model")
    free = dict(free or {})
    unknown = sorted(set(free) - set(MODELS))
    if unknown:
        raise ValueError(f"free names unknown models {unknown}; its keys must be among {list(MODELS)}")
    results: dict[str, FitResult] = {}
    for name in models:
        kwargs = dict(fit_kwargs)
        if name != "resource":
            for key in ("loss", "C", "gates"):
                kwargs.pop(key, None)
        chosen = free.get(name)
        if chosen is None and extra_free:
            probe_given = fit_kwargs.get("frequencies")
            raw = [curves] if isinstance(curves, SkillCurves) else list(curves)
            has_p = probe_given is not None or all(c.frequencies is not None for c in raw)
            chosen = list(DEFAULT_FREE[name]) + ([] if has_p or name == "domino" else ["p"])
        if chosen is not None:
            chosen = list(chosen) + [e for e in extra_free
                                     if e in SCALAR_PARAMETERS[name] and e not in chosen
                                     and not (name == "parallel" and e in ("N0", "eta") and ("eta" in chosen or "N0" in chosen))]
        results[name] = fit(curves, name, chosen, **kwargs)
    scores = {n: getattr(r, criterion) for n, r in results.items()}
    ranking = tuple(sorted(scores, key=lambda n: scores[n]))
    best = scores[ranking[0]]
    deltas = {n: scores[n] - best for n in ranking}
    raw_w = {n: math.exp(-0.5 * deltas[n]) for n in ranking}
    total = sum(raw_w.values())
    weights = {n: w / total for n, w in raw_w.items()}
    return Comparison(results, criterion, ranking, scores, deltas, weights)


def predict(result: FitResult, target: SkillCurves | Sequence[float] | np.ndarray | None = None,
            times: Sequence[float] | np.ndarray | None = None, *, setting: int = 0) -> SkillCurves:
    """The fitted model's curves for other frequencies or settings; see FitResult.predict."""
    if not isinstance(result, FitResult):
        raise ValueError(f"result must be a FitResult, got {type(result).__name__}")
    return result.predict(target, times, setting=setting)


def prediction_error(result: FitResult, curves: SkillCurves, *, skills: Sequence[int | str] | None = None,
                     setting: int | None = None) -> PredictionError:
    """Error of the fitted model's prediction of observed curves (held-out skills or settings).

    curves: observed SkillCurves in the fit's quantity (mapped with the fit's to_loss settings).
    The prediction uses curves.frequencies when known, else (or when `setting` is given) the
    frequencies of fitted setting `setting`. skills: the skills to score (default: all).
    """
    if not isinstance(result, FitResult):
        raise ValueError(f"result must be a FitResult, got {type(result).__name__}")
    cfg = result.config
    observed = to_loss(curves, cfg.quantity, chance=cfg.chance, normalize=cfg.normalize)
    if setting is not None:
        model = result.model_for(None, setting=setting, names=observed.names)
        if model.n_skills != observed.n_skills:
            raise ValueError(f"curves have {observed.n_skills} skills; fitted setting {setting} has {model.n_skills}")
        pred = result.predict(model.p, observed.times)
    else:
        pred = result.predict(observed, setting=0)
    idx = list(range(observed.n_skills)) if skills is None else [observed.skill_index(s) for s in skills]
    if not idx:
        raise ValueError("skills must name at least one skill")
    err = pred.loss[:, idx] - observed.loss[:, idx]
    y = observed.loss[:, idx]
    tss = float(np.sum((y - y.mean()) ** 2))
    sse = float(np.sum(err**2))
    per = {observed.names[k]: float(np.sqrt(np.mean(err[:, j] ** 2))) for j, k in enumerate(idx)}
    return PredictionError(
        rmse=float(np.sqrt(np.mean(err**2))), mae=float(np.mean(np.abs(err))), max_abs=float(np.max(np.abs(err))),
        r2=1.0 - sse / tss if tss > 0 else float("nan"), per_skill_rmse=per, n_points=int(err.size),
    )
