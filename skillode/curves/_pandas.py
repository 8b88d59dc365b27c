"""SkillCurves to and from pandas DataFrames (wide or long) and to an xarray DataArray.

pandas and xarray are imported on first use, never by `import skillode`.

Reading a DataFrame (from_pandas) is also the route every tracker log takes (a CSV exported
from W&B or MLflow, JSON lines, TensorBoard scalars), so its policies are the importers':

* step: the column named by `step=`; else the first column named (case-insensitively) one of
  STEP_NAMES; else the index when it is named one of them; else an unnamed index (pandas'
  default `to_csv()` writes it as a first column 'Unnamed: 0', `reset_index()` as 'index'),
  unless it only numbers the rows 0..n-1. 'epoch' is a step only when named (step="epoch").
* skills (wide): the columns named by `skills=` (a list, or a mapping column -> skill name);
  or the columns matched by the regex `pattern=` (re.search), the skill named by its group
  `skill`, else its first group, else the whole column name; without either, the numeric
  columns whose name contains "loss" (W&B's '__MIN' / '__MAX' band columns and columns
  starting with '_' excluded), with a warning naming the numeric columns left out. Long
  layout: the same choice over the values of the skill column.
* NaN or infinite values in a chosen column: refused (an error naming the column and the first
  such step) by default; nan="drop" drops those rows, counted in a warning and the metadata.
* Rows with the same step are merged when each chosen column has a value in at most one of
  them (metrics logged by separate calls); two values for one step and column are an error
  naming the step. Unsorted steps are sorted; metadata["import"]["sorted"] says so.
* A chosen column whose name contains "loss" and whose values rise overall (the mean of the
  last tenth of the rows exceeds that of the first tenth by over 10%) gives a warning: it may
  be an accuracy.

Every error is a ValueError that starts with the source (the file, or "DataFrame").
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import choice
from ._json import _jsonable

if TYPE_CHECKING:
    import pandas as pd

    from ._skill_curves import SkillCurves

# names of a step column, in order of preference (matched case-insensitively, spaces stripped)
STEP_NAMES = ("step", "steps", "global_step", "trainer/global_step", "iteration", "iterations", "iter", "_step")
# long layout: the column naming the series, and the column holding its values
SKILL_COLUMNS = ("skill",)  # values are skill names: every one is taken by default
KEY_COLUMNS = ("key", "tag", "metric")  # values are metric names (MLflow, TensorBoard): "loss" ones by default
VALUE_COLUMNS = ("value", "loss", "accuracy")
# pandas' default index, as written by to_csv() and read back by read_csv(), or by reset_index()
INDEX_COLUMNS = ("", "unnamed: 0", "index")
LAYOUTS = ("auto", "wide", "long")
NAN_POLICIES = ("refuse", "drop")
ATTRS_KEY = "skillode"  # DataFrame.attrs entry written by to_pandas: names, frequencies, metadata, layout


def require_pandas(what: str = "this") -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(f"{what} needs pandas, an optional dependency: pip install skillode[pandas]") from exc
    return pandas


def is_dataframe(obj: Any) -> bool:
    """True for a pandas DataFrame or Series, without importing pandas (none exists unless it was)."""
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, (pd.DataFrame, pd.Series))


# ----------------------------------------------------------------------------- writing
def to_pandas(curves: SkillCurves, layout: str = "wide") -> pd.DataFrame:
    """See SkillCurves.to_pandas."""
    pd = require_pandas("SkillCurves.to_pandas")
    layout = choice(layout, "layout", ("wide", "long"))
    if layout == "wide":
        if "step" in curves.names:
            raise ValueError("a skill named 'step' cannot be a column beside the step column; use layout='long'")
        data = {"step": curves.times.copy()}
        data.update({name: curves.loss[:, k].copy() for k, name in enumerate(curves.names)})
        df = pd.DataFrame(data)
    else:
        df = pd.DataFrame(
            {
                "step": np.repeat(curves.times, curves.n_skills),
                "skill": np.tile(np.array(curves.names, dtype=object), curves.n_times),
                "value": curves.loss.reshape(-1).copy(),
            }
        )
    df.attrs[ATTRS_KEY] = {
        "layout": layout,
        "names": list(curves.names),
        "frequencies": None if curves.frequencies is None else curves.frequencies.tolist(),
        "metadata": _jsonable(curves.metadata),
    }
    return df


def to_xarray(curves: SkillCurves) -> Any:
    """See SkillCurves.to_xarray."""
    try:
        import xarray as xr
    except ImportError as exc:
        raise ImportError(
            "SkillCurves.to_xarray needs xarray, an optional dependency: pip install skillode[xarray]"
        ) from exc
    attrs: dict[str, Any] = {"metadata": json.dumps(_jsonable(curves.metadata))}
    if curves.frequencies is not None:
        attrs["frequencies"] = curves.frequencies.copy()
    return xr.DataArray(
        curves.loss.copy(),
        dims=("step", "skill"),
        coords={"step": curves.times.copy(), "skill": list(curves.names)},
        name="loss",
        attrs=attrs,
    )


# ----------------------------------------------------------------------------- reading
def from_pandas(
    cls: type[SkillCurves],
    df: Any,
    *,
    step: str | None = None,
    skills: Sequence[str] | Mapping[str, str] | str | None = None,
    pattern: str | re.Pattern | None = None,
    layout: str = "auto",
    nan: str = "refuse",
    source: str = "DataFrame",
    origin: str = "pandas",
) -> SkillCurves:
    """See SkillCurves.from_pandas; `source` starts every error message, `origin` is recorded."""
    pd = require_pandas("SkillCurves.from_pandas")
    layout = choice(layout, "layout", LAYOUTS)
    nan = choice(nan, "nan", NAN_POLICIES)
    if isinstance(df, pd.Series):
        df = df.to_frame(name="loss" if df.name is None else str(df.name))
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    attrs = df.attrs.get(ATTRS_KEY) if isinstance(df.attrs.get(ATTRS_KEY), dict) else {}
    df = _string_columns(df, source)
    if len(df) == 0:
        raise ValueError(f"{source}: no rows; columns: {_list(df.columns)}")
    step_label, step_values, rest = _find_step(pd, df, step, source)
    columns = [c for c in df.columns if c not in rest["skip"]]
    if layout == "auto":
        saved_layout = attrs.get("layout")
        layout = saved_layout if saved_layout in ("wide", "long") else _guess_layout(columns)
    info: dict[str, Any] = {"origin": origin, "source": source, "layout": layout, "step": step_label}
    if layout == "long":
        steps, values, names, labels = _long(
            pd, df, columns, step_label, step_values, skills, pattern, nan, source, info
        )
    else:
        steps, values, names, labels = _wide(pd, df, columns, step_label, step_values, skills, pattern, attrs, source)
    info["columns"] = dict(zip(names, [lab["raw"] for lab in labels]))
    steps, values = _clean_rows(steps, values, labels, step_label, nan, source, info)
    for k, lab in enumerate(labels):
        if lab["lossy"]:
            _warn_if_rising(values[:, k], lab["what"], source)
    freqs = _attrs_frequencies(attrs, names)
    metadata = dict(attrs.get("metadata") or {}) if isinstance(attrs.get("metadata"), dict) else {}
    metadata["import"] = info
    try:
        return cls(steps, values, tuple(names), freqs, metadata)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _list(names: Any, limit: int = 30) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{f', ... ({len(names) - limit} more)' if len(names) > limit else ''}]"


def _fmt_step(s: float) -> str:
    return str(int(s)) if float(s).is_integer() and abs(s) < 2**63 else repr(float(s))


def _string_columns(df: Any, source: str) -> Any:
    """A shallow copy with string column labels (MultiIndex levels joined by '/') and a positional index."""
    labels = ["/".join(str(p) for p in c if str(p) != "") if isinstance(c, tuple) else str(c) for c in df.columns]
    seen: set[str] = set()
    for lab in labels:
        if lab in seen:
            raise ValueError(f"{source}: column {lab!r} appears more than once; column names must be unique")
        seen.add(lab)
    out = df.copy(deep=False)
    out.columns = labels
    return out


def _numbers(pd: Any, series: Any, what: str, step_values: np.ndarray | None, source: str) -> np.ndarray:
    """A column as float64 (missing -> NaN); a non-numeric entry is an error naming column and step."""
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        raise ValueError(f"{source}: {what} holds dates or durations ({series.dtype}), not numbers")
    if pd.api.types.is_bool_dtype(series):
        raise ValueError(f"{source}: {what} holds true/false values, not numbers")
    numeric = pd.to_numeric(series, errors="coerce")
    bad = np.flatnonzero(numeric.isna().to_numpy() & series.notna().to_numpy())
    if bad.size:
        r = int(bad[0])
        where = f"row {r + 1}" if step_values is None else f"step {_fmt_step(step_values[r])}"
        raise ValueError(f"{source}: {what} at {where} is {series.iloc[r]!r}, not a number")
    return numeric.to_numpy(dtype=np.float64, na_value=np.nan)


def _is_numeric(pd: Any, series: Any) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _partly_numeric(pd: Any, series: Any) -> bool:
    """Some cells are numbers (a metric with a bad cell), as opposed to a text column ('loss_fn': 'mse')."""
    return bool(np.isfinite(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)).any())


def _find_step(pd: Any, df: Any, step: str | None, source: str) -> tuple[str, np.ndarray, dict]:
    """(label, values, {"skip": columns that are not data}) of the step; see the module docstring."""
    cols = list(df.columns)
    index = df.index
    multi = isinstance(index, pd.MultiIndex)
    index_name = None if multi or index.name is None else str(index.name)
    n = len(df)
    skip: set[str] = set()
    first_is_index = bool(cols) and cols[0].strip().lower() in INDEX_COLUMNS
    if first_is_index:
        skip.add(cols[0])

    def column(label: str, what: str) -> tuple[str, np.ndarray, dict]:
        skip.add(label)
        return label, _numbers(pd, df[label], what, None, source), {"skip": skip}

    def from_index(label: str) -> tuple[str, np.ndarray, dict]:
        return label, _numbers(pd, index.to_series(), f"step index {label!r}", None, source), {"skip": skip}

    if step is not None:
        label = str(step)
        if label in cols:
            return column(label, f"step column {label!r}")
        if index_name == label:
            return from_index(label)
        raise ValueError(
            f"{source}: no step column {label!r}; columns: {_list(cols)}"
            + (f", index: {index_name!r}" if index_name is not None else "")
        )
    lower = {c.strip().lower(): c for c in reversed(cols)}
    for name in STEP_NAMES:
        if name in lower:
            skip.update(lower[k] for k in STEP_NAMES if k in lower)
            return column(lower[name], f"step column {lower[name]!r}")
    if index_name is not None and index_name.strip().lower() in STEP_NAMES:
        return from_index(index_name)
    hint = f"; the index has levels {list(index.names)}: reset_index() makes them columns" if multi else ""
    if first_is_index and _is_numeric(pd, df[cols[0]]):
        values = _numbers(pd, df[cols[0]], f"column {cols[0]!r}", None, source)
        if not np.array_equal(values, np.arange(n)):
            _warn_unnamed(
                f"the unnamed first column {cols[0]!r} (an index, as to_csv() or reset_index() write it)", source
            )
            return column(cols[0], f"step column {cols[0]!r}")
        hint = f"; column {cols[0]!r} is pandas' row index (0..{n - 1}, as to_csv() writes it), not a step"
    elif not multi and index_name is None and _is_numeric(pd, index.to_series()):
        values = index.to_numpy(dtype=np.float64)
        if not np.array_equal(values, np.arange(n)):
            _warn_unnamed("the DataFrame's unnamed index", source)
            return "(index)", values, {"skip": skip}
    raise ValueError(
        f"{source}: no step column; looked for a column or index named {', '.join(STEP_NAMES)} "
        f"(case-insensitive) or an unnamed index of steps{hint}; columns: {_list(cols)}. "
        "Name the step column with step='...' ('epoch' counts only when named: step='epoch')"
    )


def _warn_unnamed(what: str, source: str) -> None:
    warnings.warn(
        f"{source}: no column is named like a step; taking {what} as the step. Name it (df.index.name = 'step') "
        "or pass step='...' if it only numbers rows",
        UserWarning,
        stacklevel=5,
    )


def _guess_layout(columns: list[str]) -> str:
    lower = {c.strip().lower() for c in columns}
    if lower & set(SKILL_COLUMNS) and lower & set(VALUE_COLUMNS):
        return "long"
    if lower & set(KEY_COLUMNS) and "value" in lower:
        return "long"
    return "wide"


def _band_or_system(name: str) -> bool:
    """W&B's min/max band columns and its system columns (_runtime, _timestamp, ...)."""
    return name.endswith(("__MIN", "__MAX")) or name.startswith("_")


