"""Live log panel: a ring-buffer model fed in batches, a level filter, search and copy.

Lines arrive one signal at a time (1,000/s and more); the model queues them and inserts them in one
batch per ``batch_ms``, and drops the oldest past ``capacity``, so the view never stalls the window.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QListView, QPushButton, QVBoxLayout, QWidget

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)} | {"CRITICAL": 3}
_LEVEL_COLOURS = {"WARNING": QColor("#9a6700"), "ERROR": QColor("#c62828"), "CRITICAL": QColor("#c62828"),
                  "DEBUG": QColor("#6b7280")}
LevelRole = Qt.ItemDataRole.UserRole + 1
_FILE_LINE = re.compile(r"(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<ms>\d{3}) "
                        r"(?P<level>[A-Z]+) \S+: (?P<message>.*)")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class LogLine:
    ts: float
    level: str
    message: str

    def text(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.ts))
        return f"{stamp}.{int(self.ts % 1 * 1000):03d}  {self.level:<7}  {self.message}"


def read_log_tail(logs_dir: Path, max_lines: int = 2_000) -> list[dict[str, Any]]:
    """The last lines of an episode's newest run log (the engine's file handler format) as log events,
    so a run from a terminal or an earlier session has its log in the panel too."""
    logs = sorted(Path(logs_dir).glob("*.log"), key=lambda path: path.stat().st_mtime)
    if not logs:
        return []
    with open(logs[-1], encoding="utf-8", errors="replace") as handle:
        lines = deque(handle, maxlen=max_lines)
    events: list[dict[str, Any]] = []
    for line in lines:
        match = _FILE_LINE.match(line.rstrip("\n"))
        if match is None:  # a continuation line (a traceback): part of the previous message
            if events:
                events[-1]["message"] += "\n" + line.rstrip("\n")
            continue
        stamp = time.mktime(time.strptime(match["date"], "%Y-%m-%d %H:%M:%S")) + int(match["ms"]) / 1000
        events.append({"level": match["level"], "message": match["message"], "ts": stamp})
    return events


class LogModel(QAbstractListModel):
    """The last ``capacity`` log lines of one episode's runs."""

    def __init__(self, parent: Any = None, *, capacity: int = 20_000, batch_ms: int = 40) -> None:
        super().__init__(parent)
        self._capacity = capacity
        self._lines: deque[LogLine] = deque()
        self._pending: list[LogLine] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(batch_ms)
        self._flush_timer.timeout.connect(self._on_flush_timer_timeout)

    def append(self, event: dict[str, Any]) -> None:
        """Queue one log event (a JSON `log` line of the engine); the view sees it in the next batch."""
        level = str(event.get("level") or "INFO").upper()
        self._pending.append(LogLine(float(event.get("ts") or time.time()), level, str(event.get("message", ""))))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        self._flush_timer.stop()
        self._on_flush_timer_timeout()

    def _on_flush_timer_timeout(self) -> None:
        batch, self._pending = self._pending[-self._capacity:], []
        if not batch:
            return
        overflow = len(self._lines) + len(batch) - self._capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for _ in range(overflow):
                self._lines.popleft()
            self.endRemoveRows()
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._lines.extend(batch)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._lines)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self._lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return line.text()
        if role == LevelRole:
            return line.level
        if role == Qt.ItemDataRole.ForegroundRole and line.level in _LEVEL_COLOURS:
            return QBrush(_LEVEL_COLOURS[line.level])
        return None


class LogFilter(QSortFilterProxyModel):
    """Hides lines under the chosen level and lines without the search text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._min_rank = _LEVEL_RANK["INFO"]
        self._needle = ""

    def set_min_level(self, level: str) -> None:
        self._begin_change()
        self._min_rank = _LEVEL_RANK[level]
        self._end_change()

    def set_search(self, text: str) -> None:
        self._begin_change()
        self._needle = text.casefold()
        self._end_change()

    def _begin_change(self) -> None:
        if hasattr(self, "endFilterChange"):  # Qt 6.10+; invalidateFilter() is deprecated there
            self.beginFilterChange()

    def _end_change(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        index = self.sourceModel().index(row, 0, parent)
        if _LEVEL_RANK.get(index.data(LevelRole), 1) < self._min_rank:
            return False
        return not self._needle or self._needle in index.data(Qt.ItemDataRole.DisplayRole).casefold()


class LogPanel(QWidget):
    """Shows one LogModel at a time: the selected episode's."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filter = LogFilter(self)
        self.level_box = QComboBox()
        self.level_box.addItems([level.title() for level in LEVELS])
        self.level_box.setCurrentIndex(LEVELS.index("INFO"))
        self.level_box.setToolTip("Show lines of this level and above")
        self.level_box.currentIndexChanged.connect(self._on_level_box_current_index_changed)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search the log")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._filter.set_search)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the selected lines, or every shown line when none is selected")
        self.copy_button.clicked.connect(self.copy_lines)
        self.view = QListView()
        self.view.setModel(self._filter)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.view.setFont(mono)
        copy_action = QAction("Copy", self.view)
        copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy_action.triggered.connect(self.copy_lines)
        self.view.addAction(copy_action)
        self._filter.rowsAboutToBeInserted.connect(self._on_rows_about_to_be_inserted)
        self._filter.rowsInserted.connect(self._on_rows_inserted)
        self._follow = True
        tools = QHBoxLayout()
        tools.addWidget(self.level_box)
        tools.addWidget(self.search_box, 1)
        tools.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)

    def set_model(self, model: LogModel | None) -> None:
        self._filter.setSourceModel(model)
        self.view.scrollToBottom()

    def shown_lines(self) -> list[str]:
        return [self._filter.index(row, 0).data() for row in range(self._filter.rowCount())]

    def copy_lines(self) -> None:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        lines = [self._filter.index(row, 0).data() for row in rows] if rows else self.shown_lines()
        QGuiApplication.clipboard().setText("\n".join(lines))

    def _on_level_box_current_index_changed(self, index: int) -> None:
        self._filter.set_min_level(LEVELS[index])

    def _on_rows_about_to_be_inserted(self, *_: Any) -> None:
        bar = self.view.verticalScrollBar()
        self._follow = bar.value() >= bar.maximum() - 2

    def _on_rows_inserted(self, *_: Any) -> None:
        if self._follow:
            self.view.scrollToBottom()


def _preview() -> None:
    """Standalone look: a panel fed 1,000 lines per second."""
    import itertools
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    model = LogModel()
    panel = LogPanel()
    panel.set_model(model)
    panel.resize(900, 500)
    panel.show()
    counter = itertools.count()
    feeder = QTimer(interval=10)
    feeder.timeout.connect(lambda: [model.append({"level": LEVELS[n % 4], "message": f"line {n}"})
                                    for n in itertools.islice(counter, 10)])
    feeder.start()
    sys.exit(app.exec())


if __name__ == "__main__":
    _preview()
