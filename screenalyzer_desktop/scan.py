"""Scanning one contiguous segment of a video: the inner loop of the detect & embed stage.

A reader thread decodes every frame (OpenCV releases the GIL) and flags hard cuts from thumbnail
differences. Only sampled frames go through the full-frame detector; the frames in between stay
in a small ring so that, when a face appears or disappears between two samples, a cheap check
around its box finds the exact frame (so a low sampling rate still gives frame-exact intervals).
Those frames are kept at the hold scale (``detect.hold_max_side``: a 4K scan keeps 1080p frames), so
what a scan holds is bounded by the sample spacing, whatever the resolution and the episode's length.
Boxes are linked online into tracklets; each keeps its best few face crops and embeds only those.
Where the frontal detector loses a face that is still there (turned, behind a hand, half out of the
frame), a correlation tracker carries its tracklet from frame to frame until the face is really gone,
forwards through the frames after the last detection and backwards from the first one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2
import dlib
import numpy as np

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.linking import IouLinker, iou_matrix
from screenalyzer_desktop.core.video import open_capture
from screenalyzer_desktop.engines.base import Face, FaceEngine


@dataclass(frozen=True)
class ScanParams:
    fps: float
    sample_fps: float
    cut_threshold: float
    thumb_size: tuple[int, int]
    max_side: int
    min_face_px: float
    iou_link: float
    max_gap_s: float
    embeds_per_track: int
    crop_margin: float
    sharpness_full: float
    size_full_px: float
    refine: bool
    roi_margin: float
    roi_face_px: float
    queue_frames: int
    carry: bool
    carry_min_psr: float
    carry_keep_psr: float
    carry_min_visible: float
    carry_back_s: float
    hold_scale: float = 1.0  # frames kept between samples, and decoded again for carrying, are this size

    def is_sample(self, index: int) -> bool:
        step = self.fps / self.sample_fps
        return index == 0 or int(index / step) != int((index - 1) / step)

    def held(self, image: np.ndarray) -> np.ndarray:
        """``image`` at the hold scale: boxes in source pixels map onto it times ``hold_scale``."""
        if self.hold_scale >= 1.0:
            return image
        return cv2.resize(image, None, fx=self.hold_scale, fy=self.hold_scale, interpolation=cv2.INTER_AREA)


def hold_scale(width: int, height: int, hold_max_side: int) -> float:
    """Scale of the frames a scan keeps in memory: no larger than ``hold_max_side`` on their longest side."""
    return min(1.0, hold_max_side / max(width, height, 1))


@dataclass
class _Sample:
    index: int
    image: np.ndarray | None  # full size, for the detector and the face crops; None for the tail after the last sample
    held: np.ndarray | None  # the same frame at the hold scale
    between: list[tuple[int, np.ndarray]]  # frames since the previous sample at the hold scale, oldest first
    cuts: list[int]  # frames in (previous sample, index] that start a new shot


@dataclass
class SegmentResult:
    """What one segment found; tracklet ids are local to the segment."""

    start: int
    end: int
    detections: list[tuple] = field(default_factory=list)  # DETECTION_COLUMNS
    embeddings: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (row in detections, vector)
    samples: list[tuple[int, int]] = field(default_factory=list)  # (frame, faces)
    cuts: list[int] = field(default_factory=list)
    enter: dict[int, int] = field(default_factory=dict)  # tracklet -> first frame seen
    leave: dict[int, int] = field(default_factory=dict)  # tracklet -> first frame no longer seen
    frames_read: int = 0


DETECTION_COLUMNS = ["frame", "tracklet", "x1", "y1", "x2", "y2", "score", "face_px", "sharpness", "quality"]


def _reader(path: Path, start: int, end: int, params: ScanParams, out: queue.Queue, stop: threading.Event) -> None:
    """Decode frames [start, end) (plus the one before, for the cut test) into ``out``, one at a time:
    ``(index, full frame or None, frame at the hold scale or None, starts a shot)``. Only samples keep
    the full frame, only frames a refinement may look at keep the held one. The end is the index of the
    first frame not decoded."""
    try:
        cap = open_capture(path)
        first = max(0, start - 1)
        if first:
            cap.set(cv2.CAP_PROP_POS_FRAMES, first)
        previous = None
        index = first
        while index < end and not stop.is_set():
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            # Every 4th pixel first: an area resize of the whole frame costs as much as decoding it.
            thumb = cv2.resize(frame[::4, ::4], params.thumb_size, interpolation=cv2.INTER_AREA).astype(np.int16)
            cut = previous is not None and is_cut(thumb, previous, params.cut_threshold)
            previous = thumb
            if index >= start:
                if params.is_sample(index):
                    out.put((index, frame, params.held(frame), cut))
                else:
                    out.put((index, None, params.held(frame) if params.refine else None, cut))
            index += 1
        cap.release()
        out.put(index)
    except Exception as exc:  # handed to the scanning thread, which raises it
        out.put(exc)


def is_cut(thumb: np.ndarray, previous: np.ndarray, threshold: float) -> bool:
    """A hard cut changes the whole picture: the median pixel change is large. A face walking in,
    a flash on part of the frame or noise move the mean but leave the median near zero."""
    return float(np.median(np.abs(thumb - previous).max(axis=2))) > threshold


def _samples(path: Path, start: int, end: int, params: ScanParams) -> Iterator[_Sample]:
    """The sampled frames, each with the frames since the previous sample; the last has no image."""
    frames: queue.Queue = queue.Queue(maxsize=params.queue_frames)
    stop = threading.Event()
    reader = threading.Thread(target=_reader, args=(path, start, end, params, frames, stop), daemon=True,
                              name="frame-reader")
    reader.start()
    between: list[tuple[int, np.ndarray]] = []
    cuts: list[int] = []
    try:
        while True:
            item = frames.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, int):
                yield _Sample(item, None, None, between, cuts)
                return
            index, image, held, cut = item
            if cut:
                cuts.append(index)
            if image is not None:
                yield _Sample(index, image, held, between, cuts)
                between, cuts = [], []
            elif held is not None:
                between.append((index, held))
    finally:
        stop.set()
        while reader.is_alive():
            try:
                frames.get(timeout=0.05)
            except queue.Empty:
                continue


def sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian: low on blurred faces, which embed badly."""
    return float(cv2.Laplacian(gray_face, cv2.CV_32F).var()) if gray_face.size else 0.0


