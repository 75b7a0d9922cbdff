"""The workspace on disk: `episodes/<episode_id>/` with episode.json, artifacts/, state/, logs/."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from screenalyzer_desktop.core.atomic import atomic_write_json, os_error, read_json
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import default_workspace

EPISODE_SCHEMA_VERSION = 1
_MAX_ID_CHARS = 64
_UNSAFE = re.compile(r'[<>:"/\\|?*\s]+')
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                     *(f"lpt{i}" for i in range(1, 10))}


def episode_id_for(file_name: str) -> str:
    """A folder-safe id from a file name: unicode kept, separators, controls and dots tamed."""
    stem = Path(unicodedata.normalize("NFKC", file_name)).stem if file_name else ""
    stem = "".join(ch for ch in stem if not unicodedata.category(ch).startswith("C"))
    stem = _UNSAFE.sub("_", stem).strip("._- ")
    stem = stem[:_MAX_ID_CHARS].rstrip("._- ")
    while len(stem.encode("utf-8")) > 120:
        stem = stem[:-1]
    if not stem:
        stem = "episode"
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:  # Windows reserves "nul.txt" as much as "nul"
        stem = f"_{stem}"
    return stem


def _numbered_id(base: str, n: int) -> str:
    """``base`` with a ``-n`` suffix, shortened so the result is still a valid (round-tripping) id."""
    if n == 1:
        return base
    stem = base
    while True:
        candidate = episode_id_for(f"{stem}-{n}.x")
        if candidate.endswith(f"-{n}") or not stem:
            return candidate
        stem = stem[:-1]


def content_fingerprint(path: Path, block: int = 1 << 20) -> str:
    """Hash of the size and three 1 MiB windows (start, middle, end): cheap on 10 GB files."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for offset in sorted({0, max(0, size // 2 - block // 2), max(0, size - block)}):
            handle.seek(offset)
            digest.update(handle.read(block))
    return digest.hexdigest()[:32]


_REIMPORT_HINT = ("The episode's own record (episode.json) is damaged: delete the episode's folder and import "
                  "the video again.")


class Episode:
    """One analysed video: paths of its files. Holds no state of its own beyond the folder."""

    def __init__(self, folder: Path) -> None:
        self.dir = Path(folder)
        self.id = self.dir.name

    @property
    def meta_path(self) -> Path:
        return self.dir / "episode.json"

    @property
    def artifacts_dir(self) -> Path:
        return self.dir / "artifacts"

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    @property
    def logs_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def exports_dir(self) -> Path:
        return self.dir / "exports"

    def artifact(self, name: str) -> Path:
        return self.artifacts_dir / name

    def read_meta(self) -> dict[str, Any]:
        try:
            meta = read_json(self.meta_path)
        except FileNotFoundError as exc:
            raise ScreenalyzerError("ERR_EPISODE_NOT_FOUND", detail=f"{self.meta_path} is missing") from exc
        except ScreenalyzerError as exc:  # the video's path is in this file: no stage can rebuild it
            raise ScreenalyzerError(exc.code, detail=exc.detail, hint=_REIMPORT_HINT) from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("source"), dict) \
                or not isinstance(meta["source"].get("path"), str):
            raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail=f"{self.meta_path}: no source video recorded",
                                    hint=_REIMPORT_HINT)
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write_json(self.meta_path, meta)

    @property
    def source(self) -> Path:
        return Path(self.read_meta()["source"]["path"])

    def __repr__(self) -> str:
        return f"Episode({self.id!r})"


class Workspace:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_workspace()

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def cast_dir(self) -> Path:
        return self.root / "cast"

    def ensure_writable(self) -> None:
        probe = self.root / f".write-probe-{os.getpid()}"
        try:
            self.episodes_dir.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise os_error(exc, self.root) from exc

    def episodes(self) -> list[Episode]:
        if not self.episodes_dir.is_dir():
            return []
        return [Episode(p) for p in sorted(self.episodes_dir.iterdir())
                if p.is_dir() and (p / "episode.json").is_file()]

    def episode(self, episode_id: str) -> Episode:
        if episode_id != episode_id_for(episode_id + ".x") or episode_id in {"", ".", ".."}:
            raise ScreenalyzerError("ERR_EPISODE_NOT_FOUND", detail=f"{episode_id!r} is not a valid id")
        episode = Episode(self.episodes_dir / episode_id)
        if not episode.meta_path.is_file():
            raise ScreenalyzerError("ERR_EPISODE_NOT_FOUND", detail=f"no episode {episode_id!r} in {self.root}")
        return episode

    def find_by_source(self, video: Path) -> Episode | None:
        target = str(Path(video).resolve())
        for episode in self.episodes():
            try:
                if episode.read_meta()["source"]["path"] == target:
                    return episode
            except (ScreenalyzerError, KeyError, TypeError):
                continue
        return None

    def resolve(self, ref: str) -> Episode:
        """An episode by id, or by the path of its source video."""
        candidate = Path(ref)
        if candidate.is_file():
            found = self.find_by_source(candidate)
            if found is not None:
                return found
        return self.episode(ref)

    def import_video(self, video: Path) -> Episode:
        """The episode of a file OpenCV can open (refused with its code before anything is written)."""
        from screenalyzer_desktop.core.video import open_capture

        open_capture(video).release()
        return self.create_episode(video)

    def create_episode(self, video: Path) -> Episode:
        """Claim a fresh id for ``video`` (race-safe mkdir), or return its existing episode."""
        existing = self.find_by_source(video)
        if existing is not None:
            return existing
        self.ensure_writable()
        base = episode_id_for(Path(video).name)
        for n in range(1, 10_000):
            episode_id = _numbered_id(base, n)
            folder = self.episodes_dir / episode_id
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise os_error(exc, folder) from exc
            episode = Episode(folder)
            for sub in (episode.artifacts_dir, episode.state_dir, episode.logs_dir):
                sub.mkdir()
            episode.write_meta({"schema_version": EPISODE_SCHEMA_VERSION, "id": episode_id,
                                "source": {"path": str(Path(video).resolve()), "name": Path(video).name},
                                "probed": False})
            return episode
        raise ScreenalyzerError("ERR_WORKSPACE_UNWRITABLE", detail=f"no free id for {base}")
