"""The CSV file formats of SkillCurves: wide (step, one column per skill) and long (step, skill, value).

A first line '# skillode-meta {json}' carries frequencies and metadata, and, as its last key, the
SHA-256 of the file's content ("sha256": of the meta line without that key, a newline, and every
line after it), so that a changed digit or a truncation at a row boundary is an error, not
different data. A file edited on purpose loads as plain CSV once its meta line is deleted.
pandas reads the wide file as a step column plus one column per skill with
pd.read_csv(path, comment="#").
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ._json import _jsonable

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves

META_PREFIX = "# skillode-meta "


def to_csv_text(curves: SkillCurves) -> str:
    """Wide CSV; the meta line also records the layout and the exact names (JSON), so every name
    round-trips, including names with commas, quotes, newlines or surrounding spaces."""
    header = {
        "frequencies": None if curves.frequencies is None else curves.frequencies.tolist(),
        "metadata": _jsonable(curves.metadata),
        "layout": "wide",
        "names": list(curves.names),
    }
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    # a bare CR is not a line terminator to the writer (so left unquoted) but ends a line for the
    # reader: such a header is quoted in full
    header_writer = (
        csv.writer(body, lineterminator="\n", quoting=csv.QUOTE_ALL) if any("\r" in n for n in curves.names) else writer
    )
    header_writer.writerow(["step", *curves.names])
    for t, row in zip(curves.times, curves.loss):
        writer.writerow([repr(float(t)), *(repr(float(v)) for v in row)])
    meta = META_PREFIX + json.dumps(header)
    digest = _digest(meta, body.getvalue())
    return meta[:-1] + f', "sha256": "{digest}"}}' + "\n" + body.getvalue()


SHA_FIELD = re.compile(r', "sha256": "([0-9a-f]{64})"\}$')


def _digest(meta_without_sha: str, rest: str) -> str:
    return hashlib.sha256((meta_without_sha + "\n" + rest).encode("utf-8")).hexdigest()


def _check_digest(text: str, source: str) -> None:
    """Refuse a file whose content no longer matches the sha256 of its meta line (if it has one)."""
    first, sep, rest = text.partition("\n")
    if not first.startswith(META_PREFIX):
        return
    found = SHA_FIELD.search(first)
    if found is None:
        return  # an older file, or one written by hand: nothing to check against
    if _digest(first[: found.start()] + "}", rest) != found.group(1):
        raise ValueError(
            f"{source}: the content does not match the checksum in its skillode-meta line: the file was "
            "changed or truncated after skillode wrote it. If you edited it on purpose, delete the "
            "'# skillode-meta' line to load it as a plain CSV"
        )


def decode(data: bytes, source: str) -> str:
    """CSV bytes as text: UTF-8, with or without a byte-order mark; anything else is refused by name."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8 (a Latin-1 or Windows-1252 export can be converted with "
            "iconv -f latin1 -t utf-8)"
        ) from None


STEP_NAMES = ("step", "steps", "time", "t")
LONG_VALUE_NAMES = ("value", "loss", "accuracy")


def from_csv_text(cls: type[SkillCurves], text: str, source: str) -> SkillCurves:
    """Parse wide or long CSV; see SkillCurves.from_csv_text."""
    text = text.removeprefix("\ufeff")
    header_meta = _meta(text, source)
    _check_digest(text, source)
    try:
        rows = [
            r
            for r in csv.reader(io.StringIO(_strip_leading_comments(text), newline=""), skipinitialspace=True)
            if r and not (len(r) == 1 and not r[0].strip()) and not r[0].startswith("#")
        ]
    except csv.Error as exc:
        raise ValueError(f"{source}: not a readable CSV ({exc})") from None
    if len(rows) < 2:
        raise ValueError(f"{source}: needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    if lower[0] not in STEP_NAMES:
        raise ValueError(f"{source}: first column must be 'step' (or 'time'), got {header[0]!r}")
    body = rows[1:]
    layout = header_meta.get("layout")
    if layout is None:  # a file from elsewhere: long only in the exact form step, skill, value
        layout = "long" if len(header) == 3 and lower[1] == "skill" and lower[2] in LONG_VALUE_NAMES else "wide"
    if layout == "long":
        times, loss, names = _parse_long(body, source)
    else:
        if len(header) < 2:
            raise ValueError(f"{source}: needs at least one skill column after 'step'")
        times, loss = _parse_wide(body, len(header), source)
        names = _exact_names(header[1:], header_meta.get("names"), source)
    freqs = header_meta.get("frequencies")
    metadata = header_meta.get("metadata", {})
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"{source}: the skillode-meta line's metadata must be a JSON object, got {metadata!r}")
    try:
        return cls(times, loss, names, freqs, metadata or {})
    except ValueError as exc:  # e.g. frequencies of the wrong length, repeated names: say which file
        raise ValueError(f"{source}: {exc}") from None


def has_meta_line(text: str) -> bool:
    """True when the text carries skillode's '# skillode-meta' line (a file written by SkillCurves.save)."""
    return any(ln.startswith(META_PREFIX) for ln in text.removeprefix("\ufeff").splitlines())


META_MARKERS = ("skillode-meta", '"sha256": ', '"layout": ')


def _meta(text: str, source: str) -> dict:
    meta_line = next((ln for ln in text.splitlines() if ln.startswith(META_PREFIX)), None)
    if meta_line is None:
        # a comment that still carries the meta line's markers is a damaged meta line, not a comment:
        # reading on would silently drop the frequencies, names and checksum
        for ln in _leading_comments(text):
            if any(marker in ln for marker in META_MARKERS):
                raise ValueError(
                    f"{source}: its first comment looks like a damaged '# skillode-meta' line ({ln[:40]!r}...); "
                    "the file was changed after skillode wrote it. Delete that line to load it as a plain CSV"
                )
        return {}
    try:
        meta = json.loads(meta_line[len(META_PREFIX) :])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: malformed skillode-meta line ({exc.msg})") from exc
    if not isinstance(meta, dict) or meta.get("layout", "wide") not in ("wide", "long"):
        raise ValueError(f"{source}: malformed skillode-meta line (not a JSON object with a known layout)")
    return meta


def _leading_comments(text: str) -> list[str]:
    """The '#' comment lines before the header."""
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            break
        out.append(line)
    return out


def _strip_leading_comments(text: str) -> str:
    """The text from its first line that is neither blank nor a '#' comment (the header) on."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            return "".join(lines[i:])
    return ""


def _exact_names(header_names: list[str], meta_names: Any, source: str) -> tuple[str, ...]:
    """The meta line's exact names when they match the header (modulo surrounding spaces)."""
    if meta_names is None:
        return tuple(header_names)
    if (
        not isinstance(meta_names, list)
        or len(meta_names) != len(header_names)
        or any(str(m).strip() != h for m, h in zip(meta_names, header_names))
    ):
        raise ValueError(
            f"{source}: the skillode-meta line's names do not match the header row; "
            "the file was edited by hand: remove the meta line or fix the header"
        )
    return tuple(str(m) for m in meta_names)


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