def detect_scaled(engine: FaceEngine, image: np.ndarray, max_side: int) -> list[Face]:
    """Detect on a copy no larger than ``max_side``; boxes and landmarks come back in ``image`` pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale == 1.0:
        return engine.detect(image)
    small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    inv = 1.0 / scale
    return [Face(tuple(v * inv for v in f.box), f.score, None if f.landmarks is None else f.landmarks * inv)
            for f in engine.detect(small)]


def face_present(engine: FaceEngine, image: np.ndarray, box: np.ndarray, params: ScanParams) -> bool:
    """Whether a face overlapping ``box`` (source pixels) is in ``image`` (a frame at the hold scale): a
    detector run on a small crop around it."""
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float32) * params.hold_scale
    size = max(x2 - x1, y2 - y1)
    pad = params.roi_margin * size
    h, w = image.shape[:2]
    cx1, cy1 = int(max(0, x1 - pad)), int(max(0, y1 - pad))
    cx2, cy2 = int(min(w, x2 + pad)), int(min(h, y2 + pad))
    if cx2 <= cx1 or cy2 <= cy1:
        return False
    scale = params.roi_face_px / max(size, 1.0)
    crop = cv2.resize(image[cy1:cy2, cx1:cx2], (max(1, round((cx2 - cx1) * scale)), max(1, round((cy2 - cy1) * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    expected = np.array([[(x1 - cx1) * scale, (y1 - cy1) * scale, (x2 - cx1) * scale, (y2 - cy1) * scale]])
    found = np.array([f.box for f in engine.detect(crop)], dtype=np.float32).reshape(-1, 4)
    return bool(len(found)) and float(iou_matrix(expected, found).max()) >= params.iou_link


def _first_present(frames: list[tuple[int, np.ndarray]], present: Callable[[np.ndarray], bool]) -> int:
    """Binary search for the first frame showing the face (presence assumed to switch on once).

    The first frame is tried first: most faces are there from the start of their shot."""
    if present(frames[0][1]):
        return 0
    lo, hi = 1, len(frames)
    while lo < hi:
        mid = (lo + hi) // 2
        if present(frames[mid][1]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _first_absent(frames: list[tuple[int, np.ndarray]], present: Callable[[np.ndarray], bool]) -> int:
    """Binary search for the first frame no longer showing the face (presence switches off once).

    The last frame is tried first: most faces stay until the end of their shot."""
    if present(frames[-1][1]):
        return len(frames)
    lo, hi = 0, len(frames) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if present(frames[mid][1]):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _inside_share(box: np.ndarray, shape: tuple[int, ...]) -> float:
    """Share of ``box``'s area inside an image of ``shape``."""
    x1, y1, x2, y2 = box
    h, w = shape[:2]
    area = max(x2 - x1, 1e-6) * max(y2 - y1, 1e-6)
    return max(0.0, min(x2, w) - max(x1, 0)) * max(0.0, min(y2, h) - max(y1, 0)) / area


