"""The torch backend of simulate: runs as a batch dimension, CPU or GPU."""

from __future__ import annotations

import numpy as np

from ._streams import (
    _count_fractions,
    _count_streams,
    _noise_streams,
    _task_matrices,
    _torch,
)


def _run_group(runs, steps, rec, dev, tdtype, chunk, bar):
    """Advance runs that share n, N, loss, optimizer, batch size and task kind; loss (R, n_rec, n) per run."""
    torch = _torch()
    R = len(runs)
    m0 = runs[0][0]
    n, N, opt = m0.n_skills, m0.N, m0.optimizer
    basis = m0.tasks == "basis"
    D = n if basis else N

    def col(values):
        return torch.tensor(values, dtype=tdtype, device=dev).reshape(R, 1)

    W = torch.tensor(np.stack([m.weights for m, _ in runs]), dtype=tdtype, device=dev)
    lr = col([m.lr for m, _ in runs])
    noise = col([m.noise for m, _ in runs])
    use_noise = bool((noise > 0).any())

    # Task vectors: runs that share T are grouped so one (U, m, N) @ (U, N, n) product serves them.
    order = np.arange(R)
    shared = None
    Tb = None
    if not basis:
        mats, t_index = _task_matrices(runs)
        U = len(mats)
        counts = np.bincount(t_index, minlength=U)
        if U == 1:
            shared = torch.tensor(mats[0], dtype=tdtype, device=dev)  # (n, N)
        elif np.all(counts == counts[0]):
            order = np.argsort(t_index, kind="stable")
            Tb = torch.tensor(np.stack(mats), dtype=tdtype, device=dev)  # (U, n, N)
        else:
            Tb = torch.tensor(np.stack([mats[i] for i in t_index]), dtype=tdtype, device=dev)  # (R, n, N)
            U = R
    runs = [runs[i] for i in order]
    W = W[torch.as_tensor(order, device=dev)]
    lr = lr[torch.as_tensor(order, device=dev)]
    noise = noise[torch.as_tensor(order, device=dev)]

    if shared is not None:
        sharedT = shared.T.contiguous()

        def skills(X):
            return X @ sharedT

        def grad(V):
            return V @ shared
    elif Tb is not None:
        Ug = Tb.shape[0]
        TbT = Tb.transpose(1, 2).contiguous()

        def skills(X):
            return torch.bmm(X.view(Ug, R // Ug, D), TbT).reshape(R, n)

        def grad(V):
            return torch.bmm(V.view(Ug, R // Ug, n), Tb).reshape(R, D)
    else:
        def skills(X):
            return X

        def grad(V):
            return V

    mse = m0.loss == "mse"

    def loss_of(S):
        return (1.0 - S) ** 2 if mse else torch.nn.functional.softplus(-S)

    # Optimizer hyper-parameters as (R, 1) columns so configurations can differ within a group.
    nb = len(m0.betas)
    B = [col([m.betas[i] for m, _ in runs]) for i in range(nb)]
    eps = col([m.eps for m, _ in runs])
    amix = col([m.ademamix_alpha for m, _ in runs])

    X = torch.zeros(R, D, dtype=tdtype, device=dev)
    M = torch.zeros_like(X) if opt in ("adam", "lion", "ademamix") else None
    V2 = torch.zeros_like(X) if opt in ("adam", "ademamix") else None
    M2 = torch.zeros_like(X) if opt == "ademamix" else None

    batch = m0.batch
    gen_dev = dev if dev.type == "cuda" else torch.device("cpu")
    count_rngs = _count_streams(runs) if batch is not None else []
    noise_gens = _noise_streams(runs, torch, gen_dev) if use_noise else []
    probs = [m.weights for m, _ in runs]
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
        Wc = Zc = None
        if this > 0 and batch is not None:
            Wc = torch.as_tensor(_count_fractions(count_rngs, probs, batch, this), device=dev).to(tdtype)
        if this > 0 and use_noise:
            Zc = torch.empty(this, R, D, dtype=tdtype, device=dev)
            for r in range(R):
                Zc[:, r] = torch.randn(this, D, dtype=tdtype, device=dev, generator=noise_gens[r])
            Zc.mul_(noise)
        if this == 0:  # every update done: record the final state and stop
            if is_rec[k]:
                out[rec_ptr] = skills(X)
            break
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
            if opt == "sgd":
                step_dir = G
            elif opt == "signgd":
                step_dir = torch.sign(G)
            elif opt == "lion":
                step_dir = torch.sign(torch.lerp(G, M, B[0]))
                M.lerp_(G, 1.0 - B[1])
            else:
                M.lerp_(G, 1.0 - B[0])
                V2.mul_(B[1]).addcmul_(G, G * (1.0 - B[1]))
                denom = (V2 / (1.0 - B[1] ** k)).sqrt_().add_(eps)
                step_dir = M / (1.0 - B[0] ** k)
                if opt == "ademamix":
                    M2.lerp_(G, 1.0 - B[2])
                    step_dir.addcmul_(M2, amix)
                step_dir.div_(denom)
            if lr_scalar is not None:
                X.add_(step_dir, alpha=-lr_scalar)
            else:
                X.addcmul_(step_dir, lr, value=-1.0)
        if bar is not None:
            bar.update(this)
    out = loss_of(out.to(torch.float64))
    result = out.permute(1, 0, 2).cpu().numpy()
    back = np.empty(R, dtype=np.int64)
    back[order] = np.arange(R)
    return [result[back[i]] for i in range(R)]

