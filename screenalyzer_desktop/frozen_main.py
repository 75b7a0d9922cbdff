"""Entry point of the installed (PyInstaller) app: one program, two executables in one bundle folder.

``screenalyzer-desktop`` opens the window; ``screenalyzer`` (a console program) is the engine command
line, which the window's stage workers run (``gui.process_runner.worker_command``). The name of the
executable picks which, so both share one copy of every library. Worker processes that the detect
stage spawns (``multiprocessing``, spawn) start the same executable; ``freeze_support`` runs them.

``--screenshot PNG`` (window only) saves the window once it is up — after the demo run has ended
when ``--demo`` is given — then quits; the exit status says whether that run succeeded. The
installer's smoke test uses it to check the bundle end to end with no display.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from screenalyzer_desktop.core.paths import CHARTS_OPTION, CLI_NAME, is_frozen

SCREENSHOT_OPTION = "--screenshot"
_SETTLE_MS = 1500  # after the run: the watcher reloads the episode and the views repaint


def _program_name() -> str:
    return Path(sys.executable).stem if is_frozen() else Path(sys.argv[0]).stem


def screenshot_option(argv: list[str]) -> Path | None:
    """``--screenshot PATH`` taken out of argv (the window's own parser does not know it)."""
    for i, arg in enumerate(argv):
        if arg == SCREENSHOT_OPTION and i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i:i + 2]
            return Path(value)
        if arg.startswith(SCREENSHOT_OPTION + "="):
            del argv[i]
            return Path(arg.split("=", 1)[1])
    return None


class _Screenshot:
    """Saves the main window to a PNG when it is ready, then quits the app with a verdict."""

    def __init__(self, app: Any, path: Path, *, after_demo: bool) -> None:
        from PySide6.QtCore import QTimer

        self.app, self.path, self.after_demo = app, path, after_demo
        self.exit_code = 1
        self.window: Any = None
        QTimer.singleShot(0, self._on_started)

    def _on_started(self) -> None:
        from PySide6.QtCore import QTimer

        from screenalyzer_desktop.gui.jobs import STAGE
        from screenalyzer_desktop.gui.main_window import MainWindow

        windows = [w for w in self.app.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows:
            print("screenshot: no main window", file=sys.stderr)
            self.app.exit(1)
            return
        self.window = window = windows[0]
        if not self.after_demo:
            self.exit_code = 0
            QTimer.singleShot(_SETTLE_MS, self._shoot)
            return
        window.runs.jobEnded.connect(lambda job: self._on_job_ended(job) if job.kind == STAGE else None)
        window.imports.jobEnded.connect(self._on_import_ended)

    def _on_import_ended(self, job: Any) -> None:
        if job.outcome is not None and job.outcome.status != "done":
            self._report(job)
            self._shoot()

    def _on_job_ended(self, job: Any) -> None:
        from PySide6.QtCore import QTimer

        self._report(job)
        self.exit_code = 0 if job.outcome is not None and job.outcome.status == "done" else 1
        if job.episode_id:
            row = self.window.library.row_of(job.episode_id)
            if row is not None:
                self.window.library_view.selectRow(row)
        QTimer.singleShot(_SETTLE_MS, self._shoot)

    @staticmethod
    def _report(job: Any) -> None:
        outcome = job.outcome
        status = outcome.status if outcome else "no outcome"
        error = f" {outcome.error.code}: {outcome.error.detail}" if outcome and outcome.error else ""
        seconds = f" in {outcome.elapsed_s:.1f} s" if outcome else ""
        print(f"screenshot: {job.label}: {status}{seconds}{error}", file=sys.stderr)

    def _shoot(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(self.path)):
            print(f"screenshot: could not write {self.path}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(f"screenshot: {self.path}", file=sys.stderr)
        self.window.close()
        self.app.exit(self.exit_code)


def gui_main(argv: Sequence[str]) -> int:
    """The window (``screenalyzer-desktop``), with the ``--screenshot`` option; or, given
    ``CHARTS_OPTION`` first, the chart drawer `screenalyzer export --format png` starts."""
    argv = list(argv)
    if argv[:1] == [CHARTS_OPTION]:
        from screenalyzer_desktop.gui.results_charts import main as draw_charts

        return draw_charts(argv[1:])
    from screenalyzer_desktop.gui import app as gui_app

    shot = screenshot_option(argv)
    gui_app._parser().parse_args(argv)  # --version and --help answer here, before Qt starts
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    screenshot = _Screenshot(app, shot, after_demo="--demo" in argv) if shot is not None else None
    code = gui_app.main(argv)
    return code if screenshot is None else (code or screenshot.exit_code)


def cli_main(argv: Sequence[str]) -> int:
    from screenalyzer_desktop.cli import main

    return main(list(argv))


def main() -> int:
    multiprocessing.freeze_support()  # a spawned detect worker runs its task here and exits
    if _program_name() == CLI_NAME:
        return cli_main(sys.argv[1:])
    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
