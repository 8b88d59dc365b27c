"""Short printed forms of result objects: scalars shown, arrays and long containers elided.

`print(result)` of a fit, a comparison or a simulation should read like a summary, not dump
hundreds of bootstrap samples; the full data stay on the attributes.

    short_value(x)                   one value as a short string
    short_repr(obj)                  ClassName(field=value, ...) over the dataclass fields
    short_repr(obj, values={...})    the same over computed values (e.g. config fields, exponents)
    verbatim(text)                   a value that short_value shows as is (pre-formatted text)

array_items: arrays of at most this many entries (1-d) are printed; 0 shows every array as
its shape and dtype only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

_MAX_ITEMS = 6
_MAX_TEXT = 60


class Verbatim(str):
    """Text that short_value returns unchanged (no quotes, no truncation)."""

    __slots__ = ()


def verbatim(text: str) -> Verbatim:
    """Mark pre-formatted text (e.g. "0.01 +- 0.002") to be shown as is by short_value / short_repr."""
    return Verbatim(text)


def _scalar(value: Any) -> str | None:
    """Short text of a Python or NumPy scalar, None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return None


def short_value(value: Any, *, array_items: int = _MAX_ITEMS) -> str:
    """One field as a short string: arrays as their shape and dtype, long containers by length."""
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return short_value(value.item(), array_items=array_items)
        if value.size <= array_items and value.ndim <= 1:
            return np.array2string(value, precision=4, separator=", ")
        return f"<array {'x'.join(map(str, value.shape))} {value.dtype}>"
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "...")
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS or any(isinstance(v, (np.ndarray, dict, list, tuple)) for v in value):
            return f"<{type(value).__name__} of {len(value)}>"
        items = [short_value(v, array_items=array_items) for v in value]
        if isinstance(value, list):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + (",)" if len(items) == 1 else ")")
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS or not all(
            isinstance(v, (int, float, str, bool, type(None), np.generic)) for v in value.values()
        ):
            return f"<dict of {len(value)}>"
        return "{" + ", ".join(f"{k!r}: {short_value(v, array_items=array_items)}" for k, v in value.items()) + "}"
    text = repr(value)
    if "\n" in text or len(text) > _MAX_TEXT:
        return f"<{type(value).__name__}>"
    return text


def short_repr(
    obj: Any,
    fields: tuple[str, ...] | None = None,
    *,
    values: Mapping[str, Any] | None = None,
    array_items: int = _MAX_ITEMS,
) -> str:
    """ClassName(field=value, ...) over the dataclass fields (or `fields`), each shortened.

    values: {name: value} shown after the fields (with fields=() only these); use it for
    derived quantities, and verbatim(...) for pre-formatted text.
    """
    names = (
        fields
        if fields is not None
        else tuple(f.name for f in dataclasses.fields(obj) if f.repr and not f.name.startswith("_"))
    )
    items = [(name, getattr(obj, name)) for name in names] + list(dict(values or {}).items())
    body = ", ".join(f"{name}={short_value(value, array_items=array_items)}" for name, value in items)
    return f"{type(obj).__name__}({body})"


def model_repr(obj: Any) -> str:
    """A model's printed form: its fields that differ from their defaults, arrays of more than a few
    entries as their size and range (a model of 1000 skills prints one line, not its frequencies)."""
    items = []
    for f in dataclasses.fields(obj):
        if not f.repr or f.name.startswith("_"):
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and _same(value, f.default):
            continue
        items.append(f"{f.name}={_model_value(value)}")
    return f"{type(obj).__name__}({', '.join(items)})"


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _model_value(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.size > _MAX_ITEMS:
        finite = value[np.isfinite(value)] if np.issubdtype(value.dtype, np.number) else value
        if finite.size and np.issubdtype(value.dtype, np.number):
            shape = "x".join(map(str, value.shape))
            return f"<{shape} values in [{float(finite.min()):.4g}, {float(finite.max()):.4g}]>"
    if isinstance(value, (list, tuple)) and len(value) > _MAX_ITEMS and all(isinstance(v, str) for v in value):
        return f"<{len(value)} names: {value[0]!r} .. {value[-1]!r}>"
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return np.array2string(value, precision=4, separator=", ")
    return short_value(value)
