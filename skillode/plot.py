"""Plots of SkillCurves. Every function takes ax=None (a new figure) and returns the axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import choice
from .curves import SkillCurves


def _axes(ax: Any):
    if ax is not None:
        return ax
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps") and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def plot_curves(
    curves: SkillCurves,
    ax: Any = None,
    *,
    kind: str = "level",
    logx: bool = False,
    logy: bool = False,
    style: str = "-",
    label_prefix: str = "",
    max_legend: int = 12,
    colors: Any = None,
    **line_kwargs: Any,
):
    """One line per skill: skill level 1 - l/l(0) (kind="level") or loss (kind="loss") vs step.

    Overlay a model on data by calling twice on the same ax (e.g. style="--" for the model);
    colors default to one per skill, so the same skill gets the same colour in both calls.
    """
    kind = choice(kind, "kind", ("level", "loss"))
    ax = _axes(ax)
    y = curves.skill_level() if kind == "level" else curves.loss
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis")
    n = curves.n_skills
    for k in range(n):
        color = colors[k] if colors is not None else cmap(k / max(n - 1, 1))
        label = f"{label_prefix}{curves.names[k]}" if n <= max_legend else None
        ax.plot(curves.times, y[:, k], style, color=color, label=label, **line_kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel("skill level 1 - l/l(0)" if kind == "level" else "loss")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if n <= max_legend:
        ax.legend(fontsize="small", ncol=2 if n > 6 else 1)
    return ax


def plot_total_loss(curves: SkillCurves, ax: Any = None, *, loglog: bool = True, label: str | None = None, **kw: Any):
    """The frequency-weighted total loss L(t) = sum p_k l_k / sum p_k vs step."""
    ax = _axes(ax)
    t, L = curves.times, curves.total_loss()
    keep = (t > 0) & (L > 0) if loglog else np.ones_like(t, dtype=bool)
    ax.plot(t[keep], L[keep], label=label, **kw)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("total loss")
    if label:
        ax.legend(fontsize="small")
    return ax
