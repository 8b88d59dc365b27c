"""Per-skill curves from a Lightning run: a Callback that records what the step methods return.

The contract: training_step (and, to record held-out curves, validation_step) returns a dict with

    "loss"              the scalar Lightning optimises (training_step only, as usual)
    "per_example_loss"  shape (B,), one loss per example (e.g. reduction='none')
    "skill_ids"         shape (B,), the integer skill id of each example
    "correct"           shape (B,) bool, only when the recorder tracks accuracy

for example

    def training_step(self, batch, batch_idx):
        x, y, skill = batch
        per_example = F.cross_entropy(self(x), y, reduction="none")
        return {"loss": per_example.mean(), "per_example_loss": per_example, "skill_ids": skill}

    callback = SkillCurvesCallback(train=SkillRecorder(["a", "b"]))
    lightning.pytorch.Trainer(callbacks=[callback], ...).fit(module, loader)
    curves = callback.train.curves()

Steps: a training batch is recorded at the trainer's global_step when the batch began (the number
of optimizer steps taken before it, so the loss belongs to the parameters after that many
updates); with gradient accumulation the batches of one optimizer step add to the same point.
Validation batches are recorded at the global_step of the validation run, all into one point;
the sanity-check validation before training is not recorded. A step method that returns None
(a skipped batch) records nothing. Under distributed training each process records its own
examples only (nothing is gathered).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as exc:  # pragma: no cover - exercised only without lightning
    raise ImportError(
        "skillode.integrations.lightning needs Lightning: pip install 'skillode[lightning]' (or pip install lightning)"
    ) from exc

from ..torch import SkillRecorder

__all__ = ["SkillCurvesCallback"]


class SkillCurvesCallback(pl.Callback):
    """Records per-example losses returned by training_step / validation_step into SkillRecorders.

    Args:
        train: the recorder for training batches, or None not to record them.
        val: the recorder for validation batches, or None not to record them.
        loss_key, ids_key, correct_key: the keys of the step outputs read (see the module docstring).
    """

    def __init__(
        self,
        train: SkillRecorder | None = None,
        val: SkillRecorder | None = None,
        *,
        loss_key: str = "per_example_loss",
        ids_key: str = "skill_ids",
        correct_key: str = "correct",
    ) -> None:
        super().__init__()
        for name, rec in (("train", train), ("val", val)):
            if rec is not None and not isinstance(rec, SkillRecorder):
                raise ValueError(f"{name} must be a skillode.torch.SkillRecorder or None, got {type(rec).__name__}")
        if train is None and val is None:
            raise ValueError("give at least one recorder: train=SkillRecorder(...) and/or val=SkillRecorder(...)")
        if train is not None and train is val:
            raise ValueError("train and val must be different recorders (their steps would interleave)")
        self.train, self.val = train, val
        self.loss_key, self.ids_key, self.correct_key = loss_key, ids_key, correct_key
        self._batch_step = 0

    def _record(self, recorder: SkillRecorder, step: int, outputs: Any, hook: str) -> None:
        if outputs is None:  # the step method skipped this batch
            return
        if not isinstance(outputs, Mapping) or self.loss_key not in outputs or self.ids_key not in outputs:
            got = sorted(map(str, outputs)) if isinstance(outputs, Mapping) else type(outputs).__name__
            raise ValueError(
                f"SkillCurvesCallback: {hook} must return a dict with {self.loss_key!r} (shape (B,), per-example "
                f"losses) and {self.ids_key!r} (shape (B,), integer skill ids)"
                + (" besides 'loss'" if hook == "training_step" else "")
                + f"; got {got}"
            )
        correct = outputs.get(self.correct_key) if recorder.track_accuracy else None
        if recorder.track_accuracy and correct is None:
            raise ValueError(
                f"SkillCurvesCallback: the recorder tracks accuracy, so {hook} must also return {self.correct_key!r}"
            )
        recorder.record(step, outputs[self.loss_key], outputs[self.ids_key], correct)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # global_step counts optimizer steps; read it before this batch's update
        self._batch_step = int(trainer.global_step)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.train is not None:
            self._record(self.train, self._batch_step, outputs, "training_step")

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.val is not None and not trainer.sanity_checking:
            self._record(self.val, int(trainer.global_step), outputs, "validation_step")