class _Carrier:
    """A correlation tracker (dlib, ~3 ms a frame) following one face from frame to frame.

    A turned, covered or half-out face still looks like itself one frame later, so the tracker holds
    it where the frontal detector fails. It lets go when its peak-to-sidelobe ratio (PSR) collapses
    from one frame to the next (under ``carry_keep_psr`` of the previous frame's; measured: a face that
    vanishes or a cut takes it from 19 to 4-5 at once, a head turning or a hand coming up lowers it by at
    most a quarter a frame, to 5-7 at worst), drops under ``carry_min_psr`` (NaN on a blank picture), or
    when less than ``carry_min_visible`` of its box is left inside the frame."""

    def __init__(self, gray: np.ndarray, box: np.ndarray, params: ScanParams) -> None:
        """``gray``: a frame at the hold scale; ``box``: in source pixels, as ``box`` is kept."""
        self.params = params
        self.box = np.asarray(box, dtype=np.float32)
        self._tracker = dlib.correlation_tracker()
        self._tracker.start_track(gray, dlib.drectangle(*(float(v) for v in self.box * params.hold_scale)))
        # The start image matched against itself (PSR ~28) is the reference for the first real frame, so
        # a face that vanishes right after it collapses the PSR too (small faces in noise keep 4-7 on the
        # empty background: over a fixed floor).
        self._psr = self._tracker.update(gray)

    def follow(self, frames: list[tuple[int, np.ndarray]]) -> int:
        """How many of ``frames``, taken in order, still show the face; ``box`` is its box in the last of those."""
        for k, (_, image) in enumerate(frames):
            psr = self._tracker.update(_gray(image))
            p = self._tracker.get_position()
            box = np.array([p.left(), p.top(), p.right(), p.bottom()], dtype=np.float32)
            if (not psr >= max(self.params.carry_min_psr, self.params.carry_keep_psr * self._psr)
                    or _inside_share(box, image.shape) < self.params.carry_min_visible):
                return k
            self.box, self._psr = box / self.params.hold_scale, psr
        return len(frames)


def _decode_gray(path: Path, first: int, end: int, params: ScanParams) -> list[tuple[int, np.ndarray]]:
    """Frames [first, end) again, in grey at the hold scale: only for tracking a face back past the frames
    kept in memory."""
    cap = open_capture(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, first)
        frames = []
        for index in range(first, end):
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            frames.append((index, params.held(_gray(frame))))
        return frames
    finally:
        cap.release()


@dataclass
class _Candidate:
    row: int
    quality: float
    crop: np.ndarray
    face: Face


