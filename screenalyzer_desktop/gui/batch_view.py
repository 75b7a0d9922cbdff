"""The Batch view: runs `screenalyzer batch ... --progress jsonl` in the one ProcessRunner and shows the
batch's overall progress and one row per episode (status, stage, %, code), fed by its JSON lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.batch import BATCH, DONE, EPISODE, FAILED, SKIPPED
from screenalyzer_desktop.gui.process_runner import DONE as RUN_DONE
from screenalyzer_desktop.gui.process_runner import ProcessRunner, RunOutcome

COLUMNS = ("Episode", "Status", "Stage", "%", "Code")
_EPISODE, _STATUS, _STAGE, _PERCENT, _CODE = range(len(COLUMNS))


def batch_args(paths: Sequence[Path], *, workspace: Path | None = None, cast: Path | None = None,
               show: str | None = None, ray_address: str | None = None, max_parallel: int | None = None,
               gpus_per_task: float | None = None) -> list[str]:
    """The engine CLI's arguments for a batch that reports in JSON lines."""
    args = ["batch", *map(str, paths), "--progress", "jsonl"]
    for option, value in (("--workspace", workspace), ("--cast", cast), ("--show", show),
                          ("--ray-address", ray_address), ("--max-parallel", max_parallel),
                          ("--gpus-per-task", gpus_per_task)):
        if value is not None:
            args += [option, str(value)]
    return args


class BatchView(QWidget):
    """``start(paths, workspace=..., ...)`` runs a batch; ``batchEnded(RunOutcome)`` says how it ended."""

    batchEnded = Signal(object)  # RunOutcome

    def __init__(self, parent: QWidget | None = None, *, grace_ms: int = 3000) -> None:
        super().__init__(parent)
        self.runner = ProcessRunner(self, grace_ms=grace_ms)
        self.status = QLabel("No batch running.")
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.overall.setFormat("%p %")
        self.cancel_button = QPushButton("Cancel batch")
        self.cancel_button.setEnabled(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(_EPISODE, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(self.overall, 1)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self._rows: dict[str, int] = {}  # video path -> table row
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.runner.started.connect(self._on_runner_started)
        self.runner.stageChanged.connect(self._on_runner_stage_changed)
        self.runner.progress.connect(self._on_runner_progress)
        self.runner.ended.connect(self._on_runner_ended)

    def start(self, paths: Sequence[Path], **options: Any) -> None:
        """Start a batch of ``paths`` (videos or folders); ``options`` are those of :func:`batch_args`."""
        self.table.setRowCount(0)
        self._rows.clear()
        self.overall.setValue(0)
        self.status.setText("Starting the batch …")
        self.runner.start(batch_args(paths, **options))

    def cancel(self) -> None:
        self.runner.cancel()

    def stop_and_wait(self) -> None:
        """Stop a running batch and wait for its process: for the window's close."""
        self.runner.stop_and_wait()

    def is_running(self) -> bool:
        return self.runner.is_running()

    def row(self, name: str) -> dict[str, str]:
        """What the table shows for the episode named ``name`` (episode id, or file name before import)."""
        for index in range(self.table.rowCount()):
            if self.table.item(index, _EPISODE).text() == name:
                return {column: self.table.item(index, i).text() for i, column in enumerate(COLUMNS)}
        raise KeyError(name)

    # -- slots ------------------------------------------------------------------------------------------
    def _on_cancel_button_clicked(self) -> None:
        self.cancel()

    def _on_runner_started(self) -> None:
        self.cancel_button.setEnabled(True)

    def _on_runner_stage_changed(self, event: dict[str, Any]) -> None:
        row = self._row_of(event)
        if row is None:
            return
        if event.get("stage") == EPISODE:
            self._set(row, _EPISODE, event.get("name") or event.get("episode") or Path(event["video"]).name)
            self._set(row, _STATUS, event.get("status", ""))
            self._set(row, _CODE, (event.get("error") or {}).get("code", ""))
            if event.get("status") in (DONE, SKIPPED):
                self._set(row, _PERCENT, "100")
        else:
            self._set(row, _STAGE, event.get("stage", ""))

    def _on_runner_progress(self, event: dict[str, Any]) -> None:
        if event.get("stage") == BATCH and "video" not in event:
            self.overall.setValue(round(float(event.get("overall", 0.0)) * 1000))
            self.status.setText(event.get("message", ""))
            return
        row = self._row_of(event)
        if row is not None:
            self._set(row, _STAGE, event.get("stage", ""))
            self._set(row, _PERCENT, f"{float(event.get('overall', 0.0)) * 100:.0f}")

    def _on_runner_ended(self, outcome: RunOutcome) -> None:
        self.cancel_button.setEnabled(False)
        episodes = (outcome.result or {}).get("episodes", [])
        failed = sum(row.get("status") == FAILED for row in episodes)
        if outcome.status == RUN_DONE:
            self.status.setText(f"Batch done: {len(episodes)} episode(s).")
        elif outcome.error is not None:
            how = f"{failed} of {len(episodes)} episode(s) failed. " if episodes else ""
            self.status.setText(f"{how}{outcome.error.code}: {outcome.error.message}")
        self.batchEnded.emit(outcome)

    # -- helpers ----------------------------------------------------------------------------------------
    def _row_of(self, event: dict[str, Any]) -> int | None:
        video = event.get("video")
        if not video:
            return None
        if video not in self._rows:
            row = self._rows[video] = self.table.rowCount()
            self.table.insertRow(row)
            for column in range(len(COLUMNS)):
                self.table.setItem(row, column, QTableWidgetItem(""))
            self._set(row, _EPISODE, event.get("episode") or Path(video).name)
        return self._rows[video]

    def _set(self, row: int, column: int, text: str) -> None:
        self.table.item(row, column).setText(str(text))
