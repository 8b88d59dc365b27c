"""Per-skill curves from a transformers Trainer run.

A TrainerCallback sees no batch and no logits, so the per-example losses reach the recorders
through the Trainer's compute_loss: train with `SkillTrainer` (a transformers.Trainer) or put
`SkillTrainerMixin` before your own Trainer subclass, and pass a `SkillCurvesCallback`:

    from skillode.torch import SkillRecorder
    from skillode.integrations.huggingface import SkillCurvesCallback, SkillTrainer

    callback = SkillCurvesCallback(train=SkillRecorder(["a", "b"]), evaluation=SkillRecorder(["a", "b"]))
    trainer = SkillTrainer(model=model, args=args, train_dataset=ds, eval_dataset=held_out, callbacks=[callback])
    trainer.train()
    curves = callback.train.curves()

The contract:

* Every example carries an integer skill id under "skill_ids" (the callback's ids_key), so each
  batch has inputs["skill_ids"] of shape (B,) (default_data_collator stacks it as torch.long).
  SkillTrainer keeps that column through the Trainer's removal of unused columns and takes it out
  of the inputs before the model's forward sees them.
* The model is trained exactly as the base Trainer trains it (its loss, label smoothing, gradient
  accumulation scaling are untouched); the per-example losses are computed apart, without
  gradient, from the model outputs and the labels by `per_example_loss(outputs, labels)` -> (B,).
  The default, `classification_per_example_loss`, is cross-entropy on 2-D logits (mean squared
  error for a single regression output); for language models pass `causal_lm_per_example_loss`
  (shifted labels, -100 ignored, mean over each example's target tokens) or your own function.
* Accuracy (a recorder with track_accuracy=True) needs `per_example_correct(outputs, labels)` ->
  (B,) bool; the default is argmax == label on 2-D logits.
* Training batches are recorded at state.global_step when the batch is computed (the optimizer
  steps taken before it; gradient-accumulation micro-batches of one step add to one point).
  Evaluation batches with labels are recorded into `evaluation` at the global_step of the
  evaluation, all into one point. Each process records its own examples (nothing is gathered).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

try:
    import torch
    import transformers
except ImportError as exc:  # pragma: no cover - exercised only without transformers
    raise ImportError(
        "skillode.integrations.huggingface needs transformers: pip install 'skillode[huggingface]' "
        "(or pip install transformers torch)"
    ) from exc

from ..torch import SkillRecorder

__all__ = [
    "SkillCurvesCallback",
    "SkillTrainer",
    "SkillTrainerMixin",
    "causal_lm_per_example_loss",
    "classification_per_example_loss",
    "classification_per_example_correct",
]

PerExampleFn = Callable[[Any, torch.Tensor], torch.Tensor]


def _logits(outputs: Any) -> torch.Tensor:
    """The logits of a model output (a ModelOutput / dict with "logits", or a (loss, logits, ...) tuple)."""
    if isinstance(outputs, Mapping):
        if "logits" not in outputs:
            raise ValueError(f"the model outputs have no 'logits' (keys: {', '.join(map(str, outputs))})")
        return outputs["logits"]
    if isinstance(outputs, (tuple, list)) and len(outputs) >= 2:
        return outputs[1]
    raise ValueError(f"cannot find logits in model outputs of type {type(outputs).__name__}")


def classification_per_example_loss(outputs: Any, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per example on logits (B, C) and labels (B,); squared error for logits (B, 1) and float labels."""
    logits = _logits(outputs)
    if logits.ndim != 2:
        raise ValueError(
            f"classification_per_example_loss needs logits of shape (B, C), got {tuple(logits.shape)}; for a "
            "language model pass per_example_loss=causal_lm_per_example_loss (or your own function)"
        )
    if logits.shape[1] == 1 and labels.is_floating_point():
        return (logits[:, 0].float() - labels.float()) ** 2
    return torch.nn.functional.cross_entropy(logits.float(), labels.long(), reduction="none")


def classification_per_example_correct(outputs: Any, labels: torch.Tensor) -> torch.Tensor:
    """argmax(logits) == label per example, shape (B,) bool."""
    logits = _logits(outputs)
    if logits.ndim != 2:
        raise ValueError(f"classification_per_example_correct needs logits of shape (B, C), got {tuple(logits.shape)}")
    return logits.argmax(dim=-1) == labels


