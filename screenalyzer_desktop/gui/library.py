"""The episode library: name, duration, one status badge per stage, last run time.

A video being imported shows at once as a "probing" row keyed by its path; the row becomes the
real episode as soon as the engine has created it on disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from screenalyzer_desktop.gui.pipeline_panel import STAGE_TITLES, STATUS_LOOK, duration_text
from screenalyzer_desktop.gui.snapshots import EpisodeSnapshot
from screenalyzer_desktop.gui.table_model import Index, RowsTableModel
from screenalyzer_desktop.pipeline import ORDER

COLUMNS = ("Episode", "Duration", "Stages", "Last run")
NAME, DURATION, STAGES, LAST_RUN = range(4)
StatusesRole = Qt.ItemDataRole.UserRole + 1  # list of (stage, status) or "probing"


@dataclass
class LibraryRow:
    key: str  # the episode id; the video path while it is only being imported
    name: str
    source: str
    snapshot: EpisodeSnapshot | None = None
    probing: bool = False


def last_run_text(stamp: float | None) -> str:
    if not stamp:
        return "never"
    if time.time() - stamp < 86_400:
        return time.strftime("%H:%M", time.localtime(stamp))
    return time.strftime("%Y-%m-%d", time.localtime(stamp))


class EpisodeLibraryModel(RowsTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, parent)
        self._rows: list[LibraryRow] = []

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        snap = row.snapshot
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return row.name
            if column == DURATION:
                return duration_text(snap.duration_s) if snap else ""
            if column == LAST_RUN:
                return "" if row.probing and not snap else last_run_text(snap.last_run if snap else None)
        if role == StatusesRole and column == STAGES:
            return "probing" if row.probing else [(s.stage, s.status) for s in snap.stages] if snap else []
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == STAGES and snap is not None:
                return "\n".join(f"{STAGE_TITLES[s.stage]}: {STATUS_LOOK.get(s.status, (s.status,))[0]}"
                                 for s in snap.stages)
            return row.source
        return None

    def rows(self) -> list[LibraryRow]:
        return list(self._rows)

    def row_of(self, key: str) -> int:
        return next((n for n, row in enumerate(self._rows) if row.key == key), -1)

    def key_at(self, row: int) -> str | None:
        return self._rows[row].key if 0 <= row < len(self._rows) else None

    def row_data(self, key: str) -> LibraryRow | None:
        n = self.row_of(key)
        return self._rows[n] if n >= 0 else None

    def add_probing(self, video: Path) -> None:
        """A row for a video being imported, before the engine has made its episode."""
        key = str(Path(video).resolve())
        n = next((n for n, row in enumerate(self._rows) if row.source == key), -1)
        if n >= 0:
            self._rows[n].probing = True
            self._changed(n)
            return
        self._insert(LibraryRow(key=key, name=Path(video).name, source=key, probing=True))

    def end_probing(self, video: Path) -> None:
        """The import ended: a placeholder that never became an episode goes away."""
        key = str(Path(video).resolve())
        for n, row in enumerate(self._rows):
            if row.source == key and row.probing:
                if row.snapshot is None:
                    self.beginRemoveRows(QModelIndex(), n, n)
                    del self._rows[n]
                    self.endRemoveRows()
                else:
                    row.probing = False
                    self._changed(n)
                return

    def set_snapshot(self, snapshot: EpisodeSnapshot) -> None:
        n = self.row_of(snapshot.id)
        if n < 0:
            n = next((i for i, row in enumerate(self._rows) if row.snapshot is None and row.source == snapshot.source),
                     -1)
        if n < 0:
            self._insert(LibraryRow(snapshot.id, snapshot.name, snapshot.source, snapshot))
            return
        row = self._rows[n]
        row.key, row.name, row.source, row.snapshot = snapshot.id, snapshot.name, snapshot.source, snapshot
        self._changed(n)

    def keep_only(self, episode_ids: set[str]) -> None:
        """Drop rows of episodes that are gone from disk (placeholders stay)."""
        for n in reversed(range(len(self._rows))):
            row = self._rows[n]
            if row.snapshot is not None and row.key not in episode_ids:
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()

    def _insert(self, row: LibraryRow) -> None:
        n = next((i for i, other in enumerate(self._rows) if other.name.casefold() > row.name.casefold()),
                 len(self._rows))
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.insert(n, row)
        self.endInsertRows()

    def _changed(self, n: int) -> None:
        self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))


class StageBadgeDelegate(QStyledItemDelegate):
    """Paints one small coloured badge per stage, lettered, in pipeline order."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        statuses = index.data(StatusesRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(4, 5, -4, -5)
        if statuses == "probing":
            text, background, foreground = STATUS_LOOK["probing"]
            pill = QRect(rect.x(), rect.y(), 86, rect.height())
            painter.setBrush(QColor(background))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(pill, 7, 7)
            painter.setPen(QColor(foreground))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        else:
            side = rect.height()
            for n, (stage, status) in enumerate(statuses or []):
                _, background, foreground = STATUS_LOOK.get(status, STATUS_LOOK["not_run"])
                badge = QRect(rect.x() + n * (side + 4), rect.y(), side, side)
                painter.setBrush(QColor(background))
                painter.setPen(QColor(foreground))
                painter.drawRoundedRect(badge, 4, 4)
                painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, stage[0].upper())
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(len(ORDER) * 24 + 8, 26)


class LibraryView(QTableView):
    def __init__(self, model: EpisodeLibraryModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegateForColumn(STAGES, StageBadgeDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(28)
        header = self.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column in (DURATION, STAGES, LAST_RUN):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumWidth(420)


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from screenalyzer_desktop.gui.snapshots import sample_snapshot

    app = QApplication(sys.argv)
    model = EpisodeLibraryModel()
    model.set_snapshot(sample_snapshot("s01e01"))
    model.set_snapshot(sample_snapshot("s01e02", running=None))
    model.add_probing(Path("/videos/s01e03.mp4"))
    view = LibraryView(model)
    view.resize(520, 300)
    view.show()
    sys.exit(app.exec())
