"""Per-episode run state (`state/pipeline_state.json`) and the cross-process run lock.

Only the process holding the episode's run lock writes the state file, so there is no
read-modify-write race between processes. Readers apply one rule: a stage marked "running" whose
run lock is free (its process is gone) reads as "interrupted", never stuck.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from screenalyzer_desktop.core.atomic import atomic_write_json, read_json
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Episode

STATE_SCHEMA_VERSION = 1
STATE_FILE = "pipeline_state.json"
RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED, PENDING = (
    "running", "done", "failed", "cancelled", "interrupted", "pending")


def lock_path(episode: Episode) -> Path:
    return episode.state_dir / "run.lock"


class RunLock:
    """The episode's cross-process run lock (an OS file lock: released when its process dies)."""

    def __init__(self, episode: Episode, wait_s: float = 0.0) -> None:
        """``wait_s``: how long to wait for a holder to let go (``run_active`` probes hold it for an instant)."""
        self._episode = episode
        self._wait_s = wait_s
        self._lock = FileLock(str(lock_path(episode)), thread_local=False, is_singleton=False)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire(timeout=self._wait_s, poll_interval=0.01)
        except Timeout as exc:
            state = read_state(self._episode)
            raise ScreenalyzerError("ERR_EPISODE_BUSY",
                                    detail=f"{self._episode.id} is locked by pid {state.get('pid')}",
                                    extra={"pid": state.get("pid")}) from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def run_active(episode: Episode) -> bool:
    """Whether some process holds the episode's run lock right now."""
    if not lock_path(episode).exists():
        return False
    probe = FileLock(str(lock_path(episode)), thread_local=False, is_singleton=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def _empty_state() -> dict[str, Any]:
    return {"schema_version": STATE_SCHEMA_VERSION, "stages": {}, "pid": None, "host": None,
            "updated_at": None}


def read_state(episode: Episode) -> dict[str, Any]:
    """The stored state with the liveness rule applied; a damaged file reads as empty."""
    path = episode.state_dir / STATE_FILE
    try:
        state = read_json(path)
    except (FileNotFoundError, ScreenalyzerError):
        return _empty_state()
    if not isinstance(state, dict) or not isinstance(state.get("stages"), dict):
        return _empty_state()
    running = [s for s in state["stages"].values() if isinstance(s, dict) and s.get("status") == RUNNING]
    if running and state.get("pid") != os.getpid() and not run_active(episode):
        for stage in running:
            stage["status"] = INTERRUPTED
            stage["message"] = "The run stopped unexpectedly (its process is gone)."
    return state


def run_target(state: dict[str, Any]) -> str | None:
    """The stage the last run recorded in ``state`` aimed at (None for a state written before runs
    recorded it, or a damaged one)."""
    run = state.get("run")
    target = run.get("target") if isinstance(run, dict) else None
    return target if isinstance(target, str) else None


class StateWriter:
    """Writes the state file for the run that holds the lock; progress writes are throttled."""

    def __init__(self, episode: Episode, min_interval_s: float) -> None:
        self._episode = episode
        self._min_interval_s = min_interval_s
        self._last_write = 0.0
        self._state = read_state(episode)
        for entry in self._state["stages"].values():
            # This process holds the run lock, so a "running" entry is left by a run that died.
            if isinstance(entry, dict) and entry.get("status") == RUNNING:
                entry.update(status=INTERRUPTED, message="The run stopped unexpectedly (its process is gone).")
        self._state.update(pid=os.getpid(), host=socket.gethostname())

    def update(self, stage: str, *, force: bool = False, **fields: Any) -> None:
        entry = self._state["stages"].setdefault(stage, {})
        entry.update(fields)
        now = time.monotonic()
        if force or now - self._last_write >= self._min_interval_s:
            self._write()
            self._last_write = now

    def begin_run(self, target: str, plan: list[str]) -> None:
        """Record what this run aims at, so a resume (from the window or a terminal) continues to it."""
        self._state["run"] = {"target": target, "plan": list(plan), "pid": os.getpid(), "started_at": time.time()}

    def start(self, stage: str) -> None:
        self.update(stage, force=True, status=RUNNING, pid=os.getpid(), started_at=time.time(),
                    finished_at=None, progress=0.0, message="Starting", counters={}, error=None)

    def finish(self, stage: str, status: str, *, error: dict[str, Any] | None = None,
               message: str = "") -> None:
        self.update(stage, force=True, status=status, finished_at=time.time(), error=error,
                    message=message, **({"progress": 1.0} if status == DONE else {}))

    def _write(self) -> None:
        self._state["updated_at"] = time.time()
        atomic_write_json(self._episode.state_dir / STATE_FILE, self._state)
