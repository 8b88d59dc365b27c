"""JSON lines logs: one JSON object per line, read through the pandas route (see _pandas).

Two shapes, told apart by their keys:
    {"step": 10, "loss/task_a": 0.3, "loss/task_b": 0.7, "lr": 0.01}    one record per logged step
    {"step": 10, "skill": "task_a", "loss": 0.3}                       one record per (step, skill)
Nested objects are flattened with '/': {"step": 10, "loss": {"task_a": 0.3}} has a column
'loss/task_a'. null is a missing value. Blank lines are skipped; an incomplete last line (a run
still writing) is skipped with a warning; any other line that is not a JSON object is an error
naming the file and the line.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._csv import decode
from ._pandas import from_pandas, require_pandas

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves


def read_jsonl(
    cls: type[SkillCurves],
    path: Path,
    *,
    step: str | None = None,
    skills: Any = None,
    pattern: Any = None,
    nan: str = "refuse",
) -> SkillCurves:
    pd = require_pandas("reading JSON lines")
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{source}: cannot be read ({exc.strerror or exc})") from exc
    lines = decode(data, source).splitlines()
    records: list[dict] = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines) and not data.endswith(b"\n"):
                warnings.warn(
                    f"{source}: skipped the incomplete last line {i} (is the run still writing?)",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            raise ValueError(f"{source} line {i}: not JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise ValueError(f"{source} line {i}: expected a JSON object per line, got {type(record).__name__}")
        records.append(record)
    if not records:
        raise ValueError(f"{source}: no records (a JSON object per line)")
    df = pd.json_normalize(records, sep="/")
    return from_pandas(cls, df, step=step, skills=skills, pattern=pattern, nan=nan, source=source, origin="jsonl")
