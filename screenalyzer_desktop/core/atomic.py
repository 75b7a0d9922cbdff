"""Atomic writes: every artifact goes through here.

A file is written to a temp name in its own folder, flushed, fsynced, `os.replace`d over the
target, and the folder is fsynced, so a reader sees the old complete file or the new complete one.
Temp names start with a dot and end in ``.tmp`` so folder watchers can ignore them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from screenalyzer_desktop.core import faults
from screenalyzer_desktop.core.errors import ScreenalyzerError

TEMP_SUFFIX = ".tmp"


def _file_mode() -> int:
    """The mode a plain open() would give a new file (mkstemp's own is 0600, too private for a
    workspace that several users or machines share)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def os_error(exc: OSError, path: Path) -> ScreenalyzerError:
    """Map an OSError from the workspace to the catalogue."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ScreenalyzerError("ERR_DISK_FULL", detail=f"{path}: {exc}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ScreenalyzerError("ERR_WORKSPACE_UNWRITABLE", detail=f"{path}: {exc}")
    return ScreenalyzerError("ERR_WORKSPACE_UNWRITABLE", detail=f"{path}: {exc}")


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then atomically replace ``path``."""
    path = Path(path)
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        faults.point(f"write:{path.name}:created")
        if os.name == "posix":
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            faults.point(f"write:{path.name}:written")
            os.fsync(handle.fileno())
        faults.point(f"write:{path.name}:synced")
        os.replace(tmp_name, path)
        tmp_name = None
        faults.point(f"write:{path.name}:replaced")
        fsync_dir(path.parent)
        faults.point(f"write:{path.name}:dir_synced")
    except OSError as exc:
        raise os_error(exc, path) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def remove_temp_files(folder: Path) -> list[str]:
    """Delete the temp files a killed writer left in ``folder``; the names removed.

    Only for folders that one process writes at a time (an episode's artifacts/ and state/, under its
    run lock): there, any temp file belongs to a run that is gone.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    except OSError as exc:
        raise os_error(exc, Path(folder)) from exc
    for entry in entries:
        if is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise os_error(exc, Path(entry.path)) from exc
            removed.append(entry.name)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def atomic_write_parquet(path: Path, table: Any) -> None:
    """Write a pandas DataFrame or a pyarrow Table as Parquet, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    atomic_write_bytes(path, buffer.getvalue())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path, code: str = "ERR_ARTIFACT_CORRUPT") -> Any:
    """Read JSON written by this module; a damaged file raises ``code`` rather than a bare error."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScreenalyzerError(code, detail=f"{path}: {exc}") from exc