class _BestFaces:
    """Per live tracklet, the best ``keep`` face crops so far (bounded memory), embedded on close."""

    def __init__(self, keep: int, margin: float) -> None:
        self.keep, self.margin = keep, margin
        self.best: dict[int, list[_Candidate]] = {}

    def offer(self, tracklet: int, row: int, quality: float, image: np.ndarray, face: Face) -> None:
        chosen = self.best.setdefault(tracklet, [])
        if len(chosen) >= self.keep and quality <= chosen[-1].quality:
            return
        x1, y1, x2, y2 = face.box
        pad = self.margin * max(x2 - x1, y2 - y1)
        h, w = image.shape[:2]
        cx1, cy1 = int(max(0, x1 - pad)), int(max(0, y1 - pad))
        cx2, cy2 = int(min(w, x2 + pad)), int(min(h, y2 + pad))
        shift = np.array([cx1, cy1], dtype=np.float32)
        shifted = Face((x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1), face.score,
                       None if face.landmarks is None else face.landmarks - shift)
        chosen.append(_Candidate(row, quality, image[cy1:cy2, cx1:cx2].copy(), shifted))
        chosen.sort(key=lambda c: -c.quality)
        del chosen[self.keep:]

    def close(self, tracklet: int, engine: FaceEngine) -> list[tuple[int, np.ndarray]]:
        return [(c.row, engine.embed(c.crop, [c.face])[0]) for c in self.best.pop(tracklet, [])]


def _quality(face: Face, sharp: float, params: ScanParams) -> float:
    """Higher for larger, sharper, more confident faces: the ones worth embedding."""
    return (min(face.height / params.size_full_px, 1.0) * min(sharp / params.sharpness_full, 1.0)
            * (1.0 + max(face.score, 0.0)))


def scan_segment(path: Path, start: int, end: int, params: ScanParams, engine: FaceEngine,
                 report: Callable[[int, int, int], None], should_cancel: Callable[[], bool]) -> SegmentResult:
    """Detect, link, refine and embed faces in frames [start, end). ``report(frame, faces, embedded)``."""
    result = SegmentResult(start, end)
    linker = IouLinker(params.iou_link, params.max_gap_s)
    best = _BestFaces(params.embeds_per_track, params.crop_margin)
    last_box: dict[int, np.ndarray] = {}
    live: set[int] = set()
    carriers: dict[int, _Carrier] = {}  # live tracklets the detector lost and a tracker still follows
    previous: tuple[int, np.ndarray] | None = None  # the last sample (grey, hold scale): where live boxes were seen
    shot_start = start

    def close(tracklets: list[int]) -> None:
        for tracklet in tracklets:
            result.embeddings.extend(best.close(tracklet, engine))
            live.discard(tracklet)
            carriers.pop(tracklet, None)

    def carrier_for(tracklet: int) -> _Carrier | None:
        if tracklet in carriers:
            return carriers.pop(tracklet)
        if params.carry and params.refine and previous is not None and tracklet not in result.leave:
            return _Carrier(previous[1], last_box[tracklet], params)
        return None

    for sample in _samples(path, start, end, params):
        if should_cancel():
            raise ScreenalyzerError("ERR_CANCELLED", detail=f"cancelled at frame {sample.index}")
        result.cuts.extend(c for c in sample.cuts if c > start or (c == start and start > 0))
        first_cut = sample.cuts[0] if sample.cuts else None
        before_cut = [f for f in sample.between if first_cut is None or f[0] < first_cut]
        shot_frames = [f for f in sample.between if f[0] >= (sample.cuts[-1] if sample.cuts else -1)]
        faces = [] if sample.image is None else [
            f for f in detect_scaled(engine, sample.image, params.max_side) if f.height >= params.min_face_px]
        t = sample.index / params.fps
        if sample.cuts:
            ended = linker.reset()
            for tracklet in ended:
                carrier = carrier_for(tracklet)
                _refine_leave(result, engine, params, tracklet, last_box[tracklet], before_cut, first_cut,
                              lambda c=carrier, f=before_cut: c.follow(f) if c is not None else 0)
            close(ended)
            shot_start = sample.cuts[-1]
        boxes = np.array([f.box for f in faces], dtype=np.float32).reshape(-1, 4)
        ids, gone = linker.update(t, boxes)
        close(gone)
        unseen = live - set(ids)
        # Assigned on every sample, so that it never keeps an old sample's frames alive.
        followed = before_cut if sample.held is None else [*before_cut, (sample.index, sample.held)]
        for tracklet in sorted(unseen):  # not in this sample: carried on, or find where it left
            carrier = carrier_for(tracklet)
            held = carrier.follow(followed) if carrier is not None else 0
            if carrier is not None and sample.image is not None and held == len(followed):
                carriers[tracklet] = carrier  # kept live; the detector's next box of it continues it
                last_box[tracklet] = carrier.box
                linker.carry(tracklet, t, carrier.box)
                unseen.discard(tracklet)
                continue
            _refine_leave(result, engine, params, tracklet, last_box[tracklet], before_cut, sample.index,
                          lambda h=held: h)
        if sample.image is None:
            close(linker.reset())
            result.frames_read = sample.index - start
            break
        held_gray = _gray(sample.held)  # what carriers follow
        for j, (face, tracklet) in enumerate(zip(faces, ids, strict=True)):
            box = np.asarray(face.box, dtype=np.float32)
            if tracklet not in live and tracklet not in result.enter:
                result.enter[tracklet] = sample.index
                if params.refine and shot_frames:
                    # A second hit on a face already followed (a turning head can give two) is not tracked back.
                    others = np.array([last_box[o] for o in carriers] + [b for k, b in enumerate(boxes) if k != j],
                                      dtype=np.float32).reshape(-1, 4)
                    alone = not (iou_matrix(box[None], others) > 0).any()
                    result.enter[tracklet] = _refine_enter(path, engine, params, box, (sample.index, held_gray),
                                                           shot_frames, previous, shot_start, params.carry and alone)
            result.leave.pop(tracklet, None)
            carriers.pop(tracklet, None)
            live.add(tracklet)
            last_box[tracklet] = box
            x1, y1, x2, y2 = (int(round(v)) for v in face.box)
            sharp = sharpness(_gray(sample.image[max(0, y1):max(0, y2), max(0, x1):max(0, x2)]))
            quality = _quality(face, sharp, params)
            row = len(result.detections)
            result.detections.append((sample.index, tracklet, *face.box, face.score, face.height, sharp, quality))
            best.offer(tracklet, row, quality, sample.image, face)
        live -= unseen
        previous = (sample.index, held_gray)
        result.samples.append((sample.index, len(faces)))
        report(sample.index, len(result.detections), len(result.embeddings))
    return result


