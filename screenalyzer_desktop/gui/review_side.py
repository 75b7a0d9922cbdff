"""The Review tab's side panel: who the selected person looks like (one click: "This is <name>"),
the queue of names the face bank gave that wait for a confirm, and the tracks nobody has with the
people they look like. It only asks; the Review tab makes the undoable edits."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.gui.review_data import PersonRow, ReviewData, TrackRow, clock, clock_tenths, count_text
from screenalyzer_desktop.gui.thumbnails import ThumbnailLoader
from screenalyzer_desktop.review import Suggestion

DataRole = Qt.ItemDataRole.UserRole + 1


def face_icon(pixmap: QPixmap) -> QIcon:
    """The face as is in every state (a generated 'selected' tint fails on the offscreen platform)."""
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pixmap, mode)
    return icon


def _clear(layout: QVBoxLayout) -> None:
    while layout.count():
        widget = layout.takeAt(0).widget()
        if widget is not None:
            widget.hide()  # gone now; deleted when the event loop next runs
            widget.deleteLater()


class SidePanel(QWidget):
    mergeRequested = Signal(list, str)  # people, into
    confirmRequested = Signal(list)  # people
    renameRequested = Signal(str)
    openRequested = Signal(object)  # person key, or None for the unassigned tracks
    assignRequested = Signal(list, str)  # tracks, person

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._data: ReviewData | None = None
        self._person: PersonRow | None = None
        self.suggestions: list[Suggestion] = []

        self.suggest_box = QGroupBox("Who is this?")
        self.suggest_label = QLabel()
        self.suggest_label.setWordWrap(True)
        self.suggest_buttons = QVBoxLayout()
        box = QVBoxLayout(self.suggest_box)
        box.addWidget(self.suggest_label)
        box.addLayout(self.suggest_buttons)

        self.queue_box = QGroupBox()
        self.queue_list = self._list()
        self.queue_list.itemDoubleClicked.connect(lambda item: self.openRequested.emit(item.data(DataRole)))
        self.queue_list.currentItemChanged.connect(self._update_buttons)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip("The face bank got this one right")
        self.confirm_button.clicked.connect(self._on_confirm_button_clicked)
        self.confirm_all_button = QPushButton("Confirm all")
        self.confirm_all_button.clicked.connect(self._on_confirm_all_button_clicked)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self._on_rename_button_clicked)
        buttons = QHBoxLayout()
        for button in (self.confirm_button, self.confirm_all_button, self.rename_button):
            buttons.addWidget(button)
        box = QVBoxLayout(self.queue_box)
        box.addWidget(self.queue_list, 1)
        box.addLayout(buttons)

        self.unassigned_box = QGroupBox()
        self.unassigned_list = self._list()
        self.unassigned_list.currentItemChanged.connect(self._show_track_suggestions)
        self.track_buttons = QVBoxLayout()
        self.open_unassigned_button = QPushButton("Open all…")
        self.open_unassigned_button.setToolTip("All unassigned tracks in one list: assign several at once")
        self.open_unassigned_button.clicked.connect(lambda: self.openRequested.emit(None))
        box = QVBoxLayout(self.unassigned_box)
        box.addWidget(self.unassigned_list, 1)
        box.addLayout(self.track_buttons)
        box.addWidget(self.open_unassigned_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.suggest_box)
        layout.addWidget(self.queue_box, 1)
        layout.addWidget(self.unassigned_box, 1)
        thumbnails.ready.connect(self._on_thumbnails_ready)
        thumbnails.sizeChanged.connect(self._on_face_size_changed)
        self._on_face_size_changed(thumbnails.size)
        self.set_person(None, [])

    @staticmethod
    def _list() -> QListWidget:
        widget = QListWidget()
        widget.setSpacing(1)
        return widget

    def _on_face_size_changed(self, size: int) -> None:
        for widget in (self.queue_list, self.unassigned_list):
            widget.setIconSize(QSize(size // 2, size // 2))

    # -- filling ----------------------------------------------------------------------------------
    def set_data(self, data: ReviewData) -> None:
        self._data = data
        current = self.queue_list.currentItem()
        keep_key = current.data(DataRole) if current else None
        self.queue_list.clear()
        for row in sorted((r for r in data.people if r.to_confirm), key=lambda r: r.name.casefold()):
            item = QListWidgetItem(f"{row.name}\n{clock(row.screen_time_s)} · {count_text(row.tracks, 'track')}")
            item.setData(DataRole, row.key)
            self.queue_list.addItem(item)
            if row.key == keep_key:
                self.queue_list.setCurrentItem(item)
        count = self.queue_list.count()
        self.queue_box.setTitle(f"To confirm ({count})" if count else "To confirm: all done")
        current = self.unassigned_list.currentItem()
        keep_track = current.data(DataRole) if current else None
        self.unassigned_list.clear()
        for track in data.unassigned:
            item = QListWidgetItem(f"Track {track.track}\n{clock_tenths(track.start_s)} – {clock_tenths(track.end_s)}")
            item.setData(DataRole, track.track)
            self.unassigned_list.addItem(item)
            if track.track == keep_track:
                self.unassigned_list.setCurrentItem(item)
        self.unassigned_box.setTitle(f"Unassigned tracks ({len(data.unassigned)})")
        self.open_unassigned_button.setEnabled(bool(data.unassigned))
        self._on_thumbnails_ready()
        self._show_track_suggestions()
        self._update_buttons()

    def set_person(self, person: PersonRow | None, suggestions: list[Suggestion], likely: float | None = None) -> None:
        """The person selected in the gallery and the named people nearest to them; those under
        ``likely`` (where the face bank would name someone) are offered as long shots."""
        self._person, self.suggestions = person, list(suggestions)
        _clear(self.suggest_buttons)
        if person is None:
            self.suggest_label.setText("Select a person to see who they look like.")
            return
        if not suggestions:
            self.suggest_label.setText(f"No named person looks like <b>{person.name}</b> "
                                       "(people seen on screen with them are never offered).")
            return
        close = likely is None or suggestions[0].similarity >= likely
        self.suggest_label.setText(f"<b>{person.name}</b> looks most like:" if close else
                                   f"Nobody named is a close match for <b>{person.name}</b> (a match needs "
                                   f"{likely:.2f}); name them if you know them. Nearest:")
        for suggestion in suggestions:
            button = QPushButton(f"This is {suggestion.name}   ({suggestion.similarity:.2f})")
            button.setToolTip(f"Merge {person.name} into {suggestion.name} (undoable)")
            button.setFlat(likely is not None and suggestion.similarity < likely)
            button.clicked.connect(lambda _=False, s=suggestion, k=person.key: self.mergeRequested.emit([k], s.key))
            self.suggest_buttons.addWidget(button)

    def _current_track(self) -> TrackRow | None:
        item = self.unassigned_list.currentItem()
        if item is None or self._data is None:
            return None
        return next((t for t in self._data.unassigned if t.track == item.data(DataRole)), None)

    def _show_track_suggestions(self, *_: object) -> None:
        _clear(self.track_buttons)
        track = self._current_track()
        if track is None:
            return
        for suggestion in track.nearest:
            button = QPushButton(f"→ {suggestion.name}   ({suggestion.similarity:.2f})")
            button.setToolTip(f"Give track {track.track} to {suggestion.name}")
            button.clicked.connect(lambda _=False, t=track.track, s=suggestion: self.assignRequested.emit([t], s.key))
            self.track_buttons.addWidget(button)

    def _on_thumbnails_ready(self) -> None:
        if self._data is None:
            return
        faces = {r.key: r.faces[0] for r in self._data.people if r.faces}
        faces.update({t.track: t.best_det for t in self._data.unassigned})
        for widget in (self.queue_list, self.unassigned_list):
            for i in range(widget.count()):
                item = widget.item(i)
                if item.icon().isNull():
                    pixmap = self.thumbnails.pixmap(faces.get(item.data(DataRole), -1))
                    if pixmap is not None:
                        item.setIcon(face_icon(pixmap))

    def _update_buttons(self, *_: object) -> None:
        chosen = self.queue_list.currentItem() is not None
        self.confirm_button.setEnabled(chosen)
        self.rename_button.setEnabled(chosen)
        self.confirm_all_button.setEnabled(self.queue_list.count() > 0)

    # -- asking -----------------------------------------------------------------------------------
    def queue_keys(self) -> list[str]:
        return [self.queue_list.item(i).data(DataRole) for i in range(self.queue_list.count())]

    def _on_confirm_button_clicked(self) -> None:
        item = self.queue_list.currentItem()
        if item is not None:
            self.confirmRequested.emit([item.data(DataRole)])

    def _on_confirm_all_button_clicked(self) -> None:
        if self.queue_list.count():
            self.confirmRequested.emit(self.queue_keys())

    def _on_rename_button_clicked(self) -> None:
        item = self.queue_list.currentItem()
        if item is not None:
            self.renameRequested.emit(item.data(DataRole))
