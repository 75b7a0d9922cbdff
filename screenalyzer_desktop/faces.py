"""Face pictures cut from the episode's video at the stored boxes: thumbnails for the review views
(cached on disk, so a gallery opens instantly the second time) and photos for the cast face bank.

No Qt here: the window calls these from its thread pool, never on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd

from screenalyzer_desktop.core.atomic import atomic_write_bytes
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.video import open_capture

if TYPE_CHECKING:
    from collections.abc import Iterable

    from screenalyzer_desktop.core.workspace import Episode

SEEK_AHEAD_FRAMES = 48  # closer than this, reading on is cheaper than a seek (a seek decodes from a keyframe)


def thumbnail_path(episode: Episode, det_id: int, size: int) -> Path:
    return episode.dir / "cache" / f"faces-{size}" / f"{int(det_id)}.jpg"


def crop_faces(episode: Episode, boxes: pd.DataFrame, margin: float) -> dict[int, np.ndarray]:
    """A square crop around each box (det_id, frame, x1, y1, x2, y2), ``margin`` of the face size
    added on every side; what falls outside the frame is grey. Frames are read in order."""
    crops: dict[int, np.ndarray] = {}
    if boxes.empty:
        return crops
    cap = open_capture(episode.source)
    try:
        position = -1
        image = None
        for frame, rows in boxes.sort_values("frame").groupby("frame", sort=True):
            frame = int(frame)
            if not 0 <= frame - position - 1 < SEEK_AHEAD_FRAMES:
                cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
                position = frame - 1
            while position < frame:
                ok, image = cap.read()
                position += 1
                if not ok:
                    raise ScreenalyzerError("ERR_VIDEO_CHANGED",
                                            detail=f"{episode.source}: frame {frame} can no longer be read")
            for row in rows.itertuples(index=False):
                crops[int(row.det_id)] = _square_crop(image, (row.x1, row.y1, row.x2, row.y2), margin)
    finally:
        cap.release()
    return crops


def _square_crop(image: np.ndarray, box: tuple[float, float, float, float], margin: float) -> np.ndarray:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    right, bottom = left + max(1, int(round(side))), top + max(1, int(round(side)))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, right - w, bottom - h)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    return image[top + pad:bottom + pad, left + pad:right + pad].copy()


def face_thumbnails(episode: Episode, detections: pd.DataFrame, det_ids: Iterable[int], size: int,
                    margin: float) -> dict[int, Path]:
    """JPEG thumbnails (``size`` px square) of these detections, made once and cached on disk."""
    wanted = [int(d) for d in dict.fromkeys(det_ids) if int(d) >= 0]
    paths = {d: thumbnail_path(episode, d, size) for d in wanted}
    missing = [d for d, p in paths.items() if not p.exists()]
    if missing:
        boxes = detections[detections["det_id"].isin(missing)]
        for det_id, crop in crop_faces(episode, boxes, margin).items():
            small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
            ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if ok:
                atomic_write_bytes(paths[det_id], data.tobytes())
    return {d: p for d, p in paths.items() if p.exists()}


def save_cast_photos(episode: Episode, detections: pd.DataFrame, det_ids: Iterable[int], person_dir: Path,
                     margin: float) -> list[Path]:
    """Write these faces as photos into a cast person folder (the face bank's source of truth), with
    enough context around each face for the detector to find it again."""
    boxes = detections[detections["det_id"].isin([int(d) for d in det_ids])]
    written = []
    for det_id, crop in crop_faces(episode, boxes, margin).items():
        path = Path(person_dir) / f"{episode.id}-face{det_id}.jpg"
        ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if ok:
            atomic_write_bytes(path, data.tobytes())
            written.append(path)
    return written