def causal_lm_per_example_loss(outputs: Any, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean next-token cross-entropy of each sequence, shape (B,), from logits (B, T, V) and labels (B, T).

    Labels are shifted by one (token t predicts label t + 1, as transformers' causal LMs do) and
    positions labelled `ignore_index` are left out. A sequence with no target token gets NaN: the
    recorder refuses it by default, nan_policy="skip" leaves it out.
    """
    logits = _logits(outputs)
    if logits.ndim != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"causal_lm_per_example_loss needs logits (B, T, V) and labels (B, T), got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    shift_logits, shift_labels = logits[:, :-1].float(), labels[:, 1:]
    token = torch.nn.functional.cross_entropy(
        shift_logits.transpose(1, 2), shift_labels, ignore_index=ignore_index, reduction="none"
    )  # (B, T - 1), zero at ignored positions
    n = (shift_labels != ignore_index).sum(dim=1)
    return token.sum(dim=1) / n  # 0 / 0 = NaN for a sequence without targets, on purpose


class SkillCurvesCallback(transformers.TrainerCallback):
    """Holds the recorders of a SkillTrainer run and how per-example values are computed.

    Args:
        train: recorder for training batches, or None.
        evaluation: recorder for evaluation batches (those with labels), or None.
        per_example_loss: (outputs, labels) -> shape (B,) losses; default classification_per_example_loss.
        per_example_correct: (outputs, labels) -> shape (B,) bool, for recorders that track accuracy;
            default classification_per_example_correct.
        ids_key: the input key that holds the skill ids.

    Only a Trainer with SkillTrainerMixin feeds it: training with a plain Trainer raises at
    on_train_begin instead of recording nothing.
    """

    def __init__(
        self,
        train: SkillRecorder | None = None,
        evaluation: SkillRecorder | None = None,
        *,
        per_example_loss: PerExampleFn | None = None,
        per_example_correct: PerExampleFn | None = None,
        ids_key: str = "skill_ids",
    ) -> None:
        for name, rec in (("train", train), ("evaluation", evaluation)):
            if rec is not None and not isinstance(rec, SkillRecorder):
                raise ValueError(f"{name} must be a skillode.torch.SkillRecorder or None, got {type(rec).__name__}")
        if train is None and evaluation is None:
            raise ValueError(
                "give at least one recorder: train=SkillRecorder(...) and/or evaluation=SkillRecorder(...)"
            )
        if train is not None and train is evaluation:
            raise ValueError("train and evaluation must be different recorders (their steps would interleave)")
        self.train, self.evaluation = train, evaluation
        self.per_example_loss = per_example_loss or classification_per_example_loss
        self.per_example_correct = per_example_correct or classification_per_example_correct
        self.ids_key = ids_key
        self.connected = False  # set by SkillTrainerMixin

    def record(self, recorder: SkillRecorder, step: int, outputs: Any, labels: Any, skill_ids: Any) -> None:
        """Compute the per-example values (without gradient) and record them at `step`."""
        if labels is None:
            raise ValueError("SkillCurvesCallback needs the labels of each batch to compute per-example losses")
        with torch.no_grad():
            losses = self.per_example_loss(outputs, labels)
            if not isinstance(losses, torch.Tensor) or losses.ndim != 1:
                shape = tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__
                raise ValueError(f"per_example_loss must return shape (B,), one loss per example, got {shape}")
            correct = self.per_example_correct(outputs, labels) if recorder.track_accuracy else None
            recorder.record(step, losses, skill_ids, correct)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.connected:
            raise RuntimeError(
                "SkillCurvesCallback receives per-example losses only from a Trainer with SkillTrainerMixin: "
                "use skillode.integrations.huggingface.SkillTrainer (or class MyTrainer(SkillTrainerMixin, Trainer))"
            )


# mypy sees the mixin as a Trainer (for super() calls); at run time it is a plain mixin
_MixinBase: Any = transformers.Trainer if TYPE_CHECKING else object


class SkillTrainerMixin(_MixinBase):
    """Put before a transformers.Trainer (sub)class: records per-example losses into its SkillCurvesCallback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._skill_pending_ids: Any = None
        super().__init__(*args, **kwargs)
        self._skill_callbacks()

    def add_callback(self, callback: Any) -> None:
        super().add_callback(callback)
        self._skill_callbacks()

    def _skill_callbacks(self) -> SkillCurvesCallback | None:
        """The one SkillCurvesCallback (marked connected), or None."""
        handler = getattr(self, "callback_handler", None)
        found = [cb for cb in getattr(handler, "callbacks", []) if isinstance(cb, SkillCurvesCallback)]
        if len(found) > 1:
            raise ValueError(f"a SkillTrainer takes one SkillCurvesCallback, got {len(found)}")
        for cb in found:
            cb.connected = True
        return found[0] if found else None

    def _set_signature_columns_if_needed(self) -> None:
        # keep the skill-id column through remove_unused_columns (it is no argument of the model's forward)
        super()._set_signature_columns_if_needed()
        callback = self._skill_callbacks()
        if callback is not None and callback.ids_key not in self._signature_columns:
            self._signature_columns.append(callback.ids_key)

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        callback = self._skill_callbacks()
        if callback is None:
            raise ValueError("SkillTrainerMixin needs a SkillCurvesCallback in callbacks=[...]")
        ids = inputs.get(callback.ids_key, self._skill_pending_ids)
        if ids is None:
            raise ValueError(
                f"the batch has no {callback.ids_key!r}: give every example an integer skill id under that key "
                "(and keep it through the data collator; if a column filter of your Trainer drops it, "
                "set TrainingArguments(remove_unused_columns=False))"
            )
        # a copy without the ids: the model's forward does not take them, and the caller's dict stays as it was
        inputs = {k: v for k, v in inputs.items() if k != callback.ids_key}
        label_key = self.label_names[0] if self.label_names else "labels"
        labels = inputs.get(label_key)  # read first: the base compute_loss may pop it (label smoothing)
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        recorder = callback.train if model.training else callback.evaluation
        if recorder is not None:
            callback.record(recorder, int(self.state.global_step), outputs, labels, ids)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(
        self, model: torch.nn.Module, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: Any = None
    ) -> Any:
        # evaluation: take the ids out before the base method may call the model directly (batches without labels)
        callback = self._skill_callbacks()
        if callback is not None and callback.ids_key in inputs:
            inputs = dict(inputs)
            self._skill_pending_ids = inputs.pop(callback.ids_key)
        try:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)
        finally:
            self._skill_pending_ids = None


class SkillTrainer(SkillTrainerMixin, transformers.Trainer):
    """A transformers.Trainer that feeds its SkillCurvesCallback (see the module docstring)."""
