"""The Results tab: timeline with a frame preview, screen-time bars, co-appearance, the table, exports.

It shows what the episode's screen-time artifacts say. Artifacts are read on the thread pool; the
main window calls :meth:`ResultsView.reload` when the watcher says the episode changed.
Standalone: ``python -m screenalyzer_desktop.gui.results_view EPISODE_DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error
from screenalyzer_desktop.core.workspace import Episode
from screenalyzer_desktop.exports import EDITOR_FORMATS, FORMATS, write_exports
from screenalyzer_desktop.gui.frame_preview import FramePreview
from screenalyzer_desktop.gui.results_charts import (
    CoappearanceMatrix,
    ScreenTimeBars,
    TimelineChart,
    clock_text,
    person_colour,
    write_chart_pngs,
)
from screenalyzer_desktop.gui.results_data import ResultsData, read_results
from screenalyzer_desktop.gui.results_table import ResultsTable
from screenalyzer_desktop.gui.tasks import run_in_pool, wait_for_pool

# Menu entry → export formats (exports.write_exports' names, plus "png" for the charts).
EXPORT_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Everything", (*FORMATS, "png", *EDITOR_FORMATS)),
    ("CSV", ("csv",)),
    ("Excel workbook (XLSX)", ("xlsx",)),
    ("JSON", ("json",)),
    ("Charts as PNG", ("png",)),
    ("Editor markers: EDL (CMX 3600)", ("edl",)),
    ("Editor markers: FCP XML (Premiere, Resolve)", ("fcpxml",)),
)
NO_EPISODE = "No episode selected."
NO_RESULTS = "No results yet — run the pipeline."
UPDATING = "Updating screen time… (showing the previous results)"


def error_text(error: ScreenalyzerError) -> str:
    return f"{error.code}: {error.message} {error.hint}"


class ResultsView(QWidget):
    """Results of one episode. Signals: ``loaded(bool)`` after each (re)load (True: results shown),
    ``exported(list)`` of the paths written, ``export_failed(object)`` with the ScreenalyzerError."""

    loaded = Signal(bool)
    exported = Signal(list)
    export_failed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.episode: Episode | None = None
        self.data: ResultsData | None = None
        self._generation = 0
        self._exporting = False

        self.title = QLabel("")
        self.title.setStyleSheet("font-weight: 600;")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.export_actions: dict[tuple[str, ...], QAction] = {}
        for text, formats in EXPORT_CHOICES:
            action = menu.addAction(f"{text}…")
            action.triggered.connect(lambda _=False, f=formats: self._on_export_chosen(f))
            self.export_actions[formats] = action
        self.export_button.setMenu(menu)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.export_button)

        self.timeline = TimelineChart()
        self.timeline.segment_clicked.connect(self._on_segment_clicked)
        self.preview = FramePreview()
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.timeline)
        upper.addWidget(self.preview)
        upper.setStretchFactor(0, 3)
        upper.setStretchFactor(1, 2)
        upper.setSizes([600, 400])  # the preview's picture has no size hint of its own
        self.bars = ScreenTimeBars()
        self.matrix = CoappearanceMatrix()
        self.table = ResultsTable()
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.bars)
        charts.addWidget(self.matrix)
        self.tabs = QTabWidget()
        self.tabs.addTab(charts, "Charts")
        self.tabs.addTab(self.table, "Table")
        content = QSplitter(Qt.Orientation.Vertical)
        content.addWidget(upper)
        content.addWidget(self.tabs)
        content.setStretchFactor(0, 1)
        content.setStretchFactor(1, 1)

        self.empty = QLabel(NO_EPISODE)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(mid); font-size: 15px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self._show_empty(NO_EPISODE)

    # -- loading --------------------------------------------------------------------------------------
    def set_episode(self, episode: Episode | None) -> None:
        """Show ``episode`` (None: nothing); reads its artifacts off the GUI thread."""
        self.episode = episode
        self.preview.clear()
        self.reload()

    def reload(self) -> None:
        """Read the current episode's results again (after the watcher saw it change)."""
        self._generation += 1
        if self.episode is None:
            self.data = None
            self._show_empty(NO_EPISODE)
            self.loaded.emit(False)
            return
        generation, episode = self._generation, self.episode
        self.title.setText(episode.id)
        run_in_pool(read_results, episode, owner=self,
                    on_done=lambda read: self._on_loaded(generation, *read),
                    on_failed=lambda error: self._on_load_failed(generation, error))

    def _on_loaded(self, generation: int, data: ResultsData | None, running: bool) -> None:
        if generation != self._generation:
            return  # an older read, overtaken by a newer one
        if data is None and running and self.data is not None and self.data.episode_id == self.episode.id:
            # Screen time is being rewritten (after an edit): keep the last results up until the new ones are whole.
            self.export_button.setEnabled(False)
            self.status.setText(UPDATING)
            self.loaded.emit(True)
            return
        self.data = data
        if data is None:
            self._show_empty(NO_RESULTS)
            self.loaded.emit(False)
            return
        for chart in (self.timeline, self.bars, self.matrix):
            chart.set_data(data)
        self.table.set_summary(data.result.summary)
        self.stack.setCurrentIndex(1)
        self.export_button.setEnabled(not self._exporting)
        total = float(data.result.summary["screen_time_s"].sum())
        self.status.setText(f"{len(data.people)} people · {clock_text(data.duration_s)} episode · "
                            f"{total:.1f} s of screen time · {len(data.shot_starts_s) + 1} shots")
        self.loaded.emit(True)

    def _on_load_failed(self, generation: int, error: ScreenalyzerError) -> None:
        if generation != self._generation:
            return
        self.data = None
        self._show_empty(error_text(error))
        self.loaded.emit(False)

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.stack.setCurrentIndex(0)
        self.status.setText("")
        self.export_button.setEnabled(False)
        if self.episode is None:
            self.title.setText("")

    # -- timeline → frame ----------------------------------------------------------------------------
    def _on_segment_clicked(self, person: str, start_s: float, end_s: float, at_s: float) -> None:
        data = self.data
        if data is None or data.video is None:
            return
        frame = data.frame_for(person, start_s, end_s, at_s)
        colours = {p: person_colour(i, len(data.people)) for i, p in enumerate(data.people)}
        caption = f"{person} · {clock_text(start_s)} – {clock_text(end_s)}"
        self.preview.show_frame(data.video, frame, data.boxes_at(frame), colours, caption)
        self.timeline.mark(frame / data.fps if data.fps > 0 else at_s)

    # -- exports -------------------------------------------------------------------------------------
    def _on_export_chosen(self, formats: tuple[str, ...]) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export results to folder")
        if folder:
            self.export_to(Path(folder), formats)

    def export_to(self, folder: Path, formats: Sequence[str]) -> None:
        """Write ``formats`` (csv, xlsx, json, png, edl, fcpxml) of the shown results into ``folder``;
        files on the thread pool, then the charts on the GUI thread; ``exported`` or ``export_failed``."""
        data = self.data
        if data is None or self._exporting:
            return
        self._exporting = True
        self.export_button.setEnabled(False)
        self.status.setText(f"Exporting to {folder} …")
        files = tuple(f for f in formats if f != "png")
        run_in_pool(write_exports, data.result, data.metadata, Path(folder), files, data.video, owner=self,
                    on_done=lambda written: self._on_files_written(data, Path(folder), "png" in formats, written),
                    on_failed=self._on_export_failed)

    def _on_files_written(self, data: ResultsData, folder: Path, charts: bool, written: list[Path]) -> None:
        if charts:
            try:
                written = [*written, *write_chart_pngs(data, folder)]
            except ScreenalyzerError as error:
                self._on_export_failed(error)
                return
            except Exception as exc:  # noqa: BLE001 - shown as a structured error, with the traceback
                self._on_export_failed(internal_error(exc))
                return
        self._exporting = False
        self.export_button.setEnabled(self.data is not None)
        self.status.setText(f"Exported {len(written)} file(s) to {folder}")
        self.exported.emit(written)

    def _on_export_failed(self, error: ScreenalyzerError) -> None:
        self._exporting = False
        self.export_button.setEnabled(self.data is not None)
        self.status.setText(f"Export failed — {error_text(error)}")
        self.export_failed.emit(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Open the view on an episode folder (``<workspace>/episodes/<id>``) for a quick look."""
    from PySide6.QtWidgets import QApplication

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m screenalyzer_desktop.gui.results_view EPISODE_DIR", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = ResultsView()
    view.setWindowTitle(f"Results — {Path(args[0]).name}")
    view.resize(1300, 800)
    view.set_episode(Episode(Path(args[0])))
    view.show()
    code = app.exec()
    wait_for_pool()
    view.deleteLater()  # before the application object goes: pyqtgraph's scenes crash Qt if left to exit
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code


if __name__ == "__main__":
    sys.exit(main())
