"""The run queue: engine commands for several episodes, one after another, through one ProcessRunner."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.gui.process_runner import ProcessRunner, RunOutcome

IMPORT, STAGE = "import", "stage"
WAITING, RUNNING = "waiting", "running"
_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    """One engine command: import a video, or bring a stage of an episode up to date."""

    kind: str
    ref: str  # the episode id; the video path for an import
    stage: str = "ingest"
    if_needed: bool = False
    args: list[str] = field(default_factory=list)  # settings as --workspace/--set, fixed when queued
    id: int = field(default_factory=lambda: next(_ids))
    status: str = WAITING
    episode_id: str | None = None
    plan: list[str] = field(default_factory=list)
    current_stage: str | None = None
    outcome: RunOutcome | None = None

    def __post_init__(self) -> None:
        if self.kind == STAGE and self.episode_id is None:
            self.episode_id = self.ref

    @property
    def label(self) -> str:
        if self.kind == IMPORT:
            return f"Import {self.ref.rsplit('/', 1)[-1]}"
        what = "full pipeline" if self.stage == "screentime" else self.stage
        return f"{self.ref} · {what}"

    def command_args(self) -> list[str]:
        if self.kind == IMPORT:
            return ["import", self.ref, "--progress", "jsonl", *self.args]
        extra = ["--if-needed"] if self.if_needed else []
        return ["run-stage", self.ref, self.stage, "--progress", "jsonl", *extra, *self.args]


class RunQueue(QObject):
    """Runs queued jobs one at a time and forwards the runner's signals tagged with their job."""

    changed = Signal()
    jobStarted = Signal(object)
    jobEnded = Signal(object)  # the Job, with its outcome set
    progress = Signal(object, dict)
    log = Signal(object, dict)
    stageChanged = Signal(object, dict)
    activity = Signal(float)  # wall time of the last event received from the worker

    def __init__(self, settings_args: Callable[[], list[str]], parent: QObject | None = None,
                 *, grace_ms: int = 3000) -> None:
        super().__init__(parent)
        self._settings_args = settings_args
        self._waiting: list[Job] = []
        self._current: Job | None = None
        self.runner = ProcessRunner(self, grace_ms=grace_ms)
        self.runner.progress.connect(self._on_runner_progress)
        self.runner.log.connect(self._on_runner_log)
        self.runner.stageChanged.connect(self._on_runner_stage_changed)
        self.runner.ended.connect(self._on_runner_ended)

    def jobs(self) -> list[Job]:
        return ([self._current] if self._current else []) + list(self._waiting)

    def current(self) -> Job | None:
        return self._current

    def job_for(self, episode_id: str) -> Job | None:
        """The running or waiting job of an episode, if any."""
        return next((job for job in self.jobs() if job.episode_id == episode_id), None)

    def is_busy(self) -> bool:
        return self._current is not None

    def enqueue(self, job: Job) -> Job:
        job.args = job.args or self._settings_args()
        self._waiting.append(job)
        self.changed.emit()
        self._start_next()
        return job

    def cancel(self, job: Job) -> None:
        """Cancel a running job (terminate, then kill) or drop a waiting one."""
        if job is self._current:
            self.runner.cancel()
        elif job in self._waiting:
            self._waiting.remove(job)
            job.outcome = RunOutcome("cancelled", None, None,
                                     ScreenalyzerError("ERR_CANCELLED", detail="removed from the queue"), 0.0)
            job.status = "cancelled"
            self.changed.emit()
            self.jobEnded.emit(job)

    def shutdown(self) -> None:
        """Drop waiting jobs and stop the running one at once (the application is quitting)."""
        self._waiting.clear()
        self.runner.stop_and_wait()

    def _start_next(self) -> None:
        if self._current is not None or not self._waiting:
            return
        job = self._waiting.pop(0)
        job.status = RUNNING
        self._current = job
        self.runner.start(job.command_args())
        self.changed.emit()
        self.jobStarted.emit(job)

    def _on_runner_progress(self, event: dict[str, Any]) -> None:
        if self._current is not None:
            self._current.current_stage = event.get("stage")
            self.progress.emit(self._current, event)
            self.activity.emit(time.time())

    def _on_runner_log(self, event: dict[str, Any]) -> None:
        if self._current is not None:
            self.log.emit(self._current, event)
            self.activity.emit(time.time())

    def _on_runner_stage_changed(self, event: dict[str, Any]) -> None:
        if self._current is None:
            return
        if event.get("plan"):
            self._current.plan = list(event["plan"])
        if event.get("status") == RUNNING:
            self._current.current_stage = event.get("stage")
        self.stageChanged.emit(self._current, event)
        self.activity.emit(time.time())
        self.changed.emit()

    def _on_runner_ended(self, outcome: RunOutcome) -> None:
        job, self._current = self._current, None
        if job is None:
            return
        job.outcome = outcome
        job.status = outcome.status
        if job.kind == IMPORT and outcome.result:
            job.episode_id = outcome.result.get("episode", job.episode_id)
        self.changed.emit()
        self.jobEnded.emit(job)
        self._start_next()
