"""Atomic writes: a reader never sees a partial file, whatever moment the writer dies at."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from support import REPO_ROOT, child_env

from screenalyzer_desktop.core import atomic
from screenalyzer_desktop.core.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    is_temp_name,
    read_json,
)
from screenalyzer_desktop.core.errors import ScreenalyzerError

SIZE_A, SIZE_B = 6_000_000, 4_500_001
WRITER = """
import os, sys
from pathlib import Path
from screenalyzer_desktop.core.atomic import atomic_write_bytes
target = Path(sys.argv[1])
a = b"A" * {size_a}
b = bytes(range(256)) * ({size_b} // 256) + b"B" * ({size_b} % 256)
n = 0
if sys.argv[2] == "prefilled":  # start from a complete old version, as a re-run does
    atomic_write_bytes(target, a)
    n = 1
print("ready", flush=True)
while True:
    atomic_write_bytes(target, a if n % 2 == 0 else b)
    n += 1
"""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _payloads() -> tuple[bytes, bytes]:
    a = b"A" * SIZE_A
    b = bytes(range(256)) * (SIZE_B // 256) + b"B" * (SIZE_B % 256)
    return a, b


def test_sigkill_at_any_moment_leaves_old_or_new_complete_file(tmp_path: Path) -> None:
    """A child rewrites a big file in a loop and is SIGKILLed at many moments; check every outcome."""
    a, b = _payloads()
    complete = {_sha(a), _sha(b)}
    target = tmp_path / "artifact.bin"
    script = WRITER.format(size_a=SIZE_A, size_b=SIZE_B)
    rng = random.Random(1234)
    outcomes = {"absent": 0, "complete": 0}
    for attempt in range(24):
        # The first kills may land before any rename (target absent or kept from before); the others
        # start from a complete file and land at any point of write / flush / fsync / replace.
        mode = "fresh" if attempt < 4 else "prefilled"
        if mode == "fresh":
            target.unlink(missing_ok=True)
        child = subprocess.Popen([sys.executable, "-c", script, str(target), mode], stdout=subprocess.PIPE,
                                 cwd=REPO_ROOT, env=child_env())
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.02) if mode == "fresh" else rng.uniform(0.0, 0.3))
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()
        if target.exists():
            assert _sha(target.read_bytes()) in complete, f"partial file after kill #{attempt}"
            outcomes["complete"] += 1
        else:
            outcomes["absent"] += 1
        strays = [p.name for p in tmp_path.iterdir() if p != target]
        assert all(is_temp_name(name) and name.startswith(".artifact.bin.") for name in strays), strays
    assert outcomes["complete"] >= 20, outcomes
    # Leftover temp files of killed writers never get in the way of the next write.
    atomic_write_bytes(target, b"final")
    assert target.read_bytes() == b"final"


def test_writes_replace_whole_files_and_leave_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "data.json"
    atomic_write_json(target, {"n": 1, "name": "é"})
    atomic_write_json(target, {"n": 2})
    assert read_json(target) == {"n": 2}
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]
    # A plain open() would give 0666 & ~umask; mkstemp's 0600 must not leak into the workspace.
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    atomic_write_parquet(tmp_path / "t.parquet", frame)
    assert pd.read_parquet(tmp_path / "t.parquet").equals(frame)


def test_temp_names_are_hidden_and_marked() -> None:
    assert is_temp_name(".detections.parquet.abc123.tmp")
    assert not is_temp_name("detections.parquet")
    assert not is_temp_name(".hidden")
    assert not is_temp_name("notes.tmp")


@pytest.mark.parametrize("stage", ["write", "fsync", "replace"])
def test_disk_full_at_any_step_is_err_disk_full_and_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     stage: str) -> None:
    """ENOSPC injected into the writer (write, fsync or rename): the old file stays, no temp is left."""
    target = tmp_path / "result.json"
    atomic_write_json(target, {"old": True})
    enospc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fail(*args: object, **kwargs: object) -> None:
        raise enospc

    if stage == "fsync":
        monkeypatch.setattr(atomic.os, "fsync", fail)
        with pytest.raises(ScreenalyzerError) as info:
            atomic_write_json(target, {"new": True})
    elif stage == "replace":
        monkeypatch.setattr(atomic.os, "replace", fail)
        with pytest.raises(ScreenalyzerError) as info:
            atomic_write_json(target, {"new": True})
    else:
        with pytest.raises(ScreenalyzerError) as info:
            atomic.atomic_write(target, lambda handle: (handle.write(b"{partial"), fail()))
    assert info.value.code == "ERR_DISK_FULL"
    assert info.value.exit_code == 5 and str(target) in info.value.detail
    monkeypatch.undo()
    assert read_json(target) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_read_only_filesystem_is_err_workspace_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EROFS injected at the rename (the real read-only mount is in test_cli.py, where it is permitted)."""
    target = tmp_path / "state.json"

    def read_only(*args: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(atomic.os, "replace", read_only)
    with pytest.raises(ScreenalyzerError) as info:
        atomic_write_json(target, {"x": 1})
    assert info.value.code == "ERR_WORKSPACE_UNWRITABLE"
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_folder_that_is_a_file_is_err_workspace_unwritable(tmp_path: Path) -> None:
    """Real: root ignores permission bits, but nothing can create a folder under a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ScreenalyzerError) as info:
        atomic_write_json(blocker / "episodes" / "x.json", {})
    assert info.value.code == "ERR_WORKSPACE_UNWRITABLE"


def test_damaged_json_is_err_artifact_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(json.dumps({"a": 1}).encode()[:-3])
    with pytest.raises(ScreenalyzerError) as info:
        read_json(path)
    assert info.value.code == "ERR_ARTIFACT_CORRUPT"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScreenalyzerError) as info:
        read_json(path)
    assert info.value.code == "ERR_ARTIFACT_CORRUPT"
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "absent.json")
