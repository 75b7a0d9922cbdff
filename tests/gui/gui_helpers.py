"""Helpers of the GUI tests: waiting on what the window shows, dropping files, engine processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from screenalyzer_desktop.gui.main_window import MainWindow
from screenalyzer_desktop.pipeline import ORDER

RUN_TIMEOUT_MS = 90_000


def status(window: MainWindow, episode_id: str, stage: str) -> str | None:
    snapshot = window.snapshots.get(episode_id)
    return snapshot.stage(stage).status if snapshot else None


def wait_status(qtbot, window: MainWindow, episode_id: str, stage: str, wanted: str,
                timeout: int = RUN_TIMEOUT_MS) -> None:
    qtbot.waitUntil(lambda: status(window, episode_id, stage) == wanted, timeout=timeout)


def wait_all_done(qtbot, window: MainWindow, episode_id: str) -> None:
    qtbot.waitUntil(lambda: all(status(window, episode_id, s) == "done" for s in ORDER), timeout=RUN_TIMEOUT_MS)


def drop(window: MainWindow, paths: list[Path]) -> bool:
    """Drag files over the window and drop them, with real drag and drop events; returns whether
    the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)  # QPoint: PySide6 6.11 takes no QPointF here
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    return event.isAccepted()


def import_episode(qtbot, window: MainWindow, video: Path) -> str:
    """Import through the window and wait until the library shows the probed episode; its id."""
    window.import_paths([video])
    source = str(video.resolve())
    qtbot.waitUntil(lambda: any(s.source == source and s.stage("ingest").status == "done"
                                for s in window.snapshots.values()) and not window.imports.is_busy(),
                    timeout=RUN_TIMEOUT_MS)
    return next(s.id for s in window.snapshots.values() if s.source == source)


def select(window: MainWindow, episode_id: str) -> None:
    window.library_view.selectRow(window.library.row_of(episode_id))
    assert window.selected_id() == episode_id


def engine(workspace: Path, *args: str) -> subprocess.Popen:
    """The engine CLI in a process of its own, as a user would start it in a terminal."""
    return subprocess.Popen([sys.executable, "-m", "screenalyzer_desktop.cli", *args, "--workspace", str(workspace),
                             "--set", "detect.sample_fps=2", "--progress", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
