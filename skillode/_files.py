"""Writing the user's files safely: atomic replace, and output paths checked before the work.

Every file skillode writes goes through `atomic_write`: the bytes go to a temporary file in the
same folder, are flushed and fsync'ed, and the temporary file is renamed over the target
(os.replace, atomic on POSIX and Windows). A crash, a kill or an exception mid-write leaves the
previous file intact and no half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def check_output_file(path: str | os.PathLike[str], name: str = "path") -> Path:
    """path as a Path whose folder exists and is writable, and which is not itself a folder."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{name} {str(p)!r} is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ValueError(f"{name} {str(p)!r}: folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ValueError(f"{name} {str(p)!r}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {str(p)!r}: folder {str(parent)!r} is not writable")
    return p


def check_output_dir(path: str | os.PathLike[str], name: str = "--out") -> Path:
    """A folder to write into: created if missing (with its parents), refused if it is a file or unwritable."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{name} {str(p)!r} is an existing file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{name} {str(p)!r}: cannot create the folder ({exc.strerror or exc})") from exc
    if not os.access(p, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {str(p)!r} is not writable")
    return p


def atomic_write(
    path: str | os.PathLike[str],
    content: bytes | str | Callable[[IO[bytes]], Any],
    *,
    encoding: str = "utf-8",
    name: str = "path",
) -> Path:
    """Write content to path atomically; returns the path written (exactly `path`).

    content: bytes, str (encoded with `encoding`), or a function that writes into a binary file
    object (e.g. lambda fh: np.savez_compressed(fh, ...)).
    """
    target = check_output_file(path, name)
    if isinstance(content, str):
        content = content.encode(encoding)  # an encoding error fails here, before any file is touched
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.", suffix=".tmp"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
