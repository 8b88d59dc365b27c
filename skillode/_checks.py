"""Argument checks that raise ValueError naming the offending argument.

Every public entry point converts user input through these, so a bad value is reported in the
caller's words ("p[3] must be positive") instead of surfacing later from inside numpy or scipy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _as_float_array(value: Any, name: str) -> np.ndarray:
    """value as a new float64 array (never a view of the caller's), a scalar as one element."""
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError as exc:  # a Python int beyond float64, e.g. 10**400
        raise ValueError(f"{name} holds a number beyond float64's range") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of numbers, got {_short(value)}") from exc
    return arr.reshape(1) if arr.ndim == 0 else arr


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_frequencies(value: Any, name: str = "p") -> np.ndarray:
    """A 1-D float64 array of finite, strictly positive frequencies."""
    arr = _as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must name at least one skill, got an empty sequence")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] is {arr[bad[0]]}; frequencies must be finite")
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] = {arr[bad[0]]}; frequencies must be positive")
    return arr


def as_scalar(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """A finite float, optionally required positive or non-negative."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError as exc:
        raise ValueError(f"{name} = {_short(value)} is beyond float64's range") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {_short(value)}") from exc
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be positive, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name} must be non-negative, got {x}")
    return x


def as_times(value: Any, name: str = "times") -> np.ndarray:
    """A 1-D float64 array of finite, non-negative, strictly increasing times."""
    arr = _as_float_array(value, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; entry {int(np.flatnonzero(~np.isfinite(arr))[0])} is not")
    if arr[0] < 0:
        raise ValueError(f"{name} must be non-negative, got {arr[0]}")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        i = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise ValueError(f"{name} must be strictly increasing; {name}[{i + 1}] = {arr[i + 1]} follows {arr[i]}")
    return arr


def as_matrix(value: Any, n: int, name: str = "C", *, symmetric_psd: bool = True) -> np.ndarray:
    """A new (n, n) finite float64 matrix, optionally checked symmetric positive semi-definite."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric matrix, got {type(value).__name__}") from exc
    if arr.shape != (n, n):
        raise ValueError(f"{name} must have shape ({n}, {n}) for {n} skills, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if symmetric_psd:
        scale = max(float(np.max(np.abs(arr))), 1.0)
        if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-12 * scale):
            raise ValueError(f"{name} must be symmetric (an overlap matrix such as T @ T.T)")
        lowest = float(np.linalg.eigvalsh(arr)[0])
        if lowest < -1e-10 * scale:
            raise ValueError(f"{name} must be positive semi-definite; its lowest eigenvalue is {lowest:.3g}")
    return arr


def as_names(value: Any, n: int, name: str = "names") -> tuple[str, ...]:
    """n distinct skill names; None gives 'skill1'..'skilln'."""
    if value is None:
        return tuple(f"skill{k + 1}" for k in range(n))
    if isinstance(value, str):
        raise ValueError(f"{name} must be a sequence of {n} names, got the single string {value!r}")
    try:
        names = tuple(str(v) for v in value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of {n} names, got {_short(value)}") from None
    if len(names) != n:
        raise ValueError(f"{name} must have {n} entries (one per skill), got {len(names)}")
    if len(set(names)) != n:
        raise ValueError(f"{name} must be distinct, got {names}")
    bad = [s for s in names if "\x00" in s]
    if bad:
        raise ValueError(f"{name} must not contain NUL characters, got {bad[0]!r}")
    return names


def choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """A string from a fixed set, matched case-insensitively."""
    key = str(value).lower()
    if key not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return key


def as_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """An integer >= minimum (a float with an integer value is accepted; bool is not)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        and not (isinstance(value, float) and value.is_integer())
    ):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    k = int(value)
    if k < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {k}")
    return k


def as_seed(value: Any, name: str) -> int:
    """A seed for numpy and torch generators: an integer in [0, 2**63)."""
    k = as_count(value, name, minimum=0)
    if k >= 2**63:
        raise ValueError(f"{name} must be below 2**63, got {k}")
    return k
