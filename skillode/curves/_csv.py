"""The CSV file formats of SkillCurves: wide (step, one column per skill) and long (step, skill, value).

A first line '# skillode-meta {json}' carries frequencies and metadata.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING

import numpy as np

from ._json import _jsonable

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves

META_PREFIX = "# skillode-meta "


def to_csv_text(curves: SkillCurves) -> str:
    buf = io.StringIO()
    header = {"frequencies": None if curves.frequencies is None else curves.frequencies.tolist(),
              "metadata": _jsonable(curves.metadata)}
    buf.write(META_PREFIX + json.dumps(header) + "\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", *curves.names])
    for t, row in zip(curves.times, curves.loss):
        writer.writerow([repr(float(t)), *(repr(float(v)) for v in row)])
    return buf.getvalue()


def from_csv_text(cls: type[SkillCurves], text: str, source: str) -> SkillCurves:
    """Parse wide or long CSV; see SkillCurves.from_csv_text."""
    meta_line = next((ln for ln in text.splitlines() if ln.startswith(META_PREFIX)), None)
    header_meta: dict = {}
    if meta_line is not None:
        try:
            header_meta = json.loads(meta_line[len(META_PREFIX):])
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: malformed skillode-meta line ({exc.msg})") from exc
    rows = [r for r in csv.reader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))]
    if len(rows) < 2:
        raise ValueError(f"{source}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    if lower[0] not in ("step", "steps", "time", "t"):
        raise ValueError(f"{source}: first column must be 'step' (or 'time'), got {header[0]!r}")
    body = rows[1:]
    if len(header) == 3 and lower[1] == "skill":
        times, loss, names = _parse_long(body, source)
    else:
        if len(header) < 2:
            raise ValueError(f"{source}: needs at least one skill column after 'step'")
        times, loss = _parse_wide(body, len(header), source)
        names = tuple(header[1:])
    freqs = header_meta.get("frequencies")
    return cls(times, loss, names, freqs, header_meta.get("metadata", {}) or {})



def _number(text: str, where: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{where}: value {text!r} is not finite")
    return x


def _check_steps(times: np.ndarray, source: str) -> None:
    if times.size > 1 and np.any(np.diff(times) <= 0):
        i = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise ValueError(f"{source}: steps must be strictly increasing; step {times[i + 1]:g} follows {times[i]:g}")


def _parse_wide(body: list[list[str]], width: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.empty((len(body), width))
    for r, row in enumerate(body):
        if len(row) != width:
            raise ValueError(f"{source}: data row {r + 1} has {len(row)} columns, header has {width}")
        for c, cell in enumerate(row):
            data[r, c] = _number(cell.strip(), f"{source} row {r + 1} column {c + 1}")
    _check_steps(data[:, 0], source)
    return data[:, 0], data[:, 1:]


def _parse_long(body: list[list[str]], source: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    names: list[str] = []
    values: dict[tuple[float, str], float] = {}
    for r, row in enumerate(body):
        if len(row) != 3:
            raise ValueError(f"{source}: data row {r + 1} must have 3 columns (step, skill, value)")
        step = _number(row[0].strip(), f"{source} row {r + 1} step")
        skill = row[1].strip()
        if skill not in names:
            names.append(skill)
        key = (step, skill)
        if key in values:
            raise ValueError(f"{source}: duplicate entry for step {step:g}, skill {skill!r}")
        values[key] = _number(row[2].strip(), f"{source} row {r + 1} value")
    steps = np.array(sorted({s for s, _ in values}))
    loss = np.empty((steps.size, len(names)))
    for i, s in enumerate(steps):
        for k, name in enumerate(names):
            if (s, name) not in values:
                raise ValueError(f"{source}: skill {name!r} has no value at step {s:g}")
            loss[i, k] = values[(s, name)]
    return steps, loss, tuple(names)
