"""The run queue as the user sees it: what runs now, what waits, and a way to cancel either."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from screenalyzer_desktop.gui.jobs import RUNNING, Job, RunQueue
from screenalyzer_desktop.gui.pipeline_panel import STAGE_TITLES


def job_text(job: Job) -> str:
    if job.status != RUNNING:
        return f"Queued: {job.label}"
    now = f" — {STAGE_TITLES.get(job.current_stage, job.current_stage)}" if job.current_stage else ""
    return f"▶ Running: {job.label}{now}"


class QueueView(QWidget):
    """Lists the jobs of the given queues, running first; Cancel acts on the selected job."""

    def __init__(self, queues: list[RunQueue], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queues = queues
        self.title = QLabel("Run queue")
        self.title.setStyleSheet("font-weight: 600;")
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the selected run, or take it out of the queue")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list)
        for queue in queues:
            queue.changed.connect(self.refresh)
        self.refresh()

    def jobs(self) -> list[Job]:
        return [job for queue in self._queues for job in queue.jobs()]

    def refresh(self) -> None:
        selected = self._selected_job()
        self.list.clear()
        jobs = sorted(self.jobs(), key=lambda job: job.status != RUNNING)
        for job in jobs:
            item = QListWidgetItem(job_text(job))
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.list.addItem(item)
            if selected is not None and job.id == selected.id:
                self.list.setCurrentItem(item)
        if not jobs:
            placeholder = QListWidgetItem("Nothing queued — drop videos on the window to import them")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(placeholder)
        self.title.setText(f"Run queue ({len(jobs)})" if jobs else "Run queue")
        self._on_list_current_row_changed(self.list.currentRow())

    def _selected_job(self) -> Job | None:
        item = self.list.currentItem()
        job_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        return next((job for job in self.jobs() if job.id == job_id), None)

    def _on_list_current_row_changed(self, row: int) -> None:
        self.cancel_button.setEnabled(self._selected_job() is not None)

    def _on_cancel_button_clicked(self) -> None:
        job = self._selected_job()
        for queue in self._queues:
            if job is not None and job in queue.jobs():
                queue.cancel(job)
