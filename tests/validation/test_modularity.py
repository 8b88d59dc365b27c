"""Tests of validation/modularity.py, the paper's Fig 19 setup (scripts/Fig19_modularity.ipynb).

The notebook's definitions are rebuilt here independently (torch.nn.Linear layers drawn after
torch.manual_seed, numpy's legacy choice, the masked-weight modular net, the notebook's loss
formulas) and compared with the experiment's batched implementation.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.cli import main  # noqa: E402
from skillode.validation import TrainSettings, _train, mlp_forward, train  # noqa: E402
from skillode.validation import modularity as mod  # noqa: E402
from skillode.validation._train import loss_weights  # noqa: E402

SHORT = replace(mod.QUICK, seeds=(0, 3, 5), steps=60)


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch):
    """One torch thread where a config leaves threads to the automatic choice (see test_validation.py)."""
    monkeypatch.setattr(_train, "AUTO_MAX_THREADS", 1)


def _notebook_draws(n_draws: int, seed: int = 1) -> list[tuple]:
    """The notebook's draws, its way: torch.manual_seed / np.random.seed once, then per run three
    nn.Linear layers, x = torch.rand(1000, 2) * 2 - 1 and choice(1000, 990, replace=False)."""
    rs = np.random.RandomState(seed)  # np.random.seed(seed) + np.random.choice: the same legacy generator
    out = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for _ in range(n_draws):
            layers = [torch.nn.Linear(2, 100), torch.nn.Linear(100, 100), torch.nn.Linear(100, 2)]
            x = torch.rand(1000, 2) * 2 - 1
            task1 = rs.choice(1000, int(1000 * (1 - 0.01)), replace=False)
            out.append((layers, x, task1))
    return out


def _notebook_layout(x, task1: np.ndarray) -> tuple:
    x = x.clone()
    task2 = list(set(np.arange(1000)) - set(task1))
    x[task2, 0] = 0.0
    x[task1, 1] = 0.0
    mask = torch.zeros(1000, 2)
    mask[task1, 0] = 1
    mask[task2, 1] = 1
    return x, x**2, mask


# ------------------------------------------------------------------------------------------- data
def test_data_layout_is_the_notebooks():
    runs = mod.draw_runs(mod.QUICK, "nonmodular", [0, 3])
    assert runs.x.dtype == torch.float32 and runs.x.shape == (2, 1000, 2)
    assert runs.draws == (101, 104)
    mask = runs.mask.numpy()
    np.testing.assert_array_equal(mask.sum(axis=1), [[990, 10], [990, 10]])
    np.testing.assert_array_equal(mask.sum(axis=2), np.ones((2, 1000)))  # one labelled output a point
    x = runs.x.numpy()
    task1 = mask[..., 0] == 1
    assert np.all(x[..., 1][task1] == 0) and np.all(x[..., 0][~task1] == 0)
    assert np.all(x[..., 0][task1] != 0) and np.all(x[..., 1][~task1] != 0)
    assert x.min() >= -1 and x.max() < 1
    np.testing.assert_array_equal(runs.y.numpy(), x**2)
    # the notebook's own draws: non-modular run i is draw 101 + i of its stream
    draws = _notebook_draws(105)
    for row, j in enumerate((101, 104)):
        layers, x0, task1_nb = draws[j]
        nx, ny, nmask = _notebook_layout(x0, task1_nb)
        np.testing.assert_array_equal(runs.x[row].numpy(), nx.numpy())
        np.testing.assert_array_equal(runs.y[row].numpy(), ny.numpy())
        np.testing.assert_array_equal(runs.mask[row].numpy(), nmask.numpy())
        for k, layer in enumerate(layers):
            np.testing.assert_array_equal(runs.params[2 * k][row].detach().numpy(), layer.weight.detach().t().numpy())
            np.testing.assert_array_equal(runs.params[2 * k + 1][row, 0].detach().numpy(), layer.bias.detach().numpy())


def test_seed_draws_are_the_notebooks_first_cell():
    runs = mod.draw_runs(replace(mod.QUICK, draws="seed", seeds=(1,)), "modular", [1])
    layers, x0, task1 = _notebook_draws(1, seed=1)[0]
    nx, _, nmask = _notebook_layout(x0, task1)
    np.testing.assert_array_equal(runs.x[0].numpy(), nx.numpy())
    np.testing.assert_array_equal(runs.mask[0].numpy(), nmask.numpy())
    np.testing.assert_array_equal(runs.params[2][0].detach().numpy(), layers[1].weight.detach().t().numpy())
    assert mod.draw_runs(mod.QUICK, "modular", [0]).draws == (1,)  # the notebook's modular run 0


def test_step0_losses_are_the_notebooks_printed_ones():
    cfg = replace(mod.QUICK, seeds=tuple(range(100)))
    runs = mod.draw_runs(cfg, "nonmodular", list(cfg.seeds))
    _, predict = mod.network(runs, "nonmodular", "silu")
    with torch.no_grad():
        sq = (predict(runs.params) - runs.y) ** 2
    mse = ((sq * runs.mask).sum(dim=1) / runs.mask.sum(dim=1)).double().numpy()
    printed = np.asarray(mod.PAPER_NONMODULAR_STEP0)
    np.testing.assert_allclose(mse, printed, rtol=5.1e-3)  # 3 significant digits
    assert np.all(np.vectorize(lambda v: float(f"{v:.2e}"))(mse) == printed)


def test_task_counts_follow_the_notebook():
    assert mod.ModularityConfig().task_counts() == (990, 10)
    assert replace(mod.QUICK, n_points=200, frequencies=(0.9, 0.1)).task_counts() == (180, 20)
    with pytest.raises(ValueError, match="seeds"):
        mod.ModularityConfig(seeds=(100,))  # the notebook's stream holds runs 0..99
    with pytest.raises(ValueError, match="setup"):
        mod.ModularityConfig(setup="other")
    with pytest.raises(ValueError, match="draws"):
        mod.ModularityConfig(draws="other")
    with pytest.raises(ValueError, match="n_points"):
        mod.ModularityConfig(n_points=1)  # int(1 * 0.99) = 0 task-1 points
    assert mod.ModularityConfig().matches_notebook() and not mod.WEIGHTED_TASKS.matches_notebook()


def test_learning_times_are_the_notebooks():
    loss = np.ones((3, 11, 2))
    loss[0, 4:, 0] = 1e-4  # below from step 4
    loss[1, 7, 0] = 1e-3  # equal to the threshold is not below it
    loss[2, 10, :] = 0.0  # only the record after the last update: never measured by the notebook
    loss[:, 2:, 1] = 5e-4
    t = mod.learning_times(loss, 1e-3, 10)
    np.testing.assert_array_equal(t, [[4, 2], [10, 2], [10, 2]])


# ---------------------------------------------------------------------------------- the networks
@pytest.mark.parametrize("activation", ["silu", "relu", "tanh"])
@pytest.mark.parametrize("widths", [[2, 100, 100, 2], [1, 50, 50, 1], [7, 9, 3], [3, 6, 6, 5]])
def test_batched_mlp_is_mlp_forward(activation, widths):
    gens = _train.seed_generators([0, 1])
    params = [p.detach().double().requires_grad_(True) for p in _train.init_mlp(widths, gens, scheme="nn.Linear")]
    x = torch.rand(2, 37, widths[0], generator=gens[0], dtype=torch.float64) * 2 - 1
    target = torch.rand(2, 37, widths[-1], generator=gens[1], dtype=torch.float64)
    net = mod.BatchedMLP(x, activation)
    for _ in range(2):  # the second call reuses the first one's buffers
        ours = net(params)
        ref = mlp_forward(params, x, activation)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
        g_ours = torch.autograd.grad(((ours - target) ** 3).sum(), params)
        g_ref = torch.autograd.grad(((ref - target) ** 3).sum(), params)
        for a, b in zip(g_ours, g_ref):
            assert a.shape == b.shape
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_batched_mlp_float32_products_agree_with_torch_bmm(monkeypatch):
    # float32 takes oneDNN's linear where it is available; the torch.bmm fallback gives the same numbers
    # to float32 rounding, and both match a float64 reference
    gens = _train.seed_generators([0, 1, 2])
    params = _train.init_mlp([2, 100, 100, 2], gens, scheme="nn.Linear")
    x = torch.rand(3, 500, 2, generator=gens[0]) * 2 - 1
    target = torch.rand(3, 500, 2, generator=gens[1])

    def run() -> tuple[np.ndarray, list[np.ndarray]]:
        out = mod.BatchedMLP(x, "silu")(params)
        grads = torch.autograd.grad(((out - target) ** 2).sum(), params)
        return out.detach().numpy(), [g.numpy() for g in grads]

    fast = run()
    monkeypatch.setattr(mod, "_onednn_state", [False])
    slow = run()
    p64 = [p.detach().double().requires_grad_(True) for p in params]
    out64 = mlp_forward(p64, x.double(), "silu")
    g64 = torch.autograd.grad(((out64 - target.double()) ** 2).sum(), p64)
    for out, grads in (fast, slow):
        np.testing.assert_allclose(out, out64.detach().numpy(), rtol=1e-5, atol=1e-6)
        for g, ref in zip(grads, g64):
            np.testing.assert_allclose(g, ref.numpy(), rtol=1e-4, atol=1e-4 * float(ref.abs().max()))
    assert isinstance(mod.onednn_available(), bool)


def _masked_net(params: list, x):
    """The notebook's MLP_Modular: each weight times its block mask (Linear_Mask), SiLU between layers."""
    half = params[0].shape[2] // 2
    groups = [([1, 1], [half, half]), ([half, half], [half, half]), ([half, half], [1, 1])]
    h = x
    for k, (gin, gout) in enumerate(groups):
        m = torch.zeros(sum(gin), sum(gout), dtype=x.dtype)
        m[: gin[0], : gout[0]] = 1
        m[gin[0] :, gout[0] :] = 1
        h = h @ (params[2 * k] * m) + params[2 * k + 1]
        if k < 2:
            h = torch.nn.functional.silu(h)
    return h


