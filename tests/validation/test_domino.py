"""validation.domino against independent sources: the notebook's own numpy steps, its printed numbers,
a plain nn.Linear replay of MLP.fit, and the mask's permutation rule (scripts/Fig2_bottom_sparse_parity.ipynb)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.validation import domino  # noqa: E402
from skillode.validation._train import TrainSettings, init_mlp, mlp_forward, seed_generators, train  # noqa: E402


@pytest.fixture
def global_numpy_stream():
    """The notebook seeds numpy's global stream; restore it afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def notebook_numpy_steps(seed: int, n: int, n_steps: int):
    """The notebook's numpy draws, written as it writes them: np.random.seed, the integers written
    with "{0:b}" and padded, labels by np.sum(...) % 2, the dataset permutation, then per fit() step
    train_id and test_id."""
    np.random.seed(seed)
    ints = np.random.choice(2**32, n)
    rows = []
    for i in ints:
        string = f"{i:b}"  # the notebook: "{0:b}".format(i)
        sample = [int(c) for c in string]
        rows.append((32 - len(sample)) * [0] + sample)
    inputs = np.array(rows).astype(np.float64)
    label1 = np.sum(inputs[:, [0, 1]], axis=1)[:, None] % 2
    label2 = np.sum(inputs[:, [2, 3]], axis=1)[:, None] % 2
    labels = np.concatenate([label1, label2], axis=1)
    train_id = np.random.choice(n, n, replace=False)
    steps = [(np.random.choice(n, n, replace=False), np.random.choice(n, n, replace=False)) for _ in range(n_steps)]
    return ints, inputs, labels, train_id, steps


@pytest.mark.parametrize("seed", [4, 11])
def test_data_equals_the_notebooks_numpy_steps(seed, global_numpy_stream):
    n = 10_000
    ints, inputs, labels, train_id, steps = notebook_numpy_steps(seed, n, 3)
    d = domino.make_data(seed, n)
    np.testing.assert_array_equal(d.integers, ints)
    np.testing.assert_array_equal(d.inputs, inputs)
    np.testing.assert_array_equal(d.labels, labels)
    np.testing.assert_array_equal(d.train_id, train_id)
    np.testing.assert_array_equal(d.x, inputs[train_id])
    np.testing.assert_array_equal(d.y, labels[train_id])
    assert d.x.dtype == np.float64 and set(np.unique(d.y)) == {0.0, 1.0}
    # the stream the data leave behind is the one fit() continues: its first step's train_id, test_id
    masks = domino.StepMasks([d.rng], n, 0.05)
    for t, (tid, _test_id) in enumerate(steps):
        w = masks(t)[0].numpy()
        labelled = np.flatnonzero(w[:, 1])
        np.testing.assert_array_equal(labelled, np.sort(tid[int(n * (1 - 0.05)) :]))


def test_compositional_and_domino_draw_the_same_inputs():
    """Both notebooks open with the same draw (validation._notebook): a seed's inputs agree."""
    from skillode.validation import compositional

    comp = compositional.make_data(4, "compositional", 2000)
    dom = domino.make_data(4, 2000)
    np.testing.assert_array_equal(comp.integers, dom.integers)
    np.testing.assert_array_equal(comp.inputs, dom.inputs)
    np.testing.assert_array_equal(comp.labels[:, [1, 0]], dom.labels)  # compositional: x3^x4 first


def test_mask_is_the_notebooks_positional_mask():
    for p2, n in [(0.05, 10_000), (0.1, 10_000), (0.2, 10_000), (0.5, 10_000), (1.0, 10_000), (0.3, 7)]:
        mask = domino.positional_mask(n, p2)
        expected = np.ones((n, 2))
        expected[: int(n * (1 - p2)), 1] = 0.0  # the notebook's mask[:mask_num, 1] *= 0
        np.testing.assert_array_equal(mask, expected)
    assert domino.unlabelled_rows(10_000, 0.05) == 9500 and domino.unlabelled_rows(10_000, 1.0) == 0


