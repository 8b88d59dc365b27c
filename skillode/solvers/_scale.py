"""The Resource model in units where the largest frequency is of order one.

The dynamics are unchanged by p -> c p, N0 -> c N0 (the field is a ratio of pulls), and time
enters only as s = eta t. Solvers therefore work on p' = p 2^-e, N0' = N0 2^-e with e the binary
exponent of max p (an exact rescaling: no rounding), so that frequencies of 1e-310 or 1e250
solve like frequencies of order one.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..models import ResourceModel


def unit_scaled(model: ResourceModel, *, eta: float | None = None) -> tuple[ResourceModel, int]:
    """(the model with max p in [0.5, 1) and N0 scaled alike, e); eta replaced when given."""
    _, exponent = math.frexp(float(model.p.max()))
    p = np.ldexp(model.p, -exponent)
    with np.errstate(over="ignore"):
        N0 = float(np.ldexp(model.N0, -exponent))
    if not math.isfinite(N0):
        raise ValueError(
            f"N0 = {model.N0:g} is beyond float64 relative to the frequencies (max p = {model.p.max():g}): "
            "nothing is learned at any representable time; use a ParallelModel or smaller N0"
        )
    scaled = dataclasses.replace(model, p=p, N0=N0, eta=model.eta if eta is None else eta)
    return scaled, exponent


def intrinsic_times(model: ResourceModel, t: np.ndarray) -> np.ndarray:
    """s = eta t, refusing times whose product with eta overflows float64."""
    with np.errstate(over="ignore"):
        s = model.eta * t
    if not np.all(np.isfinite(s)):
        raise ValueError(
            f"times: eta * t overflows float64 (eta = {model.eta:g}, t up to {t[-1]:g}); use smaller times or eta"
        )
    return s
