"""The selected episode's pipeline: one row per stage (status, progress, ETA, elapsed, Run, Cancel).

Rows take their state from two sources: snapshots read from the episode's files (any run, this
window's or a terminal's) and the live progress events of this window's own run, which arrive more
often than the engine writes its state file.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.gui.error_view import ErrorPanel
from screenalyzer_desktop.gui.snapshots import RESUMABLE, EpisodeSnapshot
from screenalyzer_desktop.pipeline import ORDER, StageView

STAGE_TITLES = {"ingest": "Probe video", "detect_embed": "Detect & embed faces", "track": "Track faces",
                "cluster": "Group people", "screentime": "Screen time"}
# status -> (text, background, foreground)
STATUS_LOOK = {
    "done": ("Done", "#d1fae5", "#065f46"), "stale": ("Stale", "#fef3c7", "#92400e"),
    "not_run": ("Not run", "#e5e7eb", "#374151"), "running": ("Running", "#dbeafe", "#1e40af"),
    "failed": ("Failed", "#fee2e2", "#991b1b"), "cancelled": ("Cancelled", "#fde68a", "#78350f"),
    "interrupted": ("Interrupted", "#fed7aa", "#9a3412"), "waiting": ("Queued", "#ede9fe", "#5b21b6"),
    "probing": ("Probing…", "#dbeafe", "#1e40af"),
}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def counters_text(counters: dict[str, Any], limit: int | None = None) -> str:
    """Frames and faces first: they are what a person watches rise."""
    keys = sorted(counters, key=lambda key: (key not in ("frames", "faces"), key != "frames"))[:limit]
    return " · ".join(f"{key} {counters[key]}" for key in keys)


def pill_style(status: str) -> str:
    _, background, foreground = STATUS_LOOK.get(status, STATUS_LOOK["not_run"])
    return f"background: {background}; color: {foreground}; border-radius: 8px; padding: 1px 8px;"


class _StageRow:
    def __init__(self, stage: str, grid: QGridLayout, row: int, panel: PipelinePanel) -> None:
        self.stage = stage
        self.name = QLabel(STAGE_TITLES.get(stage, stage))
        self.name.setToolTip(stage)
        self.status = QLabel()
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setMinimumWidth(86)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMinimumWidth(220)
        self.eta = QLabel()
        self.eta.setMinimumWidth(72)
        self.elapsed = QLabel()
        self.elapsed.setMinimumWidth(60)
        self.run = QPushButton("Run")
        self.run.clicked.connect(lambda: panel.runRequested.emit(stage, False))
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(panel.cancelRequested)
        for column, widget in enumerate((self.name, self.status, self.bar, self.eta, self.elapsed, self.run,
                                         self.cancel)):
            grid.addWidget(widget, row, column)

    def show(self, state: StageView, *, busy: bool, cancellable: bool) -> None:
        text = STATUS_LOOK.get(state.status, (state.status,))[0]
        self.status.setText(text)
        self.status.setStyleSheet(pill_style(state.status))
        self.status.setToolTip(state.reason or state.message)
        self.bar.setValue(int(round(state.progress * 1000)))
        detail = counters_text(state.counters, limit=2)  # the rest is in the tooltip: the bar text must fit
        self.bar.setFormat(f"{state.progress:.0%}" + (f" · {detail}" if detail else ""))
        self.bar.setToolTip("\n".join(filter(None, [state.message, counters_text(state.counters)])))
        self.bar.setEnabled(state.status != "stale")  # greyed: the numbers are from an outdated run
        running = state.status == "running"
        self.eta.setText(f"ETA {duration_text(state.eta_s)}" if running and state.eta_s is not None else "")
        self.elapsed.setText(duration_text(state.elapsed_s))
        self.run.setText("Re-run" if state.status == "done" else "Run")
        self.run.setEnabled(not busy)
        self.cancel.setEnabled(running and cancellable)


class PipelinePanel(QWidget):
    runRequested = Signal(str, bool)  # stage, only-if-needed
    cancelRequested = Signal()
    resumeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.snapshot: EpisodeSnapshot | None = None
        self._states: dict[str, StageView] = {stage: StageView(stage, "not_run") for stage in ORDER}
        self._plan: list[str] = []
        self._queued = False
        self._own_run = False
        self.title = QLabel("No episode selected")
        self.title.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.run_all_button = QPushButton("Run full pipeline")
        self.run_all_button.setToolTip("Run every stage that is not up to date (Ctrl+R)")
        self.run_all_button.clicked.connect(lambda: self.runRequested.emit(ORDER[-1], True))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the interrupted or cancelled run; finished stages are kept")
        self.resume_button.clicked.connect(self.resumeRequested)
        self.now_label = QLabel()
        self.now_label.setWordWrap(True)
        self.error_panel = ErrorPanel()
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setColumnStretch(2, 1)
        self.rows = {stage: _StageRow(stage, grid, row, self) for row, stage in enumerate(ORDER)}
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.resume_button)
        header.addWidget(self.run_all_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.now_label)
        layout.addLayout(grid)
        layout.addWidget(self.error_panel)
        layout.addStretch(1)
        self._refresh()

    def set_snapshot(self, snapshot: EpisodeSnapshot | None) -> None:
        """New state from the episode's files. Keeps a live bar that is ahead of the state file."""
        if snapshot is None or self.snapshot is None or snapshot.id != self.snapshot.id:
            self._plan, self._queued, self._own_run = [], False, False
            self.error_panel.clear_error()
        self.snapshot = snapshot
        if snapshot is not None:
            for state in snapshot.stages:
                live = self._states.get(state.stage)
                if (live is not None and live.status == state.status == "running"
                        and live.progress > state.progress):
                    state = replace(state, progress=live.progress, counters=live.counters or state.counters)
                self._states[state.stage] = state
        self._refresh()

    def set_job_state(self, *, queued: bool, own_run: bool, plan: list[str] | None = None) -> None:
        self._queued, self._own_run = queued, own_run
        if plan is not None:
            self._plan = plan
        self._refresh()

    def apply_progress(self, event: dict[str, Any]) -> None:
        stage = event.get("stage")
        if stage not in self._states:
            return
        self._states[stage] = replace(
            self._states[stage], status="running", progress=float(event.get("fraction") or 0.0),
            message=str(event.get("message") or ""), counters=dict(event.get("counters") or {}),
            eta_s=event.get("eta_s"), elapsed_s=event.get("elapsed_s"))
        self._refresh()

    def apply_stage_event(self, event: dict[str, Any]) -> None:
        stage, status = event.get("stage"), event.get("status")
        if stage not in self._states or not status:
            return
        if event.get("plan"):
            self._plan = list(event["plan"])
        progress = 1.0 if status == "done" else (0.0 if status == "running" else self._states[stage].progress)
        self._states[stage] = replace(self._states[stage], status=status, progress=progress, eta_s=None,
                                      error=event.get("error"))
        self._refresh()

    def show_error(self, error: ScreenalyzerError) -> None:
        self.error_panel.show_error(error, self.snapshot.name if self.snapshot else "")

    def state(self, stage: str) -> StageView:
        return self._states[stage]

    def _refresh(self) -> None:
        has_episode = self.snapshot is not None
        running = next((s for s in ORDER if self._states[s].status == "running"), None) if has_episode else None
        busy = self._queued or running is not None or not has_episode
        external = running is not None and not self._own_run
        cancellable = self._own_run or (external and bool(self.snapshot and self.snapshot.pid))
        for stage, row in self.rows.items():
            row.show(self._states[stage], busy=busy, cancellable=cancellable)
        self.title.setText(self.snapshot.name if self.snapshot else "No episode selected")
        self.run_all_button.setEnabled(not busy)
        resumable = has_episode and any(self._states[s].status in RESUMABLE for s in ORDER)
        self.resume_button.setVisible(bool(resumable))
        self.resume_button.setEnabled(not busy)
        self.now_label.setText(self._now_text(running, external))

    def _now_text(self, running: str | None, external: bool) -> str:
        if running is not None:
            plan = self._plan or [running]
            step = f" — step {plan.index(running) + 1} of {len(plan)}" if running in plan else ""
            where = " (started outside this window)" if external else ""
            rest = f": {' → '.join(plan)}" if len(plan) > 1 else ""
            return f"Running now: <b>{STAGE_TITLES.get(running, running)}</b>{step}{where}{rest}"
        if self._queued:
            return "Waiting in the run queue."
        return ""


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from screenalyzer_desktop.gui.snapshots import sample_snapshot

    app = QApplication(sys.argv)
    panel = PipelinePanel()
    panel.set_snapshot(sample_snapshot())
    panel.set_job_state(queued=False, own_run=True, plan=list(ORDER[1:]))
    panel.resize(900, 320)
    panel.show()
    sys.exit(app.exec())