def _choose(
    available: list[str],
    skills: Any,
    pattern: Any,
    default: Callable[[str], bool] | None,
    source: str,
    what: str,
) -> list[tuple[str, str]]:
    """[(raw name, skill name)] chosen from `available` (see the module docstring)."""
    if isinstance(skills, str):
        skills = [skills]
    rename: dict[str, str] | None = None
    if isinstance(skills, Mapping):
        rename = {str(k): str(v) for k, v in skills.items()}
        wanted: list[str] | None = list(rename)
    else:
        wanted = None if skills is None else [str(s) for s in skills]
    if wanted is not None and not wanted:
        raise ValueError(f"{source}: skills must name at least one {what}")
    if pattern is not None:
        try:
            rx = pattern if isinstance(pattern, re.Pattern) else re.compile(str(pattern))
        except re.error as exc:
            raise ValueError(f"{source}: pattern {pattern!r} is not a regular expression ({exc})") from exc
        found: list[tuple[str, str]] = []
        for raw in available:
            m = rx.search(raw)
            if m is None:
                continue
            name = m.group("skill") if "skill" in rx.groupindex else m.group(1) if rx.groups else None
            found.append((raw, name if name else raw))
        if not found:
            raise ValueError(f"{source}: pattern {rx.pattern!r} matches no {what}; {what}s: {_list(available)}")
        by_name: dict[str, str] = {}
        for raw, name in found:
            if name in by_name:
                raise ValueError(
                    f"{source}: pattern {rx.pattern!r} names skill {name!r} twice ({what}s {by_name[name]!r} "
                    f"and {raw!r}); anchor it (e.g. '^loss/(.+)$') or name the skills"
                )
            by_name[name] = raw
        if wanted is None:
            return found
        missing = [s for s in wanted if s not in by_name]
        if missing:
            raise ValueError(
                f"{source}: no skill {missing[0]!r} among those pattern {rx.pattern!r} names: {_list(by_name)}"
            )
        return [(by_name[s], rename[s] if rename else s) for s in wanted]
    if wanted is not None:
        missing = [s for s in wanted if s not in available]
        if missing:
            raise ValueError(f"{source}: no {what} {missing[0]!r}; {what}s: {_list(available)}")
        return [(s, rename[s] if rename else s) for s in wanted]
    chosen = [(raw, raw) for raw in available if default is None or default(raw)]
    if not chosen:
        raise ValueError(
            f"{source}: no {'numeric column' if what == 'column' else what} has 'loss' in its name; "
            f"{what}s: {_list(available)}. "
            f"Name the skills (skills=[...]) or give a pattern (e.g. pattern=r'acc/(.+)')"
        )
    return chosen


