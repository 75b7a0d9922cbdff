"""Stage 2, detect & embed: find faces in sampled frames and embed the best few of each tracklet.

Frames are decoded on a reader thread (OpenCV releases the GIL) into a small bounded queue, so
memory does not grow with the episode. Every frame gives a thumbnail for cut detection; sampled
frames go to the detector. Boxes are linked online into tracklets (IoU, reset at cuts); each
tracklet keeps its best-quality face crops and embeds only those when it closes.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.linking import IouLinker
from screenalyzer_desktop.core.tables import write_table
from screenalyzer_desktop.core.video import open_capture
from screenalyzer_desktop.engines.base import Face, FaceEngine

if TYPE_CHECKING:
    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "detect_embed"
REQUIRES = ("ingest",)
WEIGHT = 0.85
USES_ENGINE = True
log = logging.getLogger("screenalyzer.detect")


def config_keys(engine: str) -> tuple[str, ...]:
    return ("detect", "track.cut_threshold", "track.iou_link", "track.max_gap_s", f"engines.{engine}")


def external_inputs(ctx: StageContext) -> dict[str, str]:
    return {}


@dataclass
class _Frame:
    index: int
    t: float
    image: np.ndarray | None  # only for sampled frames
    cut: bool


def _read_frames(path, fps: float, sample_frames: set[int] | Callable[[int], bool], cut_threshold: float,
                 out: queue.Queue, stop: threading.Event, thumb_size: tuple[int, int]) -> None:
    """Reader thread: decode every frame, flag cuts from thumbnail differences, pass on samples."""
    try:
        cap = open_capture(path)
        previous = None
        index = 0
        while not stop.is_set():
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            thumb = cv2.resize(frame, thumb_size, interpolation=cv2.INTER_AREA).astype(np.int16)
            cut = previous is not None and float(np.abs(thumb - previous).mean()) > cut_threshold
            previous = thumb
            sampled = sample_frames(index)
            if sampled or cut:
                out.put(_Frame(index, index / fps, frame if sampled else None, cut))
            index += 1
        cap.release()
        out.put(None)
    except Exception as exc:  # handed to the consumer, which raises it on the stage's thread
        out.put(exc)


def iter_frames(path, fps: float, sample_fps: float, cut_threshold: float, thumb_size: tuple[int, int],
                stop: threading.Event) -> Iterator[_Frame]:
    step = fps / sample_fps

    def is_sample(index: int) -> bool:
        return int(index / step) != int((index - 1) / step) or index == 0

    frames: queue.Queue = queue.Queue(maxsize=8)
    reader = threading.Thread(target=_read_frames, name="frame-reader", daemon=True,
                              args=(path, fps, is_sample, cut_threshold, frames, stop, thumb_size))
    reader.start()
    try:
        while True:
            item = frames.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                frames.get(timeout=0.05)


def sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian: low on blurred faces, which embed badly."""
    if gray_face.size == 0:
        return 0.0
    return float(cv2.Laplacian(gray_face, cv2.CV_32F).var())


@dataclass
class _Candidate:
    det_id: int
    quality: float
    crop: np.ndarray
    face: Face


@dataclass
class _Tracklets:
    """Per live tracklet, the best ``keep`` face crops seen so far (bounded memory)."""

    keep: int
    margin: float
    best: dict[int, list[_Candidate]] = field(default_factory=dict)

    def offer(self, tracklet: int, det_id: int, quality: float, image: np.ndarray, face: Face) -> None:
        chosen = self.best.setdefault(tracklet, [])
        if len(chosen) >= self.keep and quality <= chosen[-1].quality:
            return
        x1, y1, x2, y2 = face.box
        pad = self.margin * max(x2 - x1, y2 - y1)
        h, w = image.shape[:2]
        cx1, cy1 = int(max(0, x1 - pad)), int(max(0, y1 - pad))
        cx2, cy2 = int(min(w, x2 + pad)), int(min(h, y2 + pad))
        crop = image[cy1:cy2, cx1:cx2].copy()
        shifted = Face((x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1), face.score,
                       None if face.landmarks is None else face.landmarks - np.array([cx1, cy1]))
        chosen.append(_Candidate(det_id, quality, crop, shifted))
        chosen.sort(key=lambda c: -c.quality)
        del chosen[self.keep:]

    def close(self, tracklet: int, engine: FaceEngine) -> list[tuple[int, np.ndarray]]:
        rows = []
        for candidate in self.best.pop(tracklet, []):
            vector = engine.embed(candidate.crop, [candidate.face])
            if len(vector):
                rows.append((candidate.det_id, vector[0]))
        return rows


