"""Completion records: a stage is done only when its record, written last, checks out.

`state/<stage>.complete.json` lists the stage's artifacts (size + sha256), the engine that ran, the
hash of the settings it used and the digests of the inputs it read (upstream records, the video).
A stage whose record is missing or does not match its files is "not run"; one whose settings or
inputs changed since is "stale".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screenalyzer_desktop.core.atomic import atomic_write_json, read_json, sha256_file
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Episode

RECORD_SCHEMA_VERSION = 1
_hash_cache: dict[tuple[str, int, int], str] = {}


def record_path(episode: Episode, stage: str) -> Path:
    return episode.state_dir / f"{stage}.complete.json"


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(path)
    return _hash_cache[key]


@dataclass(frozen=True)
class CompletionRecord:
    stage: str
    data: dict[str, Any]
    digest: str  # sha256 of the record file: what downstream stages record as their input

    @property
    def config_hash(self) -> str:
        return self.data.get("config_hash", "")

    @property
    def inputs(self) -> dict[str, str]:
        return self.data.get("inputs", {})

    @property
    def engine(self) -> dict[str, Any]:
        return self.data.get("engine", {})

    @property
    def summary(self) -> dict[str, Any]:
        return self.data.get("summary", {})

    @property
    def finished_at(self) -> float:
        return float(self.data.get("finished_at", 0.0))


def write_record(episode: Episode, stage: str, artifacts: list[Path], *, engine: dict[str, Any],
                 config_hash: str, inputs: dict[str, str], summary: dict[str, Any]) -> CompletionRecord:
    listed = {}
    for path in artifacts:
        rel = Path(path).relative_to(episode.dir).as_posix()
        listed[rel] = {"size": Path(path).stat().st_size, "sha256": _file_hash(Path(path))}
    data = {"schema_version": RECORD_SCHEMA_VERSION, "stage": stage, "finished_at": time.time(),
            "pid": os.getpid(), "engine": engine, "config_hash": config_hash, "inputs": inputs,
            "artifacts": listed, "summary": summary}
    atomic_write_json(record_path(episode, stage), data)
    record = read_record(episode, stage)
    if record is None:
        raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail=f"{stage} record did not verify after writing")
    return record


def clear_record(episode: Episode, stage: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(record_path(episode, stage))


def read_record(episode: Episode, stage: str) -> CompletionRecord | None:
    """The stage's record if it and every artifact it lists check out, else None ("not run")."""
    path = record_path(episode, stage)
    try:
        raw = path.read_bytes()
        data = read_json(path)
    except (FileNotFoundError, ScreenalyzerError):
        return None
    if not isinstance(data, dict) or data.get("stage") != stage \
            or data.get("schema_version") != RECORD_SCHEMA_VERSION:
        return None
    for rel, meta in data.get("artifacts", {}).items():
        artifact = episode.dir / rel
        try:
            if artifact.stat().st_size != meta["size"] or _file_hash(artifact) != meta["sha256"]:
                return None
        except (OSError, KeyError, TypeError):
            return None
    return CompletionRecord(stage=stage, data=data, digest=hashlib.sha256(raw).hexdigest()[:16])
