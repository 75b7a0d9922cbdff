"""Real files in, the right answer out: playable videos are probed exactly, everything else gets its code."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest
from support import cli_in_process, expect_error, load_cfg, one_person, write_video

from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.video import probe
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.stages import ingest

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")


def _count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count


def _probe_code(path: Path) -> str:
    with pytest.raises(ScreenalyzerError) as info:
        probe(path)
    return info.value.code


def _ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=60)


def _wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8)))
                                 for i in range(int(16_000 * seconds))))
    return path


# -- videos that must work ---------------------------------------------------------------------------
@pytest.mark.parametrize(("fourcc", "suffix", "size", "fps", "frames"), [
    ("mp4v", ".mp4", (320, 240), 10.0, 25),
    ("MJPG", ".avi", (640, 360), 25.0, 30),
    ("XVID", ".avi", (320, 240), 12.5, 20),
    ("FFV1", ".mkv", (322, 242), 30.0, 15),
    ("mp4v", ".mp4", (320, 240), 24.0, 1),
])
def test_playable_videos_are_ingested_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, fourcc: str, suffix: str,
                                              size: tuple[int, int], fps: float, frames: int) -> None:
    path = write_video(tmp_path / f"clip {fourcc} é{suffix}", fps=fps, size=size, fourcc=fourcc, frames=frames,
                       who=one_person)
    code, lines = cli_in_process(capsys, monkeypatch, "import", path, "--workspace", tmp_path / "ws")
    assert code == 0 and lines[-1]["type"] == "result"
    episode = Workspace(tmp_path / "ws").resolve(str(path))
    video = episode.read_meta()["video"]
    assert (video["width"], video["height"]) == size
    assert video["fps"] == pytest.approx(fps, rel=1e-3)
    assert video["frame_count"] == frames == _count_frames(path)
    assert video["duration_s"] == pytest.approx(frames / fps, rel=1e-3)
    assert episode.read_meta()["source"]["fingerprint"]


@needs_ffmpeg
def test_real_h264_mp4_is_ingested(tmp_path: Path) -> None:
    path = tmp_path / "h264.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt",
            "yuv420p", str(path))
    info = probe(path)
    assert (info.width, info.height, info.frame_count) == (320, 240, 50)
    assert info.fps == pytest.approx(25.0) and info.codec.lower() in {"h264", "avc1"}


def test_truncated_video_counts_only_the_frames_that_decode(tmp_path: Path) -> None:
    """A partial download: the container still claims every frame; the probe counts the readable ones."""
    whole = write_video(tmp_path / "whole.avi", fourcc="MJPG", frames=60, fps=10.0, who=one_person)
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    readable = _count_frames(cut)
    assert 0 < readable < 60
    info = probe(cut)
    assert info.frame_count == readable
    assert info.duration_s == pytest.approx(readable / 10.0)


# -- files that must be refused, each with its own code ------------------------------------------------
def test_missing_path_is_err_video_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    error = expect_error(capsys, monkeypatch, "ERR_VIDEO_NOT_FOUND", "import", tmp_path / "gone.mp4",
                         "--workspace", tmp_path / "ws")
    assert "gone.mp4" in error["detail"]
    assert not (tmp_path / "ws" / "episodes").exists() or not any((tmp_path / "ws" / "episodes").iterdir())
    assert _probe_code(tmp_path) == "ERR_VIDEO_NOT_FOUND", "a folder is not a video file"


@pytest.mark.parametrize("kind", ["empty", "text", "pdf", "mp4-head-only", "random"])
def test_non_videos_are_err_video_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    path = tmp_path / "episode.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("This is the script of the episode, not the episode.\n" * 50)
    elif kind == "pdf":
        path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                         b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    elif kind == "mp4-head-only":  # the first KiB of a real mp4: header without the index (moov)
        path.write_bytes(write_video(tmp_path / "src.mp4", frames=20).read_bytes()[:1024])
    else:
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    expect_error(capsys, monkeypatch, "ERR_VIDEO_UNREADABLE", "import", path, "--workspace", tmp_path / "ws")


@pytest.mark.parametrize("name", ["voice.wav", "voice-renamed.mp4"])
def test_audio_only_wav_is_err_no_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = _wav(tmp_path / name)
    error = expect_error(capsys, monkeypatch, "ERR_NO_FRAMES", "import", path, "--workspace", tmp_path / "ws")
    assert "WAV" in error["detail"]


@needs_ffmpeg
@pytest.mark.parametrize("name", ["audio.m4a", "audio-only.mp4", "audio-only.mkv", "audio.mp3", "audio.ogg",
                                  "audio.flac"])
def test_audio_only_containers_are_err_no_frames(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(path))
    assert _probe_code(path) == "ERR_NO_FRAMES"


@needs_ffmpeg
def test_matroska_with_video_and_audio_is_not_mistaken_for_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "both.mkv"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-f", "lavfi", "-i",
            "sine=duration=1", "-c:v", "ffv1", "-shortest", str(path))
    assert probe(path).frame_count == 10


def test_video_stream_without_frames_is_err_no_frames(tmp_path: Path) -> None:
    """An AVI whose video stream holds no frame (a writer that was opened and closed)."""
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    writer.release()
    assert path.stat().st_size > 0
    assert _probe_code(path) == "ERR_NO_FRAMES"


def test_frame_rate_beyond_reason_is_err_video_unsupported(tmp_path: Path) -> None:
    """A real 2000 fps file (as a high-speed camera writes): opened and decodable, but not an episode."""
    path = write_video(tmp_path / "highspeed.mp4", fps=2000.0, frames=10)
    assert _count_frames(path) == 10
    with pytest.raises(ScreenalyzerError) as info:
        probe(path)
    assert info.value.code == "ERR_VIDEO_UNSUPPORTED" and "2000" in info.value.detail


def test_stream_whose_frames_do_not_decode_is_err_video_unsupported(tmp_path: Path) -> None:
    """An AVI with an intact header and index, every MJPEG frame blanked: the codec opens, nothing decodes."""
    path = write_video(tmp_path / "blank.avi", fourcc="MJPG", frames=20, who=one_person)
    data = bytearray(path.read_bytes())
    offset, end = data.find(b"movi") + 4, data.find(b"idx1")
    blanked = 0
    while offset < end:
        tag, size = bytes(data[offset:offset + 4]), int.from_bytes(data[offset + 4:offset + 8], "little")
        if tag == b"00dc":
            data[offset + 8:offset + 8 + size] = bytes(size)
            blanked += 1
        offset += 8 + size + (size & 1)
    assert blanked == 20
    path.write_bytes(bytes(data))
    assert _probe_code(path) == "ERR_VIDEO_UNSUPPORTED"


# -- the file changing under the episode -----------------------------------------------------------------
def test_video_changed_after_import_is_refused_until_reimported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_video(tmp_path / "episode.mp4", who=one_person)
    ws = tmp_path / "ws"
    code, _ = cli_in_process(capsys, monkeypatch, "import", path, "--workspace", ws)
    assert code == 0
    # Same name, same container, other content (another person, other length).
    write_video(path, seconds=2.0, who=lambda t: [1])
    error = expect_error(capsys, monkeypatch, "ERR_PREREQ_FAILED", "run-stage", "episode", "detect_embed",
                         "--workspace", ws, "--engine", "dlib")
    assert error["cause"]["stage"] == "ingest" and error["cause"]["code"] == "ERR_VIDEO_CHANGED"
    assert not (ws / "episodes" / "episode" / "state" / "detect_embed.complete.json").exists()

    # The stage function itself, as the pipeline runs it for a prerequisite.
    workspace = Workspace(ws)
    ctx = pipeline.StageContext(workspace, workspace.episode("episode"), load_cfg(), "dlib")
    with pytest.raises(ScreenalyzerError) as info:
        ingest.run(ctx, lambda *a, **k: None, lambda: False)
    assert info.value.code == "ERR_VIDEO_CHANGED"

    # Running ingest on purpose re-imports: the new file is accepted and analysed.
    code, lines = cli_in_process(capsys, monkeypatch, "run-stage", "episode", "ingest", "--workspace", ws)
    assert code == 0
    assert workspace.episode("episode").read_meta()["video"]["frame_count"] == 20
    code, lines = cli_in_process(capsys, monkeypatch, "run-stage", "episode", "detect_embed", "--workspace", ws,
                                 "--engine", "dlib")
    assert code == 0 and lines[-1]["ran"] == ["detect_embed"]


def test_touching_the_file_without_changing_it_is_not_a_change(analysed_own_video) -> None:
    import os

    stat = analysed_own_video.video.stat()
    os.utime(analysed_own_video.video, ns=(stat.st_atime_ns + 10**9, stat.st_mtime_ns + 10**9))
    views = {v.stage: v.status for v in pipeline.stage_views(analysed_own_video.workspace,
                                                            analysed_own_video.episode, load_cfg())}
    assert set(views.values()) == {"done"}, views
