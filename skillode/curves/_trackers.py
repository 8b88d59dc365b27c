"""read_curves: skillode's own files and the logs researchers already have, by extension.

    .npz, or .csv with a '# skillode-meta' line   SkillCurves.load (skillode's own files)
    .csv without it                              a tracker export (W&B, MLflow, a pandas
                                                 to_csv()), read through the pandas route
    .jsonl / .ndjson                             JSON lines, one record per step (_jsonl)
    events.out.tfevents.* or a folder of them    TensorBoard scalars (_tensorboard)

Tracker CSVs: leading lines starting with '#' are skipped (the header is the first other line);
column names like 'loss/task_a' or 'train/loss_task_a' are chosen by `pattern` (see _pandas for
the step, skill, NaN and duplicate policies). Every error is a ValueError naming the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._csv import decode, has_meta_line
from ._jsonl import read_jsonl
from ._pandas import _choose, _list, from_pandas, require_pandas
from ._skill_curves import SkillCurves
from ._tensorboard import is_event_file, read_tensorboard

JSONL_SUFFIXES = (".jsonl", ".ndjson")


def read_curves(
    path: str | Path,
    *,
    step: str | None = None,
    skills: Sequence[str] | Mapping[str, str] | str | None = None,
    pattern: str | re.Pattern | None = None,
    nan: str = "refuse",
) -> SkillCurves:
    """Read curves from skillode's own files or from a training log, by extension.

    Args:
        path: a .npz or .csv written by SkillCurves.save (read as SkillCurves.load does); a
            .csv exported from a tracker (W&B, MLflow) or written by pandas' to_csv() (one
            without a '# skillode-meta' line); a .jsonl / .ndjson log (one JSON object per
            line: {"step": 10, "loss/task_a": 0.3, ...} or {"step": 10, "skill": "a",
            "loss": 0.3}); a TensorBoard event file (events.out.tfevents.*) or a run folder.
        step: the step column of a CSV or JSON lines log (default: found by name, see
            SkillCurves.from_pandas); not for skillode's own files or TensorBoard.
        skills: the columns (TensorBoard: tags) to take, in order, or {column: skill name};
            with `pattern`, the skill names to keep. For skillode's own files: skill names.
        pattern: a regex whose group 'skill' (else first group) names the skill, e.g.
            r"loss/(.+)"; searched in column names, tags or (own files) skill names.
        nan: "refuse" (a NaN or missing value in a chosen column is an error naming it and the
            step) or "drop" (those rows are dropped, counted in a warning and the metadata).

    Default skills: columns or tags with "loss" in their name, with a warning naming the numeric
    ones left out. pandas (skillode[pandas]) is needed for every log; tensorboard
    (skillode[tensorboard]) for event files. Every error is a ValueError naming the file.
    """
    p = Path(path)
    source = str(p)
    if not p.exists():
        raise ValueError(f"path {source!r} does not exist")
    if p.is_dir() or is_event_file(p):
        return read_tensorboard(SkillCurves, p, step=step, skills=skills, pattern=pattern, nan=nan)
    suffix = p.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(SkillCurves, p, step=step, skills=skills, pattern=pattern, nan=nan)
    if suffix == ".npz":
        return _own(SkillCurves.load(p), step, skills, pattern, source)
    if suffix != ".csv":
        raise ValueError(
            f"{source}: unknown kind of file; read_curves reads .npz, .csv, {', '.join(JSONL_SUFFIXES)} "
            "and TensorBoard event files (events.out.tfevents.*) or run folders"
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"{source}: cannot be read ({exc.strerror or exc})") from exc
    text = decode(data, source)
    if has_meta_line(text):
        return _own(SkillCurves.from_csv_text(text, source=source), step, skills, pattern, source)
    return _tracker_csv(text, source, step=step, skills=skills, pattern=pattern, nan=nan)


def _own(curves: SkillCurves, step, skills, pattern, source: str) -> SkillCurves:
    """A skillode file, with the chosen skills (renamed by the pattern's group or the mapping)."""
    if step is not None:
        raise ValueError(f"{source}: a skillode file has its own step column; step={step!r} applies to logs only")
    if skills is None and pattern is None:
        return curves
    chosen = _choose(list(curves.names), skills, pattern, None, source, "skill")
    out = curves.select([raw for raw, _ in chosen])
    names = tuple(name for _, name in chosen)
    if names == out.names:
        return out
    try:
        return SkillCurves(out.times, out.loss, names, out.frequencies, out.metadata)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc


def _tracker_csv(text: str, source: str, **options) -> SkillCurves:
    pd = require_pandas("reading a tracker CSV")
    lines = text.splitlines(keepends=True)
    first = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")), None)
    if first is None:
        raise ValueError(f"{source}: no header row (the file is empty or only comments)")
    try:
        df = pd.read_csv(io.StringIO("".join(lines[first:])), skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ValueError(f"{source}: not a readable CSV ({str(exc).strip()})") from exc
    if df.shape[1] < 2:
        raise ValueError(f"{source}: needs a step column and at least one metric column; columns: {_list(df.columns)}")
    return from_pandas(SkillCurves, df, source=source, origin="csv", **options)