def _lossy_name(name: str) -> bool:
    return "loss" in name.lower() and not _band_or_system(name)


def _wide(
    pd: Any,
    df: Any,
    columns: list[str],
    step_label: str,
    steps: np.ndarray,
    skills: Any,
    pattern: Any,
    attrs: dict,
    source: str,
) -> tuple[np.ndarray, np.ndarray, list[str], list[dict]]:
    numeric = [c for c in columns if _is_numeric(pd, df[c])]
    saved = attrs.get("names")
    if skills is None and pattern is None and isinstance(saved, list) and saved and all(s in columns for s in saved):
        skills = list(saved)  # a frame from to_pandas: its own skills, no guessing
    if pattern is not None:  # W&B's band and system columns are never matched, only named
        pool = [c for c in columns if not _band_or_system(c)]
    elif skills is not None:
        pool = columns
    else:  # a "loss" column of numbers with a bad cell is taken, so that the cell is named, not the column skipped
        pool = [c for c in columns if c in numeric or (_lossy_name(c) and _partly_numeric(pd, df[c]))]
    chosen = _choose(pool, skills, pattern, _lossy_name, source, "column")
    if skills is None and pattern is None:
        taken = {raw for raw, _ in chosen}
        left = [c for c in numeric if c not in taken and not _band_or_system(c)]
        if left:
            warnings.warn(
                f"{source}: took the {len(chosen)} column(s) with 'loss' in the name as skills "
                f"({_list(raw for raw, _ in chosen)}) and left out the numeric columns {_list(left)}; "
                "name the skills (skills=[...]) or give a pattern to choose others",
                UserWarning,
                stacklevel=4,
            )
    values = np.column_stack([_numbers(pd, df[raw], f"column {raw!r}", steps, source) for raw, _ in chosen])
    labels = [{"raw": raw, "what": f"column {raw!r}", "lossy": "loss" in raw.lower()} for raw, _ in chosen]
    return steps, values, [name for _, name in chosen], labels


