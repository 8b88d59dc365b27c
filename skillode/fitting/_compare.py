"""Compare models on the same curves; predict held-out skills and settings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._checks import choice
from ..curves import SkillCurves
from ._config import CRITERIA, DEFAULT_FREE, MODELS, SCALAR_PARAMETERS
from ._data import as_settings, to_loss
from ._fit import fit
from ._result import Comparison, FitResult, PredictionError


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
    curves = as_settings(curves)  # DataFrames converted once, not once per model
    curves = curves[0] if len(curves) == 1 else curves
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
            chosen = list(chosen) + [
                e
                for e in extra_free
                if e in SCALAR_PARAMETERS[name]
                and e not in chosen
                and not (name == "parallel" and e in ("N0", "eta") and ("eta" in chosen or "N0" in chosen))
            ]
        results[name] = fit(curves, name, chosen, **kwargs)
    scores = {n: getattr(r, criterion) for n, r in results.items()}
    ranking = tuple(sorted(scores, key=lambda n: scores[n]))
    best = scores[ranking[0]]
    deltas = {n: scores[n] - best for n in ranking}
    raw_w = {n: math.exp(-0.5 * deltas[n]) for n in ranking}
    total = sum(raw_w.values())
    weights = {n: w / total for n, w in raw_w.items()}
    return Comparison(results, criterion, ranking, scores, deltas, weights)


def predict(
    result: FitResult,
    target: SkillCurves | Sequence[float] | np.ndarray | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    setting: int = 0,
) -> SkillCurves:
    """The fitted model's curves for other frequencies or settings; see FitResult.predict."""
    if not isinstance(result, FitResult):
        raise ValueError(f"result must be a FitResult, got {type(result).__name__}")
    return result.predict(target, times, setting=setting)


def prediction_error(
    result: FitResult, curves: SkillCurves, *, skills: Sequence[int | str] | None = None, setting: int | None = None
) -> PredictionError:
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
        rmse=float(np.sqrt(np.mean(err**2))),
        mae=float(np.mean(np.abs(err))),
        max_abs=float(np.max(np.abs(err))),
        r2=1.0 - sse / tss if tss > 0 else float("nan"),
        per_skill_rmse=per,
        n_points=int(err.size),
    )
