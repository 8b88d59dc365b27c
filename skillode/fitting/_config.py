"""What defines a fit besides the data: the model, free and fixed parameters and their transforms."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._checks import as_scalar

MODELS = ("resource", "domino", "parallel")
QUANTITIES = ("loss", "accuracy")
CRITERIA = ("aic", "bic")
SCALAR_PARAMETERS = {
    "resource": ("eta", "N0", "offset", "gate_exponent"),
    "domino": ("eta", "offset"),
    "parallel": ("eta", "N0", "offset"),
}
DEFAULT_FREE = {"resource": ("eta", "N0"), "domino": ("eta",), "parallel": ("eta",)}
_LOG_BOUND = 60.0  # |log eta|, |log N0| beyond this is numerically meaningless


@dataclass(frozen=True)
class FitConfig:
    """Everything that defines a fit besides the data (stored in the result).

    Attributes:
        model: "resource", "domino" or "parallel".
        free: free parameter names as requested ("eta", "N0", "offset", "gate_exponent", "p").
        fixed: values of the parameters that are not free (eta, N0, offset, gate_exponent).
        loss: "mse" or "ce" (Resource model only).
        quantity: "loss" or "accuracy"; chance: accuracy of guessing; normalize: divide every
            curve by its first value, for either quantity (see to_loss).
        skills: names of the skills whose curves enter the residual (None: all).
        C: overlap matrix (n, n) as nested lists, or None; gates: the model's gates.
        n_bootstrap, seed, level: bootstrap size, its seed, interval level.
    """

    model: str
    free: tuple[str, ...]
    fixed: dict
    loss: str = "mse"
    quantity: str = "loss"
    chance: float = 0.0
    normalize: bool = False
    skills: tuple[str, ...] | None = None
    C: Any = None
    gates: Any = None
    n_bootstrap: int = 0
    seed: int = 0
    level: float = 0.95


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "log", "linear", "exponent", "logp"
    setting: int | None = None
    skill: int | None = None
    scale: float = 1.0  # a free frequency is p_k = scale * exp(u), scale = the reference skill's p

    def to_natural(self, u: float) -> float:
        if self.kind in ("log", "logp"):
            return self.scale * _exp(u)
        if self.kind == "exponent":  # log a: any a > 0 (the gates are stable down to the paper's 1e-4)
            return _exp(u)
        return u

    def to_internal(self, x: float, name: str) -> float:
        if self.kind in ("log", "logp"):
            x = x / self.scale
            if x <= 0:
                raise ValueError(f"initial {name} must be positive, got {x}")
            return math.log(x)
        if self.kind == "exponent":
            if not x > 0.0:
                raise ValueError(f"initial gate_exponent must be positive, got {x}")
            return math.log(x)
        return x

    def dnatural(self, u: float) -> float:
        """d natural / d internal, for the delta method."""
        if self.kind == "linear":
            return 1.0
        return self.scale * _exp(u)


def _exp(u: float) -> float:
    """exp that saturates at the float range (Wald bounds of unidentified log-parameters)."""
    return math.exp(min(u, 709.0))


def _free_parameters(model: str, free: Sequence[str] | None, given: list, gates: Any) -> list[str]:
    allowed = SCALAR_PARAMETERS[model] + (("p",) if model != "domino" else ())
    if free is None:
        names = list(DEFAULT_FREE[model])
        if model != "domino" and any(g is None for g in given):
            names.append("p")
    else:
        if isinstance(free, str):
            free = [f.strip() for f in free.split(",") if f.strip()]
        names = []
        for f in free:
            f = str(f)
            if f not in allowed:
                hint = " (the Domino model depends on p only through the order)" if f == "p" else ""
                raise ValueError(
                    f"free: {f!r} is not a parameter of the {model} model; choose from {', '.join(allowed)}{hint}"
                )
            if f not in names:
                names.append(f)
    if model == "parallel" and "eta" in names and "N0" in names:
        raise ValueError("free: the parallel model depends on eta / N0 only; free one of them")
    if "gate_exponent" in names and gates is None:
        raise ValueError("free: 'gate_exponent' needs gates")
    order = list(SCALAR_PARAMETERS[model]) + ["p"]
    return sorted(names, key=order.index)


def _fixed_values(model: str, fixed: Mapping[str, float] | None, free: list[str], gates: Any) -> dict:
    defaults: dict[str, Any] = {"eta": None, "offset": 0.0}
    if model == "resource":
        defaults["N0"] = 0.0
        defaults["gate_exponent"] = None
    elif model == "parallel":
        defaults["N0"] = 1.0
    values = dict(defaults)
    for key, v in dict(fixed or {}).items():
        if key not in defaults:
            raise ValueError(
                f"fixed: {key!r} is not a parameter of the {model} model; choose from {', '.join(defaults)}"
            )
        if key in free:
            raise ValueError(f"fixed: {key!r} is also listed as free")
        if key == "offset":
            values[key] = as_scalar(v, "fixed offset")
        elif key == "gate_exponent":
            a = as_scalar(v, "fixed gate_exponent")
            if not a > 0.0:
                raise ValueError(f"fixed gate_exponent must be positive, got {a}")
            values[key] = a
        elif key == "N0" and model == "resource":
            values[key] = as_scalar(v, "fixed N0", nonnegative=True)
        else:
            values[key] = as_scalar(v, f"fixed {key}", positive=True)
    if "eta" not in free and values["eta"] is None:
        raise ValueError("eta is not free: give its value in fixed={'eta': ...}")
    if model == "resource" and "gate_exponent" not in free and values["gate_exponent"] is None:
        values.pop("gate_exponent")
    return values
