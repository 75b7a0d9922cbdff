"""Helpers shared by the engine tests: small real videos, in-process runs, the CLI as a child process.

Fixtures built on these are in conftest.py; test modules import the helpers from here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
# Boxes of two clearly different, frontal faces in insightface's sample group photo t1.jpg.
_T1_FACES = ((1118, 283, 1227, 391), (67, 283, 176, 391))
FACE_SIDE = 150


# -- videos ----------------------------------------------------------------------------------------
def _t1_path() -> Path:
    insightface = pytest.importorskip("insightface")
    return Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"


_face_cache: list[np.ndarray] = []


def face_crops() -> list[np.ndarray]:
    """Two real faces (with some context) from insightface's t1.jpg, FACE_SIDE px square."""
    if not _face_cache:
        image = cv2.imread(str(_t1_path()))
        assert image is not None, "insightface's sample t1.jpg is missing"
        for x1, y1, x2, y2 in _T1_FACES:
            mw, mh = (x2 - x1) // 2, (y2 - y1) // 2
            crop = image[y1 - mh:y2 + mh, x1 - mw:x2 + mw]
            _face_cache.append(cv2.resize(crop, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA))
    return _face_cache


Who = Callable[[float], Sequence[int]]


def write_video(path: Path, seconds: float = 3.0, fps: float = 10.0, size: tuple[int, int] = (320, 240),
                fourcc: str = "mp4v", who: Who | None = None, frames: int | None = None) -> Path:
    """A real video written by OpenCV: grey background, the faces ``who(t)`` names side by side.

    ``who`` returns indexes into :func:`face_crops` (0 and 1 are different people); None means nobody.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    count = frames if frames is not None else int(round(seconds * fps))
    side = min(FACE_SIDE, height - 10, width // 2 - 10)
    faces = [cv2.resize(face, (side, side)) for face in face_crops()] if who is not None else []
    for index in range(count):
        frame = np.full((height, width, 3), 90, dtype=np.uint8)
        cv2.putText(frame, str(index), (4, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1)
        for slot, face in enumerate(who(index / fps) if who is not None else ()):
            x, y = 10 + slot * (width // 2), (height - side) // 2
            frame[y:y + side, x:x + side] = faces[face]
        writer.write(frame)
    writer.release()
    assert path.is_file() and path.stat().st_size > 0
    return path


def two_people(t: float) -> list[int]:
    """Person 0 all along; person 1 joins at 1.5 s."""
    return [0] if t < 1.5 else [0, 1]


def one_person(t: float) -> list[int]:
    return [0]



# -- the engine in-process ---------------------------------------------------------------------------
def load_cfg(**overrides: Any):
    from screenalyzer_desktop.core.config import load_config

    return load_config(overrides={"engine": "dlib", **overrides})


def events_sink() -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], None]]:
    events: list[dict[str, Any]] = []
    return events, events.append


def run_pipeline(workspace_root: Path, video_path: Path, target: str = "screentime", *, config: Any = None,
                 rerun: bool = False, existing: Any = None):
    """Import ``video_path`` into the workspace (or take the ``existing`` episode of it) and run
    ``target`` in this process, as `analyze` does."""
    from screenalyzer_desktop import pipeline
    from screenalyzer_desktop.core.workspace import Workspace

    workspace = Workspace(workspace_root)
    episode = existing or workspace.create_episode(video_path)
    config = config or load_cfg()
    events, emit = events_sink()
    pipeline.run(workspace, episode, "ingest", config, emit)
    result = pipeline.run(workspace, episode, target, config, emit, rerun_target=rerun)
    return workspace, episode, result, events


@dataclass
class Analysed:
    workspace: Any
    episode: Any
    video: Path



# -- the CLI as a child process ------------------------------------------------------------------------
def cli_command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "screenalyzer_desktop.cli", *map(str, args)]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        return parse_jsonl(self.stdout)

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1]


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    """Every stdout line must be one JSON object with a ``type``."""
    out = []
    for line in text.splitlines():
        event = json.loads(line)
        assert isinstance(event, dict) and isinstance(event.get("type"), str), line
        out.append(event)
    return out


def run_cli(*args: str | os.PathLike[str], timeout: float = 120) -> CliResult:
    done = subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env=child_env())
    return CliResult(done.returncode, done.stdout, done.stderr)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("QT_QPA_PLATFORM", None)
    return env


class CliProcess:
    """A running `screenalyzer` child whose JSON lines are read as they come."""

    def __init__(self, *args: str | os.PathLike[str]) -> None:
        self.proc = subprocess.Popen(cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=REPO_ROOT, env=child_env())
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self._stderr: list[str] = []
        self._threads = [threading.Thread(target=self._pump, daemon=True),
                         threading.Thread(target=self._pump_err, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.raw.append(line)
                self.lines.append(json.loads(line))
                self._cond.notify_all()

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for event in self.lines[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and seen == len(self.lines) and not self._alive():
                    raise AssertionError(f"event not seen; exit={self.proc.poll()} stderr={self.stderr[-2000:]}")
                self._cond.wait(min(left, 0.1))

    def _alive(self) -> bool:
        return self._threads[0].is_alive()

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)



def temp_files(root: Path) -> list[Path]:
    from screenalyzer_desktop.core.atomic import is_temp_name

    return [p for p in Path(root).rglob("*") if is_temp_name(p.name) or p.name.endswith(".tmp")]


SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


def cli_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                   *args: str | os.PathLike[str]) -> tuple[int, list[dict[str, Any]]]:
    """`screenalyzer ARGS --progress jsonl` in this process (signal handlers left alone): exit code, lines."""
    import threading

    from screenalyzer_desktop import cli

    monkeypatch.setattr(cli, "_install_cancel_handlers", threading.Event)
    capsys.readouterr()
    code = cli.main([*map(str, args), "--progress", "jsonl"])
    return code, parse_jsonl(capsys.readouterr().out)


def expect_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, code: str,
                 *args: str | os.PathLike[str]) -> dict[str, Any]:
    """Run the CLI in-process, expect it to end with error ``code`` and that code's exit status."""
    from screenalyzer_desktop.core.errors import CATALOGUE

    status, lines = cli_in_process(capsys, monkeypatch, *args)
    assert lines, "no JSON line printed"
    last = lines[-1]
    assert last["type"] == "error", last
    assert last["code"] == code, last
    assert status == CATALOGUE[code].exit_code
    assert last["message"] and last["hint"] and "Unknown error" not in last["message"]
    return last
