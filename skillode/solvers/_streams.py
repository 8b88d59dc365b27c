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


COUNT_METHODS = ("multinomial", "alias")


def _count_drawer(runs, batch: int, method: str = "multinomial"):
    """draw(this) -> the sample fractions of the next `this` steps of every run, shape (this, R, n).

    "multinomial": np.random.multinomial from each run's count stream (simulate's default).
    "alias": `batch` samples per step by the alias method, from one uniform each; runs with the
    same seed have identical count streams, so their uniforms are drawn once and shared (a run
    gives the same counts alone as in any batch). Same distribution as "multinomial", different
    draws, and about 7x cheaper per run at n = 1000, batch 1024 (benchmarks/bench_fig10.py).
    """
    from . import _simulate_kernel

    probs = [m.weights for m, _ in runs]
    if method == "multinomial":
        rngs = _count_streams(runs)
        return lambda this: _count_fractions(rngs, probs, batch, this)
    seeds = list(dict.fromkeys(s for _, s in runs))
    rngs = [np.random.default_rng(_spawn_seed(s, 1)) for s in seeds]
    tables = [_simulate_kernel.alias_tables(pr) for pr in probs]
    groups = []
    for s in seeds:
        rows = np.array([r for r, (_, s_r) in enumerate(runs) if s_r == s], dtype=np.int64)
        prob = np.stack([tables[r][0] for r in rows])
        alias = np.stack([tables[r][1] for r in rows])
        groups.append((rows, prob, alias))

    def draw(this: int) -> np.ndarray:
        out = np.empty((this, len(runs), probs[0].size))
        for rng, (rows, prob, alias) in zip(rngs, groups):
            _simulate_kernel.alias_fractions(rng.random((this, batch)), prob, alias, rows, 1.0 / batch, out)
        return out

    return draw


def _spawn_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)