def _detect(engine: FaceEngine, image: np.ndarray, max_side: int) -> list[Face]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = image if scale == 1.0 else cv2.resize(image, (round(w * scale), round(h * scale)),
                                                  interpolation=cv2.INTER_AREA)
    faces = engine.detect(small)
    if scale == 1.0:
        return faces
    inv = 1.0 / scale
    return [Face(tuple(v * inv for v in f.box), f.score, None if f.landmarks is None else f.landmarks * inv)
            for f in faces]


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    meta = ctx.episode.read_meta()
    video = meta["video"]
    fps, total = float(video["fps"]), int(video["frame_count"])
    cfg = ctx.config
    engine = ctx.engine
    log.info("Detecting with %s at %.2f samples/s", engine.name, cfg.get("detect.sample_fps"))
    linker = IouLinker(cfg.get("track.iou_link"), cfg.get("track.max_gap_s"))
    tracklets = _Tracklets(cfg.get("detect.embeds_per_track"), cfg.get("detect.crop_margin"))
    min_face = cfg.get("detect.min_face_px")
    det_rows: list[tuple] = []
    emb_ids: list[int] = []
    emb_rows: list[np.ndarray] = []
    samples: list[tuple[int, float, int, int]] = []
    shot_starts = [0]
    stop = threading.Event()

    def close(ids: list[int]) -> None:
        for tracklet in ids:
            for det_id, vector in tracklets.close(tracklet, engine):
                emb_ids.append(det_id)
                emb_rows.append(vector)

    frames = iter_frames(ctx.episode.source, fps, cfg.get("detect.sample_fps"), cfg.get("track.cut_threshold"),
                         tuple(cfg.get("detect.cut_thumb_size")), stop)
    for frame in frames:
        if should_cancel():
            stop.set()
            raise ScreenalyzerError("ERR_CANCELLED", detail=f"cancelled at frame {frame.index}")
        if frame.cut and frame.index > 0:
            shot_starts.append(frame.index)
            close(linker.reset())
        if frame.image is None:
            continue
        faces = [f for f in _detect(engine, frame.image, cfg.get("detect.max_side")) if f.height >= min_face]
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        boxes = np.array([f.box for f in faces], dtype=np.float32).reshape(-1, 4)
        ids, closed = linker.update(frame.t, boxes)
        close(closed)
        shot = len(shot_starts) - 1
        for face, tracklet in zip(faces, ids, strict=True):
            x1, y1, x2, y2 = (int(round(v)) for v in face.box)
            sharp = sharpness(gray[max(0, y1):max(0, y2), max(0, x1):max(0, x2)])
            quality = _quality(face, sharp, cfg.get("detect.sharpness_full"), cfg.get("detect.size_full_px"))
            det_id = len(det_rows)
            det_rows.append((det_id, frame.index, frame.t, shot, tracklet, *face.box, face.score,
                             face.height, sharp, quality))
            tracklets.offer(tracklet, det_id, quality, frame.image, face)
        samples.append((frame.index, frame.t, shot, len(faces)))
        progress(frame.index / max(total, 1), f"Frame {frame.index:,} of {total:,}",
                 frames=frame.index, faces=len(det_rows), embedded=len(emb_ids))
    close(linker.reset())
    if not samples:
        raise ScreenalyzerError("ERR_NO_FRAMES", detail=f"{ctx.episode.source}: no frame decoded")
    last_frame = samples[-1][0]
    return StageOutput(_write(ctx, det_rows, emb_ids, emb_rows, samples, shot_starts, max(total, last_frame + 1),
                              fps, engine.embedding_dim),
                       {"samples": len(samples), "detections": len(det_rows), "embedded": len(emb_ids),
                        "shots": len(shot_starts)})


def _quality(face: Face, sharp: float, sharp_full: float, size_full: float) -> float:
    """Higher for larger, sharper, more confident faces: the ones worth embedding."""
    return min(face.height / size_full, 1.0) * min(sharp / sharp_full, 1.0) * (1.0 + max(face.score, 0.0))


def _write(ctx: StageContext, det_rows, emb_ids, emb_rows, samples, shot_starts, total_frames: int, fps: float,
           dim: int) -> list:
    artifacts = ctx.episode.artifacts_dir
    detections = pd.DataFrame(det_rows, columns=["det_id", "frame", "t_s", "shot", "tracklet", "x1", "y1", "x2",
                                                 "y2", "score", "face_px", "sharpness", "quality"])
    detections = detections.astype({"det_id": "int64", "frame": "int64", "t_s": "float64", "shot": "int32",
                                    "tracklet": "int32", "x1": "float32", "y1": "float32", "x2": "float32",
                                    "y2": "float32", "score": "float32", "face_px": "float32",
                                    "sharpness": "float32", "quality": "float32"})
    order = np.argsort(np.asarray(emb_ids, dtype=np.int64), kind="stable")
    embeddings = pd.DataFrame({"det_id": np.asarray(emb_ids, dtype=np.int64)[order]})
    matrix = (np.stack(emb_rows)[order] if emb_rows else np.zeros((0, dim), dtype=np.float32))
    ends = shot_starts[1:] + [total_frames]
    shots = pd.DataFrame({"shot": np.arange(len(shot_starts), dtype=np.int32),
                          "start_frame": np.asarray(shot_starts, dtype=np.int64),
                          "end_frame": np.asarray(ends, dtype=np.int64)})
    shots["start_s"] = shots["start_frame"] / fps
    shots["end_s"] = shots["end_frame"] / fps
    sample_table = pd.DataFrame(samples, columns=["frame", "t_s", "shot", "faces"]).astype(
        {"frame": "int64", "t_s": "float64", "shot": "int32", "faces": "int32"})
    return [write_table(artifacts / "detections.parquet", detections, "detections"),
            write_table(artifacts / "embeddings.parquet", embeddings, "embeddings", {"embedding": matrix}),
            write_table(artifacts / "shots.parquet", shots, "shots"),
            write_table(artifacts / "samples.parquet", sample_table, "samples")]
