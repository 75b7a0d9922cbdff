"""How an error looks: its code, the sentence for a person and the hint; the developer detail and
the structured cause of a failed prerequisite one click away. Never "Unknown error"."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.core.errors import ScreenalyzerError


def error_details_text(error: ScreenalyzerError) -> str:
    """Everything a developer needs, as plain text to read or paste into a ticket."""
    parts = [f"{error.code}: {error.message}", f"Hint: {error.hint}", "", "Detail:", error.detail or "(none)"]
    if error.cause is not None:
        parts += ["", f"Caused by stage {error.cause.stage}: {error.cause.code}: {error.cause.message}",
                  "Cause detail:", error.cause.detail or "(none)"]
    if error.extra:
        parts += ["", "Extra:", json.dumps(error.extra, indent=2, default=str)]
    return "\n".join(parts)


class ErrorPanel(QFrame):
    """An error with its code, message and hint; Details shows the developer detail and cause."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None, *, closable: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("errorPanel")
        self.setStyleSheet("#errorPanel { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
                           "#errorPanel QLabel { background: transparent; }")
        self.error: ScreenalyzerError | None = None
        self.code_label = QLabel()
        code_font = QFont("monospace")
        code_font.setStyleHint(QFont.StyleHint.TypeWriter)
        code_font.setBold(True)
        self.code_label.setFont(code_font)
        self.code_label.setStyleSheet("color: #b71c1c;")
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.cause_label = QLabel()
        self.cause_label.setWordWrap(True)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: #374151;")
        self.details_button = QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.toggled.connect(self._on_details_button_toggled)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        detail_font = QFont("monospace")
        detail_font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.details.setFont(detail_font)
        self.details.setMaximumHeight(220)
        self.details.hide()
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self._on_close_button_clicked)
        self.close_button.setVisible(closable)

        title = QHBoxLayout()
        title.addWidget(self.code_label)
        title.addWidget(self.message_label, 1)
        title.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.details_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(title)
        layout.addWidget(self.cause_label)
        layout.addWidget(self.hint_label)
        layout.addLayout(buttons)
        layout.addWidget(self.details)
        self.hide()

    def show_error(self, error: ScreenalyzerError, context: str = "") -> None:
        self.error = error
        self.code_label.setText(error.code)
        self.message_label.setText(f"{context}: {error.message}" if context else error.message)
        cause = error.cause
        self.cause_label.setVisible(cause is not None)
        if cause is not None:
            self.cause_label.setText(f"Caused by <b>{html.escape(cause.stage)}</b>: "
                                     f"<code>{html.escape(cause.code)}</code> — {html.escape(cause.message)}")
        self.hint_label.setText(f"<b>What to do:</b> {html.escape(error.hint)}")
        self.details.setPlainText(error_details_text(error))
        self.show()

    def clear_error(self) -> None:
        self.error = None
        self.details_button.setChecked(False)
        self.hide()

    def _on_details_button_toggled(self, checked: bool) -> None:
        self.details.setVisible(checked)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)

    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())

    def _on_close_button_clicked(self) -> None:
        self.clear_error()
        self.dismissed.emit()


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from screenalyzer_desktop.core.errors import ErrorCause

    app = QApplication(sys.argv)
    panel = ErrorPanel(closable=True)
    panel.show_error(ScreenalyzerError(
        "ERR_PREREQ_FAILED", detail="screentime needs detect_embed, which failed",
        cause=ErrorCause("detect_embed", "ERR_VIDEO_UNREADABLE", "The file could not be read as a video.",
                         "/videos/s01e01.mp4: not a video OpenCV can open")), context="s01e01")
    panel.resize(640, 200)
    panel.show()
    sys.exit(app.exec())
