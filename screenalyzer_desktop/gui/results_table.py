"""The screen-time numbers as a table: sortable on the numbers themselves, Ctrl+C copies TSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from screenalyzer_desktop.gui.results_charts import clock_text
from screenalyzer_desktop.gui.table_model import Index, RowsTableModel

SortRole = Qt.ItemDataRole.UserRole + 1
# Column title, summary column, display format.
COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("Person", "person", str),
    ("Screen time (s)", "screen_time_s", "{:.2f}".format),
    ("Share", "share", lambda v: f"{v * 100:.1f} %"),
    ("First seen", "first_seen_s", clock_text),
    ("Last seen", "last_seen_s", clock_text),
    ("Tracks", "tracks", "{:d}".format),
)


class ScreenTimeModel(RowsTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(tuple(title for title, _, _ in COLUMNS), parent)
        self._rows: list[dict[str, Any]] = []

    def set_summary(self, summary: pd.DataFrame) -> None:
        self.beginResetModel()
        self._rows = summary.to_dict(orient="records")
        self.endResetModel()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        _, key, show = COLUMNS[index.column()]
        value = self._rows[index.row()][key]
        if role == Qt.ItemDataRole.DisplayRole:
            return show(int(value) if key == "tracks" else value)
        if role == SortRole:
            return str(value).casefold() if key == "person" else float(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and key != "person":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ResultsTable(QTableView):
    """The table view; Ctrl+C (or the context menu) copies the selected cells as tab-separated text
    with their column titles, ready to paste into a spreadsheet."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_model = ScreenTimeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source_model)
        self.proxy.setSortRole(SortRole)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.copy_action = QAction("Copy", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        self.addAction(self.copy_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def set_summary(self, summary: pd.DataFrame) -> None:
        self.source_model.set_summary(summary)

    def selection_tsv(self) -> str:
        indexes = self.selectionModel().selectedIndexes()
        if not indexes:
            return ""
        rows = sorted({i.row() for i in indexes})
        columns = sorted({i.column() for i in indexes})
        chosen = {(i.row(), i.column()) for i in indexes}
        lines = ["\t".join(str(self.proxy.headerData(c, Qt.Orientation.Horizontal)) for c in columns)]
        for row in rows:
            lines.append("\t".join(str(self.proxy.index(row, c).data()) if (row, c) in chosen else ""
                                   for c in columns))
        return "\n".join(lines) + "\n"

    def copy_selection(self) -> None:
        text = self.selection_tsv()
        if text:
            QGuiApplication.clipboard().setText(text)
