"""Grokking (validation.grokking, the paper's Fig 13): data split, the notebook's initial state, the quick run.

References: the notebook's own construction (numpy's global legacy RNG, np.meshgrid, nn.Linear layers
built after torch.manual_seed(0) in float64), its printed log, and the numbers quoted in issue #13.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.cli import main  # noqa: E402
from skillode.validation import GrokkingConfig, _train, grokking  # noqa: E402


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch):
    """As in test_validation.py: one torch thread where a config leaves threads automatic (a second
    OpenMP thread spin-waits on a shared 2-core machine)."""
    monkeypatch.setattr(_train, "AUTO_MAX_THREADS", 1)


# ------------------------------------------------------------------------------------ data
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_is_the_notebooks_draw(seed):
    """int(59^2 * 0.8) = 2784 train pairs, 697 test, disjoint, covering all pairs, equal to the notebook's
    np.random.seed(seed); np.random.choice(p**2, train_num, replace=False) (numpy's global legacy RNG)."""
    p = 59
    train_idx, test_idx = grokking.make_split(p, 0.8, seed)
    assert len(train_idx) == 2784 == int(p**2 * 0.8) and len(test_idx) == 697
    assert len(set(train_idx.tolist()) | set(test_idx.tolist())) == p * p
    assert not set(train_idx.tolist()) & set(test_idx.tolist())
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        reference = np.random.choice(p**2, 2784, replace=False)
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(train_idx, reference)
    again_train, again_test = grokking.make_split(p, 0.8, seed)
    np.testing.assert_array_equal(again_train, train_idx)
    np.testing.assert_array_equal(again_test, test_idx)


def test_splits_differ_between_seeds_and_pairs_follow_the_meshgrid_order():
    a0, _ = grokking.make_split(59, 0.8, 0)
    a1, _ = grokking.make_split(59, 0.8, 1)
    assert len(set(a0.tolist()) ^ set(a1.tolist())) > 500
    x = np.arange(59)
    xx, yy = np.meshgrid(x, x)
    data_id = np.transpose([xx.reshape(-1), yy.reshape(-1)])  # the notebook's pair list
    a, b = grokking.all_pairs(59)
    np.testing.assert_array_equal(np.stack([a, b], axis=1), data_id)


def test_config_checks_and_runs():
    cfg = GrokkingConfig()
    assert cfg.n_train == 2784
    assert cfg.runs == (("signgd", 0.0), ("signgd", 0.03), ("adam", 0.0), ("adam", 0.03))
    s = cfg.settings("signgd", 0.03)
    assert (s.optimizer, s.resolved_betas, s.weight_decay, s.eps, s.lr, s.loss) == (
        "signgd",
        (0.0, 0.0),
        0.03,
        1e-8,
        0.01,
        "ce",
    )
    a = cfg.settings("adam", 0.0)
    assert (a.optimizer, a.resolved_betas, a.weight_decay) == ("adamw", (0.9, 0.999), 0.0)
    for bad, word in [
        (dict(optimizers=("lion",)), "optimizers"),
        (dict(train_fraction=1.0), "train_fraction"),
        (dict(weight_decays=()), "weight_decays"),
        (dict(seeds=()), "seeds"),
        (dict(dtype="float16"), "dtype"),
        (dict(weight_decays=(-1.0,)), "weight_decay"),
        (dict(seeds=(2**32,)), "seeds"),
    ]:
        with pytest.raises(ValueError, match=word):
            GrokkingConfig(**bad)


def test_paper_numbers_are_the_ones_issue_13_quotes():
    """The notebook's log, read by paper_times, gives the issue's single-seed table: SignGD wd 0.03 reaches
    99% test at 1600, Adam wd 0.03 at 3600; without weight decay SignGD ends near 91%, Adam near chance."""
    assert grokking.paper_times("signgd", 0.03)["test_99"] == 1600
    assert grokking.paper_times("adam", 0.03)["test_99"] == 3600
    assert grokking.paper_times("signgd", 0.0)["final_test_accuracy"] == pytest.approx(0.915)
    assert math.isnan(grokking.paper_times("signgd", 0.0)["test_99"])
    adam0 = grokking.paper_times("adam", 0.0)
    assert adam0["final_test_accuracy"] < 0.05 and math.isnan(adam0["test_90"])
    for acc in grokking.PAPER_LOG_TEST_ACCURACY.values():
        assert len(acc) == len(grokking.PAPER_LOG_STEPS) == 51


# ---------------------------------------------------------------------- the notebook's run
def test_seed0_starts_from_the_notebooks_state():
    """Seed 0's step-0 record equals the notebook's model evaluated by hand: nn.Linear layers and the
    N(0, 1) embedding built after torch.manual_seed(0) in float64, inputs cat(E_a, E_b), SiLU (1e-12);
    and the values its log prints (4.08, 0.0205, 0.0201 at 3 digits)."""
    cfg = GrokkingConfig(steps=1, seeds=(0,), optimizers=("signgd",), weight_decays=(0.03,), threads=1)
    rec, _ = grokking.train_run(cfg, "signgd", 0.03)
    old, state = torch.get_default_dtype(), torch.random.get_rng_state()
    try:
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(0)
        layers = [torch.nn.Linear(a, b) for a, b in [(256, 100), (100, 100), (100, 59)]]
        emb = torch.normal(0, 1, size=(59, 128))
    finally:
        torch.set_default_dtype(old)
        torch.random.set_rng_state(state)
    x = np.arange(59)
    xx, yy = np.meshgrid(x, x)
    data_id = np.transpose([xx.reshape(-1), yy.reshape(-1)])
    labels = torch.tensor((data_id[:, 0] + data_id[:, 1]) % 59)
    np_state = np.random.get_state()
    try:
        np.random.seed(0)
        train_id = np.random.choice(59**2, 2784, replace=False)
    finally:
        np.random.set_state(np_state)
    test_id = np.array(sorted(set(range(59**2)) - set(train_id.tolist())))

    def evaluate(ids):
        h = torch.cat([emb[data_id[ids][:, 0]], emb[data_id[ids][:, 1]]], dim=1)
        for i, lin in enumerate(layers):
            h = lin(h)
            if i < 2:
                h = torch.nn.functional.silu(h)
        with torch.no_grad():
            right = (h.argmax(1) == labels[ids]).double().mean().item()
            return torch.nn.CrossEntropyLoss()(h, labels[ids]).item(), right

    loss, acc = evaluate(train_id)
    test_loss, test_acc = evaluate(test_id)
    assert rec.loss[0, 0, 0] == pytest.approx(loss, abs=1e-12)
    assert rec.accuracy[0, 0, 0] == acc == 57 / 2784
    assert rec.test_loss[0, 0, 0] == pytest.approx(test_loss, abs=1e-12)
    assert rec.test_accuracy[0, 0, 0] == test_acc == 14 / 697
    assert round(loss, 2) == grokking.PAPER_STEP0["train_loss"]
    assert round(acc, 4) == grokking.PAPER_STEP0["train_accuracy"]
    assert round(test_acc, 4) == grokking.PAPER_STEP0["test_accuracy"]


def test_quick_run_through_the_cli_writes_its_section_and_plot(tmp_path):
    """`skillode validate grokking --quick`: report section, plot, metrics. Against the notebook's log:
    SignGD (wd 0.03) passes 90% test accuracy within the quick run (the log: between steps 200 and 400),
    Adam stays near chance (log: 0.026 at step 400) and tracks the log within 0.02 at every logged step
    (Adam's moments damp round-off; SignGD's trajectory is only required to generalise first)."""
    out = tmp_path / "val"
    assert main(["validate", "grokking", "--quick", "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "`grokking`" in text and "](grokking_accuracy.png)" in text
    assert "| SignGD, wd 0.03 |" in text and "| Adam, wd 0.03 |" in text
    assert "consistent with the paper so far" in text
    fig = out / "grokking_accuracy.png"
    assert fig.exists() and fig.stat().st_size > 5000
    # the paper-vs-skillode table: SignGD wd 0.03's 90% crossing is the one level a 500-step run can test
    claims = json.loads((out / "reproduction.json").read_text())
    rows = {c["quantity"]: c["verdict"] for c in claims if c["experiment"] == "grokking"}
    assert rows["SignGD, weight decay 0.03: steps to 90% test accuracy"] == "reproduced"
    assert rows["Adam, weight decay 0.03: steps to 99% test accuracy"] == "untested"
    assert "## Paper vs skillode" in text and "| Fig 13 |" in (out / "reproduction.md").read_text()
    m = json.loads((out / "metrics.json").read_text())["grokking"]["metrics"]
    q = grokking.QUICK
    assert set(m["runs"]) == {"signgd_wd0.03", "adam_wd0.03"}
    sign, adam = m["runs"]["signgd_wd0.03"], m["runs"]["adam_wd0.03"]
    # the notebook's initial state (exact: same draws), so the same step-0 train loss in both runs
    assert m["step0"]["train_accuracy"] == [57 / 2784]
    assert sign["seed0_vs_paper_log"]["step0"]["train_loss"] == pytest.approx(4.0801005, abs=1e-6)
    # SignGD: 100% train and >= 90% test within the quick run; the log crosses 90% in (200, 400]
    t90 = sign["ours"]["per_seed"]["test_90"][0]
    assert sign["ours"]["per_seed"]["train_100"][0] <= q.steps
    assert 200 / grokking.TIME_FACTOR <= t90 <= 400 * grokking.TIME_FACTOR
    # Adam: fits the training set early but has not left chance (1/59) on the test set
    assert adam["ours"]["per_seed"]["train_100"][0] <= 200
    assert adam["ours"]["per_seed"]["final_test_accuracy"][0] < 0.1
    log = adam["seed0_vs_paper_log"]
    assert log["steps"] == list(range(0, q.steps + 1, 200))
    assert log["max_abs_difference"] <= 0.02
    assert m["ordering"]["wd0.03_test_90_signgd_first_per_seed"] == [True]
    assert m["reproduces"] is True
    assert m["network_steps_per_second"] > 0 and m["full_run_network_steps"] == 120_000
    with np.load(out / "arrays_grokking.npz") as arrays:
        assert arrays["signgd_wd0.03/test_accuracy"].shape == (1, q.steps + 1)


def test_all_leaves_grokking_out_and_naming_it_selects_it():
    from skillode.validation import resolve_names

    assert "grokking" not in resolve_names("all")
    assert resolve_names(["all", "grokking"])[-1] == "grokking"
    assert resolve_names("grokking") == ["grokking"]


def test_summarize_rejects_records_of_another_config():
    cfg = GrokkingConfig(steps=3, seeds=(0,), optimizers=("signgd",), weight_decays=(0.03,))
    z = np.zeros((2, 4, 1))
    rec = _train.TrainRecord(z, z, (0, 1), 1.0, z, z, 1, 1.0)
    with pytest.raises(ValueError, match="seeds"):
        grokking.summarize(cfg, {"signgd_wd0.03": rec})


def _records_from_the_log(cfg, change=None):
    """Full-length TrainRecords whose test accuracy is the notebook's log held for 200 steps, for every seed."""
    records = {}
    for opt, wd in cfg.runs:
        acc = np.repeat(np.asarray(grokking.PAPER_LOG_TEST_ACCURACY[(opt, wd)]), 200)[: cfg.steps + 1]
        if change and (opt, wd) in change:
            acc = change[(opt, wd)](acc)
        train_acc = np.where(np.arange(cfg.steps + 1) >= grokking.PAPER_TRAIN_100[(opt, wd)], 1.0, 0.5)
        n = len(cfg.seeds)
        test = np.tile(acc, (n, 1))[..., None]
        train = np.tile(train_acc, (n, 1))[..., None]
        loss = np.ones_like(test)
        records[grokking.run_label(opt, wd)] = _train.TrainRecord(
            loss, train, tuple(cfg.seeds), 10.0, loss, test, 1, 8.0
        )
    return records


def test_the_notebooks_own_log_reproduces_the_paper_and_a_changed_one_does_not(tmp_path):
    """summarize + the report on the full configuration, fed the notebook's log itself as every seed's run:
    every verdict must say it reproduces (an independent check of the criteria); an Adam without weight decay
    that generalises (final 0.9) must not; and the section and the plot are written."""
    cfg = GrokkingConfig(steps=10_000, seeds=(0, 1, 2))
    res = grokking.summarize(cfg, _records_from_the_log(cfg))
    m = res.metrics
    assert m["reproduces"] is True
    for label, r in m["runs"].items():
        assert r["verdict"]["reproduces"] is True, label
        paper = grokking.paper_times(r["optimizer"], r["weight_decay"])
        for key in ("test_90", "test_99"):
            med = r["ours"][key]["median"]
            assert (math.isnan(med) and math.isnan(paper[key])) or med == paper[key]
    assert m["ordering"] == {
        "wd0.03_test_90_signgd_first_per_seed": [True, True, True],
        "wd0.03_test_99_signgd_first_per_seed": [True, True, True],
    }
    assert m["network_steps_per_cpu_second"] == pytest.approx(4 * 3 * 10_000 / (4 * 8.0))
    assert "**Reproduces the paper: yes.**" in res.markdown
    assert "| SignGD, wd 0 | <= 600 / 600 [600, 600] | 600 / 600 [600, 600] | never / never (0/3) |" in res.markdown
    assert grokking.plot(res, tmp_path)[0].stat().st_size > 5000

    def generalise(acc):
        return np.where(np.arange(acc.size) > 5000, 0.9, acc)

    bad = grokking.summarize(cfg, _records_from_the_log(cfg, {("adam", 0.0): generalise}))
    assert bad.metrics["runs"]["adam_wd0"]["verdict"]["items"] == {
        "test_90": False,
        "test_99": True,
        "final_test_accuracy": False,
    }
    assert bad.metrics["reproduces"] is False and "**Reproduces the paper: no.**" in bad.markdown


def test_verdict_logic_on_made_up_runs():
    cfg = GrokkingConfig(steps=10_000, seeds=(0, 1, 2))

    def run(t90, t99, final):
        spread = grokking._spread
        return {
            "paper": grokking.paper_times("signgd", 0.03),
            "ours": {
                "test_90": spread(np.array(t90, dtype=float)),
                "test_99": spread(np.array(t99, dtype=float)),
                "final_test_accuracy": spread(np.array(final)),
            },
        }

    good = grokking._verdict(cfg, run([300, 400, 500], [1200, 1600, 2000], [1.0, 1.0, 1.0]))
    assert good["reproduces"] is True
    slow = grokking._verdict(cfg, run([300, 400, 500], [3000, 3500, 4000], [1.0, 1.0, 1.0]))
    assert slow["reproduces"] is False and slow["items"]["test_99"] is False
    missing = grokking._verdict(cfg, run([300, 400, 500], [1500, np.nan, 1600], [1.0, 0.98, 1.0]))
    assert missing["items"]["test_99"] is False
    short = grokking._verdict(GrokkingConfig(steps=500), run([400], [np.nan], [0.95]))
    assert short["items"] == {"test_90": True, "test_99": None, "final_test_accuracy": None}


@pytest.mark.slow
def test_longer_run_signgd_groks_before_adam():
    """Seed 0, weight decay 0.03, 4500 steps (~10 min on one core): both reach 99% test accuracy, SignGD
    first (the notebook: 1600 vs 3600), each within a factor 1.5 of the notebook's step."""
    cfg = GrokkingConfig(steps=4500, seeds=(0,), weight_decays=(0.03,))
    res = grokking.run(cfg)
    runs = res.metrics["runs"]
    t_sign = runs["signgd_wd0.03"]["ours"]["per_seed"]["test_99"][0]
    t_adam = runs["adam_wd0.03"]["ours"]["per_seed"]["test_99"][0]
    assert t_sign < t_adam
    assert 1600 / 1.5 <= t_sign <= 1600 * 1.5 and 3600 / 1.5 <= t_adam <= 3600 * 1.5
