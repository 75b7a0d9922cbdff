"""Screenshots of the Review tab (gallery, one person opened) and the Cast tab for the docs.

Run under a real X server, e.g.
``xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots/take_review_screenshots.py``.
A 40 s generated episode with seven people is analysed by the engine CLI with cast photos of five.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication
from take_screenshots import shoot, wait  # the same waiting and grabbing as the main window's shots

from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.gui.cast_panel import CastPanel
from screenalyzer_desktop.gui.review_view import ReviewView
from screenalyzer_desktop.sample_episode import make_sample_episode

SHOW = "Harbour Lights"


def analysed_episode(root: Path) -> tuple[Workspace, object]:
    sample = make_sample_episode(root / "sample", seconds=40, seed=7)
    video = root / f"{SHOW} S01E01.mp4"
    shutil.copy(sample.video, video)
    cast = root / SHOW
    for person in sorted(sample.cast_dir.iterdir())[:-2]:  # two people the show's cast does not know yet
        shutil.copytree(person, cast / person.name)
    workspace = root / "workspace"
    subprocess.run([sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(video), "--cast", str(cast),
                    "--workspace", str(workspace), "--engine", "dlib", "--progress", "none"], check=True)
    ws = Workspace(workspace)
    return ws, ws.episodes()[0]


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="review-screens-"))
    workspace, episode = analysed_episode(root)
    app = QApplication(sys.argv[:1])
    config = load_config(overrides={"engine": "dlib"})

    view = ReviewView()
    view.resize(1400, 860)
    view.show()
    view.set_episode(episode, config)
    wait(app, lambda: view.data is not None)
    unnamed = next(r.key for r in view.data.people if r.unnamed)
    view.gallery.select_keys([unnamed])
    wait(app, lambda: view.thumbnails.pending() == 0)
    shoot(app, view, "review-gallery.png")

    person = max((r for r in view.data.people if r.to_confirm), key=lambda r: r.tracks)
    view.open_person(person.key)
    wait(app, lambda: len(view.person.model.rows()) == person.tracks)
    view.person.select_tracks([view.person.model.rows()[0].track])
    wait(app, lambda: view.thumbnails.pending() == 0)
    shoot(app, view, "review-person.png")

    anna = next(r.key for r in view.data.people if r.name == "anna")
    view.confirm([anna])  # confirming a name adds the person's best faces to the show's cast folder
    wait(app, lambda: view.note.text().startswith("Added"))

    panel = CastPanel()
    panel.resize(1100, 640)
    panel.show()
    panel.set_episode(workspace, episode, config)
    wait(app, lambda: all(not panel.photos.item(i).icon().isNull() for i in range(panel.photos.count())))
    shoot(app, panel, "cast-panel.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
