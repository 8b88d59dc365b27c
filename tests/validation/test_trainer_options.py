"""The batched trainer's options (validation._train): optimizers, cross-entropy, embeddings, reweighting.

Every check is against an independent reference: a plain torch.nn model trained by torch.optim's
own optimiser (one replica at a time), a closed form (SignGD's sign step), or a gradient written
out by hand in numpy. float64 throughout, so the tolerances are round-off sized (stated per test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.validation import _train  # noqa: E402
from skillode.validation._train import (  # noqa: E402
    TrainSettings,
    embed,
    embedding_mlp_forward,
    init_embedding,
    init_mlp,
    loss_weights,
    make_optimizer,
    mlp_forward,
    seed_generators,
    train,
)

F64 = torch.float64
SEEDS = [0, 5]
WIDTHS = [4, 6, 3]


def _data(n: int = 9, seed: int = 123):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(SEEDS), n, WIDTHS[0], generator=g, dtype=F64)
    y = torch.randn(len(SEEDS), n, WIDTHS[-1], generator=g, dtype=F64)
    return x, y


def _reference_model(params: list, replica: int, activation=torch.nn.Tanh) -> torch.nn.Sequential:
    """An nn.Sequential holding replica `replica` of the batched weights (nn.Linear keeps W as (out, in))."""
    layers: list = []
    for j in range(len(params) // 2):
        w, b = params[2 * j][replica].detach(), params[2 * j + 1][replica, 0].detach()
        lin = torch.nn.Linear(w.shape[0], w.shape[1], dtype=F64)
        with torch.no_grad():
            lin.weight.copy_(w.t())
            lin.bias.copy_(b)
        layers.append(lin)
        if j < len(params) // 2 - 1:
            layers.append(activation())
    return torch.nn.Sequential(*layers)


def _torch_optimizer(name: str, params, lr: float, betas, wd: float, eps: float):
    """torch.optim's own optimiser for each trainer name, written out independently of make_optimizer."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, betas=(0.0, 0.0), eps=eps, weight_decay=wd)  # signgd


CASES = [
    ("adam", (0.8, 0.99), 0.01, 1e-6),
    ("adamw", (0.8, 0.99), 0.05, 1e-6),
    ("sgd", None, 0.01, 1e-8),
    ("signgd", None, 0.03, 1e-8),
]


@pytest.mark.parametrize("name, betas, wd, eps", CASES)
def test_each_optimizer_matches_torch_optim_on_an_unbatched_model(name, betas, wd, eps):
    """Three updates of the batched trainer (2 seeds) equal torch.optim's own on each seed's nn.Sequential.

    Tolerance 1e-12 (float64 round-off of a few small matmuls; Adam's division keeps it tiny).
    """
    lr, steps = 0.05, 3
    x, y = _data()
    params = init_mlp(WIDTHS, seed_generators(SEEDS), dtype=F64)
    refs = [_reference_model(params, s) for s in range(len(SEEDS))]
    settings = TrainSettings(steps, lr, name, 1, betas=betas, weight_decay=wd, eps=eps)
    rec = train(params, lambda p: mlp_forward(p, x, "tanh"), y, None, settings, seeds=SEEDS, classification=False)
    ref_betas = (0.9, 0.999) if betas is None else betas
    for s, model in enumerate(refs):
        opt = _torch_optimizer(name, model.parameters(), lr, ref_betas, wd, eps)
        for step in range(steps):
            loss = ((model(x[s]) - y[s]) ** 2).sum(dim=1).mean()  # the trainer's L_s with unit weights
            # recorded per-task loss: mean over samples of each output's squared error
            per_task = ((model(x[s]) - y[s]) ** 2).mean(dim=0).detach().numpy()
            np.testing.assert_allclose(rec.loss[s, step], per_task, rtol=0, atol=1e-12)
            opt.zero_grad()
            loss.backward()
            opt.step()
        lin = [m for m in model if isinstance(m, torch.nn.Linear)]
        for j, layer in enumerate(lin):
            w_ref, b_ref = layer.weight.detach().t().numpy(), layer.bias.detach().numpy()
            np.testing.assert_allclose(params[2 * j][s].detach().numpy(), w_ref, rtol=0, atol=1e-12)
            np.testing.assert_allclose(params[2 * j + 1][s, 0].detach().numpy(), b_ref, rtol=0, atol=1e-12)


