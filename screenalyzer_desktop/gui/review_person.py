"""One person opened: all their tracks as rows (face, time range, faces, similarity to the person,
who else the track looks like), least like the person first so outliers are on top. Selected rows
can be split off as a new person, moved to someone else, or rejected ("not this person").

The view only asks; the Review tab makes the undoable edit.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.gui.review_data import PersonRow, TrackRow, clock, clock_tenths, count_text
from screenalyzer_desktop.gui.table_model import Index, RowsTableModel
from screenalyzer_desktop.gui.thumbnails import ThumbnailLoader

COLUMNS = ("Face", "Track", "On screen", "Faces", "Similarity", "Looks like")
FACE, TRACK, TIME, FACES, SIMILARITY, NEAREST = range(len(COLUMNS))
TrackRole = Qt.ItemDataRole.UserRole + 1


class TrackModel(RowsTableModel):
    def __init__(self, thumbnails: ThumbnailLoader, parent: Any = None) -> None:
        super().__init__(COLUMNS, parent)
        self.thumbnails = thumbnails
        self._rows: list[TrackRow] = []
        thumbnails.ready.connect(self._on_thumbnails_ready)

    def set_rows(self, rows: list[TrackRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[TrackRow]:
        return list(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == TrackRole:
            return row.track
        if role == Qt.ItemDataRole.DecorationRole and column == FACE:
            return self.thumbnails.pixmap(row.best_det)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (TRACK, FACES, SIMILARITY):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(row: TrackRow, column: int) -> str | None:
        if column == TRACK:
            return str(row.track)
        if column == TIME:
            return f"{clock_tenths(row.start_s)} – {clock_tenths(row.end_s)}  ({row.end_s - row.start_s:.1f} s)"
        if column == FACES:
            return str(row.detections)
        if column == SIMILARITY:
            return "—" if math.isnan(row.similarity) else f"{row.similarity:.3f}"
        if column == NEAREST:
            return ", ".join(f"{s.name} ({s.similarity:.2f})" for s in row.nearest) or "—"
        return None

    def _on_thumbnails_ready(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, FACE), self.index(len(self._rows) - 1, FACE),
                                  [Qt.ItemDataRole.DecorationRole])


class PersonView(QWidget):
    backRequested = Signal()
    splitRequested = Signal(list)  # tracks
    moveRequested = Signal(list, str)  # tracks, person key
    ejectRequested = Signal(list)  # tracks
    newPersonRequested = Signal(list)  # unassigned tracks that become a new person

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key: str | None = None
        self._people: list[PersonRow] = []
        self.model = TrackModel(thumbnails, self)
        self.back_button = QPushButton("← All people")
        self.back_button.setToolTip("Back to the gallery (Esc)")
        self.back_button.clicked.connect(lambda: self.backRequested.emit())
        self.title = QLabel()
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.35)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.stats = QLabel()
        self.stats.setStyleSheet("color: palette(placeholder-text);")
        self.split_button = QPushButton("Split off as new person")
        self.split_button.setToolTip("The selected tracks become a person of their own (S)")
        self.split_button.clicked.connect(self._on_split_button_clicked)
        self.move_button = QToolButton()
        self.move_button.setText("Move to")
        self.move_button.setToolTip("Give the selected tracks to another person (M)")
        self.move_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.move_menu = QMenu(self.move_button)
        self.move_menu.aboutToShow.connect(self._fill_move_menu)
        self.move_button.setMenu(self.move_menu)
        self.eject_button = QPushButton("Not this person")
        self.eject_button.setToolTip("The selected tracks go to nobody and are not offered back (Delete)")
        self.eject_button.clicked.connect(self._on_eject_button_clicked)
        self.hint = QLabel("Select tracks (Shift/Ctrl for several), then split, move or reject them.")
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NEAREST, QHeaderView.ResizeMode.Stretch)
        self._on_face_size_changed(thumbnails.size)
        thumbnails.sizeChanged.connect(self._on_face_size_changed)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._add_key(self.eject_button.click, QKeySequence.StandardKey.Delete)
        self._add_key(self.split_button.click, "S")
        self._add_key(self.move_button.showMenu, "M")
        self._add_key(self.backRequested.emit, "Esc")

        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addSpacing(12)
        top.addWidget(self.title)
        top.addWidget(self.stats, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.split_button)
        actions.addWidget(self.move_button)
        actions.addWidget(self.eject_button)
        actions.addSpacing(12)
        actions.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def _on_face_size_changed(self, size: int) -> None:
        self.table.setIconSize(QSize(size, size))
        rows = self.table.verticalHeader()
        rows.setMinimumSectionSize(size + 6)
        rows.setDefaultSectionSize(size + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(FACE, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(FACE, size + 12)

    def _add_key(self, slot: Any, key: QKeySequence.StandardKey | str) -> None:
        action = QAction(self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)

    def show_person(self, key: str | None, person: PersonRow | None, rows: list[TrackRow],
                    people: list[PersonRow]) -> None:
        """``key`` None: the tracks nobody has (they can be made a new person or moved)."""
        keep = self.selected_tracks() if key == self.key else []
        self.key, self._people = key, people
        if person is not None:
            self.title.setText(person.name)
            badge = {"cast": "from face bank — confirm", "user": "confirmed", "": "unnamed"}.get(person.named_by, "")
            extra = "  ·  hidden (extra / background)" if person.hidden else ""
            tracks = count_text(person.tracks, "track")
            self.stats.setText(f"   {clock(person.screen_time_s)} on screen  ·  {tracks}  ·  {badge}{extra}")
        else:
            self.title.setText("Unassigned tracks")
            self.stats.setText(f"   {len(rows)} tracks nobody has: noise, or faces not yet given to a person")
        self.split_button.setText("Split off as new person" if key is not None else "Make a new person")
        self.eject_button.setVisible(key is not None)
        self.model.set_rows(rows)
        self.select_tracks(keep)
        self._update_buttons()

    def selected_tracks(self) -> list[int]:
        return sorted(i.data(TrackRole) for i in self.table.selectionModel().selectedRows())

    def select_tracks(self, tracks: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, data in enumerate(self.model.rows()):
            if data.track in tracks:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _update_buttons(self, *_: object) -> None:
        chosen = bool(self.selected_tracks())
        for button in (self.split_button, self.move_button, self.eject_button):
            button.setEnabled(chosen)

    def _fill_move_menu(self) -> None:
        """Who the selected tracks look like first, then everyone else by name."""
        self.move_menu.clear()
        chosen = set(self.selected_tracks())
        nearest: dict[str, float] = {}
        for row in self.model.rows():
            if row.track in chosen:
                for s in row.nearest:
                    nearest[s.key] = max(nearest.get(s.key, -1.0), s.similarity)
        others = [p for p in self._people if p.key != self.key]
        by_key = {p.key: p for p in others}
        for key, similarity in sorted(nearest.items(), key=lambda kv: -kv[1]):
            if key in by_key:
                self._move_action(by_key[key], f"{by_key[key].name}   ({similarity:.2f})")
        if nearest:
            self.move_menu.addSeparator()
        for person in sorted(others, key=lambda p: p.name.casefold()):
            if person.key not in nearest:
                self._move_action(person, person.name)

    def _move_action(self, person: PersonRow, text: str) -> None:
        action = self.move_menu.addAction(text)
        action.setData(person.key)
        action.triggered.connect(lambda _=False, key=person.key: self.moveRequested.emit(self.selected_tracks(), key))

    def _on_split_button_clicked(self) -> None:
        tracks = self.selected_tracks()
        if tracks:
            (self.splitRequested if self.key is not None else self.newPersonRequested).emit(tracks)

    def _on_eject_button_clicked(self) -> None:
        tracks = self.selected_tracks()
        if tracks and self.key is not None:
            self.ejectRequested.emit(tracks)