def test_step_weights_follow_the_permutation_rule():
    n, p2 = 40, 0.25
    first = int(n * (1 - p2))
    ref = np.random.RandomState(3)  # an independent copy of the stream the schedule draws from
    masks = domino.StepMasks([np.random.RandomState(3)], n, p2)
    mask = torch.tensor(domino.positional_mask(n, p2))
    gen = torch.Generator().manual_seed(0)
    f, y = torch.rand(n, 2, generator=gen, dtype=torch.float64), torch.rand(n, 2, generator=gen, dtype=torch.float64)
    seen = []
    for t in range(5):
        train_id = ref.choice(n, n, replace=False)
        ref.choice(n, n, replace=False)  # test_id
        w = masks(t)[0]
        assert w.dtype == torch.float64 and w.shape == (n, 2)
        assert torch.all(w[:, 0] == 0.5)
        labelled = set(np.flatnonzero(w[:, 1].numpy()).tolist())
        assert labelled == set(train_id[first:].tolist()) and len(labelled) == n - first
        # the weighted sum over the dataset is the notebook's loss on the permuted rows
        notebook = torch.mean((f[train_id] - y[train_id]) ** 2 * mask)
        ours = (((f - y) ** 2) * w).sum() / n
        assert float(ours) == pytest.approx(float(notebook), rel=1e-14)
        seen.append(frozenset(labelled))
    assert len(set(seen)) == 5  # a fresh labelled subset every step, not a fixed one
    with pytest.raises(RuntimeError, match="step 7"):
        masks(7)


