"""The one QObject that runs an engine command in a QProcess and turns its JSON lines into signals.

The engine prints one JSON object per line (progress, log, stage, result, error). A crash in a
native library kills the worker, not the window; a worker that dies without an error line still
yields a structured error built from its exit code and the tail of its stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal
from shiboken6 import Shiboken

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import CLI_NAME, bundled_program, is_frozen

DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
WORKER_NICENESS = 5  # the engine yields the CPU to the window it reports to, so the window stays responsive
_STDERR_TAIL_LINES = 40
_live_runners: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()


def worker_command(args: Sequence[str]) -> tuple[str, list[str]]:
    """The program and arguments that run the engine CLI: the interpreter running this app, or in the
    installed (frozen) app the bundle's own CLI program, never a Python found on the PATH."""
    if is_frozen():
        return str(bundled_program(CLI_NAME)), list(args)
    return sys.executable, ["-m", "screenalyzer_desktop.cli", *args]


def running_runners() -> list[ProcessRunner]:
    """Runners whose process is still alive: tests assert there are none left."""
    return [runner for runner in list(_live_runners) if Shiboken.isValid(runner) and runner.is_running()]


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: status, exit code, the result event or the structured error."""

    status: str  # done | failed | cancelled
    exit_code: int | None
    result: dict[str, Any] | None
    error: ScreenalyzerError | None
    elapsed_s: float


def error_from_event(event: dict[str, Any]) -> ScreenalyzerError:
    """An error line as a ScreenalyzerError; a malformed one is itself reported, never dropped."""
    try:
        return ScreenalyzerError.from_dict(event)
    except (KeyError, TypeError, ValueError) as exc:
        return ScreenalyzerError("ERR_INTERNAL", detail=f"unreadable error event ({exc}): {event!r}")


class ProcessRunner(QObject):
    """Runs one engine command; emits ``started``, then events, then ``finished`` or ``failed``.

    ``ended(RunOutcome)`` is always the last signal, whatever happened.
    """

    started = Signal()
    progress = Signal(dict)
    log = Signal(dict)
    stageChanged = Signal(dict)
    finished = Signal(dict)
    failed = Signal(object)  # ScreenalyzerError
    ended = Signal(object)  # RunOutcome

    def __init__(self, parent: QObject | None = None, *, grace_ms: int = 3000) -> None:
        super().__init__(parent)
        self._grace_ms = grace_ms
        self._process: QProcess | None = None
        self._stdout = bytearray()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_partial = b""
        self._result: dict[str, Any] | None = None
        self._error: ScreenalyzerError | None = None
        self._cancel_requested = False
        self._t0 = 0.0
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._on_kill_timer_timeout)
        self.outcome: RunOutcome | None = None
        self.last_event_at: float | None = None
        _live_runners.add(self)

    def is_running(self) -> bool:
        process = self._process
        return (process is not None and Shiboken.isValid(process)
                and process.state() != QProcess.ProcessState.NotRunning)

    def pid(self) -> int | None:
        return int(self._process.processId()) if self.is_running() else None

    def start(self, args: Sequence[str], *, command: tuple[str, list[str]] | None = None) -> None:
        """Start ``worker_command(args)`` (or an explicit command, for tests of the wrapper itself)."""
        if self.is_running():
            raise RuntimeError("this runner is already running a process")
        program, arglist = command or worker_command(args)
        self._stdout.clear()
        self._stderr_tail.clear()
        self._stderr_partial = b""
        self._result = self._error = self.outcome = None
        self._cancel_requested = False
        if self._process is not None:
            self._process.deleteLater()
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._on_ready_read_standard_output)
        process.readyReadStandardError.connect(self._on_ready_read_standard_error)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error_occurred)
        process.started.connect(self._on_process_started)
        self._process = process
        self._program = program
        self._t0 = time.monotonic()
        process.start(program, arglist)

    def cancel(self) -> None:
        """Ask the engine to stop cleanly (SIGTERM), then kill it if it has not after the grace period."""
        if not self.is_running() or self._cancel_requested:
            return
        self._cancel_requested = True
        assert self._process is not None
        self._process.terminate()
        self._kill_timer.start(self._grace_ms)

    def stop_and_wait(self) -> None:
        """Cancel and block until the process is gone: used when the window closes."""
        if not self.is_running():
            return
        assert self._process is not None
        self._cancel_requested = True
        self._process.terminate()
        if not self._process.waitForFinished(self._grace_ms):
            self._process.kill()
            self._process.waitForFinished(5000)

    def _on_process_started(self) -> None:
        pid = self.pid()
        if pid and hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)
        self.started.emit()

    def _on_kill_timer_timeout(self) -> None:
        if self.is_running():
            assert self._process is not None
            self._process.kill()

    def _on_ready_read_standard_output(self) -> None:
        assert self._process is not None
        self._stdout += bytes(self._process.readAllStandardOutput().data())
        *lines, rest = self._stdout.split(b"\n")
        self._stdout = bytearray(rest)
        for line in lines:
            self._handle_line(line)

    def _on_ready_read_standard_error(self) -> None:
        assert self._process is not None
        chunk = self._stderr_partial + bytes(self._process.readAllStandardError().data())
        *lines, self._stderr_partial = chunk.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self._stderr_tail.append(text)
                self.log.emit({"type": "log", "level": "WARNING", "logger": "stderr", "message": text,
                               "ts": time.time()})

    def _handle_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return
        self.last_event_at = time.time()
        try:
            event = json.loads(text)
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or "type" not in event:
            self.log.emit({"type": "log", "level": "INFO", "logger": "stdout", "message": text,
                           "ts": self.last_event_at})
            return
        kind = event["type"]
        if kind == "progress":
            self.progress.emit(event)
        elif kind == "log":
            self.log.emit(event)
        elif kind == "stage":
            self.stageChanged.emit(event)
        elif kind == "result":
            self._result = event
        elif kind == "error":
            self._error = error_from_event(event)

    def _on_process_error_occurred(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            detail = f"could not start {self._program!r}: {self._process.errorString() if self._process else error}"
            self._end(None, ScreenalyzerError("ERR_INTERNAL", detail=detail,
                                              message="The analysis process could not be started."))

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._on_ready_read_standard_output()
        if self._stdout:
            self._handle_line(bytes(self._stdout))
            self._stdout.clear()
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        code = None if crashed else exit_code
        error = self._error
        if error is None and (crashed or exit_code != 0 or self._result is None):
            error = self._crash_error(code)
        self._end(code, error)

    def _crash_error(self, exit_code: int | None) -> ScreenalyzerError:
        """No error line: say how the process ended, with its stderr, instead of 'Unknown error'."""
        if self._cancel_requested:
            return ScreenalyzerError("ERR_CANCELLED", detail="the process was stopped before it reported back")
        how = f"exited with code {exit_code}" if exit_code is not None else "was killed or crashed"
        if exit_code == 0:
            how = "exited without reporting a result"
        tail = "\n".join(self._stderr_tail) or "(no output on stderr)"
        return ScreenalyzerError("ERR_INTERNAL", message="The analysis process stopped unexpectedly.",
                                 detail=f"{self._program} {how}.\nLast lines on stderr:\n{tail}",
                                 extra={"exit_code": exit_code})

    def _end(self, exit_code: int | None, error: ScreenalyzerError | None) -> None:
        if self.outcome is not None:
            return
        elapsed = round(time.monotonic() - self._t0, 3)
        if error is None:
            self.outcome = RunOutcome(DONE, exit_code, self._result, None, elapsed)
            self.finished.emit(self._result or {})
        else:
            status = CANCELLED if error.code == "ERR_CANCELLED" else FAILED
            self.outcome = RunOutcome(status, exit_code, self._result, error, elapsed)
            self.failed.emit(error)
        self.ended.emit(self.outcome)
