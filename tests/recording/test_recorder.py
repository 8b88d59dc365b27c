"""skillode.torch: SkillRecorder means, frequencies and accuracy against a numpy reference, its
policies and errors, evaluate(), and a plain torch training loop ending in SkillCurves (CPU)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import skillode as sk  # noqa: E402
from skillode.torch import SkillRecorder, evaluate  # noqa: E402

# the recorder sums float32 inputs in float64; the reference does the same sums in numpy float64
RTOL = 1e-12


def _random_run(seed: int, n_skills: int, steps: int, batches_per_step: int = 2, batch: int = 64):
    """Random per-example losses, ids and correct flags, and the numpy reference means per step."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n_skills)) * 0.5 + 0.5 / n_skills  # every skill likely at every step
    records, loss_ref, acc_ref, counts = [], [], [], np.zeros(n_skills)
    for step in range(steps):
        ls, ids, cs = [], [], []
        for _ in range(batches_per_step):
            ls.append(rng.exponential(1.0, batch).astype(np.float32))
            ids.append(rng.choice(n_skills, batch, p=p))
            cs.append(rng.random(batch) < 0.7)
            records.append((step * 10, ls[-1], ids[-1], cs[-1]))
        l, i, c = np.concatenate(ls).astype(np.float64), np.concatenate(ids), np.concatenate(cs)
        loss_ref.append([l[i == k].mean() for k in range(n_skills)])
        acc_ref.append([c[i == k].mean() for k in range(n_skills)])
        counts += np.bincount(i, minlength=n_skills)
    return records, np.array(loss_ref), np.array(acc_ref), counts / counts.sum()


@pytest.mark.parametrize("buffer_steps", [1, 3, 1024])
def test_means_accuracy_and_frequencies_match_numpy(buffer_steps):
    records, loss_ref, acc_ref, freq_ref = _random_run(0, 4, 12)
    rec = SkillRecorder(["a", "b", "c", "d"], track_accuracy=True, buffer_steps=buffer_steps)
    for step, l, i, c in records:
        rec.record(step, torch.from_numpy(l), torch.from_numpy(i), torch.from_numpy(c))
    assert rec.n_steps == 12
    curves = rec.curves()
    assert isinstance(curves, sk.SkillCurves) and curves.names == ("a", "b", "c", "d")
    np.testing.assert_array_equal(curves.times, np.arange(12) * 10.0)
    np.testing.assert_allclose(curves.loss, loss_ref, rtol=RTOL)
    np.testing.assert_allclose(curves.frequencies, freq_ref, rtol=RTOL)
    acc = rec.curves("accuracy")
    np.testing.assert_allclose(acc.loss, acc_ref, rtol=RTOL)
    assert acc.metadata["quantity"] == {"observed": "accuracy"} and curves.metadata["quantity"] == {"observed": "loss"}
    assert curves.metadata["n_examples"] == 12 * 2 * 64 and curves.metadata["n_dropped_steps"] == 0
    # the accuracy curves map to loss-equivalents with the fitting's to_loss
    np.testing.assert_allclose(sk.to_loss(acc, "accuracy").loss, 1 - acc_ref, rtol=1e-12)
    json.dumps(curves.metadata)


def test_number_of_skills_inputs_of_any_kind_and_explicit_device():
    rec = SkillRecorder(2, device="cpu")
    assert rec.names == ("skill1", "skill2") and rec.device == torch.device("cpu")
    w = torch.ones(3, requires_grad=True)
    losses = w * torch.tensor([1.0, 2.0, 3.0])  # part of a graph: detached inside
    rec.record(0, losses, np.array([0, 1, 1], dtype=np.int32))
    rec.record(np.int64(1), [4.0, 5.0], [1, 0])
    rec.record(2.5, torch.tensor([1.0, 3.0], dtype=torch.float16), torch.tensor([0, 1], dtype=torch.int16))
    curves = rec.curves()
    np.testing.assert_allclose(curves.loss, [[1.0, 2.5], [5.0, 4.0], [1.0, 3.0]])
    np.testing.assert_allclose(curves.times, [0.0, 1.0, 2.5])
    assert w.grad is None and not curves.loss.flags.writeable


def test_same_step_adds_up_also_across_a_flush_by_curves():
    rec = SkillRecorder(2)
    rec.record(0, torch.tensor([1.0]), torch.tensor([0]))
    rec.record(0, torch.tensor([3.0, 6.0]), torch.tensor([0, 1]))
    first = rec.curves()
    np.testing.assert_allclose(first.loss, [[2.0, 6.0]])
    rec.record(0, torch.tensor([2.0]), torch.tensor([1]))  # step 0 continues after curves()
    rec.record(1, torch.tensor([1.0, 1.0]), torch.tensor([0, 1]))
    np.testing.assert_allclose(rec.curves().loss, [[2.0, 4.0], [1.0, 1.0]])
    assert first.loss[0, 1] == 6.0  # an earlier result is not changed
    rec.reset()
    assert rec.n_steps == 0


