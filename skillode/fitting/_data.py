"""Observed curves in the fit's units, and what the fit reads from them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import as_frequencies, as_scalar, choice
from ..curves import SkillCurves
from ._config import QUANTITIES


def _is_frame(obj: Any) -> bool:
    pd = sys.modules.get("pandas")  # no DataFrame exists unless pandas was imported
    return pd is not None and isinstance(obj, (pd.DataFrame, pd.Series))


def as_curves(curves: Any, name: str = "curves") -> SkillCurves:
    """The fitting entry point's conversion: SkillCurves as they are, a pandas DataFrame through
    SkillCurves.from_pandas with its defaults (step column by name, the 'loss' columns)."""
    if isinstance(curves, SkillCurves):
        return curves
    if _is_frame(curves):
        try:
            return SkillCurves.from_pandas(curves)
        except ValueError as exc:
            raise ValueError(
                f"{name}: {exc} (or convert it first: SkillCurves.from_pandas(df, step=..., pattern=...))"
            ) from exc
    raise ValueError(f"{name} must be a SkillCurves or a pandas DataFrame, got {type(curves).__name__}")


def as_settings(curves: Any) -> list[SkillCurves]:
    """fit's and compare's `curves`: one SkillCurves or DataFrame, or a sequence of them, each converted once."""
    raw = [curves] if isinstance(curves, SkillCurves) or _is_frame(curves) else [] if curves is None else list(curves)
    if not raw:
        raise ValueError("curves must be a SkillCurves (or a pandas DataFrame) or a non-empty list of them")
    return [as_curves(c, f"curves[{i}]" if len(raw) > 1 else "curves") for i, c in enumerate(raw)]


def to_loss(
    curves: SkillCurves, quantity: str = "loss", *, chance: float = 0.0, normalize: bool = False, name: str = "curves"
) -> SkillCurves:
    """Observed curves in the units the fit compares, checked.

    quantity="loss": values are used as they are (finite; noisy values below 0 are allowed).
    quantity="accuracy": values must lie in [0, 1] and become the loss-equivalent
    (1 - acc) / (1 - chance), chance in [0, 1).
    normalize=True (either quantity): each skill's loss (for accuracy, the loss-equivalent) is
    then divided by its value at the first time, which must be positive. For accuracy this gives
    (1 - acc) / (1 - acc_first), which no longer depends on chance: use it when the chance level
    is unknown or the log starts after step 0.
    The result's metadata records the mapping under "quantity". A pandas DataFrame is accepted
    and converted with SkillCurves.from_pandas (see as_curves).
    """
    quantity = choice(quantity, "quantity", QUANTITIES)
    curves = as_curves(curves, name)
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
        meta["quantity"] = {"observed": "accuracy", "chance": chance, "map": "loss = (1 - accuracy) / (1 - chance)"}
    else:
        meta["quantity"] = {"observed": "loss"}
    if not normalize:
        return replace(curves, loss=values, metadata=meta)
    first = values[0]
    if np.any(first <= 0.0):
        k = int(np.flatnonzero(first <= 0.0)[0])
        what = "loss" if quantity == "loss" else "loss-equivalent (accuracy 1 at the first step)"
        raise ValueError(
            f"{name}: normalize needs a positive first loss; skill {curves.names[k]!r} starts at {what} {first[k]:g}"
        )
    if quantity == "accuracy":
        meta["quantity"]["map"] = "loss = (1 - accuracy) / (1 - accuracy(first step))"
    else:
        meta["quantity"]["map"] = "loss / loss(first step)"
    return replace(curves, loss=values / first, metadata=meta)


def load_curves(
    path: str | Path, quantity: str = "loss", *, chance: float = 0.0, normalize: bool = False
) -> SkillCurves:
    """Read a wide or long CSV or an npz (see SkillCurves.load) and map it with to_loss."""
    curves = SkillCurves.load(path)
    return to_loss(curves, quantity, chance=chance, normalize=normalize, name=Path(path).name)


def _frequencies_per_setting(frequencies: Any, settings: list[SkillCurves]) -> list[np.ndarray | None]:
    if frequencies is None:
        return [None if d.frequencies is None else d.frequencies.copy() for d in settings]
    if len(settings) == 1:
        per = [frequencies]
    else:
        per = list(frequencies)
        if len(per) != len(settings):
            raise ValueError(f"frequencies must give one vector per setting ({len(settings)}), got {len(per)}")
    out: list[np.ndarray | None] = []
    for s, (f, d) in enumerate(zip(per, settings)):
        p = as_frequencies(f, "frequencies" if len(settings) == 1 else f"frequencies[{s}]")
        if p.size != d.n_skills:
            raise ValueError(
                f"frequencies must have {d.n_skills} entries (one per skill: {', '.join(d.names)}), got {p.size}"
            )
        out.append(p)
    return out


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
