"""The torch backend of simulate: runs as a batch dimension, CPU or GPU."""

from __future__ import annotations

import numpy as np

from ._streams import (
    _count_drawer,
    _noise_streams,
    _task_matrices,
    _torch,
)


def _run_group(runs, steps, rec, dev, tdtype, chunk, bar, counts="multinomial"):
    """Advance runs that share n, N, loss, optimizer, batch size and task kind; loss (R, n_rec, n) per run."""
    torch = _torch()
    R = len(runs)
    m0 = runs[0][0]
    n, opt, batch, mse = m0.n_skills, m0.optimizer, m0.batch, m0.loss == "mse"
    order, skills, grad = _skill_products(runs, torch, dev, tdtype)
    runs = [runs[i] for i in order]
    W, lr, noise, hyper = _run_settings(runs, torch, dev, tdtype)
    use_noise = bool((noise > 0).any())

    X = torch.zeros(R, n if m0.tasks == "basis" else m0.N, dtype=tdtype, device=dev)
    moments = (
        torch.zeros_like(X) if opt in ("adam", "lion", "ademamix") else None,
        torch.zeros_like(X) if opt in ("adam", "ademamix") else None,
        torch.zeros_like(X) if opt == "ademamix" else None,
    )

    gen_dev = dev if dev.type == "cuda" else torch.device("cpu")
    draw = _count_drawer(runs, batch, counts) if batch is not None else None
    noise_gens = _noise_streams(runs, torch, gen_dev) if use_noise else []
    # A uniform learning rate is applied as a Python float: one fused op per step instead of two.
    lr_scalar = float(lr[0, 0]) if bool((lr == lr[0, 0]).all()) else None

    # Skills (not losses) are stored at recorded steps; losses are computed once at the end.
    out = torch.empty(len(rec), R, n, dtype=tdtype, device=dev)
    is_rec = np.zeros(steps + 1, dtype=bool)
    is_rec[rec] = True
    is_rec = is_rec.tolist()
    rec_ptr = 0
    k = 0
    while True:
        this = min(chunk, steps - k)  # updates in this chunk
        if this == 0:  # every update done: record the final state and stop
            if is_rec[k]:
                out[rec_ptr] = skills(X)
            break
        Wc = None if batch is None else _count_chunk(draw, this, torch, dev, tdtype)
        Zc = _noise_chunk(noise_gens, noise, this, X.shape, torch, dev, tdtype) if use_noise else None
        for j in range(this):
            S = skills(X)
            if is_rec[k]:
                out[rec_ptr] = S
                rec_ptr += 1
            w = W if Wc is None else Wc[j]
            dl = (S - 1.0).mul_(2.0) if mse else torch.sigmoid(-S).neg_()
            G = grad(dl.mul_(w))
            if Zc is not None:
                G.add_(Zc[j])
            k += 1
            step_dir = _optimizer_step(opt, G, moments, hyper, k, torch)
            if lr_scalar is not None:
                X.add_(step_dir, alpha=-lr_scalar)
            else:
                X.addcmul_(step_dir, lr, value=-1.0)
        if bar is not None:
            bar.update(this)
    return _losses(out, order, mse, torch)


