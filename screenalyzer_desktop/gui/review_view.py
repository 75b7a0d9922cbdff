"""The Review tab: the people the engine found, as a gallery of cards; open one to see their tracks;
name, confirm, merge, split, move, reject and hide, each undoable and saved at once to labels.json.

Screen time on the cards is recomputed from the labels (`review.people_table`) on the thread pool
after each edit; the main window reruns the screen-time stage on `labelsChanged` so results and
exports follow. Standalone: ``python -m screenalyzer_desktop.gui.review_view EPISODE_DIR``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop import review
from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.records import read_record
from screenalyzer_desktop.core.workspace import Episode
from screenalyzer_desktop.gui.error_view import ErrorPanel
from screenalyzer_desktop.gui.review_actions import ReviewActions
from screenalyzer_desktop.gui.review_data import ReviewData, build_review_data, track_rows
from screenalyzer_desktop.gui.review_edits import ReviewEdits
from screenalyzer_desktop.gui.review_gallery import FILTERS, SORTS, GalleryView, KeyRole
from screenalyzer_desktop.gui.review_name import NameDialog
from screenalyzer_desktop.gui.review_person import PersonView
from screenalyzer_desktop.gui.review_side import SidePanel
from screenalyzer_desktop.gui.tasks import run_in_pool
from screenalyzer_desktop.gui.thumbnails import ThumbnailLoader
from screenalyzer_desktop.labels import load_labels
from screenalyzer_desktop.review import EpisodeFaces, load_faces
from screenalyzer_desktop.stages.cluster import cast_settings

NOT_YET = {"ERR_CLUSTERS_MISSING", "ERR_TRACKS_MISSING", "ERR_DETECTIONS_MISSING"}  # not analysed that far


def _load(episode: Episode) -> tuple:
    """Faces, labels, the cast's names and the engine that made the embeddings."""
    faces = load_faces(episode)
    labels = load_labels(episode)
    settings = cast_settings(episode) or {}
    folder = Path(settings["cast_dir"]) if settings.get("cast_dir") else None
    cast = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if folder is not None and folder.is_dir() else []
    record = read_record(episode, "cluster")
    return faces, labels, cast, record.engine.get("name") if record is not None else None


