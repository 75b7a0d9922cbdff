"""The cast face bank of a show: reference embeddings of named people, one bank per engine.

A cast folder holds one sub-folder per person with photos. Each photo contributes the embedding
of its largest face; a photo with no face, or with several, is reported by file name. Banks are
stored under `<workspace>/cast/<show>/<engine>/` and rebuilt when the photos change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd

from screenalyzer_desktop.core.atomic import atomic_write_json, read_json
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.tables import read_table, write_table
from screenalyzer_desktop.core.workspace import episode_id_for
from screenalyzer_desktop.engines.base import FaceEngine

if TYPE_CHECKING:
    from screenalyzer_desktop.core.workspace import Episode

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
log = logging.getLogger("screenalyzer.cast")


@dataclass(frozen=True)
class CastBank:
    show: str
    names: list[str]  # one per row of ``vectors``
    photos: list[str]
    vectors: np.ndarray  # (n, d), L2-normalised

    @property
    def people(self) -> list[str]:
        return sorted(set(self.names))

    def similarity(self, protos: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Per person, the best cosine similarity of each prototype to that person's photos."""
        people = self.people
        sims = np.full((len(protos), len(people)), -1.0, dtype=np.float32)
        if len(protos) and len(self.vectors):
            all_sims = protos @ self.vectors.T
            for j, person in enumerate(people):
                cols = [i for i, name in enumerate(self.names) if name == person]
                sims[:, j] = all_sims[:, cols].max(axis=1)
        return people, sims


def cast_photos(cast_dir: Path) -> dict[str, list[Path]]:
    cast_dir = Path(cast_dir)
    if not cast_dir.is_dir():
        raise ScreenalyzerError("ERR_CAST_INVALID", detail=f"{cast_dir} is not a folder")
    people = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
              for d in sorted(cast_dir.iterdir()) if d.is_dir() and not d.name.startswith(".")}
    people = {name: photos for name, photos in people.items() if photos}
    if not people:
        raise ScreenalyzerError("ERR_CAST_INVALID", detail=f"{cast_dir} has no person folders with photos")
    return people


def set_episode_cast(episode: Episode, cast_dir: Path, show: str | None = None) -> None:
    """Match this episode against ``cast_dir`` (one sub-folder of photos per person) as ``show``."""
    cast_photos(cast_dir)
    atomic_write_json(episode.dir / "cast.json", {"show": show or Path(cast_dir).resolve().name,
                                                   "cast_dir": str(Path(cast_dir).resolve())})


def show_photos_dir(cast_root: Path, show: str) -> Path:
    """Where a show's cast photos live when the editor builds the cast in the app."""
    return Path(cast_root) / episode_id_for(show + ".x") / "photos"


def cast_digest(cast_dir: Path) -> str:
    """Changes when any photo is added, removed or replaced."""
    listing = [(name, p.name, p.stat().st_size, p.stat().st_mtime_ns)
               for name, photos in cast_photos(cast_dir).items() for p in photos]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]


def bank_dir(cast_root: Path, show: str, engine: str) -> Path:
    return Path(cast_root) / episode_id_for(show + ".x") / engine


def _largest_face_embedding(engine: FaceEngine, photo: Path) -> np.ndarray | None:
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("Cast photo %s could not be read; skipped", photo)
        return None
    faces = engine.detect(image)
    if not faces:
        log.warning("Cast photo %s has no face; skipped", photo)
        return None
    if len(faces) > 1:
        log.warning("Cast photo %s has %d faces; using the largest", photo, len(faces))
    face = max(faces, key=lambda f: f.width * f.height)
    return engine.embed(image, [face])[0]


def ensure_bank(cast_root: Path, show: str, cast_dir: Path, engine: FaceEngine) -> CastBank:
    """The show's bank for ``engine``, rebuilt from ``cast_dir`` when its photos changed."""
    folder = bank_dir(cast_root, show, engine.name)
    digest = cast_digest(cast_dir)
    manifest = folder / "bank.json"
    try:
        current = read_json(manifest)
        if current.get("digest") == digest:
            table, vectors = read_table(folder / "bank.parquet", "cast_bank", "ERR_CAST_INVALID")
            return CastBank(show, table["name"].tolist(), table["photo"].tolist(), vectors["embedding"])
    except (FileNotFoundError, ScreenalyzerError):
        pass
    names, photos, rows = [], [], []
    for name, files in cast_photos(cast_dir).items():
        for photo in files:
            vector = _largest_face_embedding(engine, photo)
            if vector is not None:
                names.append(name)
                photos.append(str(photo))
                rows.append(vector)
    missing = sorted(set(cast_photos(cast_dir)) - set(names))
    for name in missing:
        log.warning("Cast member %s has no usable photo and cannot be recognised", name)
    vectors = np.stack(rows) if rows else np.zeros((0, engine.embedding_dim), np.float32)
    write_table(folder / "bank.parquet", pd.DataFrame({"name": names, "photo": photos}), "cast_bank",
                {"embedding": vectors})
    atomic_write_json(manifest, {"show": show, "cast_dir": str(Path(cast_dir).resolve()), "digest": digest,
                                 "engine": engine.name, "people": sorted(set(names))})
    log.info("Cast bank for %s: %d photos of %d people", show, len(names), len(set(names)))
    return CastBank(show, names, photos, vectors)
