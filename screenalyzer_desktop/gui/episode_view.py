"""The selected episode, in tabs: Pipeline (stages and log), Review (people), Results (screen time)
and Cast (the show's face bank). The main window tells it which episode is selected and when that
episode's files changed; each tab reads only the artifacts it shows."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget, QWidget

from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.workspace import Episode, Workspace
from screenalyzer_desktop.gui.cast_panel import CastPanel
from screenalyzer_desktop.gui.log_panel import LogPanel
from screenalyzer_desktop.gui.pipeline_panel import PipelinePanel
from screenalyzer_desktop.gui.results_view import ResultsView
from screenalyzer_desktop.gui.review_view import ReviewView

PIPELINE_TAB, REVIEW_TAB, RESULTS_TAB, CAST_TAB = range(4)


class EpisodeView(QTabWidget):
    """Tabs of one episode. ``labelsChanged`` after each saved edit of its people, ``castChanged``
    when the show's photos changed, ``rerunRequested(episode_id, stage)`` to bring a stage up to date."""

    labelsChanged = Signal(str)
    castChanged = Signal(str)
    rerunRequested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.pipeline_panel = PipelinePanel()
        self.log_panel = LogPanel()
        self.review_view = ReviewView()
        self.results_view = ResultsView()
        self.cast_panel = CastPanel()
        pipeline = QSplitter(Qt.Orientation.Vertical)
        pipeline.addWidget(self.pipeline_panel)
        pipeline.addWidget(self.log_panel)
        pipeline.setStretchFactor(1, 1)
        self.addTab(pipeline, "&Pipeline")
        self.addTab(self.review_view, "Re&view")
        self.addTab(self.results_view, "Re&sults")
        self.addTab(self.cast_panel, "C&ast")
        self._episode: Episode | None = None
        self._stamp: tuple[str, ...] | None = None
        self.review_view.labelsChanged.connect(self.labelsChanged)
        self.review_view.castChanged.connect(self.castChanged)
        self.cast_panel.castChanged.connect(self.castChanged)
        self.cast_panel.rerunMatchingRequested.connect(lambda episode_id: self.rerunRequested.emit(episode_id,
                                                                                                   "screentime"))

    @property
    def episode(self) -> Episode | None:
        return self._episode

    def set_episode(self, workspace: Workspace, episode: Episode | None, config: Config | None,
                    stamp: tuple[str, ...] | None = None) -> None:
        """Show ``episode``; ``stamp`` says which stages are done (a change reloads the data tabs)."""
        if episode is not None and self._episode is not None and episode.dir == self._episode.dir:
            if stamp != self._stamp:
                self._stamp = stamp
                self.review_view.reload()
                self.results_view.reload()
                self.cast_panel.set_episode(workspace, episode, config)
            return
        self._episode, self._stamp = episode, stamp
        self.review_view.set_episode(episode, config)
        self.results_view.set_episode(episode)
        self.cast_panel.set_episode(workspace, episode, config)
