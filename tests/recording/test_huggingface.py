"""skillode.integrations.huggingface: SkillTrainer + SkillCurvesCallback against the real transformers
Trainer on tiny randomly initialised models built from configs (CPU, a few steps, nothing downloaded)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # the Trainer needs it

from skillode.integrations.huggingface import (  # noqa: E402
    SkillCurvesCallback,
    SkillTrainer,
    causal_lm_per_example_loss,
    classification_per_example_loss,
)
from skillode.torch import SkillRecorder  # noqa: E402

VOCAB, LENGTH = 12, 6


class _Examples(torch.utils.data.Dataset):
    """Dict examples with input_ids, attention_mask, labels and skill_ids (skill 1 is rare)."""

    def __init__(self, n: int, seed: int, with_ids: bool = True) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (n, LENGTH), generator=g)
        self.skill = (torch.rand(n, generator=g) < 0.25).long()
        self.skill[:2] = torch.tensor([0, 1])
        self.labels = (self.ids[:, 0] % 2 + self.skill) % 2
        self.with_ids = with_ids

    def __len__(self) -> int:
        return self.ids.shape[0]

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i], "attention_mask": torch.ones(LENGTH, dtype=torch.long)}
        item["labels"] = self.labels[i]
        if self.with_ids:
            item["skill_ids"] = self.skill[i]
        return item


def _bert():
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=LENGTH,
        num_labels=2,
        hidden_dropout_prob=0.0,  # no dropout: the per-example losses then match the trained loss
        attention_probs_dropout_prob=0.0,
    )
    return transformers.BertForSequenceClassification(config)


def _args(tmp_path, **kwargs):
    options = dict(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        max_steps=4,
        per_device_train_batch_size=8,
        per_device_eval_batch_size=16,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=True,
        seed=0,
    )
    options.update(kwargs)
    return transformers.TrainingArguments(**options)


def test_training_and_evaluation_curves(tmp_path):
    names = ["common", "rare"]
    callback = SkillCurvesCallback(
        train=SkillRecorder(names, track_accuracy=True), evaluation=SkillRecorder(names, track_accuracy=True)
    )
    trainer = SkillTrainer(
        model=_bert(),
        args=_args(tmp_path, eval_strategy="steps", eval_steps=2),
        train_dataset=_Examples(64, 1),
        eval_dataset=_Examples(32, 2),
        callbacks=[callback],
    )
    trainer.train()  # remove_unused_columns is on (the default): skill_ids must survive it
    curves = callback.train.curves(missing="drop_steps")
    assert set(curves.times) <= {0.0, 1.0, 2.0, 3.0} and callback.train.n_steps == 4
    meta = curves.metadata
    assert meta["n_examples"] == 4 * 8 and min(meta["n_examples_per_skill"]) > 0
    assert meta["n_dropped_steps"] + curves.n_times == 4
    acc = callback.train.curves("accuracy", missing="drop_steps").loss
    assert np.all((acc >= 0) & (acc <= 1))
    evaluation = callback.evaluation.curves()
    np.testing.assert_array_equal(evaluation.times, [2.0, 4.0])
    assert evaluation.metadata["n_examples"] == 2 * 32
    # an evaluation's per-skill means weighted by the skills' counts give the Trainer's eval_loss
    ev = [h for h in trainer.state.log_history if "eval_loss" in h]
    n_per_skill = np.array(evaluation.metadata["n_examples_per_skill"]) / 2
    assert len(ev) == 2
    for row, record in zip(evaluation.loss, ev):
        np.testing.assert_allclose(row @ n_per_skill / n_per_skill.sum(), record["eval_loss"], rtol=1e-5)


def test_train_losses_match_the_trainer_step_by_step(tmp_path):
    """With one batch per step covering both skills, each step's weighted mean is that step's logged loss."""
    rec = SkillRecorder(2)
    callback = SkillCurvesCallback(train=rec)
    trainer = SkillTrainer(model=_bert(), args=_args(tmp_path), train_dataset=_Examples(64, 1), callbacks=[callback])
    seen: list[np.ndarray] = []
    original = rec.record

    def spy(step, losses, skill_ids, correct=None):
        seen.append(np.bincount(skill_ids.numpy(), minlength=2))
        original(step, losses, skill_ids, correct)

    rec.record = spy  # type: ignore[method-assign]
    trainer.train()
    curves = rec.curves(missing="drop_steps")
    logged = np.array([h["loss"] for h in trainer.state.log_history if "loss" in h])
    assert len(seen) == len(logged) == 4 and curves.n_times >= 2
    for t, row in zip(curves.times.astype(int), curves.loss):
        counts = seen[t]
        np.testing.assert_allclose(row @ counts / counts.sum(), logged[t], atol=2e-4)  # logs keep 4 decimals


def test_causal_lm_per_example_loss_matches_the_model_loss():
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=VOCAB, n_positions=LENGTH, n_embd=16, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(config).eval()
    ids = torch.randint(0, VOCAB, (4, LENGTH))
    with torch.no_grad():
        out = model(input_ids=ids, labels=ids)
        per_example = causal_lm_per_example_loss(out, ids)
        assert per_example.shape == (4,)
        torch.testing.assert_close(per_example.mean(), out.loss, rtol=1e-5, atol=1e-6)  # same token count each
        masked = ids.clone()
        masked[0, 3:] = -100
        masked[1, 1:] = -100  # no target token at all (the first label is never predicted)
        per = causal_lm_per_example_loss(model(input_ids=ids), masked)
        own = model(input_ids=ids[:1, :3], labels=ids[:1, :3]).loss
        torch.testing.assert_close(per[0], own, rtol=1e-5, atol=1e-6)
        assert torch.isnan(per[1])
    with pytest.raises(ValueError, match="classification_per_example_loss needs logits of shape"):
        classification_per_example_loss(out, ids)


def test_plain_trainer_with_the_callback_refuses_to_train(tmp_path):
    callback = SkillCurvesCallback(train=SkillRecorder(2))
    trainer = transformers.Trainer(
        model=_bert(), args=_args(tmp_path, max_steps=1), train_dataset=_Examples(16, 1, False), callbacks=[callback]
    )
    with pytest.raises(RuntimeError, match="only from a Trainer with SkillTrainerMixin"):
        trainer.train()


def test_missing_skill_ids_and_missing_callback_are_clear_errors(tmp_path):
    trainer = SkillTrainer(
        model=_bert(),
        args=_args(tmp_path, max_steps=1),
        train_dataset=_Examples(16, 1, with_ids=False),
        callbacks=[SkillCurvesCallback(train=SkillRecorder(2))],
    )
    with pytest.raises(ValueError, match="the batch has no 'skill_ids'"):
        trainer.train()
    bare = SkillTrainer(model=_bert(), args=_args(tmp_path, max_steps=1), train_dataset=_Examples(16, 1))
    with pytest.raises(ValueError, match="needs a SkillCurvesCallback"):
        bare.train()
    with pytest.raises(ValueError, match="at least one recorder"):
        SkillCurvesCallback()
