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
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer, SignalInstance
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.gui.results_view import ResultsView
from screenalyzer_desktop.sample_episode import make_sample_episode

HERE = Path(__file__).resolve().parent
NAME = "Harbour Lights S01E01.mp4"


def wait_for(signal: SignalInstance, timeout_ms: int = 60_000) -> list:
    """Run the event loop until ``signal`` fires; its arguments."""
    got: list = []
    loop = QEventLoop()
    signal.connect(lambda *args: (got.extend(args), loop.quit()))
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    if not got:
        raise TimeoutError("the view did not get there in time")
    return got


def shoot(view: ResultsView, name: str) -> None:
    QTest.qWait(300)  # let the charts finish their layout
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
    QTimer.singleShot(0, lambda: view.set_episode(Workspace(workspace).episodes()[0]))
    wait_for(view.loaded)
    def together(segment: tuple[int, float, float]) -> int:  # people on screen at the segment's middle
        middle = (segment[1] + segment[2]) / 2
        return sum(start <= middle <= end for _, start, end in view.timeline.segments)

    lane, start, end = max(view.timeline.segments, key=lambda s: (together(s), s[2] - s[1], -s[0]))
    point = view.timeline.scene_point((start + end) / 2, view.timeline.people[lane])
    QTimer.singleShot(0, lambda: QTest.mouseClick(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=point))
    wait_for(view.preview.frame_shown)
    view.tabs.setCurrentWidget(view.table)
    shoot(view, "results-timeline.png")
    view.tabs.setCurrentIndex(0)
    shoot(view, "results-charts.png")
    app.closeAllWindows()
    view.deleteLater()  # before the application object goes (locals are freed in no set order)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
