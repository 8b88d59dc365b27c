"""The npz file format of SkillCurves: arrays plus a JSON metadata member."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._json import _jsonable

if TYPE_CHECKING:
    from ._skill_curves import SkillCurves


def write_npz(curves: SkillCurves, path: Path) -> None:
    meta = json.dumps(_jsonable(curves.metadata))
    np.savez_compressed(
        path,
        times=curves.times,
        loss=curves.loss,
        names=np.array(curves.names, dtype=str),
        frequencies=curves.frequencies if curves.frequencies is not None else np.zeros(0),
        metadata=np.array(meta),
    )


def read_npz(cls: type[SkillCurves], path: Path) -> SkillCurves:
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("a plain .npy array, not an npz archive")
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path.name}: not a readable npz file ({exc})") from exc
    with data:
        missing = {"times", "loss"} - set(data.files)
        if missing:
            raise ValueError(f"{path.name}: missing arrays {sorted(missing)}")
        freqs = data["frequencies"] if "frequencies" in data.files else np.zeros(0)
        names = tuple(data["names"].tolist()) if "names" in data.files else ()
        meta = json.loads(str(data["metadata"])) if "metadata" in data.files else {}
        return cls(data["times"], data["loss"], names, freqs if freqs.size else None, meta)
