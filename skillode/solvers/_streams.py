"""Per-run random streams and task matrices of the Geometry simulation, shared by both backends."""

from __future__ import annotations

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a declared optional dependency
        raise ImportError("the Geometry model needs torch (pip install 'skillode[validation]')") from exc
    return torch


def _task_matrices(runs) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct task matrices of a group's runs and, per run, the index of its matrix."""
    keys: dict[tuple, int] = {}
    mats: list[np.ndarray] = []
    t_index = np.empty(len(runs), dtype=np.int64)
    for r, (m, s) in enumerate(runs):
        key = ("given", id(m._given_tasks)) if m.tasks == "given" else (m.tasks, m._task_seed_for(s))
        if key not in keys:
            keys[key] = len(mats)
            mats.append(m.task_vectors(s))
        t_index[r] = keys[key]
    return mats, t_index


def _count_streams(runs) -> list[np.random.Generator]:
    return [np.random.default_rng(_spawn_seed(s, 1)) for _, s in runs]


def _noise_streams(runs, torch, device):
    return [torch.Generator(device=device).manual_seed(_spawn_seed(s, 2)) for _, s in runs]


def _count_fractions(count_rngs, probs, batch: int, this: int) -> np.ndarray:
    """Per-step sample fractions counts / B, shape (this, R, n), from each run's own stream."""
    counts = np.stack([rng.multinomial(batch, pr, size=this) for rng, pr in zip(count_rngs, probs)], axis=1)
    return counts / float(batch)


def _spawn_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)