def test_modular_net_is_the_block_diagonal_one():
    runs = mod.draw_runs(SHORT, "modular", [0, 3])
    towers, predict = mod.network(runs, "modular", "silu")
    assert towers[2].shape == (4, 50, 50)  # replica 2 s + m: tower m of seed s
    out = predict(towers)
    np.testing.assert_allclose(out.detach().numpy(), _masked_net(runs.params, runs.x).detach().numpy(), atol=2e-6)
    # output 1 does not depend on input 0 at all: the gradient is exactly zero, and so is a change
    x = runs.x.clone().requires_grad_(True)
    tower_ref = torch.stack([x[..., 0], x[..., 1]], dim=1).reshape(4, 1000, 1)  # the towers' inputs, with grad
    ref_out = mlp_forward(towers, tower_ref, "silu").reshape(2, 2, 1000).permute(0, 2, 1)
    (grad,) = torch.autograd.grad(ref_out[..., 1].sum(), x)
    assert torch.all(grad[..., 0] == 0) and torch.any(grad[..., 1] != 0)
    (grad_masked,) = torch.autograd.grad(_masked_net(runs.params, x)[..., 1].sum(), x)
    assert torch.all(grad_masked[..., 0] == 0)
    moved = replace(runs, x=runs.x + torch.tensor([0.5, 0.0]))
    out_moved = mod.network(moved, "modular", "silu")[1](towers)
    assert torch.equal(out_moved[..., 1], out[..., 1]) and not torch.equal(out_moved[..., 0], out[..., 0])