def _skill_products(runs, torch, dev, tdtype):
    """(order, skills, grad): the run order of the batch and the task-vector products s = T x, T^T v.

    Runs that share T are grouped so one (U, m, N) @ (U, N, n) product serves them; `order` lists
    the runs in batch order (the identity unless regrouped). skills maps X (R, D) to S (R, n) and
    grad maps V (R, n) to (R, D), D = n for basis tasks (both the identity) and N otherwise.
    """
    R = len(runs)
    m0 = runs[0][0]
    n, basis = m0.n_skills, m0.tasks == "basis"
    D = n if basis else m0.N
    order = np.arange(R)
    if basis:
        return order, (lambda X: X), (lambda V: V)
    mats, t_index = _task_matrices(runs)
    U = len(mats)
    counts = np.bincount(t_index, minlength=U)
    if U == 1:
        shared = torch.tensor(mats[0], dtype=tdtype, device=dev)  # (n, N)
        sharedT = shared.T.contiguous()
        return order, (lambda X: X @ sharedT), (lambda V: V @ shared)
    if np.all(counts == counts[0]):
        order = np.argsort(t_index, kind="stable")
        Tb = torch.tensor(np.stack(mats), dtype=tdtype, device=dev)  # (U, n, N)
    else:
        Tb = torch.tensor(np.stack([mats[i] for i in t_index]), dtype=tdtype, device=dev)  # (R, n, N)
    Ug = Tb.shape[0]
    TbT = Tb.transpose(1, 2).contiguous()

    def skills(X):
        return torch.bmm(X.view(Ug, R // Ug, D), TbT).reshape(R, n)

    def grad(V):
        return torch.bmm(V.view(Ug, R // Ug, n), Tb).reshape(R, D)

    return order, skills, grad


def _run_settings(runs, torch, dev, tdtype):
    """(W, lr, noise, (B, eps, amix)) of the runs in batch order: weights (R, n), the rest (R, 1) columns.

    Optimizer hyper-parameters are columns so configurations can differ within a group; B holds
    one column per beta of the optimizer.
    """
    R = len(runs)

    def col(values):
        return torch.tensor(values, dtype=tdtype, device=dev).reshape(R, 1)

    W = torch.tensor(np.stack([m.weights for m, _ in runs]), dtype=tdtype, device=dev)
    lr = col([m.lr for m, _ in runs])
    noise = col([m.noise for m, _ in runs])
    B = [col([m.betas[i] for m, _ in runs]) for i in range(len(runs[0][0].betas))]
    eps = col([m.eps for m, _ in runs])
    amix = col([m.ademamix_alpha for m, _ in runs])
    return W, lr, noise, (B, eps, amix)


def _count_chunk(draw, this, torch, dev, tdtype):
    """Sample fractions of the next `this` steps, shape (this, R, n), from the runs' count streams."""
    return torch.as_tensor(draw(this), device=dev).to(tdtype)


def _noise_chunk(noise_gens, noise, this, shape, torch, dev, tdtype):
    """Gradient noise of the next `this` steps, shape (this, R, D), from each run's noise stream, scaled."""
    R, D = shape
    Zc = torch.empty(this, R, D, dtype=tdtype, device=dev)
    for r in range(R):
        Zc[:, r] = torch.randn(this, D, dtype=tdtype, device=dev, generator=noise_gens[r])
    return Zc.mul_(noise)


def _optimizer_step(opt, G, moments, hyper, k, torch):
    """The update direction of step k (1, 2, ...) from gradient G; the moments (M, V2, M2) are updated in place."""
    M, V2, M2 = moments
    B, eps, amix = hyper
    if opt == "sgd":
        return G
    if opt == "signgd":
        return torch.sign(G)
    if opt == "lion":
        step_dir = torch.sign(torch.lerp(G, M, B[0]))
        M.lerp_(G, 1.0 - B[1])
        return step_dir
    M.lerp_(G, 1.0 - B[0])
    V2.mul_(B[1]).addcmul_(G, G * (1.0 - B[1]))
    denom = (V2 / (1.0 - B[1] ** k)).sqrt_().add_(eps)
    step_dir = M / (1.0 - B[0] ** k)
    if opt == "ademamix":
        M2.lerp_(G, 1.0 - B[2])
        step_dir.addcmul_(M2, amix)
    return step_dir.div_(denom)


def _losses(out, order, mse, torch):
    """Per-run losses (n_rec, n) in the original run order, from the recorded skills out (n_rec, R, n)."""
    out = (1.0 - out.to(torch.float64)) ** 2 if mse else torch.nn.functional.softplus(-out.to(torch.float64))
    result = out.permute(1, 0, 2).cpu().numpy()
    R = result.shape[0]
    back = np.empty(R, dtype=np.int64)
    back[order] = np.arange(R)
    return [result[back[i]] for i in range(R)]
