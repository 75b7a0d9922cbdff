"""The status-bar sign that the window is attached to a live run, with the time of the last event.

It changes only when an event arrives (a JSON line from our worker, a folder event from any run);
nothing polls. It hides when nothing runs.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QWidget


class LiveIndicator(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.last_event_at: float | None = None
        self.active = False
        self.setStyleSheet("color: #166534; padding: 0 6px;")
        self.setToolTip("The window is receiving events from a running analysis")
        self.hide()

    def set_active(self, active: bool) -> None:
        self.active = active
        self.setVisible(active)
        self._render()

    def note_event(self, at: float | None = None) -> None:
        self.last_event_at = at or time.time()
        if self.active:
            self._render()

    def _render(self) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.last_event_at)) if self.last_event_at else "—"
        text = f"● Live — last event {stamp}"
        if text != self.text():
            self.setText(text)
