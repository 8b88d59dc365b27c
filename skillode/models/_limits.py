"""The Domino and Parallel limits of the Resource model, as closed-form curve producers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from .._checks import as_frequencies, as_names, as_scalar
from .._repr import model_repr


@dataclass(frozen=True, eq=False)
class DominoModel:
    """Skills learned strictly one after another, each in t0 = 1/eta steps.

    The limit of the Resource model (MSE, N0 = 0) for well-separated frequencies: the skill
    being learned takes the whole resource, so dl/dt = -eta while it is active:

        l_k(t) = clip(1 - eta * (t - s_k), 0, 1),   s_k = (position of k in the order) / eta

    Args:
        p: shape (n,), skill frequencies (positive); the default order is by decreasing p.
        eta: learning resource per step (> 0).
        order: skills (indices or names) from first to last learned; default by decreasing p
            (ties keep their input order).
        names: n skill names.
    """

    p: np.ndarray
    eta: float
    order: Sequence[int | str] | None = None
    names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return model_repr(self)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        names = as_names(self.names, p.size)
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "eta", as_scalar(self.eta, "eta", positive=True))
        object.__setattr__(self, "names", names)
        if self.order is None:
            order = np.argsort(-p, kind="stable")
        else:
            picked: list[int] = []
            for ref in self.order:
                if isinstance(ref, str):
                    if ref not in names:
                        raise ValueError(f"order: unknown skill {ref!r}; known: {', '.join(names)}")
                    picked.append(names.index(ref))
                else:
                    k = int(ref)
                    if not 0 <= k < p.size:
                        raise ValueError(f"order: {ref} is not a skill index (0..{p.size - 1})")
                    picked.append(k)
            order = np.array(picked, dtype=int)
            if sorted(order.tolist()) != list(range(p.size)):
                raise ValueError(f"order must list every one of the {p.size} skills exactly once")
        object.__setattr__(self, "order", tuple(int(k) for k in order))

    @property
    def n_skills(self) -> int:
        return self.p.size

    @property
    def _order(self) -> tuple[int, ...]:
        # __post_init__ resolves order (names or indices, or None) to a tuple of skill indices.
        return cast("tuple[int, ...]", self.order)

    @property
    def t0(self) -> float:
        """Steps to learn one skill, 1/eta."""
        return 1.0 / self.eta

    def start_times(self) -> np.ndarray:
        """s_k, the step at which skill k starts learning, shape (n,)."""
        starts = np.empty(self.n_skills)
        starts[list(self._order)] = np.arange(self.n_skills) * self.t0
        return starts

    def loss(self, times: np.ndarray) -> np.ndarray:
        """l_k(t), shape (n_t, n)."""
        t = np.asarray(times, dtype=np.float64)[:, None]
        return np.clip(1.0 - self.eta * (t - self.start_times()[None, :]), 0.0, 1.0)

    def learning_times(self, threshold: float) -> np.ndarray:
        """Step at which each skill's loss reaches threshold (in [0, 1)), shape (n,)."""
        thr = as_scalar(threshold, "threshold")
        if thr >= 1.0:
            return np.zeros(self.n_skills)
        return self.start_times() + (1.0 - max(thr, 0.0)) * self.t0

    def config(self) -> dict:
        names = self.names
        assert names is not None  # set by __post_init__
        return {
            "model": "domino",
            "p": self.p.tolist(),
            "eta": self.eta,
            "order": [names[k] for k in self._order],
            "names": list(names),
        }


@dataclass(frozen=True, eq=False)
class ParallelModel:
    """Independent exponential learning, the N0 -> infinity limit of the Resource model (MSE):

        l_k(t) = exp(-eta * p_k * t / N0)

    Args:
        p: shape (n,), skill frequencies (positive).
        eta: learning resource per step (> 0).
        N0: wasted resource (> 0); only eta / N0 matters.
        names: n skill names.
    """

    p: np.ndarray
    eta: float
    N0: float
    names: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return model_repr(self)

    def __post_init__(self) -> None:
        p = as_frequencies(self.p, "p")
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "eta", as_scalar(self.eta, "eta", positive=True))
        object.__setattr__(self, "N0", as_scalar(self.N0, "N0", positive=True))
        object.__setattr__(self, "names", as_names(self.names, p.size))

    @property
    def n_skills(self) -> int:
        return self.p.size

    @property
    def rates(self) -> np.ndarray:
        """Per-skill decay rates eta p_k / N0, shape (n,)."""
        return self.eta * self.p / self.N0

    def loss(self, times: np.ndarray) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64)[:, None]
        return np.exp(-t * self.rates[None, :])

    def learning_times(self, threshold: float) -> np.ndarray:
        thr = as_scalar(threshold, "threshold")
        if thr >= 1.0:
            return np.zeros(self.n_skills)
        if thr <= 0.0:
            return np.full(self.n_skills, np.inf)
        return np.log(1.0 / thr) / self.rates

    def config(self) -> dict:
        names = self.names
        assert names is not None  # set by __post_init__
        return {"model": "parallel", "p": self.p.tolist(), "eta": self.eta, "N0": self.N0, "names": list(names)}