def test_signgd_first_update_is_lr_times_the_sign_of_the_gradient():
    """signgd's first step, by hand: theta <- theta (1 - lr wd) - lr g / (|g| + eps), so the step differs
    from -lr sign(g) - lr wd theta by at most lr eps / (|g| + eps) (+ 1e-15 round-off)."""
    lr, wd, eps = 0.01, 0.03, 1e-8
    x, y = _data()
    params = init_mlp(WIDTHS, seed_generators(SEEDS), dtype=F64)
    before = [p.detach().clone() for p in params]
    # the gradient of the trainer's objective sum_s L_s, computed independently with autograd
    probe = [p.detach().clone().requires_grad_(True) for p in params]
    ((mlp_forward(probe, x, "tanh") - y) ** 2).sum(dim=2).mean(dim=1).sum().backward()
    train(
        params,
        lambda p: mlp_forward(p, x, "tanh"),
        y,
        None,
        TrainSettings(1, lr, "signgd", 1, weight_decay=wd, eps=eps),
        seeds=SEEDS,
    )
    for p0, p1, g in zip(before, params, probe):
        grad = g.grad
        step = p1.detach() - p0
        bound = lr * eps / (grad.abs() + eps) + 1e-15
        assert torch.all((step + lr * torch.sign(grad) + lr * wd * p0).abs() <= bound)
        # and it is a sign step: every coordinate with a non-negligible gradient moved by lr (plus decay)
        big = grad.abs() > 1e-4
        np.testing.assert_allclose((step + lr * wd * p0)[big].abs().numpy(), lr, rtol=1e-4)


def test_signgd_is_adamw_with_zero_betas_and_settings_resolve_betas():
    assert TrainSettings(optimizer="signgd").resolved_betas == (0.0, 0.0)
    assert TrainSettings(optimizer="adam").resolved_betas == (0.9, 0.999)  # torch's default
    assert TrainSettings(optimizer="adamw", betas=(0.5, 0.6)).resolved_betas == (0.5, 0.6)
    assert TrainSettings(optimizer="sgd").resolved_betas is None
    p = [torch.zeros(2, requires_grad=True)]
    opt = make_optimizer(p, TrainSettings(optimizer="signgd", lr=0.1, weight_decay=0.2, eps=1e-7))
    assert isinstance(opt, torch.optim.AdamW)
    group = opt.param_groups[0]
    assert (group["betas"], group["weight_decay"], group["eps"], group["lr"]) == ((0.0, 0.0), 0.2, 1e-7, 0.1)
    assert type(make_optimizer(p, TrainSettings(optimizer="adam"))) is torch.optim.Adam
    assert make_optimizer(p, TrainSettings(optimizer="adamw")).param_groups[0]["weight_decay"] == 0.0


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(optimizer="sgd", betas=(0.9, 0.9)), "betas"),
        (dict(optimizer="signgd", betas=(0.9, 0.999)), "betas"),
        (dict(optimizer="adam", betas=(1.0, 0.5)), "betas"),
        (dict(optimizer="adam", betas=(0.9,)), "betas"),
        (dict(weight_decay=-0.1), "weight_decay"),
        (dict(eps=-1.0), "eps"),
        (dict(loss="hinge"), "loss"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(reweight_by_loss=1), "reweight_by_loss"),
    ],
)
def test_settings_reject_bad_values(kw, word):
    with pytest.raises(ValueError, match=word):
        TrainSettings(**kw)


def test_cross_entropy_loss_accuracy_and_update_match_torch():
    """loss='ce': recorded loss = nn.CrossEntropyLoss, accuracy = argmax agreement, and two Adam steps
    equal torch.optim.Adam on the same nn.Sequential (tolerance 1e-12)."""
    n, classes = 12, 5
    g = torch.Generator().manual_seed(7)
    x = torch.randn(len(SEEDS), n, 4, generator=g, dtype=F64)
    y = torch.randint(0, classes, (len(SEEDS), n), generator=g)
    xt = torch.randn(len(SEEDS), 6, 4, generator=g, dtype=F64)
    yt = torch.randint(0, classes, (len(SEEDS), 6), generator=g)
    params = init_mlp([4, 8, classes], seed_generators(SEEDS), dtype=F64)
    refs = [_reference_model(params, s, torch.nn.SiLU) for s in range(len(SEEDS))]
    rec = train(
        params,
        lambda p: mlp_forward(p, x, "silu"),
        y,
        None,
        TrainSettings(2, 0.02, "adam", 1, loss="ce"),
        seeds=SEEDS,
        test=(lambda p: mlp_forward(p, xt, "silu"), yt),
    )
    assert rec.loss.shape == (len(SEEDS), 3, 1)
    ce = torch.nn.CrossEntropyLoss()
    for s, model in enumerate(refs):
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        for step in range(2):
            out = model(x[s])
            loss = ce(out, y[s])
            assert rec.loss[s, step, 0] == pytest.approx(loss.item(), abs=1e-12)
            assert rec.accuracy[s, step, 0] == pytest.approx((out.argmax(1) == y[s]).double().mean().item(), abs=0)
            with torch.no_grad():
                out_t = model(xt[s])
                assert rec.test_loss[s, step, 0] == pytest.approx(ce(out_t, yt[s]).item(), abs=1e-12)
                assert rec.test_accuracy[s, step, 0] == (out_t.argmax(1) == yt[s]).double().mean().item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        w_last = [m for m in model if isinstance(m, torch.nn.Linear)][-1].weight
        np.testing.assert_allclose(params[2][s].detach().numpy(), w_last.detach().t().numpy(), atol=1e-12)


