"""Screenshots of the main window (idle, its Review tab, mid-run, after an error) for the docs.

Run under a real X server, e.g. ``xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/take_screenshots.py``.
The window runs real engine processes on generated episodes in a temp workspace.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from screenalyzer_desktop.gui.episode_view import PIPELINE_TAB, REVIEW_TAB
from screenalyzer_desktop.gui.main_window import MainWindow
from screenalyzer_desktop.gui.settings import AppSettings, save_settings
from screenalyzer_desktop.sample_episode import make_sample_episode

HERE = Path(__file__).resolve().parent
EPISODES = ("Harbour Lights S01E01.mp4", "Harbour Lights S01E02.mp4", "Harbour Lights S01E03.mp4")


def wait(app: QApplication, until: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, window: MainWindow, name: str) -> None:
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    window.grab().save(str(HERE / name))
    print(HERE / name)


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="screens-"))
    workspace = root / "workspace"
    sample = make_sample_episode(root / "sample", seconds=20, seed=4)
    videos = []
    for name in EPISODES:
        shutil.copy(sample.video, root / name)
        videos.append(root / name)
    cli = [sys.executable, "-m", "screenalyzer_desktop.cli"]
    subprocess.run([*cli, "import", str(videos[0]), "--workspace", str(workspace), "--progress", "none",
                    "--cast", str(sample.cast_dir), "--show", "Harbour Lights"], check=True)
    subprocess.run([*cli, "run-stage", "Harbour_Lights_S01E01", "screentime", "--workspace", str(workspace),
                    "--progress", "none", "--set", "detect.sample_fps=4"], check=True)
    app = QApplication(sys.argv[:1])
    store = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    save_settings(store, AppSettings(workspace=str(workspace), sample_fps=4.0))
    window = MainWindow(store)
    window.resize(1500, 900)
    window.show()
    window.import_paths(videos[1:])
    wait(app, lambda: len(window.snapshots) == 3 and not window.imports.is_busy())
    window.library_view.selectRow(window.library.row_of("Harbour_Lights_S01E01"))
    wait(app, lambda: not window.live.isVisible())
    shoot(app, window, "main-window-idle.png")
    window.episode_view.setCurrentIndex(REVIEW_TAB)
    review = window.episode_view.review_view
    wait(app, lambda: review.gallery.source.rows() != [])
    wait(app, lambda: all(review.thumbnails.pixmap(d) is not None
                          for row in review.gallery.source.rows() for d in row.faces))
    shoot(app, window, "main-window-review.png")
    window.episode_view.setCurrentIndex(PIPELINE_TAB)

    window.library_view.selectRow(window.library.row_of("Harbour_Lights_S01E02"))
    window.run_stage("Harbour_Lights_S01E02", "screentime", if_needed=True)
    window.run_stage("Harbour_Lights_S01E03", "screentime", if_needed=True)
    wait(app, lambda: window.pipeline_panel.state("detect_embed").progress >= 0.45)
    shoot(app, window, "main-window-mid-run.png")
    for queue in (window.runs, window.imports):
        queue.shutdown()
    wait(app, lambda: not window.runs.is_busy())

    window.apply_settings(window.settings.with_changes(engine="insightface"))  # no model pack installed
    window.run_stage("Harbour_Lights_S01E02", "screentime", if_needed=True)
    wait(app, lambda: window.pipeline_panel.error_panel.isVisible() and not window.runs.is_busy())
    window.pipeline_panel.error_panel.details_button.setChecked(True)
    shoot(app, window, "main-window-error.png")
    window.apply_settings(window.settings.with_changes(engine="auto"))
    window.close()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