def _long(
    pd: Any,
    df: Any,
    columns: list[str],
    step_label: str,
    steps: np.ndarray,
    skills: Any,
    pattern: Any,
    nan: str,
    source: str,
    info: dict,
) -> tuple[np.ndarray, np.ndarray, list[str], list[dict]]:
    lower = {c.strip().lower(): c for c in reversed(columns)}
    key_col = next((lower[k] for k in SKILL_COLUMNS + KEY_COLUMNS if k in lower), None)
    value_col = next((lower[k] for k in VALUE_COLUMNS if k in lower and lower[k] != key_col), None)
    if key_col is None or value_col is None:
        raise ValueError(
            f"{source}: the long layout needs a step column, a skill column ({', '.join(SKILL_COLUMNS + KEY_COLUMNS)})"
            f" and a value column ({', '.join(VALUE_COLUMNS)}); columns: {_list(columns)}"
        )
    info.update(skill_column=key_col, value_column=value_col)
    keys_series = df[key_col]
    if keys_series.isna().any():
        r = int(np.flatnonzero(keys_series.isna().to_numpy())[0])
        raise ValueError(f"{source}: column {key_col!r} is empty at row {r + 1} (step {_fmt_step(steps[r])})")
    keys = keys_series.astype(str).to_numpy()
    available = list(dict.fromkeys(keys.tolist()))
    is_skill = key_col.strip().lower() in SKILL_COLUMNS
    chosen = _choose(available, skills, pattern, None if is_skill else _lossy_name, source, key_col)
    if skills is None and pattern is None and not is_skill:
        taken = {raw for raw, _ in chosen}
        left = [k for k in available if k not in taken]
        if left:
            warnings.warn(
                f"{source}: took the {len(chosen)} {key_col}(s) with 'loss' in the name as skills "
                f"({_list(raw for raw, _ in chosen)}) and left out {_list(left)}; "
                "name the skills or give a pattern to choose others",
                UserWarning,
                stacklevel=4,
            )
    vals = _numbers(pd, df[value_col], f"column {value_col!r}", steps, source)
    lossy_value = "loss" in value_col.lower()
    chosen_raw = [raw for raw, _ in chosen]
    sel = np.isin(keys, chosen_raw)
    keys, steps, vals = keys[sel], steps[sel], vals[sel]
    no_step = np.isnan(steps)
    if no_step.any():
        if nan == "refuse":
            raise ValueError(
                f"{source}: step column {step_label!r} is empty or NaN in {int(no_step.sum())} record(s) of the "
                f"chosen skills (first: {key_col} {str(keys[no_step][0])!r}); pass nan='drop' to drop them"
            )
        info["dropped_records_without_step"] = int(no_step.sum())
        keys, steps, vals = keys[~no_step], steps[~no_step], vals[~no_step]
    # one row per distinct step, one column per chosen key; two records for one (step, key) are an error
    step_order = np.unique(steps)
    out = np.full((step_order.size, len(chosen)), np.nan)
    unsorted = False
    for k, raw in enumerate(chosen_raw):
        rows = np.flatnonzero(keys == raw)
        s = steps[rows]
        unsorted = unsorted or bool(np.any(np.diff(s) < 0))
        pos = np.searchsorted(step_order, s)
        counts = np.bincount(pos, minlength=step_order.size)
        if np.any(counts > 1):
            dup = step_order[int(np.flatnonzero(counts > 1)[0])]
            raise ValueError(
                f"{source}: step {_fmt_step(dup)} has {int(counts.max())} records for {key_col} {raw!r}; keep one "
                "per step (a resumed run logs some steps twice; a log of several runs needs one read per run)"
            )
        out[pos, k] = vals[rows]
    info["sorted"] = unsorted
    info["records"] = int(keys.size)
    labels = [
        {"raw": raw, "what": f"{key_col} {raw!r}", "lossy": lossy_value or "loss" in raw.lower()} for raw in chosen_raw
    ]
    return step_order, out, [name for _, name in chosen], labels


