"""The Batch dock of the main window: a season (a folder of episodes) analysed on Ray, one row per
episode, the workspace and the show's cast of the window. Episodes appear in the library as the
batch imports them (the workspace watcher sees them); the dock shows what the batch reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFileDialog

from screenalyzer_desktop.gui.batch_view import BatchView

if TYPE_CHECKING:
    from screenalyzer_desktop.gui.main_window import MainWindow


class BatchDock(QDockWidget):
    def __init__(self, window: MainWindow, *, grace_ms: int) -> None:
        super().__init__("Batch (Ray)", window)
        self.setObjectName("batch_dock")
        self.window_ = window
        self.view = BatchView(self, grace_ms=grace_ms)
        self.setWidget(self.view)
        self.view.batchEnded.connect(self._on_view_batch_ended)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        self.hide()

    def ask_and_start(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window_, "Analyse every episode in a folder")
        if folder:
            self.start([Path(folder)])

    def start(self, paths: list[Path]) -> None:
        """Analyse ``paths`` in the window's workspace, matched against the show's cast if one is set."""
        settings = self.window_.settings
        cast = Path(settings.cast_dir).expanduser() if settings.cast_dir else None
        self.show()
        self.view.start(paths, workspace=settings.workspace_path(), cast=cast,
                        show=(settings.show or None) if cast else None)

    def stop(self) -> None:
        if self.view.is_running():
            self.view.stop_and_wait()

    def _on_view_batch_ended(self, outcome: object) -> None:
        self.window_.reload_list()
