"""Metadata to plain JSON types, for every file skillode writes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _jsonable(obj: Any) -> Any:
    """Metadata to plain JSON types (numpy scalars and arrays become numbers and lists)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)
