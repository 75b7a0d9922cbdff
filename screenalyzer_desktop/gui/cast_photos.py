"""The files of a cast folder (one sub-folder of photos per person) as the Cast tab changes them,
and the grid of a person's photos that takes photo files dropped on it."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QImageReader
from PySide6.QtWidgets import QListWidget, QWidget

from screenalyzer_desktop.cast_bank import PHOTO_SUFFIXES
from screenalyzer_desktop.core.atomic import os_error
from screenalyzer_desktop.core.workspace import Episode

TRASH = ".trash"
PathRole = Qt.ItemDataRole.UserRole + 1  # a photo's path, or a person's name
FirstPhotoRole = Qt.ItemDataRole.UserRole + 2
_EPISODE_PART = re.compile(r"[ _.-]*(s\d+e\d+|e\d+|ep\d+|episode[ _]?\d+).*$", re.IGNORECASE)


def cast_people(cast_dir: Path) -> dict[str, list[Path]]:
    """Person → photos, people without photos included (a person just added has none yet)."""
    if not cast_dir.is_dir():
        return {}
    return {d.name: sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
            for d in sorted(cast_dir.iterdir(), key=lambda d: d.name.casefold())
            if d.is_dir() and not d.name.startswith(".")}


def guess_show(episode: Episode) -> str:
    """'Harbour_Lights_S01E02' → 'Harbour Lights'."""
    return _EPISODE_PART.sub("", episode.id).replace("_", " ").strip() or episode.id


def copy_photos(photos: list[Path], person_dir: Path) -> list[Path]:
    """Copy photos in, never over one already there."""
    person_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for photo in photos:
        target = person_dir / photo.name
        n = 1
        while target.exists():
            target = person_dir / f"{photo.stem}-{n}{photo.suffix}"
            n += 1
        try:
            shutil.copy2(photo, target)
        except OSError as exc:
            raise os_error(exc, target) from exc
        copied.append(target)
    return copied


def trash_photo(cast_dir: Path, photo: Path) -> Path:
    """Move a photo out of the bank into `<cast>/.trash/<person>/` (the bank ignores dot folders)."""
    target = cast_dir / TRASH / photo.parent.name / f"{time.strftime('%Y%m%d-%H%M%S')}-{photo.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        photo.replace(target)
    except OSError as exc:
        raise os_error(exc, photo) from exc
    return target


def restore_photo(trashed: Path, original: Path) -> Path:
    """Move a trashed photo back where it was (a free name beside it if a photo has taken that one since)."""
    target, n = original, 1
    while target.exists():
        target, n = original.with_name(f"{original.stem}-{n}{original.suffix}"), n + 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        trashed.replace(target)
    except OSError as exc:
        raise os_error(exc, trashed) from exc
    return target


def load_icons(photos: list[Path], size: int) -> dict[str, QImage]:
    """Small images of the photos, decoded at their shown size (fast for big JPEGs)."""
    out = {}
    for photo in photos:
        reader = QImageReader(str(photo))
        reader.setAutoTransform(True)
        full = reader.size()
        if full.isValid():
            reader.setScaledSize(full.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            out[str(photo)] = image
    return out


def photo_paths(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    return [Path(url.toLocalFile()) for url in event.mimeData().urls()
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in PHOTO_SUFFIXES]


class PhotoGrid(QListWidget):
    """A person's photos; photo files dropped here are added to that person."""

    photosDropped = Signal(list)

    def set_photo_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 24, size + 36))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if photo_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:
        if photo_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        photos = photo_paths(event)
        if photos:
            event.acceptProposedAction()
            self.photosDropped.emit(photos)
