"""``--screenshot PNG``: save the main window once it is up (after the demo run has ended, with
``--demo``), then quit; the exit status says whether that run succeeded. The installer's smoke test uses
it to check the bundle end to end with no display."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from screenalyzer_desktop.gui.jobs import STAGE
from screenalyzer_desktop.gui.main_window import MainWindow

_SETTLE_MS = 1500  # after the run: the watcher reloads the episode and the views repaint


class WindowScreenshot:
    """Saves the main window to a PNG when it is ready, then quits the app with a verdict."""

    def __init__(self, app: QApplication, window: MainWindow, path: Path, *, after_demo: bool) -> None:
        self.app, self.window, self.path = app, window, path
        self.exit_code = 1
        if not after_demo:
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
