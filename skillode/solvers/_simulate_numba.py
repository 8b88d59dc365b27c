"""The compiled-loop backend of simulate: arrays prepared here, the loop in _simulate_kernel."""

from __future__ import annotations

import numpy as np

from . import _simulate_kernel
from ._streams import (
    _count_drawer,
    _noise_streams,
    _task_matrices,
    _torch,
)


def _run_group_numba(runs, steps, rec, dtype_name, chunk, bar, counts="multinomial"):
    """The compiled-loop twin of _run_group (same streams, same update order); loss (n_rec, n) per run."""
    R = len(runs)
    m0 = runs[0][0]
    n, basis = m0.n_skills, m0.tasks == "basis"
    D = min(n, m0.N) if basis else m0.N  # basis with N < n: the tasks beyond N have zero vectors
    dt = np.float64 if dtype_name == "float64" else np.float32
    T, t_index, transposed = _kernel_tasks(runs, dt)
    settings = _kernel_settings(runs, dt)
    opt = _simulate_kernel.OPTIMIZER_CODES[m0.optimizer]
    W = np.ascontiguousarray(np.stack([m.weights for m, _ in runs]), dtype=dt)
    X = np.zeros((R, D), dtype=dt)
    moments = [np.zeros((R, D) if used else (R, 0), dtype=dt) for used in (opt >= 2, opt >= 3, opt == 4)]
    S, G = np.empty(n, dtype=dt), np.empty(D, dtype=dt)
    batch = m0.batch
    draw = _count_drawer(runs, batch, counts) if batch is not None else None
    noise = np.array([m.noise for m, _ in runs], dtype=dt).reshape(1, R, 1)
    noise_gens = None
    if np.any(noise > 0):  # drawn with torch, so that both backends share the noise streams
        noise_gens = _noise_streams(runs, _torch(), _torch().device("cpu"))
    no_counts = np.empty((0, R, n), dtype=dt)
    no_noise = np.empty((0, R, D), dtype=dt)
    advance, skills = _simulate_kernel.kernels()
    rec_row = np.full(steps + 1, -1, dtype=np.int64)
    rec_row[rec] = np.arange(len(rec))
    out = np.empty((len(rec), R, n), dtype=dt)
    k = 0
    while k < steps:
        this = min(chunk, steps - k)
        Wc = no_counts if batch is None else draw(this).astype(dt)
        Zc = no_noise if noise_gens is None else _noise_chunk(noise_gens, noise, this, D, dt)
        advance(
            X,
            *moments,
            S,
            G,
            T,
            t_index,
            basis,
            transposed,
            Wc,
            W,
            Zc,
            *settings,
            opt,
            m0.loss == "mse",
            k,
            this,
            rec_row[k : k + this],
            out,
        )
        k += this
        if bar is not None:
            bar.update(this)
    if rec_row[steps] >= 0:
        out[rec_row[steps]] = skills(X, T, t_index, basis, transposed, n)
    S_rec = out.astype(np.float64)
    loss = (1.0 - S_rec) ** 2 if m0.loss == "mse" else np.logaddexp(0.0, -S_rec)
    return [loss[:, r] for r in range(R)]


def _kernel_tasks(runs, dt):
    """(T, t_index, transposed): the distinct task matrices in the kernel's layout and each run's index.

    T is (U, n, D), or (U, D, n) when transposed (D < n, which keeps the kernel's inner loops
    long); a (1, 1, 1) placeholder for basis tasks, which the kernel does not read.
    """
    basis = runs[0][0].tasks == "basis"
    if basis:
        T, t_index = np.zeros((1, 1, 1), dtype=dt), np.zeros(len(runs), dtype=np.int64)
    else:
        mats, t_index = _task_matrices(runs)
        T = np.stack(mats)
    transposed = not basis and runs[0][0].N < runs[0][0].n_skills
    T = np.ascontiguousarray(T.transpose(0, 2, 1) if transposed else T, dtype=dt)
    return T, t_index, transposed


def _kernel_settings(runs, dt):
    """(lr, b1, b2, b3, eps, amix): per-run settings, each shape (R,); unused betas are 0."""

    def per_run(values):
        return np.ascontiguousarray(values, dtype=dt)

    lr = per_run([m.lr for m, _ in runs])
    betas = [per_run([(m.betas + (0.0, 0.0, 0.0))[i] for m, _ in runs]) for i in range(3)]
    eps = per_run([m.eps for m, _ in runs])
    amix = per_run([m.ademamix_alpha for m, _ in runs])
    return (lr, *betas, eps, amix)


def _noise_chunk(noise_gens, noise, this, D, dt):
    """Gradient noise of the next `this` steps, shape (this, R, D), from each run's torch noise stream, scaled."""
    torch = _torch()
    R = len(noise_gens)
    Zc = np.empty((this, R, D), dtype=dt)
    tdt = torch.float64 if dt is np.float64 else torch.float32
    for r in range(R):
        Zc[:, r] = torch.randn(this, D, dtype=tdt, generator=noise_gens[r]).numpy()
    Zc *= noise
    return Zc
