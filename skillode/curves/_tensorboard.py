"""TensorBoard event files: scalar tags become skills, through the pandas route (see _pandas).

A path is one event file (events.out.tfevents.*) or a run folder holding them (a restarted run
writes several; TensorBoard's reader takes them in order). Scalars written the TF1 way
(Summary.Value.simple_value: torch.utils.tensorboard, tensorboardX) and the TF2 way (scalar
tensors of the scalars plugin: tf.summary.scalar, tensorboard.summary.Writer) are both read,
every event kept (no reservoir sampling). The tags become a long table (step, tag, value):
`pattern` and `skills` choose tags, by default those with 'loss' in the name. tensorboard is
imported here: pip install skillode[tensorboard].
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._pandas import _list, from_pandas, require_pandas

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves

EVENT_GLOB = "events.out.tfevents.*"


def is_event_file(path: Path) -> bool:
    return path.name.startswith("events.out.tfevents.")


def read_tensorboard(
    cls: type[SkillCurves],
    path: Path,
    *,
    step: str | None = None,
    skills: Any = None,
    pattern: Any = None,
    nan: str = "refuse",
) -> SkillCurves:
    source = str(path)
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea_module
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise ImportError(
            "reading TensorBoard event files needs tensorboard, an optional dependency: "
            "pip install skillode[tensorboard]"
        ) from exc
    pd = require_pandas("reading TensorBoard event files")
    if step is not None and str(step) != "step":
        raise ValueError(f"{source}: TensorBoard events carry their own step; step={step!r} does not apply")
    if path.is_dir():
        files = sorted(path.glob(EVENT_GLOB))
        if not files:
            runs = sorted({str(f.parent.relative_to(path)) for f in path.rglob(EVENT_GLOB)})
            if runs:
                raise ValueError(
                    f"{source}: no event files directly in this folder; runs in its subfolders: {_list(runs)}. "
                    "Read one run folder at a time"
                )
            raise ValueError(f"{source}: no TensorBoard event files ({EVENT_GLOB}) in this folder")
    acc = ea_module.EventAccumulator(
        str(path), size_guidance={ea_module.SCALARS: 0, ea_module.TENSORS: 0}, purge_orphaned_data=True
    )
    try:
        acc.Reload()
        tags = acc.Tags()
    except Exception as exc:  # the reader's own errors (DataLossError, protobuf DecodeError, OSError, ...)
        raise ValueError(f"{source}: not a readable TensorBoard event file ({type(exc).__name__}: {exc})") from exc
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    for tag in tags.get(ea_module.SCALARS, []):
        for ev in acc.Scalars(tag):
            steps.append(ev.step)
            names.append(tag)
            values.append(ev.value)
    seen = set(tags.get(ea_module.SCALARS, []))
    for tag in tags.get(ea_module.TENSORS, []):
        if tag in seen or acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        for ev in acc.Tensors(tag):
            arr = tensor_util.make_ndarray(ev.tensor_proto)
            if arr.size != 1:
                raise ValueError(f"{source}: tag {tag!r} at step {ev.step} holds {arr.size} values, not a scalar")
            steps.append(ev.step)
            names.append(tag)
            values.append(float(np.asarray(arr).reshape(-1)[0]))
    if not names:
        other = sorted(t for kind, ts in tags.items() if isinstance(ts, list) for t in ts)
        raise ValueError(f"{source}: no scalar tags" + (f"; other tags: {_list(other)}" if other else ""))
    df = pd.DataFrame({"step": np.array(steps, dtype=np.int64), "tag": names, "value": np.array(values)})
    return from_pandas(
        cls, df, skills=skills, pattern=pattern, layout="long", nan=nan, source=source, origin="tensorboard"
    )