def test_record_does_not_read_back_from_the_device(monkeypatch):
    rec = SkillRecorder(3, track_accuracy=True, nan_policy="skip", buffer_steps=64)
    rec.record(0, torch.rand(8), torch.randint(0, 3, (8,)), torch.rand(8) < 0.5)  # allocates the buffer

    def forbidden(*args, **kwargs):
        raise AssertionError("record() synchronised with the device")

    for name in ("item", "tolist", "numpy", "cpu", "__bool__", "__int__", "__float__"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    monkeypatch.setattr(SkillRecorder, "_flush", forbidden)
    for step in range(1, 40):
        rec.record(step, torch.rand(16), torch.randint(0, 3, (16,)), torch.rand(16) < 0.5)
    monkeypatch.undo()
    assert rec.curves().n_times == 40


# ------------------------------------------------------------------------- policies
def test_non_finite_loss_is_refused_naming_step_and_skill():
    rec = SkillRecorder(["easy", "hard"], buffer_steps=2)
    rec.record(0, torch.tensor([1.0, 1.0]), torch.tensor([0, 1]))
    rec.record(1, torch.tensor([1.0, float("nan")]), torch.tensor([0, 1]))
    # the buffer (2 steps) is full: opening step 2 flushes it and finds the NaN of step 1
    with pytest.raises(ValueError, match=r"non-finite loss at step 1 for skill 'hard'.*nan_policy='skip'"):
        rec.record(2, torch.tensor([1.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="non-finite loss at step 1"):
        rec.curves()
    rec = SkillRecorder(2)
    rec.record(0, torch.tensor([float("inf"), 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="step 0 for skill 'skill1'"):
        rec.curves()


def test_skip_policy_leaves_non_finite_out_and_counts_it():
    rec = SkillRecorder(["a", "b"], nan_policy="skip", track_accuracy=True)
    rec.record(0, torch.tensor([1.0, float("nan"), 3.0, float("inf")]), torch.tensor([0, 0, 1, 1]), [1, 1, 0, 1])
    rec.record(1, torch.tensor([2.0, 4.0]), torch.tensor([0, 1]), [0, 1])
    curves = rec.curves()
    np.testing.assert_allclose(curves.loss, [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_allclose(rec.curves("accuracy").loss, [[1.0, 0.0], [0.0, 1.0]])  # skipped ones not counted
    assert curves.metadata["skipped_nonfinite"] == 2
    assert curves.metadata["skipped_nonfinite_per_skill"] == {"a": 1, "b": 1}
    np.testing.assert_allclose(curves.frequencies, [0.5, 0.5])  # frequencies count every example seen


def test_missing_skill_raises_or_drops_steps():
    rec = SkillRecorder(["a", "b"])
    rec.record(0, [1.0, 2.0], [0, 1])
    rec.record(1, [1.0, 1.0], [0, 0])  # no example of b
    rec.record(2, [3.0, 4.0], [0, 1])
    with pytest.raises(ValueError, match=r"skill 'b' has no example at step 1 .*missing='drop_steps'"):
        rec.curves()
    curves = rec.curves(missing="drop_steps")
    np.testing.assert_allclose(curves.times, [0.0, 2.0])
    np.testing.assert_allclose(curves.loss, [[1.0, 2.0], [3.0, 4.0]])
    assert curves.metadata["n_dropped_steps"] == 1 and curves.metadata["dropped_steps"] == [1.0]
    np.testing.assert_allclose(curves.frequencies, [4 / 6, 2 / 6])
    never = SkillRecorder(["a", "b"])
    never.record(0, [1.0], [0])
    with pytest.raises(ValueError, match=r"every recorded step misses at least one skill \(never seen: 'b'\)"):
        never.curves(missing="drop_steps")


def test_given_frequencies_and_metadata():
    rec = SkillRecorder(2, metadata={"run": "r1"})
    rec.record(0, [1.0, 2.0, 2.0], [0, 1, 1])
    curves = rec.curves(frequencies=[0.9, 0.1], metadata={"split": "eval"})
    np.testing.assert_allclose(curves.frequencies, [0.9, 0.1])
    assert curves.metadata["frequencies"] == "given" and curves.metadata["run"] == "r1"
    assert curves.metadata["split"] == "eval"
    np.testing.assert_allclose(rec.observed_frequencies(), [1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="frequencies must have 2 entries"):
        rec.curves(frequencies=[1.0])


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.record(0, torch.tensor(1.0), torch.tensor(0)), r"losses must have shape \(B,\).*reduction='none'"),
        (lambda r: r.record(0, torch.ones(2, 3), torch.zeros(2, 3, dtype=torch.long)), r"losses must have shape"),
        (lambda r: r.record(0, torch.ones(3), torch.zeros(2, dtype=torch.long)), "skill_ids must have the shape"),
        (lambda r: r.record(0, torch.ones(2), torch.zeros(2)), "skill_ids must be an integer tensor"),
        (lambda r: r.record(0, torch.ones(2), torch.zeros(2, dtype=torch.bool)), "skill_ids must be an integer"),
        (lambda r: r.record(0, torch.ones(2, dtype=torch.bool), [0, 1]), "losses must be real numbers"),
        (lambda r: r.record(torch.tensor(0), torch.ones(1), [0]), "step must be a Python or numpy number"),
        (lambda r: r.record(True, torch.ones(1), [0]), "step must be a Python or numpy number"),
        (lambda r: r.record(float("nan"), torch.ones(1), [0]), "step must be finite"),
        (lambda r: r.record(0, torch.ones(1), [0], correct=[True]), "does not track accuracy"),
        (lambda r: r.record(0, "abc", [0]), "losses must be"),
        (lambda r: r.curves(), "nothing recorded yet"),
        (lambda r: r.curves("accuracy"), "track_accuracy=True"),
        (lambda r: r.curves("perplexity"), "kind must be one of"),
        (lambda r: r.curves(missing="fill"), "missing must be one of"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call(SkillRecorder(3))


def test_more_bad_arguments():
    for bad, match in [(0, "skills must be"), ([], "at least one"), ("ab", "skills must be"), (["a", "a"], "distinct")]:
        with pytest.raises(ValueError, match=match):
            SkillRecorder(bad)
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        SkillRecorder(2, nan_policy="ignore")
    with pytest.raises(ValueError, match="buffer_steps"):
        SkillRecorder(2, buffer_steps=0)
    acc = SkillRecorder(2, track_accuracy=True)
    with pytest.raises(ValueError, match="correct is required"):
        acc.record(0, [1.0], [0])
    with pytest.raises(ValueError, match="correct must have the shape"):
        acc.record(0, [1.0], [0], [True, False])
    acc.record(0, [1.0, 1.0], [0, 1], [2.0, 1.0])  # 2 correct out of 1 example: caught on read-back
    with pytest.raises(ValueError, match=r"correct must be 0/1 .*step 0 skill 'skill1' has 2 correct out of 1"):
        acc.curves("accuracy")
    empty = SkillRecorder(2)
    empty.record(0, torch.zeros(0), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="no example recorded yet"):
        empty.observed_frequencies()
    with pytest.raises(ValueError, match="skill 'skill1' has no example at step 0"):
        empty.curves()
    rec = SkillRecorder(2)
    rec.record(5, [1.0], [0])
    with pytest.raises(ValueError, match="step must not decrease: got step 4 after step 5"):
        rec.record(4, [1.0], [0])


@pytest.mark.parametrize(("ids", "what"), [([0, 2], ">= n_skills = 2"), ([-1, 1], "below 0")])
def test_ids_out_of_range_never_reach_a_skill(ids, what):
    rec = SkillRecorder(2)
    rec.record(0, [1.0, 1.0], [0, 1])
    rec.record(7, [1.0, 1.0], ids)
    with pytest.raises(ValueError, match=rf"skill_ids out of range at step 7: 1 id\(s\) {what}"):
        rec.curves()


# ------------------------------------------------------------------------- evaluate
class _Affine(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.drop = torch.nn.Dropout(0.5)  # would change the outputs if evaluate left train mode on

    def forward(self, x):
        return self.drop(self.lin(x))


def _loaders(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    data = {
        name: (torch.randn(n, 3, generator=g), torch.randint(0, 2, (n,), generator=g))
        for name, n in (("a", 10), ("b", 7))
    }
    loaders = {
        name: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
        for name, (x, y) in data.items()
    }
    return data, loaders


def test_evaluate_records_held_out_means_in_eval_mode():
    torch.manual_seed(0)
    model = _Affine().train()
    data, loaders = _loaders()
    rec = SkillRecorder(["a", "b"], track_accuracy=True)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    for step in (0, 5):
        evaluate(model, loaders, loss_fn, step=step, recorder=rec, correct_fn=lambda out, y: out.argmax(-1) == y)
    assert model.training and all(p.grad is None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        ref = [loss_fn(model(x), y).double().mean().item() for x, y in data.values()]
        acc = [(model(x).argmax(-1) == y).double().mean().item() for x, y in data.values()]
    curves = rec.curves()
    np.testing.assert_allclose(curves.times, [0.0, 5.0])
    np.testing.assert_allclose(curves.loss, [ref, ref], rtol=1e-6)
    np.testing.assert_allclose(rec.curves("accuracy").loss, [acc, acc], rtol=1e-12)
    np.testing.assert_allclose(curves.frequencies, [10 / 17, 7 / 17])
    by_id = SkillRecorder(["a", "b"])
    evaluate(model, {0: loaders["a"], 1: loaders["b"]}, loss_fn, step=0, recorder=by_id)
    np.testing.assert_allclose(by_id.curves().loss, [ref], rtol=1e-6)


def test_evaluate_refuses_a_scalar_loss_and_other_mistakes():
    model = _Affine()
    _, loaders = _loaders()
    rec = SkillRecorder(["a", "b"])
    with pytest.raises(ValueError, match=r"loss_fn returned a scalar.*reduction='none'"):
        evaluate(model, loaders, torch.nn.CrossEntropyLoss(), step=0, recorder=rec)
    with pytest.raises(ValueError, match=r"loss_fn must return shape \(4,\).*got \(4, 2\)"):
        evaluate(model, loaders, lambda out, y: out, step=0, recorder=rec)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    with pytest.raises(ValueError, match="'c' is not one of the recorder's skills"):
        evaluate(model, {"c": loaders["a"]}, loss_fn, step=0, recorder=rec)
    with pytest.raises(ValueError, match=r"loaders_by_skill\['a'\] yielded no examples"):
        evaluate(model, {"a": []}, loss_fn, step=0, recorder=rec)
    with pytest.raises(ValueError, match=r"batch must be \(inputs, targets\), or pass unpack"):
        evaluate(model, {"a": [{"x": 1}]}, loss_fn, step=0, recorder=rec)
    with pytest.raises(ValueError, match="correct_fn is required"):
        evaluate(model, loaders, loss_fn, step=0, recorder=SkillRecorder(["a", "b"], track_accuracy=True))
    with pytest.raises(ValueError, match="non-empty dict"):
        evaluate(model, {}, loss_fn, step=0, recorder=rec)
    batches = [{"x": torch.randn(4, 3), "y": torch.zeros(4, dtype=torch.long)}]
    evaluate(model, {"a": batches, "b": batches}, loss_fn, step=0, recorder=rec, unpack=lambda b: (b["x"], b["y"]))
    assert rec.curves().n_times == 1


# --------------------------------------------------------------- a plain training loop
def test_plain_torch_loop_two_tasks_of_different_frequencies():
    """A tiny MLP learns two sparse-parity-like tasks (task bits flag the skill); the frequent one is learned first."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    n_bits, p_frequent = 8, 0.8

    def batch(n: int):
        skill = (torch.rand(n, generator=g) > p_frequent).long()  # 0: frequent, 1: rare
        bits = torch.randint(0, 2, (n, n_bits), generator=g).float()
        x = torch.cat([torch.nn.functional.one_hot(skill, 2).float(), bits], dim=1)
        y = torch.where(skill == 0, bits[:, 0], (bits[:, 1] + bits[:, 2]) % 2).long()
        return x, y, skill

    model = torch.nn.Sequential(torch.nn.Linear(n_bits + 2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rec = SkillRecorder(["frequent", "rare"], track_accuracy=True, buffer_steps=50)
    for step in range(150):
        x, y, skill = batch(128)
        out = model(x)
        per_example = torch.nn.functional.cross_entropy(out, y, reduction="none")
        per_example.mean().backward()
        opt.step()
        opt.zero_grad()
        rec.record(step, per_example, skill, correct=out.argmax(-1) == y)
    curves = rec.curves(missing="drop_steps")  # a batch of 128 may lack the rare task (p = 0.2**128: never)
    assert curves.n_times == 150 and curves.metadata["n_dropped_steps"] == 0
    assert abs(curves.frequencies[0] - p_frequent) < 0.01
    early, late = curves.loss[:10].mean(axis=0), curves.loss[-10:].mean(axis=0)
    assert np.all(late < 0.5 * early), (early, late)
    acc = rec.curves("accuracy").loss[-10:].mean(axis=0)
    assert acc[0] > 0.95 and acc[1] > 0.9, acc
    t_frequent, t_rare = curves.learning_times(0.5, relative=True)
    assert t_frequent < t_rare
    with_total = curves.total_loss()
    assert with_total.shape == (150,)


def test_importing_the_integrations_package_loads_no_framework():
    code = (
        "import sys, skillode, skillode.integrations\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightning', 'transformers'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
