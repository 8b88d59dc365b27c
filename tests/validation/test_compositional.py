"""The compositional-parity experiment against the paper's notebooks (Fig 2 top, Case 2; Fig 16).

The notebook's construction is written out here as the notebook does it (binary strings, sums mod
2, set differences, nn.Linear and torch.optim.Adam), independently of validation.compositional,
and compared with what the experiment trains on and how it trains.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.cli import main  # noqa: E402
from skillode.validation import _train, compositional  # noqa: E402
from skillode.validation._common import fmt  # noqa: E402
from skillode.validation.compositional import CompositionalConfig  # noqa: E402

NOTEBOOK_BITS = {"compositional": [0, 1, 2, 3], "independent": [4, 5, 6, 7]}


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch):
    """One torch thread where a config leaves threads automatic (a busy 2-core machine; see test_validation)."""
    monkeypatch.setattr(_train, "AUTO_MAX_THREADS", 1)


def notebook_dataset(seed: int, condition: str, train_num: int = 10000):
    """The notebook's cell, line by line: inputs, labels, train_id, test_id (numpy, float64)."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        n = 32
        ids = np.random.choice(2**n, train_num)
        rows = []
        for i in ids:
            string = f"{i:b}"  # the notebook's "{0:b}".format(i)
            sample = [int(string[j]) for j in range(len(string))]
            sample = (n - len(sample)) * [0] + sample
            rows.append(sample)
        inputs = np.array(rows).astype(np.float64)
        label3 = np.sum(inputs[:, NOTEBOOK_BITS[condition]], axis=1)[:, None] % 2
        label2 = np.sum(inputs[:, [0, 1]], axis=1)[:, None] % 2
        label1 = np.sum(inputs[:, [2, 3]], axis=1)[:, None] % 2
        labels = np.concatenate([label1, label2, label3], axis=1)
        num = inputs.shape[0]
        train_id = np.random.choice(num, int(num * 0.8), replace=False)
        test_id = list(set(range(num)) - set(train_id))
    finally:
        np.random.set_state(state)
    return ids, inputs, labels, train_id, test_id


@pytest.mark.parametrize(("seed", "condition"), [(1, "compositional"), (1, "independent"), (7, "compositional")])
def test_data_is_the_notebooks(seed, condition):
    ids, inputs, labels, train_id, test_id = notebook_dataset(seed, condition)
    d = compositional.make_data(seed, condition)
    np.testing.assert_array_equal(d.integers, ids)
    np.testing.assert_array_equal(d.inputs, inputs)
    np.testing.assert_array_equal(d.labels, labels)
    np.testing.assert_array_equal(d.train_id, train_id)
    np.testing.assert_array_equal(d.test_id, sorted(test_id))
    assert d.inputs.dtype == np.float64 and set(np.unique(d.inputs)) == {0.0, 1.0}
    assert d.train_id.size == 8000 and d.test_id.size == 2000
    assert compositional.task_names(condition)[2] == "^".join(f"x{b + 1}" for b in NOTEBOOK_BITS[condition])