def _refine_enter(path: Path, engine: FaceEngine, params: ScanParams, box: np.ndarray, here: tuple[int, np.ndarray],
                  shot_frames: list[tuple[int, np.ndarray]], previous: tuple[int, np.ndarray] | None,
                  shot_start: int, carry: bool) -> int:
    """The first frame showing a face first detected in sample ``here``: where the detector first finds
    it around its box, or earlier where a tracker run backwards from ``here`` still holds it (a head
    turning towards the camera, a hand coming down). Past the frames in memory (those since the previous
    sample), up to ``carry_back_s`` of the shot is decoded again."""
    k = _first_present(shot_frames, lambda image: face_present(engine, image, box, params))
    enter = shot_frames[k][0] if k < len(shot_frames) else here[0]
    if not carry or enter == shot_start:
        return enter
    carrier = _Carrier(here[1], box, params)
    back = shot_frames[::-1] + ([previous] if previous is not None and previous[0] >= shot_start else [])
    held = carrier.follow(back)
    first = max(shot_start, here[0] - round(params.carry_back_s * params.fps))
    if held == len(back) and first < back[-1][0]:  # still there in the oldest frame kept
        older = _decode_gray(path, first, back[-1][0], params)[::-1]
        back += older
        held += carrier.follow(older)
    return min(enter, back[held - 1][0]) if held else enter


def _refine_leave(result: SegmentResult, engine: FaceEngine, params: ScanParams, tracklet: int, box: np.ndarray,
                  frames: list[tuple[int, np.ndarray]], fallback: int, held: Callable[[], int]) -> None:
    """Record the first frame after its last sample where ``tracklet``'s face is gone.

    The detector is asked first, at the last frame (most faces stay until the next sample or cut). If
    it no longer finds the face there, ``held()`` says for how many of ``frames`` a tracker still
    followed it (it may be turned or covered), and the detector bisects the frames after those."""
    if tracklet in result.leave:
        return
    if not params.refine or not frames:
        result.leave[tracklet] = fallback
        return
    present = partial(face_present, engine, box=box, params=params)
    if present(frames[-1][1]):
        result.leave[tracklet] = fallback
        return
    rest = frames[held():]  # the face is known to be gone from the last of these
    k = _first_absent(rest[:-1], present) if len(rest) > 1 else 0
    result.leave[tracklet] = rest[k][0] if rest else fallback
