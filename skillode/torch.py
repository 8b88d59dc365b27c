"""Per-skill curves recorded inside your own torch training loop.

    import torch.nn.functional as F
    from skillode.torch import SkillRecorder

    recorder = SkillRecorder(["parity", "copy"])
    for step, (x, y, skill) in enumerate(loader):
        per_example = F.cross_entropy(model(x), y, reduction="none")  # shape (B,)
        per_example.mean().backward()
        optimizer.step()
        optimizer.zero_grad()
        recorder.record(step, per_example, skill)  # skill: shape (B,) integer skill ids
    curves = recorder.curves()  # SkillCurves: times (n_steps,), loss (n_steps, n_skills)

`record` costs a handful of small tensor operations on the losses' own device and never
synchronises with it: the per-skill sums and counts stay in a device buffer of `buffer_steps`
rows that goes to the CPU (one transfer) when it is full and when `curves()` is called.
`evaluate` records held-out per-skill losses the same way.

Policies (documented once here, applied by `curves()` and at each buffer flush):

* Non-finite losses. nan_policy="raise" (default): a NaN or infinite per-example loss makes
  the next flush or `curves()` raise a ValueError naming the first step and skill where one
  was seen (the check is deferred so that `record` need not synchronise). nan_policy="skip":
  non-finite losses are left out of the means, counted, and reported in the curves' metadata
  ("skipped_nonfinite", "skipped_nonfinite_per_skill"). Accuracy counts only the examples
  whose loss was kept.
* A skill with no example at a recorded step has no mean there. Nothing is filled in (carrying
  the last value forward would invent data): missing="raise" (default) makes `curves()` raise
  a ValueError naming the first such skill and step; missing="drop_steps" drops every step at
  which any skill is missing and records how many (and which) in the metadata
  ("n_dropped_steps", "dropped_steps").
* Skill ids outside [0, n_skills) are never written to a skill: they are counted apart and the
  next flush or `curves()` raises a ValueError naming the step.

torch is imported when this module is; `import skillode` does not import it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - torch is an optional dependency
    raise ImportError(
        "skillode.torch needs PyTorch: pip install torch (or pip install 'skillode[validation]')"
    ) from exc

from ._checks import as_count, as_frequencies, as_names, choice
from .curves import SkillCurves

__all__ = ["SkillRecorder", "evaluate"]

KINDS = ("loss", "accuracy")
NAN_POLICIES = ("raise", "skip")
MISSING_POLICIES = ("raise", "drop_steps")

#: Most bytes one device buffer may take; with many skills it holds fewer than buffer_steps rows.
BUFFER_BYTES = 32 * 2**20
#: Dropped steps listed by name in the metadata (the count is always exact).
LISTED_DROPPED_STEPS = 20


_NOT_REAL = (torch.bool, torch.complex32, torch.complex64, torch.complex128)


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    """value as a tensor out of any autograd graph (a detach only where needed: it costs a dispatch)."""
    if isinstance(value, torch.Tensor):
        return value.detach() if value.requires_grad else value
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name} must be a tensor (or array) of numbers, got {type(value).__name__}") from exc


def _accumulator_dtype(device: torch.device) -> torch.dtype:
    # float64 keeps the per-step sums exact enough for any batch size; MPS has no float64.
    return torch.float32 if device.type == "mps" else torch.float64


class SkillRecorder:
    """Accumulates per-skill sums of per-example losses (and correct counts) on the device.

    Args:
        skills: the number of skills, or their names (skill id k is names[k]).
        device: where the accumulators live; None adopts the device of the first losses recorded.
        track_accuracy: also count correct examples; every `record` call must then pass `correct`.
        nan_policy: "raise" (default) or "skip" non-finite losses (see the module docstring).
        buffer_steps: recorded steps held on the device before one transfer to the CPU (fewer
            when n_skills is so large that the buffer would pass BUFFER_BYTES).
        metadata: JSON-serialisable entries added to the metadata of every `curves()` result.

    The CPU copy grows by (2 + track_accuracy + skip) * (n_skills + 2) * 8 bytes per recorded
    step; for long runs record every k-th step.
    """

    def __init__(
        self,
        skills: int | Sequence[str],
        *,
        device: str | torch.device | None = None,
        track_accuracy: bool = False,
        nan_policy: str = "raise",
        buffer_steps: int = 1024,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(skills, (int, np.integer)) and not isinstance(skills, bool):
            n = as_count(skills, "skills")
            self.names = as_names(None, n, "skills")
        elif isinstance(skills, str) or not isinstance(skills, Iterable):
            raise ValueError(f"skills must be a number of skills or a sequence of names, got {skills!r}")
        else:
            listed = list(skills)
            if not listed:
                raise ValueError("skills must name at least one skill")
            self.names = as_names(listed, len(listed), "skills")
        self.n_skills = len(self.names)
        self.track_accuracy = bool(track_accuracy)
        self.nan_policy = choice(nan_policy, "nan_policy", NAN_POLICIES)
        self.buffer_steps = as_count(buffer_steps, "buffer_steps")
        self.metadata = dict(metadata or {})
        self.device: torch.device | None = None if device is None else torch.device(device)
        # channels of the accumulators: sum of losses, count of examples kept, and where needed
        # count of examples seen (kept + skipped non-finite) and count of correct examples
        channels = ["sum", "count"]
        if self.nan_policy == "skip":
            channels.append("seen")
        if self.track_accuracy:
            channels.append("correct")
        self._channel = {name: i for i, name in enumerate(channels)}
        # columns: 0 holds ids < 0, 1..n the skills, n + 1 ids >= n (so a bad id never reaches a skill)
        self._width = self.n_skills + 2
        self._buffer: torch.Tensor | None = None
        self._ones: torch.Tensor | None = None
        self._views: list[list[torch.Tensor] | None] = []
        self._nonblocking = False
        self._rows = 0  # rows of the device buffer in use; the last one is the current step
        self._buffer_steps_list: list[float] = []
        self._chunks: list[np.ndarray] = []  # flushed rows, each (rows, channels, width) float64
        self._steps: list[float] = []  # the steps of the flushed rows

    # ------------------------------------------------------------------ recording
    @property
    def n_steps(self) -> int:
        """How many distinct steps have been recorded (no synchronisation)."""
        return len(self._steps) + len(self._buffer_steps_list)

    def __repr__(self) -> str:
        return (
            f"SkillRecorder(n_skills={self.n_skills}, n_steps={self.n_steps}, device={self.device}, "
            f"track_accuracy={self.track_accuracy}, nan_policy={self.nan_policy!r})"
        )

    def _allocate(self, device: torch.device) -> None:
        self.device = device
        dtype = _accumulator_dtype(device)
        row_bytes = len(self._channel) * self._width * torch.tensor([], dtype=dtype).element_size()
        rows = max(1, min(self.buffer_steps, BUFFER_BYTES // row_bytes))
        self._buffer = torch.zeros(rows, len(self._channel), self._width, dtype=dtype, device=device)
        self._ones = torch.ones(1, dtype=dtype, device=device)
        # per-row lists of channel views, made when a row is first used: indexing a tensor costs a
        # dispatch each time, a Python list lookup does not
        self._views = [None] * rows
        self._nonblocking = device.type != "cpu"  # a non-blocking copy to the CPU may be read unfinished

    def _check_step(self, step: Any) -> float:
        if type(step) is not int and type(step) is not float:  # fast path for the usual case
            if isinstance(step, bool) or not isinstance(step, numbers.Real):
                kind = (
                    "a tensor (reading it would synchronise with the device)" if torch.is_tensor(step) else repr(step)
                )
                raise ValueError(f"step must be a Python or numpy number, got {kind}")
        value = float(step)
        if not math.isfinite(value):
            raise ValueError(f"step must be finite, got {value}")
        last = self._buffer_steps_list[-1] if self._buffer_steps_list else (self._steps[-1] if self._steps else None)
        if last is not None and value < last:
            raise ValueError(f"step must not decrease: got step {step} after step {last:g}")
        return value

    def record(self, step: float, losses: Any, skill_ids: Any, correct: Any = None) -> None:
        """Add one batch of per-example results at `step`.

        Args:
            step: the training step (steps must not decrease; repeated calls with the same step,
                e.g. micro-batches or evaluation batches, add to the same point of the curves).
            losses: shape (B,), per-example losses on any device (detached here).
            skill_ids: shape (B,), integer skill id of each example, in [0, n_skills).
            correct: shape (B,), bool or 0/1 per example; required iff track_accuracy.

        No synchronisation with the device: bad values (ids out of range, non-finite losses)
        are reported at the next buffer flush or by `curves()`, naming the step.
        """
        value = self._check_step(step)
        losses_t = _as_tensor(losses, "losses")
        ids = skill_ids if isinstance(skill_ids, torch.Tensor) else _as_tensor(skill_ids, "skill_ids")
        if losses_t.ndim != 1:
            hint = " (a scalar: pass per-example losses, e.g. reduction='none')" if losses_t.ndim == 0 else ""
            raise ValueError(f"losses must have shape (B,), got {tuple(losses_t.shape)}{hint}")
        if losses_t.dtype in _NOT_REAL:
            raise ValueError(f"losses must be real numbers, got dtype {losses_t.dtype}")
        if ids.shape != losses_t.shape:
            raise ValueError(f"skill_ids must have the shape of losses {tuple(losses_t.shape)}, got {tuple(ids.shape)}")
        if ids.dtype.is_floating_point or ids.dtype in _NOT_REAL:
            raise ValueError(f"skill_ids must be an integer tensor, got dtype {ids.dtype}")
        if self.track_accuracy and correct is None:
            raise ValueError("correct is required: this recorder was made with track_accuracy=True")
        if not self.track_accuracy and correct is not None:
            raise ValueError("correct was given but this recorder does not track accuracy (track_accuracy=False)")
        correct_t = None
        if correct is not None:
            correct_t = _as_tensor(correct, "correct")
            if correct_t.shape != losses_t.shape:
                raise ValueError(
                    f"correct must have the shape of losses {tuple(losses_t.shape)}, got {tuple(correct_t.shape)}"
                )

        if self._buffer is None:
            self._allocate(self.device if self.device is not None else losses_t.device)
        buffer, device = self._buffer, self.device
        assert buffer is not None and self._ones is not None and device is not None
        # a new step opens a row; the same step adds to the current one
        if not self._buffer_steps_list or value > self._buffer_steps_list[-1]:
            if self._rows == buffer.shape[0]:
                self._flush()
            self._rows += 1
            self._buffer_steps_list.append(value)
        views = self._views[self._rows - 1]
        if views is None:
            views = self._views[self._rows - 1] = list(buffer[self._rows - 1].unbind(0))

        # The hot path, kept to a few dispatches: one conversion of the losses, two ops on the ids,
        # one index_add_ (a scatter) per channel; no loop over skills, nothing read back.
        dtype, nb = buffer.dtype, self._nonblocking
        x = losses_t.to(device, dtype, non_blocking=nb)
        # ids + 1 clamped to [0, n + 1]: columns 0 and n + 1 collect out-of-range ids, checked at flush
        # (index_add_ takes int32/int64 indices; a narrower type could also wrap around at + 1)
        if ids.dtype is not torch.int64 and ids.dtype is not torch.int32:
            ids = ids.to(torch.int64)
        if ids.device != device:
            ids = ids.to(device, non_blocking=nb)
        idx = (ids + 1).clamp_(0, self.n_skills + 1)
        ones = self._ones.expand(x.shape[0])  # a view: no memory, no kernel
        channel = self._channel
        kept: torch.Tensor = ones
        if self.nan_policy == "skip":
            finite = torch.isfinite(x)
            kept = finite.to(dtype)
            x = torch.where(finite, x, 0.0)
            views[channel["seen"]].index_add_(0, idx, ones)
        views[channel["sum"]].index_add_(0, idx, x)
        views[channel["count"]].index_add_(0, idx, kept)
        if correct_t is not None:
            c = correct_t.to(device, dtype, non_blocking=nb)
            views[channel["correct"]].index_add_(0, idx, c if self.nan_policy == "raise" else c * kept)

    # ----------------------------------------------------------------- read-back
    def _flush(self) -> None:
        """Move the buffer's used rows to the CPU (one synchronising transfer) and check them."""
        if self._buffer is None or self._rows == 0:
            return
        used = self._buffer[: self._rows]
        chunk = used.to("cpu", torch.float64).numpy().copy()  # a copy: on the CPU .to() returns the buffer itself
        used.zero_()
        steps = self._buffer_steps_list
        self._rows, self._buffer_steps_list = 0, []
        if self._steps and steps[0] == self._steps[-1]:
            # the step already flushed (curves() was called within it) goes on: add to its row
            self._chunks[-1][-1] += chunk[0]
            self._check(self._chunks[-1][-1:], np.asarray(steps[:1]))
            chunk, steps = chunk[1:], steps[1:]
        if steps:
            self._chunks.append(chunk)
            self._steps.extend(steps)
            self._check(chunk, np.asarray(steps))

    def _check(self, data: np.ndarray, steps: np.ndarray) -> None:
        """Raise on out-of-range ids, non-finite losses (nan_policy='raise') or bad correct values."""
        ch = self._channel
        counts = data[:, ch["seen" if self.nan_policy == "skip" else "count"]]
        for col, what in ((0, "below 0"), (self.n_skills + 1, f">= n_skills = {self.n_skills}")):
            bad = np.flatnonzero(counts[:, col] > 0)
            if bad.size:
                t = bad[0]
                raise ValueError(
                    f"skill_ids out of range at step {steps[t]:g}: {int(counts[t, col])} id(s) {what}; "
                    f"ids must lie in [0, {self.n_skills})"
                )
        sums = data[:, ch["sum"], 1:-1]
        if self.nan_policy == "raise" and not np.all(np.isfinite(sums)):
            t, k = np.argwhere(~np.isfinite(sums))[0]
            raise ValueError(
                f"non-finite loss at step {steps[t]:g} for skill {self.names[k]!r} (skill id {k}); "
                "pass nan_policy='skip' to SkillRecorder to leave such examples out and count them"
            )
        if self.track_accuracy:
            correct, kept = data[:, ch["correct"], 1:-1], data[:, ch["count"], 1:-1]
            bad_c = np.argwhere(~np.isfinite(correct) | (correct < 0) | (correct > kept))
            if bad_c.size:
                t, k = bad_c[0]
                raise ValueError(
                    f"correct must be 0/1 (or bool) per example; at step {steps[t]:g} skill {self.names[k]!r} "
                    f"has {correct[t, k]:g} correct out of {kept[t, k]:g} examples"
                )

    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        self._flush()
        if not self._chunks:
            raise ValueError("nothing recorded yet: call record() before curves()")
        if len(self._chunks) > 1:  # keep one array, so that repeated curves() calls do not re-concatenate
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0], np.asarray(self._steps, dtype=np.float64)

    def observed_frequencies(self) -> np.ndarray:
        """Fraction of all recorded examples that belong to each skill, shape (n_skills,).

        Counts every example seen, including non-finite ones skipped by nan_policy="skip".
        Synchronises (flushes the device buffer).
        """
        data, _ = self._data()
        seen = data[:, self._channel["seen" if self.nan_policy == "skip" else "count"], 1:-1].sum(axis=0)
        if seen.sum() == 0:
            raise ValueError("no example recorded yet: observed frequencies are undefined")
        return seen / seen.sum()

    def curves(
        self,
        kind: str = "loss",
        *,
        missing: str = "raise",
        frequencies: Sequence[float] | np.ndarray | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SkillCurves:
        """The recorded curves: per-skill mean loss (or accuracy) at every recorded step.

        Args:
            kind: "loss" (mean per-example loss) or "accuracy" (fraction correct; needs
                track_accuracy=True). Accuracy curves carry metadata["quantity"] =
                {"observed": "accuracy"}: map them with skillode.to_loss(curves, "accuracy").
            missing: "raise" (default) or "drop_steps" when a skill has no example at a step.
            frequencies: the skill frequencies to attach; None gives the observed fraction of
                examples per skill (for an evaluation recorder, whose loaders set those
                fractions, pass the training frequencies instead).
            metadata: entries added to the result's metadata.

        Returns:
            SkillCurves with times (n_steps,) and loss (n_steps, n_skills), n_steps being the
            recorded steps (less any dropped). Synchronises (flushes the device buffer).
        """
        kind = choice(kind, "kind", KINDS)
        missing = choice(missing, "missing", MISSING_POLICIES)
        if kind == "accuracy" and not self.track_accuracy:
            raise ValueError("kind='accuracy' needs a recorder made with track_accuracy=True")
        data, steps = self._data()
        self._check(data, steps)
        ch = self._channel
        sums, counts = data[:, ch["sum"], 1:-1], data[:, ch["count"], 1:-1]
        seen = data[:, ch["seen"], 1:-1] if self.nan_policy == "skip" else counts
        meta: dict[str, Any] = {
            "source": "skillode.torch.SkillRecorder",
            "quantity": {"observed": kind},
            "n_examples": int(seen.sum()),
            "n_examples_per_skill": [int(v) for v in seen.sum(axis=0)],
            "nan_policy": self.nan_policy,
            "missing": missing,
        }
        if self.nan_policy == "skip":
            skipped = seen.sum(axis=0) - counts.sum(axis=0)
            meta["skipped_nonfinite"] = int(skipped.sum())
            meta["skipped_nonfinite_per_skill"] = {name: int(v) for name, v in zip(self.names, skipped)}

        keep = self._steps_kept(counts, steps, missing)
        meta["n_dropped_steps"] = int((~keep).sum())
        meta["dropped_steps"] = [float(s) for s in steps[~keep][:LISTED_DROPPED_STEPS]]
        num = data[:, ch["correct"], 1:-1] if kind == "accuracy" else sums
        values = num[keep] / counts[keep]
        freqs = self._frequencies(frequencies)
        meta["frequencies"] = "observed fraction of recorded examples" if frequencies is None else "given"
        meta.update(self.metadata)
        meta.update(metadata or {})
        return SkillCurves(times=steps[keep], loss=values, names=self.names, frequencies=freqs, metadata=meta)

    def _steps_kept(self, counts: np.ndarray, steps: np.ndarray, missing: str) -> np.ndarray:
        """The missing-skill policy: which steps to keep, shape (n_steps,) bool (or raise)."""
        empty = counts == 0
        if not empty.any():
            return np.ones(steps.size, dtype=bool)
        if missing == "raise":
            t, k = np.argwhere(empty)[0]
            raise ValueError(
                f"skill {self.names[k]!r} has no example at step {steps[t]:g} ({int(empty.sum())} missing "
                f"(step, skill) pairs in all; with nan_policy='skip' a skill whose every loss was non-finite "
                "counts as missing); pass missing='drop_steps' to drop the steps where any skill is missing"
            )
        keep = ~empty.any(axis=1)
        if not keep.any():
            never = [self.names[k] for k in np.flatnonzero(counts.sum(axis=0) == 0)]
            why = f" (never seen: {', '.join(map(repr, never))})" if never else ""
            raise ValueError(f"every recorded step misses at least one skill{why}: no curves to return")
        return keep

    def _frequencies(self, frequencies: Sequence[float] | np.ndarray | None) -> np.ndarray:
        if frequencies is None:
            return self.observed_frequencies()
        freqs = as_frequencies(frequencies, "frequencies")
        if freqs.size != self.n_skills:
            raise ValueError(f"frequencies must have {self.n_skills} entries (one per skill), got {freqs.size}")
        return freqs

    def reset(self) -> None:
        """Forget everything recorded (the device buffer is kept)."""
        if self._buffer is not None:
            self._buffer.zero_()
        self._rows, self._buffer_steps_list = 0, []
        self._chunks, self._steps = [], []


# ------------------------------------------------------------------- evaluation helper
def _to_device(value: Any, device: torch.device | None) -> Any:
    if device is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, Mapping):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _skill_id(key: Any, recorder: SkillRecorder) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not 0 <= int(key) < recorder.n_skills:
            raise ValueError(f"loaders_by_skill key {key} is not a skill id in [0, {recorder.n_skills})")
        return int(key)
    if key in recorder.names:
        return recorder.names.index(key)
    raise ValueError(f"loaders_by_skill key {key!r} is not one of the recorder's skills: {', '.join(recorder.names)}")


