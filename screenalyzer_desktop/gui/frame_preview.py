"""One frame of the episode with its detected faces boxed and labelled by person.

The frame is decoded and drawn on with OpenCV on the thread pool; the GUI thread only turns the
pixels into a pixmap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.video import open_capture
from screenalyzer_desktop.gui.results_data import Box
from screenalyzer_desktop.gui.tasks import run_in_pool

HINT = "Click an appearance on the timeline to see that frame."


@dataclass(frozen=True)
class RenderedFrame:
    frame: int
    rgb: np.ndarray  # height × width × 3, boxes drawn in
    boxes: tuple[Box, ...]


def render_frame(video: Path, frame: int, boxes: tuple[Box, ...],
                 colours: dict[str, tuple[int, int, int]]) -> RenderedFrame:
    """Decode ``frame`` of ``video`` and draw ``boxes`` on it (``colours``: person → RGB)."""
    cap = open_capture(video)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, image = cap.read()
    finally:
        cap.release()
    if not ok or image is None:
        raise ScreenalyzerError("ERR_VIDEO_UNREADABLE", detail=f"{video}: frame {frame} could not be decoded")
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    thickness = max(2, rgb.shape[0] // 180)  # readable once the frame is scaled down into the panel
    scale = max(0.6, rgb.shape[0] / 450)
    for box in boxes:
        colour = colours.get(box.person, (200, 200, 200))
        x1, y1, x2, y2 = (int(round(v)) for v in (box.x1, box.y1, box.x2, box.y2))
        cv2.rectangle(rgb, (x1, y1), (x2, y2), colour, thickness)
        label = box.person or "(nobody)"
        (w, h), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness // 2)
        top = max(0, y1 - h - base - 4)
        cv2.rectangle(rgb, (x1, top), (x1 + w + 6, top + h + base + 4), colour, -1)
        cv2.putText(rgb, label, (x1 + 3, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness // 2, cv2.LINE_AA)
    return RenderedFrame(frame, rgb, boxes)


class FramePreview(QWidget):
    """Shows the frame asked for last; an answer to an older request is dropped."""

    frame_shown = Signal(int)
    failed = Signal(object)  # ScreenalyzerError

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture = QLabel(HINT)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setWordWrap(True)
        self.picture.setMinimumSize(160, 90)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        self.shown: RenderedFrame | None = None
        self._image: QImage | None = None
        self._request = 0

    def show_frame(self, video: Path, frame: int, boxes: list[Box], colours: dict[str, QColor],
                   caption: str) -> None:
        self._request += 1
        request = self._request
        self.caption.setText(f"{caption} · loading frame {frame} …")
        rgb = {person: colour.getRgb()[:3] for person, colour in colours.items()}
        run_in_pool(render_frame, Path(video), frame, tuple(boxes), rgb,
                    on_done=lambda done: self._on_rendered(request, caption, done),
                    on_failed=lambda error: self._on_failed(request, error), owner=self)

    def clear(self) -> None:
        self._request += 1
        self.shown, self._image = None, None
        self.picture.clear()
        self.picture.setText(HINT)
        self.caption.setText("")

    def _on_rendered(self, request: int, caption: str, done: RenderedFrame) -> None:
        if request != self._request:
            return
        height, width, _ = done.rgb.shape
        self._image = QImage(done.rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self.shown = done
        self.caption.setText(f"{caption} · frame {done.frame} · {len(done.boxes)} face(s)")
        self._fit()
        self.frame_shown.emit(done.frame)

    def _on_failed(self, request: int, error: ScreenalyzerError) -> None:
        if request != self._request:
            return
        self.shown, self._image = None, None
        self.picture.clear()
        self.picture.setText(f"{error.code}: {error.message}\n{error.hint}")
        self.caption.setText("")
        self.failed.emit(error)

    def image(self) -> QImage | None:
        return self._image

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt's name and signature
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image is not None:
            self.picture.setPixmap(QPixmap.fromImage(self._image).scaled(
                self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
