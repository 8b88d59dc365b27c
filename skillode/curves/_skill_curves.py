"""SkillCurves: the one data type every model, solver, experiment and file becomes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import as_names
from .._files import atomic_write
from ._csv import decode, from_csv_text, to_csv_text
from ._npz import read_npz, write_npz
from ._pandas import from_pandas, to_pandas, to_xarray

if TYPE_CHECKING:
    import re
    from collections.abc import Mapping

    import pandas as pd


@dataclass(frozen=True, eq=False)
class SkillCurves:
    """Per-skill loss curves on a common time grid.

    Attributes:
        times: shape (n_t,), strictly increasing steps (float64).
        loss: shape (n_t, n_skills), per-skill loss l_k(t) (float64, finite).
        names: n_skills distinct skill names.
        frequencies: shape (n_skills,) skill frequencies p_k, or None when unknown.
        metadata: JSON-serialisable dict (model or experiment config, solver, seeds, versions).
    """

    times: np.ndarray
    loss: np.ndarray
    names: tuple[str, ...] = ()
    frequencies: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        times = _float_array(self.times, "times")
        if times.ndim == 0:
            times = times.reshape(1)
        if times.ndim != 1:
            raise ValueError(f"times must be one-dimensional, got shape {times.shape}")
        loss = _float_array(self.loss, "loss")
        if loss.ndim == 1:
            loss = loss[:, None]
        if loss.ndim != 2 or loss.shape[0] != times.size:
            raise ValueError(f"loss must have shape (n_times, n_skills) = ({times.size}, n_skills), got {loss.shape}")
        if loss.shape[1] == 0:
            raise ValueError(f"loss must hold at least one skill (a column), got shape {loss.shape}")
        if times.size == 0:
            raise ValueError("times must hold at least one time")
        if not np.all(np.isfinite(times)):
            raise ValueError("times must be finite")
        if times.size > 1 and np.any(np.diff(times) <= 0):
            i = int(np.flatnonzero(np.diff(times) <= 0)[0])
            raise ValueError(f"times must be strictly increasing; times[{i + 1}] = {times[i + 1]} follows {times[i]}")
        if not np.all(np.isfinite(loss)):
            r, c = np.argwhere(~np.isfinite(loss))[0]
            raise ValueError(f"loss must be finite; loss[{r}, {c}] = {loss[r, c]}")
        given: Any = self.names
        if given is not None and not isinstance(given, str) and hasattr(given, "__len__") and len(given) == 0:
            given = None  # an empty sequence means the default names, as None does
        names = as_names(given, loss.shape[1])
        freqs = None
        if self.frequencies is not None:
            freqs = _float_array(self.frequencies, "frequencies").reshape(-1)
            if freqs.size != loss.shape[1]:
                raise ValueError(f"frequencies must have {loss.shape[1]} entries (one per skill), got {freqs.size}")
            if not np.all(np.isfinite(freqs)) or np.any(freqs <= 0):
                raise ValueError("frequencies must be finite and positive")
            freqs.setflags(write=False)
        times.setflags(write=False)
        loss.setflags(write=False)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "frequencies", freqs)
        if self.metadata is None:
            object.__setattr__(self, "metadata", {})
        elif not isinstance(self.metadata, Mapping):
            raise ValueError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        object.__setattr__(self, "metadata", dict(self.metadata))

    # ----------------------------------------------------------------- shape and views
    @property
    def n_skills(self) -> int:
        return self.loss.shape[1]

    @property
    def n_times(self) -> int:
        return self.loss.shape[0]

    def __repr__(self) -> str:
        return (
            f"SkillCurves(n_times={self.n_times}, n_skills={self.n_skills}, "
            f"t=[{self.times[0]:g}, {self.times[-1]:g}], names={list(self.names[:4])}"
            f"{'...' if self.n_skills > 4 else ''})"
        )

    def skill_index(self, skill: int | str) -> int:
        """Index of a skill given by position or name."""
        if isinstance(skill, (int, np.integer)) and not isinstance(skill, bool):
            k = int(skill)
            if not -self.n_skills <= k < self.n_skills:
                raise ValueError(f"skill index {k} out of range for {self.n_skills} skills")
            return k % self.n_skills
        if skill in self.names:
            return self.names.index(skill)
        raise ValueError(f"unknown skill {skill!r}; known: {', '.join(self.names)}")

    def select(self, skills: Iterable[int | str]) -> SkillCurves:
        """The curves of a subset of skills, in the given order."""
        idx = [self.skill_index(s) for s in skills]
        if not idx:
            raise ValueError("skills must name at least one skill")
        return replace(
            self,
            loss=self.loss[:, idx],
            names=tuple(self.names[i] for i in idx),
            frequencies=None if self.frequencies is None else self.frequencies[idx],
        )

    def at(self, times: Sequence[float] | np.ndarray) -> SkillCurves:
        """Linear interpolation of every skill's loss onto new times inside [times[0], times[-1]]."""
        t = np.array(times, dtype=np.float64)
        if t.ndim > 1:
            raise ValueError(f"times must be one-dimensional, got shape {t.shape}")
        t = t.reshape(-1)
        if t.size == 0 or np.any(~np.isfinite(t)):
            raise ValueError("times must be a non-empty sequence of finite numbers")
        if t[0] < self.times[0] or t[-1] > self.times[-1]:
            raise ValueError(f"times must lie within the curves' range [{self.times[0]:g}, {self.times[-1]:g}]")
        loss = np.column_stack([np.interp(t, self.times, self.loss[:, k]) for k in range(self.n_skills)])
        return replace(self, times=t, loss=loss)

    # ------------------------------------------------------------------- derived curves
    def total_loss(self, weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Weighted mean loss L(t) = sum_k w_k l_k(t) / sum_k w_k, shape (n_t,).

        weights defaults to the frequencies (the data-average loss) or, when they are unknown,
        to equal weights.
        """
        w = self.frequencies if weights is None else np.asarray(weights, dtype=np.float64)
        if w is None:
            return self.loss.mean(axis=1)
        if w.shape != (self.n_skills,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"weights must be {self.n_skills} finite non-negative numbers, not all zero")
        return self.loss @ w / w.sum()

    def skill_level(self) -> np.ndarray:
        """Fraction of each skill's initial loss removed, 1 - l_k(t)/l_k(t0), shape (n_t, n_skills).

        0 means not learned, 1 means learned; a skill that starts at zero loss has level 1.
        """
        l0 = self.loss[0]
        safe = np.where(l0 > 0, l0, 1.0)
        level = 1.0 - self.loss / safe
        return np.where(l0 > 0, level, 1.0)

    def learning_times(self, threshold: float = 0.1, *, relative: bool = False) -> np.ndarray:
        """First time each skill's loss falls to `threshold`, shape (n_skills,).

        The crossing is linearly interpolated between samples; a skill that never reaches the
        threshold gets NaN, one that starts below it gets times[0]. With relative=True the
        threshold is a fraction of each skill's initial loss.
        """
        thr = float(threshold)
        if not math.isfinite(thr) or thr < 0:
            raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
        if relative and thr >= 1.0:
            raise ValueError(f"a relative threshold must be below 1 (the initial loss), got {thr:g}")
        level = thr * self.loss[0] if relative else np.full(self.n_skills, thr)
        if not relative and np.all(self.loss[0] <= thr):
            raise ValueError(
                f"threshold {thr:g} is at or above every skill's first loss (largest {self.loss[0].max():.6g}): "
                "no learning time is defined; give a threshold below the starting loss"
            )
        below = self.loss <= level
        out = np.full(self.n_skills, np.nan)
        hit = below.any(axis=0)
        first = np.argmax(below, axis=0)
        for k in np.flatnonzero(hit):
            i = first[k]
            if i == 0:
                out[k] = self.times[0]
                continue
            l_prev, l_next = self.loss[i - 1, k], self.loss[i, k]
            frac = (l_prev - level[k]) / (l_prev - l_next)
            out[k] = self.times[i - 1] + frac * (self.times[i] - self.times[i - 1])
        return out

    # ------------------------------------------------------------------ pandas, xarray
    def to_pandas(self, layout: str = "wide") -> pd.DataFrame:
        """The curves as a pandas DataFrame (pandas is imported here: pip install skillode[pandas]).

        layout="wide": a 'step' column, then one column per skill (named by the skill);
        layout="long": columns 'step', 'skill', 'value', one row per (step, skill), step-major.
        df.attrs["skillode"] keeps the names, frequencies and metadata, so from_pandas(df)
        restores them while the attrs survive (pandas drops them in a CSV).
        """
        return to_pandas(self, layout)

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        step: str | None = None,
        skills: Sequence[str] | Mapping[str, str] | str | None = None,
        pattern: str | re.Pattern | None = None,
        layout: str = "auto",
        nan: str = "refuse",
    ) -> SkillCurves:
        """Curves from a wide or long DataFrame, e.g. a tracker's export (W&B, MLflow).

        Args:
            df: wide (a step column, one column per metric) or long (step, skill, value; or
                step, key | tag | metric, value). A Series becomes a one-column frame.
            step: the step column (or index name). Default: the first column named step, steps,
                global_step, trainer/global_step, iteration, iterations, iter or _step (any
                case); else the index when so named; else an unnamed index of steps (pandas'
                to_csv() writes it as a first column 'Unnamed: 0'), with a warning; an index
                0..n-1 only numbers rows and is not used. 'epoch' is used only when named.
            skills: the columns (long layout: skill or key values) to take, in order, or a
                mapping {column: skill name}; with `pattern`, the skill names to keep.
            pattern: a regex searched in each column name (long: each key); its group 'skill',
                else its first group, else the whole name names the skill, e.g. r"loss/(.+)" or
                r"train/loss_(.+)". Two columns naming one skill are an error.
            layout: "wide", "long" or "auto" (long when there is a 'skill' column and a value,
                loss or accuracy column, or a key/tag/metric column and a 'value' column).
            nan: "refuse" (default): a NaN, missing or infinite value in a chosen column is an
                error naming the column and its first such step; "drop": those rows are dropped,
                with a warning, and counted in metadata["import"]["dropped_rows"].

        Without `skills` or `pattern` the numeric columns with "loss" in their name are taken
        (a frame from to_pandas: its own skills), with a warning naming the numeric columns
        left out (accuracy, lr, epoch, ...). A "loss" column that rises overall gives a
        warning (it may be an accuracy). Rows of one step are merged when no chosen column has
        two values there; otherwise the duplicate step is an error. Unsorted steps are sorted.
        metadata["import"] records the step column, the column of each skill, the layout and
        what was sorted, merged or dropped. Every error is a ValueError naming the column.
        """
        return from_pandas(cls, df, step=step, skills=skills, pattern=pattern, layout=layout, nan=nan)

    def to_xarray(self) -> Any:
        """The loss as an xarray.DataArray named 'loss', dims ('step', 'skill').

        Coordinates: step = times, skill = names. attrs: 'frequencies' (an array, when known)
        and 'metadata' (a JSON string, so that to_netcdf() writes it). xarray is imported here:
        pip install skillode[xarray].
        """
        return to_xarray(self)

    # ---------------------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write to .npz or .csv (wide: step column plus one column per skill), by extension.

        The write is atomic (a temporary file in the same folder, renamed over `path`): an
        interrupted save leaves any previous file intact. Returns exactly the path written.

        The CSV's first line is a '# skillode-meta {json}' comment (frequencies, metadata, exact
        names); pandas reads the rest as a step column plus one column per skill with
        `pd.read_csv(path, comment="#")` (a skill name containing '#' is cut there; read such
        files with SkillCurves.load or skillode.read_curves).
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".csv"):
            raise ValueError(f"path must end in .npz or .csv, got {path.name!r}")
        if suffix == ".npz":
            return write_npz(self, path)
        return atomic_write(path, self.to_csv_text())

    def to_csv_text(self) -> str:
        """The wide CSV text, with a '# skillode-meta' first line (pandas: read_csv(..., comment="#"))."""
        return to_csv_text(self)

    @classmethod
    def load(cls, path: str | Path) -> SkillCurves:
        """Read a .npz written by save() or a wide or long CSV (see from_csv_text).

        A missing, unreadable, corrupted or truncated file is a ValueError naming the file.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".csv"):
            raise ValueError(f"path must end in .npz or .csv, got {path.name!r}")
        if not path.exists():
            raise ValueError(f"path {str(path)!r} does not exist")
        if path.is_dir():
            raise ValueError(f"path {str(path)!r} is a directory, not a curves file")
        if suffix == ".npz":
            return read_npz(cls, path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        return cls.from_csv_text(decode(data, str(path)), source=str(path))

    @classmethod
    def from_csv_text(cls, text: str, *, source: str = "csv") -> SkillCurves:
        """Parse wide CSV (step, one column per skill) or long CSV (step, skill, value).

        Lines starting with '#' are comments; a '# skillode-meta {json}' line restores
        frequencies and metadata. Values are losses.
        """
        return from_csv_text(cls, text, source)


def _float_array(value: Any, name: str) -> np.ndarray:
    """A float64 copy of value, or a ValueError naming the argument (strings, ragged lists, objects)."""
    try:
        return np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers ({exc})") from None
