"""Result types of fitting: FitResult, Comparison, PredictionError."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_frequencies
from .._repr import short_repr, short_value, verbatim
from ..curves import SkillCurves
from ._config import FitConfig
from ._problem import _build_model, _model_loss


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

    def model_for(
        self,
        frequencies: Sequence[float] | np.ndarray | None = None,
        *,
        names: Sequence[str] | None = None,
        setting: int = 0,
    ):
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

    def predict(
        self,
        target: SkillCurves | Sequence[float] | np.ndarray | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        *,
        setting: int = 0,
    ) -> SkillCurves:
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
            {
                "parameter": n,
                "estimate": self.estimates[n],
                "stderr": self.stderr[n],
                "low": self.intervals[n][0],
                "high": self.intervals[n][1],
            }
            for n in self.names
        ]

    def summary(self) -> str:
        lines = [
            f"{self.model} fit: R^2 = {self.r2:.5f}, RMSE = {self.rmse:.4g}, AIC = {self.aic:.2f}, "
            f"BIC = {self.bic:.2f} ({self.n_points} points, {self.n_free} free)"
        ]
        pct = int(round(100 * self.config.level))
        for row in self.table():
            lines.append(
                f"  {row['parameter']:>16} = {row['estimate']:.6g} +- {row['stderr']:.3g}  "
                f"{pct}% [{row['low']:.6g}, {row['high']:.6g}] ({self.interval_method})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-serialisable summary (no arrays of curves)."""
        return _result_meta(self)

    def __repr__(self) -> str:
        # a one-line summary: the estimates with their standard errors and the fit quality; the
        # arrays (covariance, bootstrap samples, residuals, curves) stay on the attributes
        shown = [f"{n}: {self.estimates[n]:.6g} +- {self.stderr[n]:.2g}" for n in self.names[:_MAX_SHOWN]]
        if len(self.names) > _MAX_SHOWN:
            shown.append(f"... +{len(self.names) - _MAX_SHOWN} more")
        return short_repr(
            self,
            ("model",),
            values={
                "estimates": verbatim("{" + ", ".join(shown) + "}"),
                "r2": self.r2,
                "rmse": self.rmse,
                "aic": self.aic,
                "n_points": self.n_points,
                "n_free": self.n_free,
                "interval_method": self.interval_method,
            },
        )


_MAX_SHOWN = 6  # free parameters shown by FitResult's repr


def _result_meta(res: FitResult) -> dict:
    cfg = res.config
    return {
        "model": cfg.model,
        "free": list(res.names),
        "fixed": dict(cfg.fixed),
        "loss": cfg.loss,
        "quantity": cfg.quantity,
        "chance": cfg.chance,
        "normalize": cfg.normalize,
        "skills": None if cfg.skills is None else list(cfg.skills),
        "parameters": dict(res.parameters),
        "estimates": dict(res.estimates),
        "stderr": dict(res.stderr),
        "intervals": {k: list(v) for k, v in res.intervals.items()},
        "interval_method": res.interval_method,
        "level": cfg.level,
        "n_bootstrap": cfg.n_bootstrap,
        "bootstrap_ok": int(res.bootstrap_samples.shape[0]),
        "seed": cfg.seed,
        "frequencies": [f.tolist() for f in res.frequencies],
        "rss": res.rss,
        "r2": res.r2,
        "aic": res.aic,
        "bic": res.bic,
        "n_points": res.n_points,
        "n_free": res.n_free,
        "success": res.success,
        "message": res.message,
    }


#: Above this lag-1 autocorrelation of the residuals, AIC/BIC weights (which count every point as an
#: independent error) are flagged as overstating the confidence.
AUTOCORRELATION_WARNING = 0.5


def residual_autocorrelation(res: FitResult) -> float:
    """Mean over skills (and settings) of the lag-1 autocorrelation in time of the fit's residuals.

    The residuals are laid out per setting as (n_times, n_fitted_skills), settings concatenated; NaN
    when there are too few times, or the residuals do not have that layout.
    """
    skills = res.config.skills
    sizes = [(d.loss.shape[0], d.n_skills if skills is None else len(skills)) for d in res.data]
    if sum(t * k for t, k in sizes) != res.residuals.size:
        return math.nan
    values, start = [], 0
    for n_t, n_cols in sizes:
        block = res.residuals[start : start + n_t * n_cols].reshape(n_t, n_cols)
        start += n_t * n_cols
        if n_t < 3:
            continue
        for k in range(n_cols):
            x = block[:, k] - block[:, k].mean()
            den = float(x @ x)
            if den > 0:
                values.append(float(x[1:] @ x[:-1]) / den)
    return float(np.mean(values)) if values else math.nan


@dataclass(frozen=True, eq=False)
class Comparison:
    """Models ranked by an information criterion.

    Attributes:
        results: {model: FitResult}.
        criterion: "aic" or "bic".
        ranking: model names, best (lowest criterion) first.
        scores: {model: criterion value}; deltas: {model: score - best score}.
        weights: {model: exp(-delta/2) normalised} (Akaike / Schwarz weights). They count every
            fitted point as an independent error; a learning curve's residuals are autocorrelated
            in time, and then the weights overstate the confidence (summary() says so when the
            best fit's lag-1 autocorrelation, in table(), exceeds 0.5): rank out of sample instead
            (prediction_error on held-out settings or skills, or compare_run's time split).
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
        """One row per model, best first: model, rank, r2, rmse, aic, bic, delta, weight, n_free and
        residual_autocorrelation (lag-1, in time)."""
        rows = []
        for rank, name in enumerate(self.ranking, start=1):
            r = self.results[name]
            rows.append(
                {
                    "model": name,
                    "rank": rank,
                    "r2": r.r2,
                    "rmse": r.rmse,
                    "aic": r.aic,
                    "bic": r.bic,
                    "delta": self.deltas[name],
                    "weight": self.weights[name],
                    "n_free": r.n_free,
                    "residual_autocorrelation": residual_autocorrelation(r),
                }
            )
        return rows

    def summary(self) -> str:
        lines = [
            f"{'rank':>4} {'model':>9} {'R^2':>9} {'RMSE':>10} {'AIC':>11} {'BIC':>11} "
            f"{'d' + self.criterion.upper():>9} {'weight':>7}"
        ]
        rows = self.table()
        for row in rows:
            lines.append(
                f"{row['rank']:>4} {row['model']:>9} {row['r2']:>9.5f} {row['rmse']:>10.4g} "
                f"{row['aic']:>11.2f} {row['bic']:>11.2f} {row['delta']:>9.2f} {row['weight']:>7.3f}"
            )
        # The best fit's residuals stand for the noise: a worse model's are autocorrelated by its misfit,
        # which is what the criterion should punish, but correlated noise means fewer independent errors.
        r = rows[0]["residual_autocorrelation"]
        if len(rows) > 1 and r > AUTOCORRELATION_WARNING:
            lines.append(
                f"The weights count the {rows[0]['model']} fit's {self.best.n_points} points as independent errors, "
                f"but its residuals are autocorrelated in time (lag-1 r = {r:.2f}): the weights overstate the "
                "confidence. Rank out of sample: held-out settings or skills (skillode fit --test / "
                "--holdout-skills), or skillode compare's time split."
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        # the fitted models stay on .results (print(comparison.best) for the winner's summary)
        scores = ", ".join(f"{n!r}: {short_value(self.scores[n])}" for n in self.ranking)
        return short_repr(self, ("criterion", "ranking", "weights"), values={"scores": verbatim("{" + scores + "}")})


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

    def __repr__(self) -> str:
        return short_repr(self)
