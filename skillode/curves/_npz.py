"""The npz file format of SkillCurves: arrays, a JSON metadata member, a format version and a checksum.

Members: times (n_t,), loss (n_t, n), names (n,) str, frequencies (n,) or (0,), metadata (JSON
str), format_version (int), checksum (sha256 hex of the canonical bytes of the other members).
On load every member must be present (files from before format 1, which had neither version nor
checksum, are read when their members are otherwise complete) and the checksum must match: a
corrupted, truncated or foreign file is an error that names the file, never different data.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._files import atomic_write
from ._json import _jsonable

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves

FORMAT_VERSION = 1
# what zipfile, zlib, numpy's npy reader and json raise on damaged input
_UNREADABLE = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    NotImplementedError,
    zipfile.BadZipFile,
    RuntimeError,  # zipfile: an entry flagged encrypted ("password required")
    zlib.error,
    UnicodeDecodeError,
)
_DATA_MEMBERS = ("times", "loss", "names", "frequencies", "metadata")
_MEMBERS = _DATA_MEMBERS + ("format_version", "checksum")


def _checksum(times: np.ndarray, loss: np.ndarray, names: list[str], freqs: np.ndarray, meta: str) -> str:
    h = hashlib.sha256()
    for arr in (times, loss, freqs):
        a = np.ascontiguousarray(arr, dtype="<f8")
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    h.update(json.dumps(names).encode("utf-8"))
    h.update(meta.encode("utf-8"))
    return h.hexdigest()


def write_npz(curves: SkillCurves, path: Path) -> Path:
    meta = json.dumps(_jsonable(curves.metadata))
    freqs = curves.frequencies if curves.frequencies is not None else np.zeros(0)
    names = list(curves.names)
    # Any: numpy's stub for savez_compressed also takes a bool keyword (allow_pickle), which an
    # unpacked dict of arrays would otherwise be checked against.
    members: dict[str, Any] = {
        "times": curves.times,
        "loss": curves.loss,
        "names": np.array(names, dtype=str),
        "frequencies": freqs,
        "metadata": np.array(meta),
        "format_version": np.array(FORMAT_VERSION),
        "checksum": np.array(_checksum(curves.times, curves.loss, names, freqs, meta)),
    }
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **members))


def read_npz(cls: type[SkillCurves], path: Path) -> SkillCurves:
    try:
        members = _read_members(path)
    except _UNREADABLE as exc:
        raise ValueError(f"{path}: not a readable npz file of skillode curves ({type(exc).__name__}: {exc})") from exc
    return cls(members["times"], members["loss"], members["names"], members["frequencies"], members["metadata"])


def _read_members(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):
        raise ValueError("no zip archive signature (truncated, or not an npz file)")
    with np.load(path, allow_pickle=False) as data:
        if not hasattr(data, "files"):
            raise ValueError("a plain .npy array, not an npz archive")
        present = set(data.files)
        legacy = not present & {"format_version", "checksum"}
        required = set(_DATA_MEMBERS) if legacy else set(_MEMBERS)
        missing = sorted(required - present)
        if missing:
            raise ValueError(f"missing members {missing}")
        unknown = sorted(present - set(_MEMBERS))
        if unknown:
            raise ValueError(f"unexpected members {unknown}")
        raw = {k: data[k] for k in present}
    if not legacy and int(raw["format_version"]) > FORMAT_VERSION:
        raise ValueError(
            f"format_version {int(raw['format_version'])} is newer than this skillode reads "
            f"({FORMAT_VERSION}); upgrade skillode"
        )
    times = np.asarray(raw["times"], dtype=np.float64)
    loss = np.asarray(raw["loss"], dtype=np.float64)
    names = [str(v) for v in np.atleast_1d(raw["names"]).tolist()]
    freqs = np.asarray(raw["frequencies"], dtype=np.float64)
    meta_text = str(raw["metadata"])
    if not legacy:
        expected = _checksum(raw["times"], raw["loss"], names, raw["frequencies"], meta_text)
        if str(raw["checksum"]) != expected:
            raise ValueError("checksum mismatch: the file was altered or damaged after it was written")
    meta = json.loads(meta_text)
    if not isinstance(meta, dict):
        raise ValueError("metadata is not a JSON object")
    return {
        "times": times,
        "loss": loss,
        "names": tuple(names),
        "frequencies": freqs if freqs.size else None,
        "metadata": meta,
    }
