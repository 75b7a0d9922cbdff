"""The gallery of people: one card per person with their best faces, name, screen time and tracks,
sortable and filterable, keyboard-driven (arrows, Enter opens, F2 names, type-ahead by name); cards
dragged onto another card are merged into that person."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QDragMoveEvent, QDropEvent, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from screenalyzer_desktop.gui.review_data import PersonRow, clock, count_text
from screenalyzer_desktop.gui.thumbnails import ThumbnailLoader

RowRole = Qt.ItemDataRole.UserRole + 1  # the PersonRow
KeyRole = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex
SORTS = ("Screen time", "Name", "Tracks")
FILTERS = ("Everyone", "Unnamed only", "To confirm")
PAD, GAP, RADIUS = 8, 4, 6
BADGE_LOOK = {"cast": ("from face bank — confirm", "#fff4d6", "#8a5a00"),
              "": ("unnamed", "#eef0f3", "#4b5563"),
              "hidden": ("hidden: extra / background", "#eef0f3", "#6b7280")}
PLACEHOLDER = QColor("#d9dde3")
PEOPLE_MIME = "application/x-screenalyzer-people"  # the dragged people's keys, one per line


class PeopleModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PersonRow] = []

    def set_rows(self, rows: list[PersonRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[PersonRow]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == RowRole:
            return row
        if role == KeyRole:
            return row.key
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"<b>{row.name}</b>", f"{clock(row.screen_time_s)} on screen ({row.share:.0%})",
                     f"{row.tracks} track(s)"]
            if row.nearest is not None:
                lines.append(f"Looks like {row.nearest.name} ({row.nearest.similarity:.2f})")
            return "<br>".join(lines)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return [PEOPLE_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        keys = dict.fromkeys(self._rows[i.row()].key for i in indexes if i.isValid())
        mime.setData(PEOPLE_MIME, "\n".join(keys).encode())
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction  # a drop merges; the cards themselves never move

    def faces_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1), [Qt.ItemDataRole.DecorationRole])


class PeopleProxy(QSortFilterProxyModel):
    """Sort by screen time, name or tracks; filter unnamed / to confirm; hidden people last or out."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.sort_by = SORTS[0]
        self.filter_by = FILTERS[0]
        self.show_hidden = True

    def set_view(self, sort_by: str, filter_by: str, show_hidden: bool) -> None:
        self.sort_by, self.filter_by, self.show_hidden = sort_by, filter_by, show_hidden
        self.invalidate()
        self.sort(0)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        row: PersonRow = self.sourceModel().index(source_row, 0, source_parent).data(RowRole)
        if row.hidden and not self.show_hidden:
            return False
        if self.filter_by == FILTERS[1]:
            return row.unnamed
        if self.filter_by == FILTERS[2]:
            return row.to_confirm
        return True

    def lessThan(self, left: Index, right: Index) -> bool:
        a: PersonRow = left.data(RowRole)
        b: PersonRow = right.data(RowRole)
        return self._sort_key(a) < self._sort_key(b)

    def _sort_key(self, row: PersonRow) -> tuple:
        if self.sort_by == SORTS[1]:
            return (row.hidden, row.unnamed, row.name.casefold())
        if self.sort_by == SORTS[2]:
            return (row.hidden, -row.tracks, -row.screen_time_s, row.name.casefold())
        return (row.hidden, -row.screen_time_s, row.name.casefold())


