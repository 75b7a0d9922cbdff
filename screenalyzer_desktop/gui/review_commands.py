"""Undoable edits of an episode's labels: each command holds the labels before and after, and undo
or redo is one atomic save of the whole assignment (`labels.save_labels`).

Confirming a name also grows the show's cast folder with the person's best faces (on the thread
pool); undoing that confirm takes exactly those photos out again, so a slip does not teach the face
bank a wrong face.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.faces import save_cast_photos
from screenalyzer_desktop.gui.tasks import run_in_pool
from screenalyzer_desktop.labels import Labels, save_labels
from screenalyzer_desktop.review import best_detections
from screenalyzer_desktop.stages.cluster import cast_settings

if TYPE_CHECKING:
    from screenalyzer_desktop.core.config import Config
    from screenalyzer_desktop.core.workspace import Episode
    from screenalyzer_desktop.review import EpisodeFaces


class LabelsStore(QObject):
    """The labels of one episode as saved on disk; every change goes through `write`."""

    saved = Signal(object)  # Labels, after each successful save
    failed = Signal(object)  # ScreenalyzerError of a save that did not happen

    def __init__(self, episode: Episode, labels: Labels, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.episode = episode
        self.labels = labels
        self.revision = 0  # counts saves: a read begun before a save must not undo it

    def write(self, labels: Labels) -> bool:
        try:
            save_labels(self.episode, labels)
        except ScreenalyzerError as error:
            self.failed.emit(error)
            return False
        self.labels = labels
        self.revision += 1
        self.saved.emit(labels)
        return True

    def replace_loaded(self, labels: Labels) -> None:
        """Labels read from disk (someone else changed them): nothing to save."""
        self.labels = labels


class LabelsEdit(QUndoCommand):
    """One editor action. A save that fails makes the command obsolete, so the stack drops it."""

    def __init__(self, store: LabelsStore, text: str, before: Labels, after: Labels) -> None:
        super().__init__(text)
        self.store, self.before, self.after = store, before, after

    def redo(self) -> None:
        if not self.store.write(self.after):
            self.setObsolete(True)

    def undo(self) -> None:
        if not self.store.write(self.before):
            self.setObsolete(True)


def _add_cast_photos(episode: Episode, faces: EpisodeFaces, det_ids: list[int], person_dir: Path,
                     margin: float) -> list[Path]:
    """The photos this call added (a face already in the folder is not counted as added)."""
    person_dir.mkdir(parents=True, exist_ok=True)
    before = set(person_dir.iterdir())
    written = save_cast_photos(episode, faces.detections, det_ids, person_dir, margin)
    return [p for p in written if p not in before]


def cast_person_dir(episode: Episode, name: str) -> Path | None:
    """Where a person's photos go in the episode's cast folder; None when the episode has no cast
    folder or the name cannot be a folder name."""
    settings = cast_settings(episode)
    if not settings or not settings.get("cast_dir") or "/" in name or "\\" in name or name.startswith("."):
        return None
    return Path(settings["cast_dir"]) / name


class ConfirmEdit(LabelsEdit):
    """Confirming names (or naming) also adds each person's best faces to the show's cast folder."""

    def __init__(self, store: LabelsStore, text: str, before: Labels, after: Labels, keys: list[str],
                 faces: EpisodeFaces, config: Config, on_photos: Callable[[list[Path]], None],
                 on_failed: Callable[[ScreenalyzerError], None]) -> None:
        super().__init__(store, text, before, after)
        self._keys, self._faces, self._config = keys, faces, config
        self._on_photos, self._on_failed = on_photos, on_failed
        self.photos: list[Path] = []  # added by the last redo, taken out by undo
        self._live = False  # between redo and undo: photos landing now are kept

    def redo(self) -> None:
        super().redo()
        if self.isObsolete():
            return
        self._live = True
        count = self._config.get("review.cast_faces_on_confirm")
        margin = self._config.get("review.cast_photo_margin")
        for key in self._keys:
            person = self.after.people.get(key)
            folder = cast_person_dir(self.store.episode, person.name) if person else None
            if folder is None or count <= 0:
                continue
            det_ids = best_detections(self._faces, self.after.tracks_of(key), count)
            run_in_pool(_add_cast_photos, self.store.episode, self._faces, det_ids, folder, margin,
                        on_done=self._on_added, on_failed=self._on_failed, owner=self.store)

    def undo(self) -> None:
        super().undo()
        self._live = False
        self._remove(self.photos)
        self.photos = []

    def _on_added(self, paths: list[Path]) -> None:
        if self._live:
            self.photos += paths
            self._on_photos(paths)
        else:
            self._remove(paths)  # undone while the photos were being cut

    def _remove(self, paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
        for folder in {p.parent for p in paths}:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # the person's folder was made for these photos
        if paths:
            self._on_photos([])