def test_cross_entropy_rejects_float_targets():
    params = init_mlp([2, 3], seed_generators([0]), dtype=F64)
    with pytest.raises(ValueError, match="integer class labels"):
        train(params, lambda p: mlp_forward(p, torch.zeros(1, 4, 2, dtype=F64)), torch.zeros(1, 4), None,
              TrainSettings(1, loss="ce"), seeds=[0])  # fmt: skip


# --------------------------------------------------------------------------- initialisation
def test_nn_linear_scheme_reproduces_torch_nn_linear_draw_for_draw():
    """init_mlp(scheme='nn.Linear') == nn.Linear layers built after torch.manual_seed(seed) (exactly)."""
    widths = [7, 5, 3]
    params = init_mlp(widths, seed_generators([0, 4]), dtype=F64, scheme="nn.Linear")
    old = torch.get_default_dtype()
    state = torch.random.get_rng_state()
    try:
        torch.set_default_dtype(F64)
        for s, seed in enumerate([0, 4]):
            torch.manual_seed(seed)
            layers = [torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
            table = torch.normal(0, 1, size=(6, 2))  # drawn next, as the grokking notebook draws its embedding
            for j, lin in enumerate(layers):
                assert torch.equal(params[2 * j][s], lin.weight.t())
                assert torch.equal(params[2 * j + 1][s, 0], lin.bias)
            ours = init_embedding(6, 2, seed_generators([seed]))  # a fresh generator: skip the layer draws
            gen = seed_generators([seed])
            init_mlp(widths, gen, dtype=F64, scheme="nn.Linear")
            assert torch.equal(init_embedding(6, 2, gen)[0], table)
            assert not torch.equal(ours[0], table)
    finally:
        torch.set_default_dtype(old)
        torch.random.set_rng_state(state)


def test_uniform_scheme_is_unchanged_and_in_bounds():
    """The default scheme keeps its float32 stream (the other experiments' seeds) and U(+-1/sqrt(fan_in))."""
    g = torch.Generator().manual_seed(3)
    w = (torch.rand(4, 6, generator=g) * 2 - 1) * 0.5
    params = init_mlp([4, 6], seed_generators([3]))
    assert params[0].dtype == torch.float32 and torch.equal(params[0][0], w)
    p64 = init_mlp([400, 6], seed_generators([3]), dtype=F64, scheme="nn.Linear")
    assert p64[0].dtype == F64 and p64[0].abs().max() <= 1 / math.sqrt(400)
    with pytest.raises(ValueError, match="scheme"):
        init_mlp([2, 2], seed_generators([0]), scheme="xavier")


# ------------------------------------------------------------------------------- embeddings
def test_embed_concatenates_rows_and_factorised_forward_agrees():
    """embed == the rows concatenated by hand; the factorised first layer == the plain one (1e-12, float64),
    values and gradients, for tokens shared by the replicas and per replica."""
    gens = seed_generators([1, 2])
    table = init_embedding(7, 3, gens)
    params = init_mlp([6, 5, 4], gens, dtype=F64)
    g = torch.Generator().manual_seed(0)
    shared = torch.randint(0, 7, (11, 2), generator=g)
    per_replica = torch.randint(0, 7, (2, 11, 2), generator=g)
    x = embed(table, shared)
    t = table.detach()
    by_hand = torch.stack([torch.cat([t[s, shared[:, 0]], t[s, shared[:, 1]]], dim=1) for s in range(2)])
    assert torch.equal(x.detach(), by_hand)
    for tokens in (shared, per_replica):
        grads = []
        for fac in (False, True):
            tab = table.detach().clone().requires_grad_(True)
            ps = [p.detach().clone().requires_grad_(True) for p in params]
            out = embedding_mlp_forward(ps, tab, tokens, "silu", factorize=fac)
            out.pow(2).sum().backward()
            grads.append((out.detach(), tab.grad, [p.grad for p in ps]))
        (o0, t0, p0), (o1, t1, p1) = grads
        np.testing.assert_allclose(o1.numpy(), o0.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(t1.numpy(), t0.numpy(), rtol=0, atol=1e-12)
        for a, b in zip(p1, p0):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="tokens"):
        embed(table, torch.tensor([[0, 7]]))
    with pytest.raises(ValueError, match="fan_in"):
        embedding_mlp_forward(init_mlp([5, 2], gens, dtype=F64), table, shared)


def test_embedding_table_is_trained():
    """The table is a trainable parameter: a step moves exactly the rows that appear in the tokens."""
    gens = seed_generators([0])
    table = init_embedding(5, 2, gens)
    params = init_mlp([4, 3], gens, dtype=F64)
    tokens = torch.tensor([[0, 1], [1, 2]])
    before = table.detach().clone()
    train(
        [*params, table],
        lambda p: embedding_mlp_forward(p[:2], p[2], tokens),
        torch.tensor([[0, 2]]),
        None,
        TrainSettings(1, 0.1, "sgd", 1, loss="ce"),
        seeds=[0],
    )
    moved = (table.detach() - before).abs().sum(dim=2)[0] > 0
    assert moved.tolist() == [True, True, True, False, False]


# ------------------------------------------------------------------------------ reweighting
def test_reweighting_with_uniform_per_example_losses_equals_the_plain_loss():
    """Distinct inputs, equal per-example losses: zero last-layer weights make every logit 0, so each CE is
    log C and w = 1; the first update (AdamW) and the recorded losses equal the plain run's (1e-14)."""
    g = torch.Generator().manual_seed(11)
    x = torch.randn(2, 10, 3, generator=g, dtype=F64)
    y = torch.randint(0, 4, (2, 10), generator=g)

    def fresh():
        p = init_mlp([3, 5, 4], seed_generators([0, 1]), dtype=F64)
        with torch.no_grad():
            p[2].zero_()
            p[3].zero_()
        return p

    runs = []
    for rw in (False, True):
        params = fresh()
        settings = TrainSettings(1, 0.01, "adamw", 1, loss="ce", weight_decay=0.1, reweight_by_loss=rw)
        rec = train(params, lambda p: mlp_forward(p, x), y, None, settings, seeds=[0, 1])
        runs.append((rec, params))
    np.testing.assert_allclose(runs[0][0].loss[:, 0, 0], math.log(4), rtol=0, atol=1e-14)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(runs[0][0].loss, runs[1][0].loss, rtol=0, atol=1e-14)


def test_reweighting_gradient_matches_a_hand_computation():
    """A linear model f = x W + b with two weighted outputs (one label missing), MSE, one SGD step of lr 1:
    the step is -grad of (1/N) sum_i w_i l_i, w_i = l_i / mean(l), l_i = sum_k m_ik (f_ik - y_ik)^2, with the
    weights held fixed; written out in numpy: grad_W = (1/N) sum_i w_i sum_k m_ik 2 r_ik x_i (atol 1e-12)."""
    rng = np.random.default_rng(0)
    n = 6
    x = rng.normal(size=(n, 3))
    y = rng.normal(size=(n, 2))
    m = np.tile([1.0, 0.5], (n, 1))
    m[2, 1] = 0.0  # example 2 carries no label for output 2
    params = init_mlp([3, 2], seed_generators([9]), dtype=F64)
    w0, b0 = params[0][0].detach().numpy().copy(), params[1][0, 0].detach().numpy().copy()
    # hand computation
    r = x @ w0 + b0 - y
    per = (m * r**2).sum(axis=1)
    wts = per / per.mean()
    coef = wts[:, None] * m * 2 * r / n  # d/df of (1/N) sum_i w_i l_i
    grad_w, grad_b = x.T @ coef, coef.sum(axis=0)
    plain_w = x.T @ (m * 2 * r / n)
    train(
        params,
        lambda p: mlp_forward(p, torch.from_numpy(x)[None]),
        torch.from_numpy(y)[None],
        torch.from_numpy(m)[None],
        TrainSettings(1, 1.0, "sgd", 1, reweight_by_loss=True),
        seeds=[9],
        classification=False,
    )
    np.testing.assert_allclose(w0 - params[0][0].detach().numpy(), grad_w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b0 - params[1][0, 0].detach().numpy(), grad_b, rtol=0, atol=1e-12)
    assert np.abs(grad_w - plain_w).max() > 1e-3  # the reweighting changed the step


def test_loss_weights_by_hand():
    per = torch.tensor([[1.0, 3.0], [0.0, 0.0]], dtype=F64)
    w = loss_weights(per)
    np.testing.assert_allclose(w.numpy(), [[0.5, 1.5], [1.0, 1.0]], rtol=0, atol=1e-15)
    assert not w.requires_grad


def test_float64_training_keeps_float64(monkeypatch):
    monkeypatch.setattr(_train, "AUTO_MAX_THREADS", 1)
    x, y = _data()
    params = init_mlp(WIDTHS, seed_generators(SEEDS), dtype=F64)
    seen = []

    def predict(p):
        out = mlp_forward(p, x)
        seen.append(out.dtype)
        return out

    train(params, predict, y, None, TrainSettings(2, 0.01, "adamw"), seeds=SEEDS)
    assert set(seen) == {F64} and all(p.dtype == F64 for p in params)