def _clean_rows(
    steps: np.ndarray, values: np.ndarray, labels: list[dict], step_label: str, nan: str, source: str, info: dict
) -> tuple[np.ndarray, np.ndarray]:
    """NaN steps and values (refuse or drop), rows of one step merged, steps sorted."""
    n_in = steps.size
    bad_step = np.isnan(steps)
    if bad_step.any() and nan == "refuse":
        r = int(np.flatnonzero(bad_step)[0])
        raise ValueError(
            f"{source}: step column {step_label!r} is empty or NaN in {int(bad_step.sum())} row(s) (first: row "
            f"{r + 1}); pass nan='drop' to drop them"
        )
    if bad_step.any():
        info["dropped_rows_without_step"] = int(bad_step.sum())
        steps, values = steps[~bad_step], values[~bad_step]
    if np.isinf(steps).any():
        r = int(np.flatnonzero(np.isinf(steps))[0])
        raise ValueError(f"{source}: step column {step_label!r} is {steps[r]} at row {r + 1}")
    info.setdefault("sorted", bool(steps.size > 1 and np.any(np.diff(steps) < 0)))
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    uniq, start, counts = np.unique(steps, return_index=True, return_counts=True)
    if uniq.size < steps.size:
        merged = np.full((uniq.size, values.shape[1]), np.nan)
        present = ~np.isnan(values)
        for g in np.flatnonzero(counts > 1):
            block = present[start[g] : start[g] + counts[g]]
            per_col = block.sum(axis=0)
            if np.any(per_col > 1):
                k = int(np.flatnonzero(per_col > 1)[0])
                raise ValueError(
                    f"{source}: step {_fmt_step(uniq[g])} appears {int(counts[g])} times with values in "
                    f"{labels[k]['what']}; keep one row per step (a resumed run: "
                    f"df.drop_duplicates({step_label!r}, keep='last'))"
                )
        for k in range(values.shape[1]):
            rows = np.flatnonzero(present[:, k])
            merged[np.searchsorted(uniq, steps[rows]), k] = values[rows, k]
        info["merged_rows"] = int(steps.size - uniq.size)
        steps, values = uniq, merged
    bad = ~np.isfinite(values)
    bad_rows = bad.any(axis=1)
    if bad_rows.any():
        r = int(np.flatnonzero(bad_rows)[0])
        k = int(np.flatnonzero(bad[r])[0])
        kind = "NaN or missing" if np.isnan(values[r, k]) else f"{values[r, k]}"
        count = int(bad_rows.sum())
        if nan == "refuse":
            raise ValueError(
                f"{source}: {labels[k]['what']} is {kind} at step {_fmt_step(steps[r])} ({count} of {steps.size} "
                f"rows have a NaN, missing or infinite value in the chosen skills); pass nan='drop' to drop those "
                "rows, or fill them first"
            )
        if count == steps.size:
            raise ValueError(f"{source}: every row has a NaN, missing or infinite value in the chosen skills")
        warnings.warn(
            f"{source}: dropped {count} of {steps.size} rows with a NaN, missing or infinite value "
            f"(first: {labels[k]['what']} at step {_fmt_step(steps[r])})",
            UserWarning,
            stacklevel=4,
        )
        info["dropped_rows"] = count
        steps, values = steps[~bad_rows], values[~bad_rows]
    info["rows_read"] = int(n_in)
    info["nan"] = nan
    return steps, values


def _warn_if_rising(
    v: np.ndarray, what: str, source: str, hint: str = "fit accuracies with quantity='accuracy'"
) -> None:
    if v.size < 2:
        return
    m = max(1, v.size // 10)
    first, last = float(v[:m].mean()), float(v[-m:].mean())
    if last - first > 0.1 * max(abs(first), abs(last)):
        warnings.warn(
            f"{source}: {what} rises overall ({first:.4g} at the start, {last:.4g} at the end): it may be an "
            f"accuracy, not a loss ({hint})",
            UserWarning,
            stacklevel=4,
        )


def _attrs_frequencies(attrs: dict, names: list[str]) -> np.ndarray | None:
    saved, freqs = attrs.get("names"), attrs.get("frequencies")
    if not isinstance(saved, list) or not isinstance(freqs, list) or len(saved) != len(freqs):
        return None
    by_name = dict(zip(saved, freqs))
    if not all(n in by_name for n in names):
        return None
    return np.array([by_name[n] for n in names], dtype=np.float64)
