"""Short printed forms of result objects: scalars shown, arrays and long containers elided.

`print(result)` of a fit, a comparison or a simulation should read like a summary, not dump
hundreds of bootstrap samples; the full data stay on the attributes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

_MAX_ITEMS = 6
_MAX_TEXT = 60


def short_value(value: Any) -> str:
    """One field as a short string: arrays as their shape and dtype, long containers by length."""
    if isinstance(value, np.ndarray):
        if value.size <= _MAX_ITEMS and value.ndim <= 1:
            return np.array2string(value, precision=4, separator=", ")
        return f"<array {'x'.join(map(str, value.shape))} {value.dtype}>"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "...")
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS or any(isinstance(v, (np.ndarray, dict, list, tuple)) for v in value):
            return f"<{type(value).__name__} of {len(value)}>"
        return repr(tuple(value) if isinstance(value, tuple) else list(value))
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS or not all(isinstance(v, (int, float, str, bool, type(None))) for v in value.values()):
            return f"<dict of {len(value)}>"
        return "{" + ", ".join(f"{k!r}: {short_value(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    if "\n" in text or len(text) > _MAX_TEXT:
        return f"<{type(value).__name__}>"
    return text


def short_repr(obj: Any, fields: tuple[str, ...] | None = None) -> str:
    """ClassName(field=value, ...) over the dataclass fields (or `fields`), each shortened."""
    names = fields if fields is not None else tuple(
        f.name for f in dataclasses.fields(obj) if f.repr and not f.name.startswith("_")
    )
    body = ", ".join(f"{name}={short_value(getattr(obj, name))}" for name in names)
    return f"{type(obj).__name__}({body})"
