"""Name… : one line with completion over the show's cast (its cast folder's people) and the names
already used in the episode. Naming someone after an existing person makes them one person."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget


class NameDialog(QDialog):
    named = Signal(list, str)  # people keys, name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Name")
        self.keys: list[str] = []
        self._taken: set[str] = set()
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Type a name; the cast list completes it")
        self.names = QStringListModel(self)
        self.completer = QCompleter(self.names, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(self.completer)
        self.note = QLabel()
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(self._on_edit_text_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.edit)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(380, self.sizeHint().height())

    def ask(self, keys: list[str], current: str, names: list[str], taken: set[str]) -> None:
        """Open for these people; ``taken`` are names of other people (naming after them merges)."""
        self.keys, self._taken = list(keys), set(taken)
        self.names.setStringList(names)
        many = f"these {len(keys)} people" if len(keys) > 1 else f"<b>{current}</b>"
        self.prompt.setText(f"Name {many}:")
        self.edit.setText("" if current.startswith("cluster_") or len(keys) > 1 else current)
        self.edit.selectAll()
        self._on_edit_text_changed(self.edit.text())
        self.open()
        self.edit.setFocus()

    def _on_edit_text_changed(self, text: str) -> None:
        name = " ".join(text.split())
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(name))
        self.note.setText(f"{name} already exists here: they become one person." if name in self._taken else "")

    def accept(self) -> None:
        name = " ".join(self.edit.text().split())
        if not name:
            return
        super().accept()
        self.named.emit(self.keys, name)