class ReviewView(ReviewEdits, QWidget):
    labelsChanged = Signal(str)  # episode id, after each saved edit, undo or redo
    castChanged = Signal(str)  # episode id: confirming a name added (or undo took out) cast photos
    refreshed = Signal()  # cards, side panel and person view show the current labels

    def __init__(self, parent: QWidget | None = None) -> None:
        QWidget.__init__(self, parent)
        self.episode: Episode | None = None
        self.config: Config | None = None
        self.faces: EpisodeFaces | None = None
        self.data: ReviewData | None = None
        self.cast_names: list[str] = []
        self.likely: float | None = None  # similarity at which the face bank names someone (per engine)
        self._generation = 0
        self.group = QUndoGroup(self)
        self._stacks: dict[str, QUndoStack] = {}
        self.stores = {}
        self.thumbnails = ThumbnailLoader(self)
        self.thumbnails.failed.connect(lambda error: self.error_panel.show_error(error, "Face pictures"))
        self.actions = ReviewActions(self, self.group)
        self.undoAction, self.redoAction = self.actions.undo, self.actions.redo
        self.addActions([self.undoAction, self.redoAction])
        self.error_panel = ErrorPanel(closable=True)
        self.gallery = GalleryView(self.thumbnails)
        self.gallery.addActions(self.actions.items())
        self.gallery.activated.connect(self._on_gallery_activated)
        self.gallery.mergeDropped.connect(self.merge_onto)
        self.gallery.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.person = PersonView(self.thumbnails)
        self.person.addActions([self.actions.name, self.actions.confirm])
        self.side = SidePanel(self.thumbnails)
        self.name_dialog = NameDialog(self)
        self.empty = QLabel()
        self.empty.setWordWrap(True)
        self.pages = QStackedWidget()
        for page in (self.gallery, self.person, self.empty):
            self.pages.addWidget(page)
        self.sort_box = QComboBox()
        self.sort_box.addItems(SORTS)
        self.filter_box = QComboBox()
        self.filter_box.addItems(FILTERS)
        self.hidden_box = QCheckBox("Show hidden")
        self.hidden_box.setChecked(True)
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(placeholder-text);")
        self.note = QLabel()  # what the last action did beyond the labels (cast photos added)
        self.note.setStyleSheet("color: #166534;")
        self.keys_hint = QLabel("Enter open  ·  F2 name  ·  Ctrl+Enter confirm  ·  Ctrl+M merge (or drag onto a card)"
                                "  ·  Del hide  ·  Ctrl+Z undo")
        self.keys_hint.setStyleSheet("color: palette(placeholder-text);")
        self._build_layout()
        self._connect()
        self.set_episode(None, None)

    def _build_layout(self) -> None:
        bar = QToolBar()
        bar.addActions(self.actions.items())
        bar.addSeparator()
        bar.addActions([self.undoAction, self.redoAction])
        bar.addSeparator()
        for text, widget in (("Sort by ", self.sort_box), ("  Show ", self.filter_box), ("  ", self.hidden_box)):
            bar.addWidget(QLabel(text))
            bar.addWidget(widget)
        split = QSplitter()
        split.addWidget(self.pages)
        split.addWidget(self.side)
        split.setStretchFactor(0, 1)
        split.setSizes([900, 300])
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.note)
        bottom.addSpacing(16)
        bottom.addWidget(self.keys_hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_panel)
        layout.addWidget(bar)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)

    def _connect(self) -> None:
        self.actions.connect({"open": self._on_open_action, "name": self._on_name_action,
                              "confirm": self._on_confirm_action,
                              "merge": lambda: self.merge(self.target_keys()),
                              "hide": self._on_hide_action})
        for box in (self.sort_box, self.filter_box):
            box.currentTextChanged.connect(self._on_view_options_changed)
        self.hidden_box.toggled.connect(self._on_view_options_changed)
        self.name_dialog.named.connect(self.rename)
        self.person.backRequested.connect(self.show_gallery)
        self.person.splitRequested.connect(self.split)
        self.person.newPersonRequested.connect(self.split)
        self.person.moveRequested.connect(self.move)
        self.person.ejectRequested.connect(self.eject)
        self.side.mergeRequested.connect(self.merge)
        self.side.confirmRequested.connect(self.confirm)
        self.side.renameRequested.connect(lambda key: self.ask_name([key]))
        self.side.openRequested.connect(self.open_person)
        self.side.assignRequested.connect(self.move)

    # -- episode and loading ----------------------------------------------------------------------
    @property
    def undo_stack(self) -> QUndoStack | None:
        return self.group.activeStack()

    def set_episode(self, episode: Episode | None, config: Config | None) -> None:
        same = episode is not None and self.episode is not None and episode.dir == self.episode.dir
        self.episode, self.config = episode, config
        self._generation += 1
        if not same:
            self.faces = self.data = self.store = None
            self.gallery.source.set_rows([])
            self.show_gallery()
        if episode is None or config is None:
            self.group.setActiveStack(None)
            self._show_empty("Select an analysed episode to review the people in it.")
            return
        stack = self._stacks.setdefault(str(episode.dir), QUndoStack(self.group))
        self.group.setActiveStack(stack)
        self.reload()

    def reload(self) -> None:
        """Read the artifacts and labels again (they changed on disk, or the episode was chosen)."""
        if self.episode is None:
            return
        generation = self._generation = self._generation + 1
        episode = self.episode
        store = self.stores.get(str(episode.dir))
        revision = store.revision if store is not None else None
        run_in_pool(_load, episode, on_done=lambda loaded: self._on_loaded(generation, episode, revision, loaded),
                    on_failed=lambda error: self._on_load_failed(generation, error), owner=self)

    def _on_loaded(self, generation: int, episode: Episode, revision: int | None, loaded: tuple) -> None:
        if generation != self._generation or self.config is None:
            return
        self.faces, labels, self.cast_names, engine = loaded
        self.likely = self.config.get("engines").get(engine, {}).get("match_similarity") if engine else None
        self.thumbnails.set_source(episode, self.faces.detections, self.config.get("review.thumb_px"),
                                   self.config.get("review.thumb_margin"))
        self.adopt_labels(episode, labels, self._stacks[str(episode.dir)], revision)
        self.error_panel.clear_error()
        self.refresh()

    def _on_load_failed(self, generation: int, error: ScreenalyzerError) -> None:
        if generation != self._generation:
            return
        if error.code in NOT_YET:
            self._show_empty("No people yet: run the pipeline up to <b>Cluster</b> to review who is in this "
                             f"episode.<br><small>({error.code})</small>")
        else:
            self._show_empty("This episode's people could not be read.")
            self.error_panel.show_error(error, "Review")

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.pages.setCurrentWidget(self.empty)
        self.status.clear()
        self._update_actions()

    def refresh(self) -> None:
        """Recompute cards (screen time included) from the current labels on the pool."""
        if self.store is None or self.faces is None or self.config is None:
            return
        generation = self._generation
        labels, faces, config, likely = self.store.labels, self.faces, self.config, self.likely
        opened = self.person.key if self.pages.currentWidget() is self.person else False

        def compute() -> tuple:
            tracks = track_rows(labels, opened, faces, config) if opened is not False else []
            return build_review_data(labels, faces, config, likely), tracks

        run_in_pool(compute, on_done=lambda result: self._on_computed(generation, opened, *result),
                    on_failed=lambda error: self.error_panel.show_error(error, "Review"), owner=self)

    def _on_computed(self, generation: int, opened: str | None | bool, data: ReviewData, tracks: list) -> None:
        if generation != self._generation or self.store is None or data.labels is not self.store.labels:
            return
        keys, current = self.gallery.selected_keys(), self.gallery.current_key()
        self.data = data
        self.gallery.source.set_rows(data.people)
        kept = [k for k in keys if k in data.labels.people]
        if not kept and self.gallery.proxy.rowCount():
            kept = [self.gallery.proxy.index(0, 0).data(KeyRole)]  # the keyboard starts on a card
        self.gallery.select_keys(kept, current)
        self.side.set_data(data)
        if opened is not False and self.pages.currentWidget() is self.person:
            if opened is None or opened in data.labels.people:
                self.person.show_person(opened, data.row(opened) if opened else None, tracks, data.people)
            else:
                self.show_gallery()  # the person was merged away or emptied
        elif self.pages.currentWidget() is self.empty:
            self.pages.setCurrentWidget(self.gallery)
        shown = [r for r in data.people if not r.hidden]
        self.status.setText(f"{len(shown)} people  ·  {sum(r.tracks for r in data.people)} of {data.track_count} "
                            f"tracks assigned  ·  {len(data.unassigned)} unassigned  ·  "
                            f"{sum(r.to_confirm for r in data.people)} to confirm")
        self._on_selection_changed()
        self.refreshed.emit()

    # -- pages and selection ----------------------------------------------------------------------
    def show_gallery(self) -> None:
        self.pages.setCurrentWidget(self.gallery)
        self.gallery.setFocus()
        self._on_selection_changed()

    def open_person(self, key: str | None) -> None:
        """Show this person's tracks (None: the unassigned tracks)."""
        if self.data is None or (key is not None and key not in self.data.labels.people):
            return
        self.person.key = key
        self.person.show_person(key, self.data.row(key) if key else None, [], self.data.people)
        self.pages.setCurrentWidget(self.person)
        self.person.table.setFocus()
        self._on_selection_changed()
        self.refresh()

    def target_keys(self) -> list[str]:
        """Who the toolbar acts on: the opened person, or the people selected in the gallery."""
        if self.pages.currentWidget() is self.person:
            return [self.person.key] if self.person.key else []
        return self.gallery.selected_keys()

    def _on_gallery_activated(self, index: QModelIndex) -> None:
        self.open_person(index.data(KeyRole))

    def _on_open_action(self) -> None:
        key = self.gallery.current_key()
        if key is not None:
            self.open_person(key)

    def _on_name_action(self) -> None:
        self.ask_name(self.target_keys())

    def _on_confirm_action(self) -> None:
        """Confirm the face bank's names among the chosen people (the unnamed have none to confirm)."""
        if self.data is not None:
            self.confirm([k for k in self.target_keys() if self.data.labels.people[k].to_confirm])

    def _on_hide_action(self) -> None:
        keys = self.target_keys()
        if self.data is not None and keys:
            self.set_hidden(keys, not all(self.data.labels.people[k].hidden for k in keys))

    def _on_view_options_changed(self, *_: object) -> None:
        self.gallery.proxy.set_view(self.sort_box.currentText(), self.filter_box.currentText(),
                                    self.hidden_box.isChecked())

    def _on_selection_changed(self, *_: object) -> None:
        keys = self.target_keys()
        row = self.data.row(keys[0]) if self.data is not None and len(keys) == 1 else None
        suggestions = []
        if row is not None and self.faces is not None and self.config is not None:
            suggestions = review.suggestions(self.data.labels, row.key, self.faces,
                                             self.config.get("review.suggestions"))
        self.side.set_person(row, suggestions, self.likely)
        self._update_actions()

    def _update_actions(self) -> None:
        ready = self.data is not None and self.pages.currentWidget() is not self.empty
        keys = self.target_keys() if ready else []
        people = [self.data.labels.people[k] for k in keys if k in self.data.labels.people] if ready else []
        gallery = self.pages.currentWidget() is self.gallery
        self.actions.open.setEnabled(gallery and len(people) >= 1)
        self.actions.name.setEnabled(bool(people))
        self.actions.confirm.setEnabled(any(p.to_confirm for p in people))
        self.actions.merge.setEnabled(gallery and len(people) >= 2)
        self.actions.hide.setEnabled(bool(people))
        self.actions.hide.setText("Unhide" if people and all(p.hidden for p in people) else "Hide")


def main() -> int:
    import sys

    from PySide6.QtWidgets import QApplication

    from screenalyzer_desktop.core.config import load_config

    app = QApplication(sys.argv[:1])
    view = ReviewView()
    view.setWindowTitle(f"Review — {Path(sys.argv[1]).name}")
    view.resize(1300, 820)
    view.set_episode(Episode(Path(sys.argv[1])), load_config())
    view.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
