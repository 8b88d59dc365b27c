"""skillode.integrations.lightning: the callback against the real Lightning on a tiny model (CPU, a few steps)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from skillode.integrations.lightning import SkillCurvesCallback  # noqa: E402
from skillode.torch import SkillRecorder  # noqa: E402

N_SKILLS = 2


def _loader(n: int, seed: int, batch_size: int = 8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    skill = (torch.rand(n, generator=g) < 0.25).long()  # skill 1 is the rare one
    skill[:2] = torch.tensor([0, 1])  # and the first batch holds both
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y, skill), batch_size=batch_size)


class Tiny(pl.LightningModule):
    def __init__(self, contract: bool = True) -> None:
        super().__init__()
        self.net = torch.nn.Linear(4, 2)
        self.contract = contract
        self.seen: list[tuple[int, np.ndarray, np.ndarray]] = []  # (global_step, losses, ids) for the reference

    def training_step(self, batch, batch_idx):
        x, y, skill = batch
        per_example = torch.nn.functional.cross_entropy(self.net(x), y, reduction="none")
        self.seen.append((self.trainer.global_step, per_example.detach().double().numpy(), skill.numpy()))
        if not self.contract:
            return per_example.mean()
        return {"loss": per_example.mean(), "per_example_loss": per_example, "skill_ids": skill}

    def validation_step(self, batch, batch_idx):
        x, y, skill = batch
        out = self.net(x)
        per_example = torch.nn.functional.cross_entropy(out, y, reduction="none")
        return {"per_example_loss": per_example, "skill_ids": skill, "correct": out.argmax(-1) == y}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _trainer(callback, **kwargs):
    options = dict(
        accelerator="cpu",
        devices=1,
        max_steps=6,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    options.update(kwargs)
    return pl.Trainer(callbacks=[callback], **options)


def _reference(seen, n_steps):
    """Per-step, per-skill means of what training_step computed, in numpy."""
    out = np.zeros((n_steps, N_SKILLS))
    for step in range(n_steps):
        l = np.concatenate([s[1] for s in seen if s[0] == step])
        i = np.concatenate([s[2] for s in seen if s[0] == step])
        out[step] = [l[i == k].mean() if np.any(i == k) else np.nan for k in range(N_SKILLS)]
    return out


def test_training_and_validation_curves():
    torch.manual_seed(0)
    module = Tiny()
    callback = SkillCurvesCallback(
        train=SkillRecorder(["common", "rare"]), val=SkillRecorder(["common", "rare"], track_accuracy=True)
    )
    # 64 examples per epoch = 8 batches: validation after 3 and 6 batches (val_check_interval)
    _trainer(callback, val_check_interval=3, num_sanity_val_steps=2).fit(module, _loader(64, 1), _loader(24, 2, 12))
    curves = callback.train.curves(missing="drop_steps")
    kept = curves.times.astype(int)
    np.testing.assert_allclose(curves.loss, _reference(module.seen, 6)[kept], rtol=1e-12)
    assert curves.metadata["n_dropped_steps"] + curves.n_times == 6
    assert 0.1 < curves.frequencies[1] < 0.5
    val = callback.val.curves()
    np.testing.assert_array_equal(val.times, [3.0, 6.0])  # the sanity check was not recorded
    assert val.metadata["n_examples"] == 2 * 24
    acc = callback.val.curves("accuracy").loss
    assert np.all((acc >= 0) & (acc <= 1))


def test_gradient_accumulation_adds_the_micro_batches_of_a_step():
    torch.manual_seed(0)
    module = Tiny()
    callback = SkillCurvesCallback(train=SkillRecorder(N_SKILLS))
    _trainer(callback, max_steps=3, accumulate_grad_batches=2, limit_val_batches=0).fit(module, _loader(64, 3))
    assert [s[0] for s in module.seen] == [0, 0, 1, 1, 2, 2]
    curves = callback.train.curves(missing="drop_steps")
    np.testing.assert_allclose(curves.loss, _reference(module.seen, 3)[curves.times.astype(int)], rtol=1e-12)
    assert curves.metadata["n_examples"] == 6 * 8


def test_a_step_without_the_contract_is_a_clear_error():
    callback = SkillCurvesCallback(train=SkillRecorder(N_SKILLS))
    with pytest.raises(ValueError, match=r"training_step must return a dict with 'per_example_loss'.*'skill_ids'"):
        _trainer(callback, max_steps=1, limit_val_batches=0).fit(Tiny(contract=False), _loader(16, 4))


def test_callback_arguments():
    with pytest.raises(ValueError, match="at least one recorder"):
        SkillCurvesCallback()
    rec = SkillRecorder(2)
    with pytest.raises(ValueError, match="different recorders"):
        SkillCurvesCallback(train=rec, val=rec)
    with pytest.raises(ValueError, match="train must be a skillode.torch.SkillRecorder"):
        SkillCurvesCallback(train="recorder")
