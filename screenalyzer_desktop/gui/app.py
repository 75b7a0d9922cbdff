"""`screenalyzer-desktop`: the application entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from screenalyzer_desktop import __version__
from screenalyzer_desktop.core.paths import app_icon_path

if TYPE_CHECKING:
    from screenalyzer_desktop.gui.main_window import MainWindow

ORGANIZATION, APPLICATION = "Screenalyzer", "SCREENALYZER Desktop"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screenalyzer-desktop", description="SCREENALYZER Desktop")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--workspace", type=Path, help="use this workspace folder (and remember it)")
    parser.add_argument("--demo", action="store_true", help="import the bundled demo episode and analyse it")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="save the window to PNG once it is up (after the demo run with --demo), then quit")
    parser.add_argument("videos", nargs="*", type=Path, help="videos or folders to import at start")
    return parser


def _start_demo(window: MainWindow) -> None:
    """Make the demo episode (off the GUI thread) and run the whole pipeline on it."""
    from screenalyzer_desktop.gui.tasks import run_in_pool
    from screenalyzer_desktop.sample_episode import CAST_DIR_NAME, make_sample_episode

    demo_dir = window.workspace.root / "demo"
    cast = (demo_dir / CAST_DIR_NAME, "demo")  # its cast photos: the people get their names
    if (demo_dir / "truth.json").is_file():
        window.import_paths([demo_dir / "episode.mp4"], run_after=True, cast=cast)
        return
    window.statusBar().showMessage(f"Generating the demo episode in {demo_dir}…")
    run_in_pool(make_sample_episode, demo_dir,
                on_done=lambda sample: window.import_paths([sample.video], run_after=True, cast=cast),
                on_failed=lambda error: window.banner.show_error(error, "Demo episode"), owner=window)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # --version and --help answer before Qt and the engine load
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from screenalyzer_desktop.gui.main_window import MainWindow
    from screenalyzer_desktop.gui.settings import load_settings, save_settings
    from screenalyzer_desktop.gui.tasks import wait_for_pool

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(app_icon_path())))
    store = QSettings()
    if args.workspace is not None:
        save_settings(store, load_settings(store).with_changes(workspace=str(args.workspace.resolve())))
    window = MainWindow(store)
    window.show()
    if args.videos:
        window.import_paths(args.videos)
    shot = None
    if args.screenshot is not None:
        from screenalyzer_desktop.gui.screenshot import WindowScreenshot

        shot = WindowScreenshot(app, window, args.screenshot, after_demo=args.demo)
    if args.demo:
        _start_demo(window)
    code = app.exec()
    wait_for_pool()
    return code if shot is None else (code or shot.exit_code)


if __name__ == "__main__":
    sys.exit(main())
