"""Face thumbnails for the review views: cut from the video on the thread pool (cached on disk by
`faces.face_thumbnails`), kept in memory in QPixmapCache, and asked for by views as they paint.

A view calls `pixmap(det_id)` while painting; a miss queues the face and returns None, and
`ready` tells the views to paint again once a batch is in. One batch is made at a time, the faces
asked for in frame order, so the faces of a paint pass take about one pass through the video.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap, QPixmapCache

from screenalyzer_desktop.faces import face_thumbnails
from screenalyzer_desktop.gui.tasks import run_in_pool

if TYPE_CHECKING:
    import pandas as pd

    from screenalyzer_desktop.core.errors import ScreenalyzerError
    from screenalyzer_desktop.core.workspace import Episode

BATCH_FACES = 64  # faces per background batch: the first cards show before the last ones are cut
MEMORY_CACHE_KB = 64 * 1024  # QPixmapCache's default (10 MB) holds only ~200 thumbnails


@dataclass(frozen=True)
class _Batch:
    images: dict[int, QImage]
    thread_id: int  # the thread that made them: never the GUI thread


def _make_batch(episode: Episode, detections: pd.DataFrame, det_ids: list[int], size: int,
                margin: float) -> _Batch:
    paths = face_thumbnails(episode, detections, det_ids, size, margin)
    images = {det_id: QImage(str(path)) for det_id, path in paths.items()}
    return _Batch({d: image for d, image in images.items() if not image.isNull()}, threading.get_ident())


class ThumbnailLoader(QObject):
    ready = Signal()  # new thumbnails are in memory: views repaint
    failed = Signal(object)  # ScreenalyzerError (the video moved, say); those faces stay blank
    sizeChanged = Signal(int)  # the side of a face in pixels (from the settings)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), MEMORY_CACHE_KB))
        self._episode: Episode | None = None
        self._detections: pd.DataFrame | None = None
        self._size = 0
        self._margin = 0.0
        self._generation = 0
        self._wanted: dict[int, None] = {}  # asked for and not yet made
        self._frames: dict[int, int] = {}  # det id → frame: batches go through the video front to back
        self._unavailable: set[int] = set()
        self._busy = False
        self.worker_threads: set[int] = set()  # threads batches were made on (tests check: not the GUI's)
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(0)  # gathers the misses of one paint pass into one batch
        self._start_timer.timeout.connect(self._start_batch)

    @property
    def size(self) -> int:
        return self._size

    def set_source(self, episode: Episode | None, detections: pd.DataFrame | None, size: int, margin: float) -> None:
        """Faces of this episode from now on; batches of the previous one are dropped when they land."""
        self._frames = {} if detections is None else dict(zip(detections["det_id"].astype(int),
                                                              detections["frame"].astype(int), strict=True))
        if episode is not None and self._episode is not None and episode.dir == self._episode.dir \
                and size == self._size and margin == self._margin:
            self._detections = detections
            return
        self._generation += 1
        resized = size != self._size
        self._episode, self._detections, self._size, self._margin = episode, detections, size, margin
        self._wanted.clear()
        self._unavailable.clear()
        self._busy = False
        if resized:
            self.sizeChanged.emit(size)

    def _key(self, det_id: int) -> str:
        return f"face:{self._episode.dir if self._episode else ''}:{self._size}:{self._margin}:{int(det_id)}"

    def pixmap(self, det_id: int) -> QPixmap | None:
        """The face if it is in memory; otherwise None, and it is queued."""
        if self._episode is None or det_id < 0:
            return None
        found = QPixmapCache.find(self._key(det_id))
        if found is not None and not found.isNull():
            return found
        self.request([det_id])
        return None

    def request(self, det_ids: list[int]) -> None:
        for det_id in det_ids:
            det_id = int(det_id)
            if det_id >= 0 and det_id not in self._unavailable:
                self._wanted[det_id] = None
        if self._wanted and not self._busy:
            self._start_timer.start()

    def pending(self) -> int:
        return len(self._wanted) + (1 if self._busy else 0)

    def _start_batch(self) -> None:
        if self._busy or not self._wanted or self._episode is None or self._detections is None:
            return
        batch = sorted(self._wanted, key=lambda d: self._frames.get(d, 0))[:BATCH_FACES]  # one pass, in order
        for det_id in batch:
            del self._wanted[det_id]
        self._busy = True
        generation = self._generation
        run_in_pool(_make_batch, self._episode, self._detections, batch, self._size, self._margin,
                    on_done=lambda result: self._on_batch_done(generation, batch, result),
                    on_failed=lambda error: self._on_batch_failed(generation, batch, error), owner=self)

    def _on_batch_done(self, generation: int, batch: list[int], result: _Batch) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self.worker_threads.add(result.thread_id)
        for det_id, image in result.images.items():
            QPixmapCache.insert(self._key(det_id), QPixmap.fromImage(image))
        self._unavailable.update(d for d in batch if d not in result.images)
        self.ready.emit()
        if self._wanted:
            self._start_timer.start()

    def _on_batch_failed(self, generation: int, batch: list[int], error: ScreenalyzerError) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self._unavailable.update(batch)
        self.failed.emit(error)
        if self._wanted:
            self._start_timer.start()