def plain_notebook_fit(seed: int, p2: float, n: int, steps: int):
    """MLP.fit as the notebook runs it, with torch.nn: (sqrt of each step's masked loss, acc1, acc2 after it)."""
    _, inputs, labels, train_id, _ = notebook_numpy_steps(seed, n, 0)
    rng = np.random.RandomState(seed)  # the same stream, advanced past the data draws
    rng.choice(2**32, n)
    rng.choice(n, n, replace=False)
    x, y = torch.tensor(inputs[train_id]), torch.tensor(labels[train_id])
    mask = torch.ones(n, 2, dtype=torch.float64)
    mask[: int(n * (1 - p2)), 1] = 0.0
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(32, 50, dtype=torch.float64), torch.nn.ReLU(), torch.nn.Linear(50, 2, dtype=torch.float64)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
    out = []
    for _ in range(steps):
        tid = rng.choice(n, n, replace=False)
        rng.choice(n, n, replace=False)
        loss = torch.mean((net(x[tid]) - y[tid]) ** 2 * mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            acc = ((net(x) > 0.5) == y).double().mean(dim=0)
        out.append((math.sqrt(float(loss.detach())), float(acc[0]), float(acc[1])))
    return np.array(out)


def test_seed4_replay_equals_plain_fit_and_the_notebooks_early_print(global_numpy_stream):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the plain fit runs outside train(), which sets its own threads
    try:
        _check_seed4_early()
    finally:
        torch.set_num_threads(before)


def _check_seed4_early():
    cfg = domino.DominoConfig(p2_values=(0.05,), seeds=(4,), steps=40, fit_p2=(0.05,), threads=1)
    rec = domino.train_p2(cfg, 0.05)
    ref = plain_notebook_fit(4, 0.05, 10_000, 40)
    ours = np.stack([np.sqrt(rec.objective[0]), rec.accuracy[0, 1:, 0], rec.accuracy[0, 1:, 1]], axis=1)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    # the notebook's first printed bar: "train_loss: 3.66e-01 | train_acc1: 5.20e-01 | train_acc2: 4.96e-01"
    assert domino.display(rec, 0, 32) == domino.display(rec, 0, 33) == "3.66e-01 | 5.20e-01 | 4.96e-01"
    assert domino.display(rec, 0, 31) != "3.66e-01 | 5.20e-01 | 4.96e-01"
    check = domino.notebook_check(cfg, 0.05, rec)
    assert check["early_iterations"] == [32, 33] and check["early_agrees"] and check["final_ours"] is None
    # another seed or p2 is not the notebook's run: no check
    assert domino.notebook_check(cfg, 0.1, rec) is None


@pytest.mark.slow
def test_seed4_full_run_prints_the_notebooks_final_numbers():
    cfg = domino.DominoConfig(p2_values=(0.05,), seeds=(4,), fit_p2=(0.05,), threads=1)
    rec = domino.train_p2(cfg, 0.05)
    # the notebook's last bar: "train_loss: 1.02e-02 | train_acc1: 1.00e+00 | train_acc2: 1.00e+00"
    assert domino.display(rec, 0, 999) == "1.02e-02 | 1.00e+00 | 1.00e+00"
    check = domino.notebook_check(cfg, 0.05, rec)
    assert check["agrees"] and check["early_iterations"] == [32, 33]


def _problem(seed: int = 0, n: int = 30):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(2, n, 5, generator=gen, dtype=torch.float64)
    y = torch.rand(2, n, 2, generator=gen, dtype=torch.float64)
    w = (torch.rand(2, n, 2, generator=gen, dtype=torch.float64) > 0.3).to(torch.float64)
    params = init_mlp([5, 7, 2], seed_generators([1, 2]), dtype=torch.float64)
    return params, x, y, w


def test_constant_weight_schedule_is_the_fixed_weights_bit_for_bit():
    settings = TrainSettings(25, lr=1e-2, threads=1)
    params, x, y, w = _problem()
    fixed = train(params, lambda p: mlp_forward(p, x), y, w, settings, seeds=[1, 2])
    params2, *_ = _problem()
    calls = []

    def schedule(t):
        calls.append(t)
        return w.clone()

    sched = train(params2, lambda p: mlp_forward(p, x), y, w, settings, seeds=[1, 2], weight_schedule=schedule)
    assert calls == list(range(25))  # once per update, in order
    np.testing.assert_array_equal(sched.loss, fixed.loss)
    np.testing.assert_array_equal(sched.accuracy, fixed.accuracy)
    np.testing.assert_array_equal(sched.objective, fixed.objective)
    for a, b in zip(params, params2):
        assert torch.equal(a, b)


def test_objective_is_each_replicas_loss_before_its_update():
    settings = TrainSettings(6, lr=1e-2, threads=1)
    params, x, y, w = _problem(3)
    start = [p.detach().clone() for p in params]
    rec = train(params, lambda p: mlp_forward(p, x), y, w, settings, seeds=[1, 2])
    assert rec.objective.shape == (2, 6)
    first = ((mlp_forward(start, x) - y) ** 2 * w).sum(dim=(1, 2)) / x.shape[1]
    np.testing.assert_allclose(rec.objective[:, 0], first.detach().numpy(), rtol=1e-13)


def test_a_schedule_of_the_wrong_shape_is_refused():
    params, x, y, w = _problem()
    with pytest.raises(ValueError, match="weight_schedule"):
        train(
            params,
            lambda p: mlp_forward(p, x),
            y,
            w,
            TrainSettings(3, threads=1),
            seeds=[1, 2],
            weight_schedule=lambda t: w[:, :, :1],
        )


def test_schedule_changes_the_labelled_samples_per_step():
    """A schedule that moves the label from one half of the samples to the other each step trains
    differently from either fixed half (the option is live, not ignored)."""
    settings = TrainSettings(10, lr=1e-2, threads=1)
    params, x, y, _ = _problem(5)
    halves = [torch.zeros_like(y), torch.zeros_like(y)]
    halves[0][:, :15] = 1.0
    halves[1][:, 15:] = 1.0
    runs = []
    for sched in (None, lambda t: halves[t % 2]):
        p = [q.detach().clone().requires_grad_(True) for q in params]
        runs.append(train(p, lambda q: mlp_forward(q, x), y, halves[0], settings, seeds=[1, 2], weight_schedule=sched))
    # the recorded loss (over the fixed weights' samples) moves differently once the labels alternate
    np.testing.assert_array_equal(runs[0].loss[:, :2], runs[1].loss[:, :2])  # the same first update
    assert np.abs(runs[0].loss[:, 2:] - runs[1].loss[:, 2:]).max() > 1e-6