def test_training_is_the_notebooks():
    # the notebook's MLP (nn.Linear after torch.manual_seed(seed), float64) and its loop: full-batch
    # Adam on torch.mean((f - y)^2), accuracy (f > 0.5) == y per output, on the training set
    seed, n, steps = 3, 500, 4
    cfg = CompositionalConfig(seeds=(seed,), n_samples=n, steps=steps, control_steps=steps, threads=1)
    rec = compositional.train_condition(cfg, "compositional")
    _, inputs, labels, train_id, _ = notebook_dataset(seed, "compositional", n)
    x, y = torch.tensor(inputs[train_id]), torch.tensor(labels[train_id])
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(32, 50, dtype=torch.float64), torch.nn.ReLU(), torch.nn.Linear(50, 3, dtype=torch.float64)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
    for step in range(steps + 1):
        pred = net(x)
        with torch.no_grad():
            np.testing.assert_allclose(rec.loss[0, step], ((pred - y) ** 2).mean(dim=0).numpy(), rtol=1e-10)
            acc = ((pred > 0.5) == y).double().mean(dim=0).numpy()
            np.testing.assert_array_equal(rec.accuracy[0, step], acc)
        loss = torch.mean((pred - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_batched_seeds_equal_each_seed_alone():
    cfg = CompositionalConfig(seeds=(1, 2, 3), n_samples=400, steps=60, control_steps=60, threads=1)
    n_train = int(cfg.n_samples * cfg.train_fraction)
    assert len(_train.seed_groups(3, n_train * cfg.hidden)) == 1  # all three in one batch
    batched = compositional.train_condition(cfg, "compositional")
    for i, seed in enumerate(cfg.seeds):
        alone = compositional.train_condition(
            CompositionalConfig(seeds=(seed,), n_samples=400, steps=60, control_steps=60, threads=1), "compositional"
        )
        np.testing.assert_allclose(batched.loss[i], alone.loss[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(batched.test_loss[i], alone.test_loss[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(batched.accuracy[i], alone.accuracy[0])
    assert np.abs(batched.loss[0] - batched.loss[1]).max() > 1e-3  # genuinely different seeds


def test_conditions_of_a_seed_share_inputs_split_and_weights():
    cfg = CompositionalConfig(seeds=(1, 2), n_samples=300, steps=1, control_steps=1, threads=1)
    comp, ind = (compositional.train_condition(cfg, c) for c in ("compositional", "independent"))
    np.testing.assert_array_equal(comp.loss[:, 0, :2], ind.loss[:, 0, :2])
    np.testing.assert_array_equal(comp.test_loss[:, 0, :2], ind.test_loss[:, 0, :2])
    assert np.all(comp.loss[:, 0, 2] != ind.loss[:, 0, 2])  # the third targets differ


def loop_times(steps: int, fractions=(0.9, 0.1)) -> dict:
    """The notebook's Fig 16 (top) theory cell as a plain loop: first step each l reaches each fraction."""
    prob = [1 / 3, 1 / 3, 1 / 3]
    ell = np.ones(3)
    lr = 1e-2 * np.sqrt(7 * 50 / 600)
    first = {f: [np.nan] * 3 for f in fractions}
    for i in range(steps):
        c = np.ones(3)
        alpha = 0.01
        c[2] = (1 - ell[0] ** alpha) * (1 - ell[1] ** alpha)
        fg = c * prob * ell
        ell = np.maximum(ell - lr * fg / (np.sum(fg) + 0.01), 0.0)
        for f in fractions:
            for k in range(3):
                if np.isnan(first[f][k]) and ell[k] <= f:
                    first[f][k] = i + 1.0  # ls[i] is l after i + 1 steps
    return first


def test_paper_model_times_agree_with_a_plain_loop_of_the_notebooks_map():
    cfg = CompositionalConfig(steps=1000, control_steps=1000)
    _, metrics = compositional.paper_models(cfg)
    loop = loop_times(4 * cfg.steps)
    np.testing.assert_array_equal(metrics["compositional"]["onset"], loop[cfg.onset_fraction])
    np.testing.assert_array_equal(metrics["compositional"]["loss_time"], loop[cfg.loss_fraction])
    # the paper's picture: the parts near 250-300, the composite near twice that
    parts, composite = loop[0.1][0], loop[0.1][2]
    assert 200 < parts < 300 and 500 < composite < 650 and loop[0.1][1] == parts
    # the control model before its frequency switch is the plain Resource model p = (1/3, 1/3, 0.0045)
    import skillode as sk

    ctrl = compositional.paper_control_curves(3000)
    switch = int(np.argmax(ctrl.loss[:, 2] <= 0.5))
    plain = sk.ResourceModel([1 / 3, 1 / 3, 0.0045], compositional.CONTROL_ETA, compositional.CONTROL_N0)
    ref = sk.solve(plain, times=np.arange(switch + 2.0), method="map").curves.loss
    # up to the first state with l_D <= 0.5 the two agree; the next step uses the higher frequency
    np.testing.assert_allclose(ctrl.loss[: switch + 1], ref[: switch + 1], rtol=0, atol=1e-14)
    assert ctrl.loss[switch + 1, 2] < ref[switch + 1, 2] - 1e-4
    assert 0 < switch < 3000 and ctrl.loss[-1, 2] < 0.1  # it switches, then learns


def test_claim_check_states_the_verdict_and_its_size():
    learned = np.array([[300.0, 290.0, 610.0], [310.0, 305.0, 590.0], [295.0, 300.0, 620.0]])
    c = compositional.claim_check(learned)
    assert c["reproduced"] and c["composite_after_parts"] == 3
    assert c["medians"] == [300.0, 300.0, 610.0]
    assert c["relative_difference"][2] == pytest.approx(10 / 600)
    late = compositional.claim_check(learned * np.array([1.0, 1.0, 1.5]))
    assert not late["reproduced"] and late["relative_difference"][2] == pytest.approx(315 / 600)
    unordered = learned.copy()
    unordered[0, 2] = 250.0  # one seed learns the composite before a part
    assert not compositional.claim_check(unordered)["reproduced"]
    unlearned = learned.copy()
    unlearned[1, 2] = np.nan
    assert not compositional.claim_check(unlearned)["reproduced"]


def test_quick_run_writes_its_section_and_plot(tmp_path):
    out = tmp_path / "q"
    assert main(["validate", "compositional", "--quick", "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    metrics = json.loads((out / "metrics.json").read_text())["compositional"]
    m = metrics["metrics"]
    png = out / "compositional_curves.png"
    assert png.exists() and png.stat().st_size > 5000 and "](compositional_curves.png)" in text
    assert "`compositional`" in text and "**The paper's claim**" in text
    assert ("**reproduced**" in text) == m["claim"]["reproduced"]
    assert metrics["config"]["seeds"] == list(compositional.QUICK.seeds)
    # the report's paper-model columns are the plain loop's times
    loop = loop_times(4 * compositional.QUICK.steps)
    for k, name in enumerate(compositional.task_names("compositional")):
        cell = f"{fmt(loop[0.1][k])}, {fmt(loop[0.9][k])}"
        assert any(line.startswith(f"| compositional | {name} |") and cell in line for line in text.splitlines())
    # the fit says which parameters it fitted and whether the data determined them
    chosen = m["fit"]["chosen"]
    assert chosen is not None and "identified" in chosen
    assert chosen["gate_exponent"] in compositional.QUICK.gate_exponents
    assert ("not identified" in text) == bool(m["fit"]["profile_n0_fixed"])
    assert m["fit"]["ungated"]["rss"] > chosen["rss"]  # the gate is what lets the composite wait
    for name in ("measured_compositional", "paper_model_compositional", "paper_model_independent"):
        assert (out / f"curves_compositional_{name}.npz").exists()