class PersonCardDelegate(QStyledItemDelegate):
    """A card: the best face large, the next ones small beside it, then name, time and a badge."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: Any = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails

    def _small(self) -> int:
        return (self.thumbnails.size - 2 * GAP) // 3

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        line = QFontMetrics(option.font).height()
        faces = PAD + self.thumbnails.size + GAP + self._small() + PAD
        badge = QFontMetrics(self._badge_font(option)).horizontalAdvance(BADGE_LOOK["cast"][0]) + 2 * GAP + 4
        return QSize(max(faces, badge + 2 * PAD), PAD + self.thumbnails.size + GAP + 3 * line + 3 * GAP + PAD)

    @staticmethod
    def _badge_font(option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setPointSizeF(font.pointSizeF() * 0.88)
        return font

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row: PersonRow = index.data(RowRole)
        if row is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        palette = option.palette
        highlight = palette.color(QPalette.ColorRole.Highlight)
        fill = QColor(highlight).lighter(185) if selected else palette.color(QPalette.ColorRole.Base)
        border = highlight if selected else QColor("#9aa3ad") if hover else QColor("#d5d9de")
        painter.setPen(QPen(border, 2 if selected else 1))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if row.hidden:
            painter.setOpacity(0.45)
        self._paint_faces(painter, option.rect, row)
        self._paint_text(painter, option, row)
        painter.restore()

    def _paint_faces(self, painter: QPainter, cell: QRect, row: PersonRow) -> None:
        size, small = self.thumbnails.size, self._small()
        left, top = cell.left() + (cell.width() - size - GAP - small) // 2, cell.top() + PAD
        slots = [QRect(left, top, size, size)]
        slots += [QRect(left + size + GAP, top + i * (small + GAP), small, small) for i in range(3)]
        for slot, det_id in zip(slots, (*row.faces, *([-1] * len(slots))), strict=False):
            pixmap = self.thumbnails.pixmap(det_id) if det_id >= 0 else None
            if pixmap is not None:
                painter.drawPixmap(slot, pixmap)
            elif det_id >= 0 or slot is slots[0]:
                painter.fillRect(slot, PLACEHOLDER)

    def _paint_text(self, painter: QPainter, option: QStyleOptionViewItem, row: PersonRow) -> None:
        cell = option.rect
        line = QFontMetrics(option.font).height()
        width = cell.width() - 2 * PAD
        top = cell.top() + PAD + self.thumbnails.size + GAP
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        name = row.name + ("  ✓" if row.named_by == "user" else "")
        painter.drawText(QRect(cell.left() + PAD, top, width, line), Qt.AlignmentFlag.AlignLeft,
                         QFontMetrics(bold).elidedText(name, Qt.TextElideMode.ElideRight, width))
        painter.setFont(option.font)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        stats = f"{clock(row.screen_time_s)}  ·  {count_text(row.tracks, 'track')}" \
                f"  ·  {row.share:.0%}"
        painter.drawText(QRect(cell.left() + PAD, top + line + GAP, width, line), Qt.AlignmentFlag.AlignLeft, stats)
        badge = "hidden" if row.hidden else row.named_by if row.named_by in BADGE_LOOK else None
        if badge is not None:
            text, background, foreground = BADGE_LOOK[badge]
            if badge == "" and row.nearest is not None:
                text = f"looks like {row.nearest.name} ({row.nearest.similarity:.2f})"
            self._paint_badge(painter, option, QRect(cell.left() + PAD, top + 2 * (line + GAP), width, line),
                              text, background, foreground)

    @staticmethod
    def _paint_badge(painter: QPainter, option: QStyleOptionViewItem, area: QRect, text: str, background: str,
                     foreground: str) -> None:
        font = PersonCardDelegate._badge_font(option)
        metrics = QFontMetrics(font)
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width() - 2 * GAP)
        pill = QRectF(area.left(), area.top(), metrics.horizontalAdvance(shown) + 2 * GAP + 4, area.height())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(background))
        painter.drawRoundedRect(pill, area.height() / 2, area.height() / 2)
        painter.setFont(font)
        painter.setPen(QColor(foreground))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, shown)


class GalleryView(QListView):
    """Cards in a wrapping grid with multi-select; the model is a PeopleProxy over a PeopleModel.

    Dragging cards onto another card asks to merge them into it (``mergeDropped(dragged keys, onto)``)."""

    mergeDropped = Signal(list, str)

    def __init__(self, thumbnails: ThumbnailLoader, parent: Any = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setWrapping(True)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.viewport().setAcceptDrops(True)  # a Static movement turned it off: drops merge, cards never move
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setDropIndicatorShown(True)
        self.setItemDelegate(PersonCardDelegate(thumbnails, self))
        self.setStyleSheet("QListView { background: palette(window); border: none; }")
        self.source = PeopleModel(self)
        self.proxy = PeopleProxy(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setDynamicSortFilter(True)
        self.proxy.sort(0)
        self.setModel(self.proxy)
        thumbnails.ready.connect(self._on_thumbnails_ready)

    def selected_keys(self) -> list[str]:
        rows = sorted(self.selectionModel().selectedIndexes(), key=lambda i: i.row())
        return [i.data(KeyRole) for i in rows]

    def current_key(self) -> str | None:
        index = self.currentIndex()
        return index.data(KeyRole) if index.isValid() else None

    def select_keys(self, keys: list[str], current: str | None = None) -> None:
        selection = QItemSelection()
        chosen = None
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(KeyRole) in keys:
                selection.select(index, index)
                if chosen is None or index.data(KeyRole) == current:
                    chosen = index
        flags = QItemSelectionModel.SelectionFlag
        self.selectionModel().select(selection, flags.ClearAndSelect)
        if chosen is not None:
            self.selectionModel().setCurrentIndex(chosen, flags.NoUpdate)
            self.scrollTo(chosen)

    def _accept_merge(self, event: QDragMoveEvent | QDropEvent) -> tuple[list[str], str] | None:
        """The dragged people and the card under the pointer when dropping there merges them (the event is
        accepted), else None (ignored)."""
        keys = []
        if event.mimeData().hasFormat(PEOPLE_MIME):
            keys = [k for k in bytes(event.mimeData().data(PEOPLE_MIME)).decode().split("\n") if k]
        onto = self.indexAt(event.position().toPoint()).data(KeyRole)
        if onto is None or not any(k != onto for k in keys):
            event.ignore()
            return None
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        return [k for k in keys if k != onto], onto

    def dragEnterEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(PEOPLE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_merge(event)

    def dropEvent(self, event: QDropEvent) -> None:
        target = self._accept_merge(event)
        if target is not None:
            self.mergeDropped.emit(*target)

    def _on_thumbnails_ready(self) -> None:
        self.viewport().update()
