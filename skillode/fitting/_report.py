"""compare_run: which skill-learning model does a training run follow? Ranked out of sample.

    compare_run(curves, frequencies=..., train_fraction=0.6, holdout_skills=[...]) -> RunComparison
    RunComparison.report() -> markdown;  .to_dict() -> every number (JSON-serialisable)

Units. Every model is fitted to the same data, each skill's loss divided by its first value
(fit's normalize=True: the model curve is divided by its own first value too), and every curve
and error is reported back in the data's units (times the skill's first logged loss). A cross-
entropy run starting at 0.72 is thus compared with model curves that all start at 0.72.

Ranking. The primary score is an out-of-sample error, because AIC and BIC assume independent
errors and the residuals of a learning curve are strongly autocorrelated (their differences then
look far more decisive than they are). (a) Time split: each model is fitted on the first
`train_fraction` of the time range and predicts the rest; the score is the RMSE on those held-out
times. (b) Held-out skills: each model is fitted on the other skills and predicts the held-out
skills' curves and learning times. (a) ranks when it is on, else (b), else (neither) AIC. AIC and
BIC of the fit to all the data are shown beside it, without Akaike weights.

Confidence. The held-out errors are resampled by a moving-block bootstrap over the held-out times
(blocks of about sqrt(n) times, the same blocks for every model, so the comparison is paired):
each model's RMSE gets a percentile interval, and the share of resamples in which the best model
stays best is reported with the ratio of the two best errors. "clear": the two intervals do not
overlap, the best wins >= 95% of resamples and the ratio is >= 1.1; "likely": it wins >= 75% and
the ratio is >= 1.02; else "not resolved" (e.g. nested models giving the same curves). The
bootstrap sees one run only: run-to-run variation is not in it.

Identifiability (of the fit to all the data). A parameter is not identified when its Jacobian
standard error is infinite, when it sits at the optimiser's bound, when two parameters correlate
with |r| > 0.98 (from the covariance or the bootstrap refits, in log space), or when the Resource
model's N0 runs off to many times sum(p) (its Parallel limit, where the curves depend on eta / N0
only). Then the determined combination eta / N0 is reported with its interval instead. The
Parallel model always depends on eta / N0 only: its N0 is fixed at 1 and eta is that ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._checks import as_count, as_frequencies, as_scalar, choice
from ..curves import SkillCurves
from ..models import Gate
from ._config import _LOG_BOUND, QUANTITIES, SCALAR_PARAMETERS
from ._data import as_curves, to_loss
from ._fit import fit
from ._result import FitResult, residual_autocorrelation

CORRELATION_LIMIT = 0.98  # |r| above this: the two parameters are not separately determined
N0_PARALLEL_LIMIT = 100.0  # resource N0 / sum(p) above this: only eta / N0 matters (Parallel limit)
BOUND_MARGIN = 1.0  # internal (log) value within this of the optimiser's bound: "at a bound"
CLEAR_RATIO = 1.1  # "clear" needs the second-best error at least 10% above the best
TIE_RATIO = 1.02  # best and second within 2%: "not resolved" whatever the resamples say
N_RESAMPLES = 1000  # block-bootstrap resamples of the held-out errors (cheap: no refits)
GATED = "resource_gated"


@dataclass(frozen=True, eq=False)
class HeldOutError:
    """How one model, fitted without some data, predicts it (in the data's units).

    Attributes:
        kind: "time" (fitted on the first part of the time range) or "skills" (without some skills).
        rmse: over every held-out (time, skill) point; interval: its block-bootstrap interval.
        per_skill_rmse: {skill: rmse} over the held-out points.
        n_points: held-out (time, skill) points.
        learning_times: {skill: (observed, predicted)} time to reach `threshold` of the first loss
            (kind "skills"; NaN: never reached).
        fit: the FitResult of the reduced fit; predicted: its curves on every time, data units.
        errors: shape (n_t, n_cols), prediction minus data on the held-out times and skills.
    """

    kind: str
    rmse: float
    interval: tuple[float, float]
    per_skill_rmse: dict
    n_points: int
    learning_times: dict
    fit: FitResult
    predicted: SkillCurves
    errors: np.ndarray

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rmse": self.rmse,
            "interval": list(self.interval),
            "per_skill_rmse": dict(self.per_skill_rmse),
            "n_points": self.n_points,
            "learning_times": {k: list(v) for k, v in self.learning_times.items()},
            "fit": self.fit.to_dict(),
        }


@dataclass(frozen=True)
class Identifiability:
    """What the data determine of one model's parameters.

    Attributes:
        unidentified: free parameters not determined separately.
        notes: plain-language findings, one per rule that fired.
        combinations: {"eta/N0": (estimate, low, high)} the determined combinations.
        correlations: {"a~b": r} the correlation of each pair of free scalar parameters.
    """

    unidentified: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    combinations: dict = field(default_factory=dict)
    correlations: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class RunComparison:
    """The models compared on one run; see the module docstring for the rules.

    Attributes:
        data: the observed curves, in their own units.
        scale: shape (n,), each skill's first observed loss (the unit the fits were made in).
        fits: {model: FitResult} fitted to all the data (normalised units; see fitted()).
        time_split, skill_holdout: {model: HeldOutError} (empty when not asked for).
        ranking: model names, best first; ranked_by: what ranked them, in words; score: {model: score}.
        confidence: ratio of the two best scores, their intervals, the best's bootstrap win share, a label.
        identifiability: {model: Identifiability}.
        options: the settings of the comparison (train_fraction, split_time, holdout skills, ...).
    """

    data: SkillCurves
    scale: np.ndarray
    fits: dict
    time_split: dict
    skill_holdout: dict
    ranking: tuple[str, ...]
    ranked_by: str
    score: dict
    confidence: dict
    identifiability: dict
    options: dict

    @property
    def best(self) -> str:
        return self.ranking[0]

    def fitted(self, model: str) -> SkillCurves:
        """The model fitted to all the data, on the data's times, in the data's units."""
        res = self.fits[model]
        f = res.fitted[0]
        return SkillCurves(f.times, f.loss * self.scale, f.names, f.frequencies, {"fit": res.to_dict()})

    def report(self) -> str:
        """The comparison as markdown: ranking with confidence, parameters, held-out predictions."""
        return render(self)

    def to_dict(self) -> dict:
        """Every number of the comparison (JSON-serialisable)."""
        return {
            "data": {
                "names": list(self.data.names),
                "n_times": self.data.n_times,
                "first_time": float(self.data.times[0]),
                "last_time": float(self.data.times[-1]),
                "initial_loss": self.scale.tolist(),
                "frequencies": None if self.data.frequencies is None else self.data.frequencies.tolist(),
            },
            "options": dict(self.options),
            "ranking": list(self.ranking),
            "ranked_by": self.ranked_by,
            "score": dict(self.score),
            "confidence": dict(self.confidence),
            "models": {name: self._model_dict(name) for name in self.fits},
        }

    def _model_dict(self, name: str) -> dict:
        ident = self.identifiability[name]
        return {
            "fit": self.fits[name].to_dict(),
            "residual_autocorrelation": residual_autocorrelation(self.fits[name]),
            "identifiability": {
                "unidentified": list(ident.unidentified),
                "notes": list(ident.notes),
                "combinations": {k: list(v) for k, v in ident.combinations.items()},
                "correlations": dict(ident.correlations),
            },
            "time_split": self.time_split[name].to_dict() if name in self.time_split else None,
            "skill_holdout": self.skill_holdout[name].to_dict() if name in self.skill_holdout else None,
        }

    def __repr__(self) -> str:
        return f"RunComparison(ranking={self.ranking!r}, ranked_by={self.ranked_by!r}, {self.confidence.get('label')})"


def compare_run(
    curves: Any,
    *,
    frequencies: Sequence[float] | np.ndarray | None = None,
    infer_frequencies: bool = False,
    parents: Mapping[str, Sequence[str]] | None = None,
    train_fraction: float | None = 0.6,
    holdout_skills: Sequence[str] | None = None,
    threshold: float = 0.5,
    n_bootstrap: int = 50,
    seed: int = 0,
    level: float = 0.95,
    quantity: str = "loss",
    chance: float = 0.0,
    gate_exponent: float | str = 1.0,
) -> RunComparison:
    """Fit the Resource, Domino and Parallel models (and the gated Resource model) to a run and rank them.

    Args:
        curves: SkillCurves (e.g. from read_curves or SkillRecorder.curves) or a pandas DataFrame.
        frequencies: shape (n,), the skills' frequencies (default: the curves' own).
        infer_frequencies: fit the frequencies too (relative to the first skill's); the Domino
            model then takes its order from the data.
        parents: {skill: parent skills}: adds the gated Resource model ("resource_gated").
        train_fraction: fit on times up to t0 + f (t_end - t0), predict the rest; None: no split.
        holdout_skills: skills left out of a second fit whose curves and learning times it predicts.
        threshold: learning time = first time a skill's loss reaches threshold x its first loss.
        n_bootstrap: residual-bootstrap refits for the parameter intervals (fit on all data).
        seed, level: bootstrap seed and interval level.
        quantity, chance: the curves are losses ("loss") or accuracies ("accuracy", chance = the
            accuracy of guessing): accuracies are compared as the loss-equivalent (1 - acc) / (1 - chance)
            (see skillode.to_loss), and `data`, the fits and the errors are in those units.
        gate_exponent: the gated model's gate exponent a (gates open as 1 - lhat^a): a number > 0,
            fixed there (default 1, Gate's default; listed as fixed in the report), or "free": fitted
            with eta and N0 (as log a, any a > 0), with its interval and identifiability like theirs.
    """
    quantity = choice(quantity, "quantity", QUANTITIES)
    gate_exponent = _gate_exponent(gate_exponent)
    if quantity == "accuracy":
        curves = to_loss(as_curves(curves), "accuracy", chance=chance)
    data, freq, holdout = _prepare(curves, frequencies, infer_frequencies, holdout_skills, parents)
    level = as_scalar(level, "level")
    threshold = as_scalar(threshold, "threshold", positive=True)
    if threshold >= 1.0:
        raise ValueError(f"threshold is a fraction of the first loss and must be below 1, got {threshold:g}")
    specs = _model_specs(infer_frequencies, parents, gate_exponent)
    common: dict[str, Any] = dict(normalize=True, frequencies=freq, seed=as_count(seed, "seed", minimum=0), level=level)
    scale = data.loss[0].copy()
    fits = {
        name: fit(data, n_bootstrap=as_count(n_bootstrap, "n_bootstrap", minimum=0), **spec, **common)
        for name, spec in specs.items()
    }
    rng = np.random.default_rng(seed)
    time_split: dict[str, HeldOutError] = {}
    split_time = None
    if train_fraction is not None:
        n_train, split_time = _split_index(data, train_fraction)
        time_split = _time_split(data, scale, specs, common, n_train)
    skill_holdout = _skill_holdout(data, scale, specs, common, holdout, threshold) if holdout else {}
    time_split, time_samples = _with_intervals(time_split, rng, level)
    skill_holdout, skill_samples = _with_intervals(skill_holdout, rng, level)
    samples = {"time": time_samples, "skills": skill_samples}
    ranking, ranked_by, score, confidence = _rank(fits, time_split, skill_holdout, samples)
    options = {
        "quantity": quantity if quantity == "loss" else f"accuracy, as (1 - acc) / (1 - {chance:g})",
        "train_fraction": train_fraction,
        "split_time": split_time,
        "holdout_skills": list(holdout),
        "threshold": threshold,
        **_frequency_options(frequencies, infer_frequencies, parents, gate_exponent),
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "level": level,
        "n_resamples": N_RESAMPLES,
    }
    ident = {name: identifiability(res) for name, res in fits.items()}
    return RunComparison(
        data, scale, fits, time_split, skill_holdout, ranking, ranked_by, score, confidence, ident, options
    )


def _frequency_options(
    frequencies: Any, infer: bool, parents: Mapping[str, Sequence[str]] | None, gate_exponent: float | str
) -> dict:
    """The options that say where the frequencies came from and which gated model was fitted."""
    return {
        "infer_frequencies": bool(infer),
        "frequencies": "given" if frequencies is not None else ("inferred" if infer else "from the data"),
        "parents": {k: list(v) for k, v in (parents or {}).items()},
        "gate_exponent": gate_exponent if parents else None,
    }


# ------------------------------------------------------------------ the stages
def _prepare(
    curves: Any,
    frequencies: Any,
    infer: bool,
    holdout_skills: Sequence[str] | None,
    parents: Mapping[str, Sequence[str]] | None,
) -> tuple[SkillCurves, np.ndarray | None, list[str]]:
    """The curves (checked: positive first losses), the frequencies to use, the held-out skill names."""
    data = as_curves(curves)
    to_loss(data, normalize=True)  # refuses a first loss <= 0 by skill: the unit would be undefined
    freq = None
    if frequencies is not None:
        if infer:
            raise ValueError("give frequencies or infer_frequencies=True, not both")
        freq = as_frequencies(frequencies, "frequencies")
        if freq.size != data.n_skills:
            raise ValueError(
                f"frequencies must have {data.n_skills} entries (one per skill: {', '.join(data.names)}), "
                f"got {freq.size}"
            )
    elif data.frequencies is None and not infer:
        raise ValueError(
            "the curves carry no skill frequencies: give frequencies (one per skill: "
            f"{', '.join(data.names)}) or infer_frequencies=True"
        )
    holdout = [str(s) for s in (holdout_skills or [])]
    for name in holdout:
        _known(data, name, "holdout_skills")
    if holdout and len(set(holdout)) >= data.n_skills:
        raise ValueError("holdout_skills leaves no skill to fit")
    if holdout and infer:
        raise ValueError(
            "holdout_skills need known frequencies (a held-out skill's frequency cannot be inferred from curves "
            "the fit must not see): give frequencies instead of infer_frequencies"
        )
    for skill, ps in (parents or {}).items():
        _known(data, skill, "parents")
        if not ps:
            raise ValueError(f"parents: skill {skill!r} needs at least one parent")
        for parent in ps:
            _known(data, parent, "parents")
    return data, freq, holdout


def _known(data: SkillCurves, name: str, argument: str) -> None:
    if name not in data.names:
        raise ValueError(f"{argument}: no skill {name!r} in the curves; known: {', '.join(data.names)}")


def _gate_exponent(value: float | str) -> float | str:
    """gate_exponent checked: "free", or a positive finite number."""
    if isinstance(value, str) and value.strip().lower() == "free":
        return "free"
    try:
        a = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"gate_exponent must be a positive number or 'free', got {value!r}") from None
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"gate_exponent must be a positive number or 'free', got {value!r}")
    return a


def _model_specs(
    infer: bool, parents: Mapping[str, Sequence[str]] | None, gate_exponent: float | str = 1.0
) -> dict[str, dict]:
    """fit() arguments of each compared model (free parameters per the frequencies' source)."""
    p = ["p"] if infer else []
    specs: dict[str, dict] = {
        "resource": {"model": "resource", "free": ["eta", "N0", *p]},
        "domino": {"model": "domino", "free": ["eta"]},
        "parallel": {"model": "parallel", "free": ["eta", *p]},
    }
    if parents:
        free_a = gate_exponent == "free"
        a = 1.0 if free_a else float(gate_exponent)
        gates = [Gate(skill, tuple(ps), exponent=a) for skill, ps in parents.items()]
        free = ["eta", "N0", *(["gate_exponent"] if free_a else []), *p]
        specs[GATED] = {"model": "resource", "free": free, "gates": gates}
    return specs


def _split_index(data: SkillCurves, fraction: float) -> tuple[int, float]:
    """(number of training times, the split time): times up to t0 + fraction (t_end - t0) train."""
    f = as_scalar(fraction, "train_fraction")
    if not 0.0 < f < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1) (or be None: no time split), got {f:g}")
    t = data.times
    split = float(t[0] + f * (t[-1] - t[0]))
    n_train = int(np.searchsorted(t, split, side="right"))
    if n_train < 4 or n_train >= t.size:
        raise ValueError(
            f"train_fraction {f:g} puts {n_train} of {t.size} times before the split at {split:g}: "
            "the fit needs at least 4 and the test at least 1"
        )
    return n_train, split


def _predicted(res: FitResult, data: SkillCurves, scale: np.ndarray) -> SkillCurves:
    """A reduced fit's curves on every time of the data, in the data's units."""
    pred = res.predict(None, data.times)
    return SkillCurves(data.times, pred.loss * scale, data.names, pred.frequencies, {"fit": res.to_dict()})


def _time_split(
    data: SkillCurves, scale: np.ndarray, specs: dict, common: dict, n_train: int
) -> dict[str, HeldOutError]:
    """Each model fitted on the first n_train times, scored on the rest (paired block bootstrap)."""
    train = SkillCurves(data.times[:n_train], data.loss[:n_train], data.names, data.frequencies, data.metadata)
    fits = {name: fit(train, n_bootstrap=0, **spec, **common) for name, spec in specs.items()}
    preds = {name: _predicted(res, data, scale) for name, res in fits.items()}
    errors = {name: pred.loss[n_train:] - data.loss[n_train:] for name, pred in preds.items()}
    nan = (math.nan, math.nan)  # filled in by _with_intervals, from the same resamples for every model
    return {
        name: HeldOutError(
            "time", _rmse(e), nan, _per_skill(e, data.names), int(e.size), {}, fits[name], preds[name], e
        )
        for name, e in errors.items()
    }


def _skill_holdout(
    data: SkillCurves,
    scale: np.ndarray,
    specs: dict,
    common: dict,
    holdout: list[str],
    threshold: float,
) -> dict[str, HeldOutError]:
    """Each model fitted without the held-out skills; their curves and learning times predicted."""
    kept = [n for n in data.names if n not in holdout]
    cols = [data.skill_index(n) for n in holdout]
    observed_times = data.select(holdout).learning_times(threshold, relative=True)
    out_fits = {name: fit(data, n_bootstrap=0, skills=kept, **spec, **common) for name, spec in specs.items()}
    preds = {name: _predicted(res, data, scale) for name, res in out_fits.items()}
    errors = {name: pred.loss[:, cols] - data.loss[:, cols] for name, pred in preds.items()}
    out = {}
    for name, e in errors.items():
        predicted_times = preds[name].select(holdout).learning_times(threshold, relative=True)
        times = {s: (float(o), float(p)) for s, o, p in zip(holdout, observed_times, predicted_times)}
        out[name] = HeldOutError(
            "skills",
            _rmse(e),
            (math.nan, math.nan),
            _per_skill(e, holdout),
            int(e.size),
            times,
            out_fits[name],
            preds[name],
            e,
        )
    return out


def _rmse(e: np.ndarray) -> float:
    return float(np.sqrt(np.mean(e**2)))


def _per_skill(e: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    return {n: float(np.sqrt(np.mean(e[:, j] ** 2))) for j, n in enumerate(names)}


def block_bootstrap(
    errors: Mapping[str, np.ndarray], rng: np.random.Generator, level: float
) -> tuple[dict[str, tuple[float, float]], np.ndarray]:
    """Paired moving-block bootstrap of held-out RMSEs over time.

    errors: {model: (n_t, n_cols) prediction minus data}, the same times for every model. Blocks
    of about sqrt(n_t) consecutive times (the errors of a curve are autocorrelated: resampling
    single times would understate the spread) are drawn with replacement, the same blocks for
    every model. Returns ({model: (low, high)} percentile intervals, the (N_RESAMPLES, n_models)
    resampled RMSEs, columns in the order of `errors`).
    """
    names = list(errors)
    mse_t = np.stack([np.mean(errors[n] ** 2, axis=1) for n in names], axis=1)  # (n_t, n_models)
    n_t = mse_t.shape[0]
    block = max(1, int(round(math.sqrt(n_t))))
    n_blocks = int(math.ceil(n_t / block))
    starts = rng.integers(0, n_t - block + 1, size=(N_RESAMPLES, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(N_RESAMPLES, -1)[:, :n_t]
    rmse = np.sqrt(mse_t[idx].mean(axis=1))  # (N_RESAMPLES, n_models)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    lows, highs = np.percentile(rmse, lo_q, axis=0), np.percentile(rmse, hi_q, axis=0)
    return {n: (float(lows[j]), float(highs[j])) for j, n in enumerate(names)}, rmse


def _with_intervals(
    held: dict[str, HeldOutError], rng: np.random.Generator, level: float
) -> tuple[dict[str, HeldOutError], np.ndarray]:
    """The held-out errors with their block-bootstrap intervals, and the resampled RMSEs (B, n_models)."""
    if not held:
        return held, np.empty((0, 0))
    intervals, samples = block_bootstrap({n: h.errors for n, h in held.items()}, rng, level)
    return {n: replace(h, interval=intervals[n]) for n, h in held.items()}, samples


def _rank(
    fits: dict, time_split: dict, skill_holdout: dict, samples: dict[str, np.ndarray]
) -> tuple[tuple[str, ...], str, dict, dict]:
    """(ranking, what ranked it, {model: score}, confidence) from the first held-out test available."""
    if time_split:
        held, kind, ranked_by = time_split, "time", "out-of-sample RMSE on the held-out later times (time split)"
    elif skill_holdout:
        held, kind, ranked_by = skill_holdout, "skills", "out-of-sample RMSE on the held-out skills"
    else:
        aic = {n: r.aic for n, r in fits.items()}
        ranking = tuple(sorted(aic, key=aic.__getitem__))
        confidence = {"label": "not assessed", "why": "no held-out data: ranked by in-sample AIC only"}
        return ranking, "in-sample AIC (no held-out test was asked for)", aic, confidence
    score = {n: h.rmse for n, h in held.items()}
    ranking = tuple(sorted(score, key=score.__getitem__))
    return ranking, ranked_by, score, _confidence(ranking, held, samples[kind])


def _confidence(ranking: tuple[str, ...], held: dict[str, HeldOutError], samples: np.ndarray) -> dict:
    """How sure the ranking's top is: score ratio, interval overlap, bootstrap win share, a label."""
    if len(ranking) < 2:
        return {"label": "single model", "why": "one model only"}
    first, second = ranking[0], ranking[1]
    a, b = held[first], held[second]
    names = list(held)  # the columns of samples
    wins = float(np.mean(np.argmin(samples, axis=1) == names.index(first)))
    overlap = not a.interval[1] < b.interval[0]
    ratio = b.rmse / a.rmse if a.rmse > 0 else math.inf
    # a win share alone is not enough: nested models (the Resource model in its Parallel limit) give
    # near-identical errors in which one still "wins" every resample by a hair
    if not overlap and wins >= 0.95 and ratio >= CLEAR_RATIO:
        label = "clear"
    elif wins >= 0.75 and ratio >= TIE_RATIO:
        label = "likely"
    else:
        label = "not resolved"
    return {
        "label": label,
        "best": first,
        "second": second,
        "ratio": ratio,
        "intervals_overlap": overlap,
        "best_wins_share": wins,
    }


# ------------------------------------------------------------------ identifiability
def identifiability(res: FitResult) -> Identifiability:
    """Which free parameters of a fit the data determine, and the combinations they do determine."""
    scalars = [n for n in res.names if n in ("eta", "N0", "gate_exponent", "offset")]
    idx = {n: res.names.index(n) for n in scalars}
    corr = _correlations(res, scalars, idx)
    unidentified: list[str] = []
    notes: list[str] = []
    for n in scalars:
        if not math.isfinite(res.stderr[n]):
            unidentified.append(n)
            notes.append(f"{n}: the data do not determine it (infinite standard error: a flat direction of the fit)")
    for n in (n for n in scalars if n != "offset"):
        u = math.log(max(res.estimates[n], 1e-300))  # the optimiser's coordinates: log eta, log N0, log a
        if abs(u) >= _LOG_BOUND - BOUND_MARGIN:
            unidentified.append(n)
            notes.append(f"{n} = {res.estimates[n]:.3g} sits at the optimiser's bound: it ran off to a limit")
    for pair, r in corr.items():
        if abs(r) > CORRELATION_LIMIT:
            unidentified.extend(pair.split("~"))
            notes.append(f"{pair.replace('~', ' and ')} correlate with r = {r:+.3f}: not separately determined")
    if res.model == "resource" and "N0" in res.names:
        ratio = res.estimates["N0"] / float(res.frequencies[0].sum())
        if ratio > N0_PARALLEL_LIMIT:
            unidentified.extend(["eta", "N0"])
            notes.append(
                f"N0 = {ratio:.3g} x sum(p) >> 1: the Resource model is in its Parallel limit, where the "
                "curves depend on eta / N0 only"
            )
    combos = {}
    if {"eta", "N0"} <= set(unidentified):
        combos["eta/N0"] = _ratio_interval(res, idx["eta"], idx["N0"])
    if res.model == "parallel" and "eta" in res.names:
        n0 = float(res.parameters["N0"])
        lo, hi = res.intervals["eta"]
        combos["eta/N0"] = (res.estimates["eta"] / n0, lo / n0, hi / n0)
        notes.append(f"the Parallel model depends on eta / N0 only: N0 = {n0:g} (fixed) sets the scale")
    seen: list[str] = []
    for n in unidentified:
        if n not in seen:
            seen.append(n)
    return Identifiability(tuple(seen), tuple(notes), combos, corr)


def _correlations(res: FitResult, scalars: list[str], idx: dict[str, int]) -> dict[str, float]:
    """{"a~b": r} per pair of free scalar parameters: the larger |r| of the Jacobian covariance
    (log space) and of the bootstrap refits' logs (which see a curved valley the Jacobian misses)."""
    out: dict[str, float] = {}
    cov = res.covariance
    samples = res.bootstrap_samples
    for i, a in enumerate(scalars):
        for b in scalars[i + 1 :]:
            ia, ib = idx[a], idx[b]
            candidates = []
            den = math.sqrt(max(cov[ia, ia] * cov[ib, ib], 0.0))
            if den > 0 and math.isfinite(den):
                candidates.append(float(cov[ia, ib] / den))
            if samples.shape[0] >= 10:
                x, y = _log_or_linear(samples[:, ia], a), _log_or_linear(samples[:, ib], b)
                if np.std(x) > 0 and np.std(y) > 0:
                    candidates.append(float(np.corrcoef(x, y)[0, 1]))
            if candidates:
                out[f"{a}~{b}"] = max(candidates, key=abs)
    return out


def _log_or_linear(values: np.ndarray, name: str) -> np.ndarray:
    if name == "offset":
        return values
    return np.log(np.maximum(values, 1e-300))


def _ratio_interval(res: FitResult, i: int, j: int) -> tuple[float, float, float]:
    """eta / N0 with its interval: bootstrap percentiles of the ratio, else Wald in log space."""
    est = res.estimates[res.names[i]] / res.estimates[res.names[j]]
    samples = res.bootstrap_samples
    level = res.config.level
    if samples.shape[0] >= 2:
        ratio = samples[:, i] / samples[:, j]
        lo, hi = np.percentile(ratio, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
        return float(est), float(lo), float(hi)
    from scipy.stats import norm

    cov = res.covariance
    var = cov[i, i] + cov[j, j] - 2 * cov[i, j]
    s = math.sqrt(max(float(var), 0.0))
    z = float(norm.ppf(0.5 + level / 2))
    return float(est), float(est * math.exp(-z * s)), float(est * math.exp(z * s))


# ------------------------------------------------------------------ the markdown report
def render(rc: RunComparison) -> str:
    """The report of a RunComparison as markdown (see RunComparison.report)."""
    parts = [_render_header(rc), _render_ranking(rc), _render_parameters(rc)]
    if rc.skill_holdout:
        parts.append(_render_skill_holdout(rc))
    return "\n\n".join(parts) + "\n"


def _g(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _render_header(rc: RunComparison) -> str:
    d, o = rc.data, rc.options
    first = ", ".join(f"{n} {_g(v)}" for n, v in zip(d.names, rc.scale))
    freq = "fitted (relative to the first skill's)" if o["infer_frequencies"] else o["frequencies"]
    p = rc.fits[rc.best].frequencies[0]
    lines = [
        "# Theory vs run: Resource, Domino and Parallel models",
        "",
        f"Data: {d.n_skills} skills ({', '.join(d.names)}), {d.n_times} logged steps from {_g(d.times[0])} to "
        f"{_g(d.times[-1])}. Frequencies {freq}: " + ", ".join(f"{n} {_g(v)}" for n, v in zip(d.names, p)) + ".",
        "",
        "Units: every model is fitted to the same normalised loss l(t)/l(first step) of each skill and every curve "
        f"and error below is in the data's own units (times each skill's first logged loss: {first}), so all "
        "models start where the data start.",
    ]
    cleaning = _import_cleaning(d.metadata.get("import", {}))
    if cleaning:
        lines += ["", f"Cleaning on import: {cleaning}."]
    return "\n".join(lines)


def _import_cleaning(info: Mapping[str, Any]) -> str:
    """What the importer dropped or reordered (the metadata SkillCurves.from_pandas records), in words."""
    of = f" of {info['rows_read']}" if info.get("rows_read") is not None else ""
    phrases = {
        "dropped_rows": "rows{of} dropped for a NaN, missing or infinite value",
        "dropped_rows_without_step": "rows{of} dropped for want of a step",
        "dropped_records_without_step": "records dropped for want of a step",
    }
    parts = [f"{info[key]} " + text.format(of=of) for key, text in phrases.items() if info.get(key)]
    if info.get("sorted"):
        parts.append("rows sorted by step")
    return "; ".join(parts)


def _render_ranking(rc: RunComparison) -> str:
    o = rc.options
    pct = int(round(100 * o["level"]))
    has_time, has_skills = bool(rc.time_split), bool(rc.skill_holdout)
    head = ["rank", "model"]
    if has_time:
        head.append(f"held-out times RMSE [{pct}%]")
    if has_skills:
        head.append(f"held-out skills RMSE [{pct}%]")
    head += ["in-sample RMSE", "R^2", "AIC", "dAIC", "BIC", "dBIC", "free", "resid. lag-1 r"]
    best_aic = min(r.aic for r in rc.fits.values())
    best_bic = min(r.bic for r in rc.fits.values())
    rows = []
    for rank, name in enumerate(rc.ranking, start=1):
        r = rc.fits[name]
        row = [str(rank), name]
        for held, on in ((rc.time_split, has_time), (rc.skill_holdout, has_skills)):
            if on:
                h = held[name]
                row.append(f"{_g(h.rmse)} [{_g(h.interval[0])}, {_g(h.interval[1])}]")
        in_sample = float(np.sqrt(np.mean((rc.fitted(name).loss - rc.data.loss) ** 2)))  # in the data's units
        row += [
            _g(in_sample),
            f"{r.r2:.5f}",
            f"{r.aic:.1f}",
            f"{r.aic - best_aic:.1f}",
            f"{r.bic:.1f}",
            f"{r.bic - best_bic:.1f}",
            str(r.n_free),
            f"{residual_autocorrelation(r):.2f}",
        ]
        rows.append(row)
    lines = ["## Ranking", "", f"Ranked by **{rc.ranked_by}** (primary), in the data's units."]
    if has_time:
        lines.append(
            f"Time split: fitted on steps up to {_g(o['split_time'])} (train fraction {o['train_fraction']:g} of the "
            "time range), predicting the later steps."
        )
    lines += [
        "",
        _table(head, rows),
        "",
        _render_confidence(rc),
        "",
        "AIC and BIC are of the fit to all the data, shown beside the ranking, not as its basis: they assume "
        "independent errors, and the residuals of a learning curve are autocorrelated (lag-1 r above), so "
        "their differences overstate the evidence. No Akaike weights are given for that reason.",
    ]
    return "\n".join(lines)


def _render_confidence(rc: RunComparison) -> str:
    c = rc.confidence
    if "ratio" not in c:
        return f"Confidence: {c['label']} ({c.get('why', '')})."
    overlap = "overlap" if c["intervals_overlap"] else "do not overlap"
    return (
        f"Confidence: **{c['label']}**. {c['second']}'s held-out error is {c['ratio']:.2f}x {c['best']}'s; their "
        f"{int(round(100 * rc.options['level']))}% intervals {overlap}; {c['best']} has the lowest error in "
        f"{100 * c['best_wins_share']:.0f}% of {rc.options['n_resamples']} moving-block bootstrap resamples of the "
        "held-out times (one run: run-to-run variation is not included)."
    )


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _render_parameters(rc: RunComparison) -> str:
    pct = int(round(100 * rc.options["level"]))
    lines = [
        "## Parameters",
        "",
        f"Fits to all the data; intervals at {pct}% ({{method}}). Fixed parameters are marked (fixed).",
    ]
    lines[-1] = lines[-1].format(method=rc.fits[rc.best].interval_method)
    for name in rc.ranking:
        res, ident = rc.fits[name], rc.identifiability[name]
        lines += [
            "",
            f"### {name}",
            "",
            _table(["parameter", "estimate", f"{pct}% interval", "note"], _parameter_rows(res, ident)),
        ]
        if ident.notes:
            lines += [""] + [f"- {note}" for note in ident.notes]
        for combo, (est, lo, hi) in ident.combinations.items():
            lines.append(f"- determined by the data: **{combo} = {_g(est)}** [{_g(lo)}, {_g(hi)}]")
    return "\n".join(lines)


def _parameter_rows(res: FitResult, ident: Identifiability) -> list[list[str]]:
    """Every scalar parameter of the model (free with its interval, or fixed), then the frequencies."""
    rows = []
    for n in SCALAR_PARAMETERS[res.model]:
        if n in res.names:
            lo, hi = res.intervals[n]
            note = "not separately identified (see below)" if n in ident.unidentified else ""
            est = "-" if n in ident.unidentified and n in ("eta", "N0") and ident.combinations else _g(res.estimates[n])
            shown = f"({_g(res.estimates[n])}, not determined)" if est == "-" else est
            interval = "-" if est == "-" else f"[{_g(lo)}, {_g(hi)}]"
            rows.append([n, shown, interval, note])
        elif n in res.parameters and res.parameters[n] is not None:
            rows.append([n, f"{_g(res.parameters[n])} (fixed)", "", ""])
        elif n == "gate_exponent" and res.config.gates:
            exponents = sorted({float(g.exponent) for g in res.config.gates})
            shown = ", ".join(_g(a) for a in exponents)
            rows.append([n, f"{shown} (fixed)", "", "from the gates" if len(exponents) == 1 else "per gate"])
    p = res.frequencies[0]
    for k, skill in enumerate(res.data[0].names):
        key = f"p[{skill}]"
        if key in res.names:
            lo, hi = res.intervals[key]
            rows.append([key, _g(res.estimates[key]), f"[{_g(lo)}, {_g(hi)}]", "fitted"])
        elif "p" in res.config.free:
            rows.append([key, f"{_g(p[k])} (fixed)", "", "sets the frequency scale"])
        else:
            rows.append(
                [key, f"{_g(p[k])} (fixed)", "", "domino: only the order matters" if res.model == "domino" else ""]
            )
    return rows


def _render_skill_holdout(rc: RunComparison) -> str:
    thr = rc.options["threshold"]
    lines = [
        "## Held-out skills",
        "",
        f"Each model fitted without {', '.join(rc.options['holdout_skills'])}, then predicting their curves and "
        f"learning times (first step where the loss reaches {thr:g} x its first value).",
        "",
    ]
    rows = []
    for name in rc.ranking:
        h = rc.skill_holdout[name]
        for skill, (obs, pred) in h.learning_times.items():
            rows.append([name, skill, _g(obs), _g(pred), _g(h.per_skill_rmse[skill])])
    lines.append(_table(["model", "skill", "observed learning time", "predicted", "curve RMSE"], rows))
    return "\n".join(lines)
