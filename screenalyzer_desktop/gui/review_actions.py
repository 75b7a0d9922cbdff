"""The Review tab's actions: toolbar, gallery context menu and shortcuts, undo and redo."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

KEYS = QKeySequence.StandardKey


class ReviewActions:
    """Open, Name…, Confirm, Merge, Hide/Unhide and Undo/Redo of the Review tab."""

    def __init__(self, owner: QWidget, group: QUndoGroup) -> None:
        self.open = self._make(owner, "Open", "Show this person's tracks (Enter)")
        self.name = self._make(owner, "Name…", "Give a name; naming after someone else merges them (F2)", "F2")
        self.confirm = self._make(owner, "Confirm", "The face bank got the name right (Ctrl+Enter)",
                                  "Ctrl+Return")
        self.merge = self._make(owner, "Merge", "The selected people are one person (Ctrl+M)", "Ctrl+M")
        self.hide = self._make(owner, "Hide", "An extra or background face: kept, not counted (Delete)",
                               KEYS.Delete)
        self.undo = group.createUndoAction(owner, "Undo")
        self.undo.setShortcuts([QKeySequence(KEYS.Undo)])
        self.redo = group.createRedoAction(owner, "Redo")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])

    @staticmethod
    def _make(owner: QWidget, text: str, tip: str, key: QKeySequence.StandardKey | str | None = None) -> QAction:
        action = QAction(text, owner)
        action.setToolTip(tip)
        if key is not None:
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        return action

    def items(self) -> list[QAction]:
        return [self.open, self.name, self.confirm, self.merge, self.hide]

    def connect(self, slots: dict[str, Callable[[], None]]) -> None:
        for name, slot in slots.items():
            getattr(self, name).triggered.connect(slot)
