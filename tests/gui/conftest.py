"""GUI tests: offscreen Qt, settings in a temp folder, and no Qt warnings or processes left behind."""

from __future__ import annotations

import os
import tempfile

os.environ["QT_QPA_PLATFORM"] = "offscreen"
# QSettings() and platformdirs read these: tests never see the user's settings or workspace.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="screenalyzer-gui-tests-config-")
os.environ["SCREENALYZER_WORKSPACE"] = tempfile.mkdtemp(prefix="screenalyzer-gui-tests-ws-")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QtMsgType  # noqa: E402

from screenalyzer_desktop.gui.process_runner import running_runners  # noqa: E402

# Messages the offscreen platform prints that say nothing about our code.
_IGNORED_QT_MESSAGES = ("propagateSizeHints", "QFont::", "fontconfig", "OpenType support missing")


@pytest.fixture(autouse=True)
def _fail_on_qt_warnings(qtlog: pytest.FixtureRequest) -> Iterator[None]:
    yield
    bad = [rec.message for rec in qtlog.records
           if rec.type in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
           and not any(part in rec.message for part in _IGNORED_QT_MESSAGES)]
    assert not bad, f"Qt warnings: {bad}"


@pytest.fixture(autouse=True)
def _no_processes_left() -> Iterator[None]:
    yield
    left = running_runners()
    for runner in left:
        runner.stop_and_wait()
    assert not left, f"{len(left)} engine process(es) left running"


@pytest.fixture
def qsettings(tmp_path: Path) -> QSettings:
    """Settings in an ini file of the test's own: never the user's."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Short generated episodes with real faces: 4 s for most tests, 10 s where a run must be caught mid-way."""
    from screenalyzer_desktop.sample_episode import make_sample_episode

    root = tmp_path_factory.mktemp("videos")
    return {"short": make_sample_episode(root / "short", seconds=4, seed=1).video,
            "medium": make_sample_episode(root / "medium", seconds=10, seed=2).video}


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def make_window(qtbot, qsettings: QSettings, workspace_dir: Path):
    """Open a main window on a temp workspace; every window is closed, its runs stopped, at teardown."""
    from screenalyzer_desktop.gui.main_window import MainWindow
    from screenalyzer_desktop.gui.settings import AppSettings, save_settings
    from screenalyzer_desktop.gui.tasks import wait_for_pool

    save_settings(qsettings, AppSettings(workspace=str(workspace_dir), sample_fps=2.0))
    windows: list[MainWindow] = []

    def make(**changes: object) -> MainWindow:
        if changes:
            from screenalyzer_desktop.gui.settings import load_settings

            save_settings(qsettings, load_settings(qsettings).with_changes(**changes))
        window = MainWindow(qsettings, grace_ms=2000)  # closed below, after its runs stop (no question asked)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        for queue in (window.runs, window.imports):
            queue.shutdown()
        window.close()
        window.deleteLater()
    wait_for_pool()