def _per_example(value: Any, batch_size: int | None, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{what} must return a tensor of per-example values, got {type(value).__name__}")
    if value.ndim == 0:
        raise ValueError(
            f"{what} returned a scalar: it must return one value per example, shape (B,) "
            "(for a loss use reduction='none', e.g. torch.nn.CrossEntropyLoss(reduction='none'))"
        )
    if value.ndim != 1 or (batch_size is not None and value.shape[0] != batch_size):
        raise ValueError(
            f"{what} must return shape ({batch_size if batch_size is not None else 'B'},), one value per example, "
            f"got {tuple(value.shape)} (average any other dimensions yourself, e.g. .mean(dim=1))"
        )
    return value


def evaluate(
    model: torch.nn.Module,
    loaders_by_skill: Mapping[Any, Iterable[Any]],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    *,
    step: float,
    recorder: SkillRecorder,
    correct_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    device: str | torch.device | None = None,
    unpack: Callable[[Any], tuple[Any, Any]] | None = None,
) -> None:
    """Record the per-skill held-out loss (and accuracy) of `model` at `step`.

    Runs the model in eval mode under torch.no_grad over every batch of every loader (its
    training mode is restored afterwards) and records each batch into `recorder` at `step`,
    so the recorded value is the mean over all of a skill's held-out examples.

    Args:
        model: called as model(inputs).
        loaders_by_skill: skill name (or id) -> iterable of batches, e.g. a DataLoader; each
            batch is (inputs, targets) unless `unpack` turns it into that pair.
        loss_fn: loss_fn(outputs, targets) -> per-example losses, shape (B,); a loss with
            reduction='none'. A scalar is refused.
        step: the training step the evaluation belongs to.
        recorder: where to record (an evaluation recorder, separate from the training one).
        correct_fn: correct_fn(outputs, targets) -> shape (B,) bool; needed iff the recorder
            tracks accuracy.
        device: where the batches go; None: the device of the model's first parameter (or
            leave them where they are for a model without parameters).
        unpack: batch -> (inputs, targets), for batches of another form (e.g. dicts).
    """
    if not isinstance(recorder, SkillRecorder):
        raise ValueError(f"recorder must be a SkillRecorder, got {type(recorder).__name__}")
    if not isinstance(loaders_by_skill, Mapping) or not loaders_by_skill:
        raise ValueError("loaders_by_skill must be a non-empty dict: skill name (or id) -> loader")
    if recorder.track_accuracy and correct_fn is None:
        raise ValueError("correct_fn is required: the recorder tracks accuracy")
    if correct_fn is not None and not recorder.track_accuracy:
        raise ValueError("correct_fn was given but the recorder does not track accuracy (track_accuracy=False)")
    ids = {key: _skill_id(key, recorder) for key in loaders_by_skill}
    if device is None:
        first = next(iter(model.parameters()), None)
        target = None if first is None else first.device
    else:
        target = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for key, loader in loaders_by_skill.items():
                seen = 0
                for batch in loader:
                    if unpack is not None:
                        pair = unpack(batch)
                    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
                        pair = (batch[0], batch[1])
                    else:
                        raise ValueError(
                            f"loaders_by_skill[{key!r}] yields {type(batch).__name__} batches; each batch must be "
                            "(inputs, targets), or pass unpack=batch -> (inputs, targets)"
                        )
                    inputs, targets = _to_device(pair[0], target), _to_device(pair[1], target)
                    outputs = model(inputs)
                    size = targets.shape[0] if isinstance(targets, torch.Tensor) and targets.ndim else None
                    losses = _per_example(loss_fn(outputs, targets), size, "loss_fn")
                    correct = None
                    if correct_fn is not None:
                        correct = _per_example(correct_fn(outputs, targets), losses.shape[0], "correct_fn")
                    skill = torch.full(losses.shape, ids[key], dtype=torch.long, device=losses.device)
                    recorder.record(step, losses, skill, correct)
                    seen += losses.shape[0]
                if seen == 0:
                    raise ValueError(f"loaders_by_skill[{key!r}] yielded no examples")
    finally:
        model.train(was_training)
