"""Opening and probing videos with OpenCV, with failures mapped to the error catalogue."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import cv2

from screenalyzer_desktop.core.errors import ScreenalyzerError

# File names taken as videos when a folder is given (a file named explicitly is always tried).
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".mxf", ".m4v", ".webm", ".mpg", ".mpeg", ".ts", ".wmv"}


def videos_in(paths: list[Path]) -> list[Path]:
    """Files as given (the engine decides what is a video); folders contribute their video files."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                          and not p.name.startswith("."))
        else:
            out.append(path)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    duration_s: float
    width: int
    height: int
    codec: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    text = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))
    return text.strip("\x00 ") if text.isprintable() else str(code)


def open_capture(path: Path) -> cv2.VideoCapture:
    """An opened capture, or the catalogue error that says why not."""
    path = Path(path)
    if not path.is_file():
        raise ScreenalyzerError("ERR_VIDEO_NOT_FOUND", detail=str(path))
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScreenalyzerError("ERR_VIDEO_UNREADABLE", detail=f"{path}: {exc}") from exc
    if size == 0:
        raise ScreenalyzerError("ERR_VIDEO_UNREADABLE", detail=f"{path} is empty (0 bytes)")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        audio = audio_only_kind(path)
        if audio:
            # OpenCV refuses a file with no video stream at open: say so, not "unreadable".
            raise ScreenalyzerError("ERR_NO_FRAMES", detail=f"{path}: {audio} file with no video stream")
        raise ScreenalyzerError("ERR_VIDEO_UNREADABLE", detail=f"{path}: not a video OpenCV can open")
    return cap


def audio_only_kind(path: Path) -> str | None:
    """The container name when ``path`` is a recognisable audio-only file (no video track), else None.

    Only called after OpenCV failed to open the file, to tell "audio only" from "damaged".
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
            if head[4:8] == b"ftyp":
                handlers = _mp4_handlers(handle)
                return "MP4/M4A" if b"soun" in handlers and b"vide" not in handlers else None
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    if head[:4] == b"OggS" and not any(tag in head for tag in (b"\x80theora", b"OVP80", b"fishead")):
        return "Ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # Matroska/WebM: CodecID elements (0x86) name each track's kind
        kinds = set(re.findall(rb"\x86[\x81-\xff]([AVS])_", head))
        return "Matroska" if kinds and b"V" not in kinds else None
    return None


def _mp4_handlers(handle: BinaryIO) -> list[bytes]:
    """Handler types ('vide', 'soun', ...) of the tracks of an ISO-BMFF file, found via its moov box."""
    handle.seek(0, 2)
    size, offset = handle.tell(), 0
    while offset + 8 <= size:
        handle.seek(offset)
        header = handle.read(16)
        box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if box_size == 1 and len(header) == 16:
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8:
            return []
        if kind == b"moov":
            handle.seek(offset)
            moov = handle.read(min(box_size, 64 << 20))
            return [moov[i + 12:i + 16] for i in (m.start() for m in re.finditer(b"hdlr", moov))]
        offset += box_size
    return []


def probe(path: Path, *, vfr_check_s: float | None = None, vfr_max_drift_frames: float | None = None) -> VideoInfo:
    """Metadata of a decodable video. Refuses non-videos, audio-only files, undecodable streams and a
    variable frame rate the stages would mistime (limits default to the ``video`` settings)."""
    info = _probe(path)
    if vfr_check_s is None or vfr_max_drift_frames is None:
        from screenalyzer_desktop.core.config import load_config

        video = load_config().section("video")
        vfr_check_s = video["vfr_check_s"] if vfr_check_s is None else vfr_check_s
        vfr_max_drift_frames = video["vfr_max_drift_frames"] if vfr_max_drift_frames is None else vfr_max_drift_frames
    frames = min(info.frame_count, int(round(vfr_check_s * info.fps)))
    drift = frame_time_drift(path, info.fps, frames) if frames > 1 else 0.0
    if drift > vfr_max_drift_frames:
        raise ScreenalyzerError(
            "ERR_VIDEO_UNSUPPORTED",
            detail=f"{path}: variable frame rate (frame times drift {drift:.1f} frames from a constant "
                   f"{info.fps:.3g} fps)",
            hint="Convert it to a constant frame rate, e.g. `ffmpeg -i IN -fps_mode cfr -r 25 -c:a copy OUT.mp4`, "
                 "and import the copy.",
            extra={"variable_frame_rate": True, "drift_frames": round(drift, 2)})
    return info


def frame_time_drift(path: Path, fps: float, frames: int) -> float:
    """The largest gap, in frame intervals, between a frame's own timestamp and index / fps, over the
    first ``frames`` frames (grabbed, not decoded to pixels)."""
    cap = open_capture(path)
    worst, first = 0.0, None
    try:
        for index in range(frames):
            if not cap.grab():
                break
            msec = cap.get(cv2.CAP_PROP_POS_MSEC)
            first = msec if first is None else first
            worst = max(worst, abs((msec - first) / 1000.0 * fps - index))
    finally:
        cap.release()
    return worst


def _probe(path: Path) -> VideoInfo:
    cap = open_capture(path)
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        claimed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        codec = _fourcc(cap)
        ok, frame = cap.read()
        if not ok or frame is None:
            if width > 0 and height > 0 and claimed > 0:
                raise ScreenalyzerError("ERR_VIDEO_UNSUPPORTED",
                                        detail=f"{path}: codec {codec!r} opened but no frame decodes")
            raise ScreenalyzerError("ERR_NO_FRAMES", detail=f"{path}: no video frames (audio only or empty)")
        if fps <= 0 or fps > 1000:
            raise ScreenalyzerError("ERR_VIDEO_UNSUPPORTED", detail=f"{path}: frame rate {fps!r} is unusable")
        frame_count = _last_readable_frame(cap, claimed) + 1 if claimed > 1 else max(claimed, 1)
        height, width = frame.shape[:2]
        return VideoInfo(fps=fps, frame_count=frame_count, duration_s=frame_count / fps, width=width,
                         height=height, codec=codec)
    finally:
        cap.release()


def _last_readable_frame(cap: cv2.VideoCapture, claimed: int) -> int:
    """The container's frame count can overstate a truncated file: find the last frame that reads."""
    last = claimed - 1
    for back in (0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000):
        index = last - back
        if index <= 0:
            return 0
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if cap.grab():
            # Count forward from the first frame that reads: a truncated tail stops here.
            while cap.grab():
                index += 1
            return index
    return max(0, last - 5000)
