"""Bad input in the window: the error panel shows the file's own code (never "Unknown error"), the
workspace is left as it was, and a worker that dies mid-run reads as interrupted and resumes."""

from __future__ import annotations

import math
import os
import shutil
import signal
import struct
import subprocess
import wave
from pathlib import Path

import pytest
from gui_helpers import RUN_TIMEOUT_MS, drop, import_episode, select, status, wait_all_done, wait_status
from PySide6.QtCore import Qt

from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.workspace import Workspace

FFMPEG = shutil.which("ffmpeg")


def _wav(path: Path) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8))) for i in range(8000)))


def _vfr(path: Path, video: Path) -> None:
    """The first second of a real episode at 10 fps, then one at 25 fps, kept variable."""
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(video), "-filter_complex",
                    "[0:v]trim=0:1,setpts=PTS-STARTPTS,fps=10[a];[0:v]trim=1:2,setpts=PTS-STARTPTS,fps=25[b];"
                    "[a][b]concat=n=2:v=1[v]", "-map", "[v]", "-fps_mode", "vfr", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)


def _bad_file(kind: str, folder: Path, video: Path) -> Path:
    path = folder / f"bad {kind} épisode.mp4"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "text-renamed":
        path.write_text("INT. NEWSROOM - NIGHT\n" * 200)
    elif kind == "pdf-renamed":
        path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    elif kind == "truncated":
        path.write_bytes(video.read_bytes()[:2048])
    elif kind == "audio-only":
        _wav(path)
    elif kind == "variable-frame-rate":
        _vfr(path, video)
    return path


@pytest.mark.parametrize(("kind", "code"), [
    ("zero-byte", "ERR_VIDEO_UNREADABLE"), ("text-renamed", "ERR_VIDEO_UNREADABLE"),
    ("pdf-renamed", "ERR_VIDEO_UNREADABLE"), ("truncated", "ERR_VIDEO_UNREADABLE"),
    ("audio-only", "ERR_NO_FRAMES"),
    pytest.param("variable-frame-rate", "ERR_VIDEO_UNSUPPORTED",
                 marks=pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")),
])
def test_a_dropped_bad_file_shows_its_code_and_keeps_the_workspace(qtbot, make_window, videos, tmp_path,
                                                                   workspace_dir, kind: str, code: str) -> None:
    window = make_window()
    good = import_episode(qtbot, window, videos["short"])
    before = {p: p.read_bytes() for p in (workspace_dir / "episodes" / good).rglob("*")
              if p.is_file() and "logs" not in p.parts}
    bad = _bad_file(kind, tmp_path, videos["short"])
    assert drop(window, [bad])
    qtbot.waitUntil(lambda: window.banner.error is not None, timeout=RUN_TIMEOUT_MS)
    assert window.banner.code_label.text() == code
    assert bad.name in window.banner.message_label.text()
    assert window.banner.hint_label.text() and "Unknown" not in window.banner.message_label.text()
    qtbot.waitUntil(lambda: not window.imports.is_busy(), timeout=RUN_TIMEOUT_MS)
    after = {p: p.read_bytes() for p in (workspace_dir / "episodes" / good).rglob("*")
             if p.is_file() and "logs" not in p.parts}
    assert after == before, "a refused file changed an episode already there"
    assert status(window, good, "ingest") == "done"


def test_a_video_that_vanished_after_import_shows_the_structured_cause(qtbot, make_window, videos,
                                                                       tmp_path) -> None:
    clip = tmp_path / "gone soon.mp4"
    shutil.copy(videos["short"], clip)
    window = make_window()
    episode_id = import_episode(qtbot, window, clip)
    select(window, episode_id)
    clip.unlink()
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS) as ended:
        window.run_stage(episode_id, "screentime", if_needed=True)
    cause = ended.args[0].outcome.error.cause
    assert (cause.stage, cause.code) == ("ingest", "ERR_VIDEO_NOT_FOUND") and str(clip) in cause.detail
    panel = window.pipeline_panel.error_panel
    qtbot.waitUntil(panel.isVisible)
    assert (panel.code_label.text(), cause.code in panel.cause_label.text()) == ("ERR_PREREQ_FAILED", True)


def test_the_windows_own_worker_killed_reads_interrupted_and_resumes(qtbot, make_window, videos,
                                                                     workspace_dir) -> None:
    window = make_window()
    episode_id = import_episode(qtbot, window, videos["medium"])
    select(window, episode_id)
    seen: list[dict] = []
    window.runs.progress.connect(lambda job, event: seen.append(event))
    window.run_stage(episode_id, "screentime", if_needed=True)
    qtbot.waitUntil(lambda: any(e["stage"] == "detect_embed" and e["fraction"] > 0 for e in seen),
                    timeout=RUN_TIMEOUT_MS)
    pid = window.runs.runner.pid()
    assert pid is not None
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS) as ended:
        os.kill(pid, signal.SIGKILL)
    job = ended.args[0]
    assert job.status == "failed" and job.outcome.error is not None
    error = job.outcome.error
    assert error.code == "ERR_INTERNAL" and "stopped unexpectedly" in error.message and "killed" in error.detail
    wait_status(qtbot, window, episode_id, "detect_embed", "interrupted", timeout=20_000)
    assert window.pipeline_panel.rows["detect_embed"].status.text() == "Interrupted"
    episode = Workspace(workspace_dir).episode(episode_id)
    assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == run_state.INTERRUPTED
    resume = window.pipeline_panel.resume_button
    qtbot.waitUntil(lambda: resume.isVisible() and resume.isEnabled())
    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    wait_all_done(qtbot, window, episode_id)