def test_modular_gradients_are_the_masked_nets():
    runs = mod.draw_runs(SHORT, "modular", [5])
    full = [p.detach().double().requires_grad_(True) for p in runs.params]
    x, y = runs.x.double(), runs.y.double()
    mask = runs.mask.double()
    (torch.mean((_masked_net(full, x) - y) ** 2 * mask)).backward()
    towers, predict = mod.network(replace(runs, x=x), "modular", "silu")
    towers = [t.detach().double().requires_grad_(True) for t in towers]
    (torch.mean((predict(towers) - y) ** 2 * mask)).backward()
    expected = mod.tower_params([p.grad for p in full])  # the masked net's gradient, cut into its blocks
    for ours, ref in zip(towers, expected):
        np.testing.assert_allclose(ours.grad.numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-15)
    # and off the blocks the masked net's gradient is zero (Adam never moves those weights)
    assert torch.all(full[2].grad[:, :50, 50:] == 0) and torch.all(full[2].grad[:, 50:, :50] == 0)


# ------------------------------------------------------------------------------------- the losses
def test_loss_weights_are_loss_over_its_mean():
    rng = np.random.default_rng(0)
    per = rng.random((3, 40)) ** 3
    per[2] = 0.0
    w = loss_weights(torch.from_numpy(per)).numpy()
    np.testing.assert_allclose(w[:2], per[:2] / per[:2].mean(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_array_equal(w[2], 1.0)  # nothing to reweight


@pytest.mark.parametrize("condition", ["nonmodular", "reweighted"])
def test_training_step_is_the_notebooks_loss(condition):
    # one SGD step with lr 1 moves the weights by minus the gradient of what train() minimises; it must
    # be the gradient of the notebook's loss, computed its way (float64, nn.Linear-style layers)
    runs = mod.draw_runs(SHORT, condition, [0])
    x, y, mask = runs.x.double(), runs.y.double(), runs.mask.double()
    start = [p.detach().double() for p in runs.params]
    ref = [p.clone().requires_grad_(True) for p in start]
    loss = (mlp_forward(ref, x, "silu") - y) ** 2 * mask
    if condition == "reweighted":
        objective = torch.mean(loss * loss.detach() / torch.mean(loss).detach())  # the notebook's first cell
    else:
        objective = torch.mean(loss)  # its 100-run loop
    grads = torch.autograd.grad(objective, ref)
    params, predict = mod.network(
        replace(runs, x=x, params=[p.clone().requires_grad_(True) for p in start]), condition, "silu"
    )
    settings = TrainSettings(1, 1.0, "sgd", 1, reweight_by_loss=condition == "reweighted")
    train(params, predict, y, mod.loss_weights_for(condition, mask), settings, seeds=[0], classification=False)
    for before, after, g in zip(start, params, grads):
        np.testing.assert_allclose((before - after.detach()).numpy(), g.numpy(), rtol=1e-9, atol=1e-16)


# -------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("condition", mod.CONDITIONS)
def test_batched_runs_equal_runs_alone(condition, monkeypatch):
    many = mod.train_condition(SHORT, condition)
    alone = mod.train_condition(replace(SHORT, seeds=(3,)), condition)
    np.testing.assert_allclose(many.loss[1], alone.loss[0], rtol=1e-4, atol=1e-7)
    monkeypatch.setattr(mod, "GROUP_ELEMENTS", 1)  # one seed per group
    split = mod.train_condition(SHORT, condition)
    assert split.seeds == many.seeds
    np.testing.assert_allclose(split.loss, many.loss, rtol=1e-4, atol=1e-7)
    assert np.abs(many.loss[0] - many.loss[1]).max() > 1e-3  # different runs, and training moves them
    assert np.all(many.loss[:, -1, 0] < 0.5 * many.loss[:, 0, 0])


def test_quick_cli_run_writes_the_section_and_figures(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "modularity", "--quick", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = (out / "report.md").read_text()
    assert "(`modularity`)" in text and "Fig19_modularity.ipynb" in text and "**Verdict**" in text
    for name in ("modularity_times.png", "modularity_curves.png"):
        assert (out / name).stat().st_size > 5000 and f"]({name})" in text
    m = json.loads((out / "metrics.json").read_text())["modularity"]
    assert m["config"]["seeds"] == list(mod.QUICK.seeds) and m["config"]["setup"] == "paper"
    metrics = m["metrics"]
    assert set(metrics["measured"]) == set(mod.CONDITIONS)
    # the notebook's own runs, replayed: the same step-0 losses, and the same learning times to a step or two
    nb = metrics["notebook_runs"]
    assert nb["step0_equal_to_3_digits"] == len(mod.QUICK.seeds)
    assert nb["t_within_2"] == [len(mod.QUICK.seeds)] * 2
    c1 = metrics["cell1_check"]
    np.testing.assert_allclose(c1["ours"], c1["notebook"], rtol=1e-2)  # its log's 3 digits
    with np.load(out / "arrays_modularity.npz") as arrays:
        assert arrays["nonmodular/times"].shape == (len(mod.QUICK.seeds), 2)
        assert arrays["modular/loss"].shape == (len(mod.QUICK.seeds), mod.QUICK.steps + 1, 2)
    for cond in mod.CONDITIONS:
        t = metrics["measured"][cond]
        assert 0 < t["t1"]["median"] <= mod.QUICK.steps and t["t1"]["q10"] <= t["t1"]["median"] <= t["t1"]["q90"]
    assert set(metrics["verdict"]) == {"modular_rare_sooner", "reweighting_rare_sooner"}


def test_weighted_tasks_variant_runs_and_plots(tmp_path):
    cfg = replace(mod.WEIGHTED_TASKS, hidden=16, seeds=(0, 1, 2), train_size=32, test_size=32, steps=300)
    res = mod.run(cfg)
    assert res.config["setup"] == "weighted_tasks" and "weighted_tasks" in res.markdown
    assert "paired by seed" in res.markdown and set(res.metrics["speedups"]) == set(mod.SPEEDUPS)
    for path in mod.plot(res, tmp_path):
        assert path.stat().st_size > 5000


def test_seed_groups_go_to_processes_only_when_nothing_else_was_asked(monkeypatch):
    from skillode.validation import _execution

    monkeypatch.setattr(mod, "auto_threads", lambda: 2)  # an idle 2-core machine
    assert mod._auto_processes(mod.QUICK, 3) == 2  # threads=None: one single-thread process per core
    assert mod._auto_processes(mod.QUICK, 1) == 1  # one task: this process
    assert mod._auto_processes(replace(mod.QUICK, threads=2), 3) == 1  # a thread count named
    assert mod._auto_processes(mod.WEIGHTED_TASKS, 3) == 1
    with _execution.execution(jobs=3):
        assert mod._auto_processes(mod.QUICK, 3) == 1  # an execution chosen: it decides
    monkeypatch.setattr(mod, "auto_threads", lambda: 1)  # a busy machine
    assert mod._auto_processes(mod.QUICK, 3) == 1


@pytest.mark.slow  # two worker processes start and import torch
def test_automatic_processes_give_the_one_thread_records(monkeypatch):
    monkeypatch.setattr(mod, "GROUP_ELEMENTS", 200_000)  # 2 seeds a group: 2 tasks
    cfg = replace(SHORT, seeds=(0, 3, 5, 7))
    here = mod.train_condition(replace(cfg, threads=1), "nonmodular")
    monkeypatch.setattr(mod, "auto_threads", lambda: 2)
    there = mod.train_condition(cfg, "nonmodular")
    assert there.seeds == cfg.seeds and there.threads == 1
    np.testing.assert_array_equal(there.loss, here.loss)
