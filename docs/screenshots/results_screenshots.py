"""Screenshots of the Results tab (timeline with a frame preview, charts) for the docs.

Run under a real X server, e.g.
``xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/results_screenshots.py``.
It analyses a generated 45 s episode (cast photos for all but two of its people) in a temp workspace.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.gui.results_view import ResultsView
from screenalyzer_desktop.sample_episode import make_sample_episode

HERE = Path(__file__).resolve().parent
NAME = "Harbour Lights S01E01.mp4"


def wait(app: QApplication, until: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the view did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, view: ResultsView, name: str) -> None:
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)
    view.grab().save(str(HERE / name))
    print(HERE / name)


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="results-screens-"))
    sample = make_sample_episode(root / "sample", seconds=45, seed=7)
    video = root / NAME
    shutil.copy(sample.video, video)
    cast = root / "cast"
    for person in sorted(sample.cast_dir.iterdir())[:-2]:  # two people the show's cast bank does not know
        shutil.copytree(person, cast / person.name)
    workspace = root / "workspace"
    subprocess.run([sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(video), "--cast", str(cast),
                    "--workspace", str(workspace), "--progress", "none"], check=True, stdout=subprocess.DEVNULL)
    app = QApplication(sys.argv[:1])
    view = ResultsView()
    view.setWindowTitle("Results")
    view.resize(1360, 820)
    view.show()
    loaded: list[bool] = []
    view.loaded.connect(loaded.append)
    view.set_episode(Workspace(workspace).episodes()[0])
    wait(app, lambda: bool(loaded))
    def together(segment: tuple[int, float, float]) -> int:  # people on screen at the segment's middle
        middle = (segment[1] + segment[2]) / 2
        return sum(start <= middle <= end for _, start, end in view.timeline.segments)

    lane, start, end = max(view.timeline.segments, key=lambda s: (together(s), s[2] - s[1], -s[0]))
    shown: list[int] = []
    view.preview.frame_shown.connect(shown.append)
    point = view.timeline.scene_point((start + end) / 2, view.timeline.people[lane])
    QTest.mouseClick(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
    wait(app, lambda: bool(shown))
    view.tabs.setCurrentWidget(view.table)
    shoot(app, view, "results-timeline.png")
    view.tabs.setCurrentIndex(0)
    shoot(app, view, "results-charts.png")
    view.close()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
