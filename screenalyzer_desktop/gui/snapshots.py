"""What the window shows of an episode, read from its files (no Qt: runs on the thread pool).

A snapshot joins the completion records (done / stale / not run) with the run state file (running,
progress, counters, errors) and the run lock (is a run attached right now?).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.pipeline import ORDER, stage_views

RESUMABLE = (run_state.INTERRUPTED, run_state.CANCELLED)


@dataclass(frozen=True)
class StageState:
    stage: str
    status: str  # done | stale | not_run | running | failed | cancelled | interrupted
    reason: str = ""
    progress: float = 0.0
    message: str = ""
    counters: dict[str, Any] = field(default_factory=dict)
    eta_s: float | None = None
    elapsed_s: float | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class EpisodeSnapshot:
    id: str
    name: str
    source: str
    duration_s: float | None
    stages: tuple[StageState, ...]
    last_run: float | None
    run_active: bool
    pid: int | None = None  # of the running engine process, with the host it runs on
    host: str | None = None

    def stage(self, name: str) -> StageState:
        return next(s for s in self.stages if s.stage == name)

    @property
    def resumable(self) -> bool:
        return any(s.status in RESUMABLE for s in self.stages)


def list_episode_ids(workspace: Workspace) -> list[str]:
    return [episode.id for episode in workspace.episodes()]


def load_snapshot(workspace: Workspace, episode_id: str, config: Config) -> EpisodeSnapshot:
    episode = workspace.episode(episode_id)
    try:
        meta = episode.read_meta()
    except ScreenalyzerError:
        meta = {}
    source = meta.get("source", {}) if isinstance(meta.get("source"), dict) else {}
    video = meta.get("video") or {}
    stored = run_state.read_state(episode)
    entries = stored.get("stages", {})
    now = time.time()
    stages = []
    last_run = None
    for view in stage_views(workspace, episode, config):
        entry = entries.get(view.stage) or {}
        started, finished = entry.get("started_at"), entry.get("finished_at")
        elapsed = None
        if started and finished and finished >= started:
            elapsed = finished - started
        elif started and view.status == run_state.RUNNING:
            elapsed = now - started
        for stamp in (started, finished, view.record.finished_at if view.record else None):
            if stamp:
                last_run = max(last_run or 0.0, float(stamp))
        stages.append(StageState(
            stage=view.stage, status=view.status, reason=view.reason,
            progress=1.0 if view.status == "done" else view.progress, message=view.message,
            counters=dict(entry.get("counters") or {}), eta_s=entry.get("eta_s"), elapsed_s=elapsed,
            error=view.error if view.status in (run_state.FAILED, run_state.CANCELLED) else None))
    active = any(s.status == run_state.RUNNING for s in stages)
    name = str(source.get("name") or episode.id)
    return EpisodeSnapshot(id=episode.id, name=name, source=str(source.get("path", "")),
                           duration_s=video.get("duration_s"), stages=tuple(stages), last_run=last_run,
                           run_active=active, pid=stored.get("pid") if active else None,
                           host=stored.get("host") if active else None)


def sample_snapshot(episode_id: str = "s01e01", running: str | None = "detect_embed") -> EpisodeSnapshot:
    """A made-up snapshot for the standalone previews of the views."""
    statuses = {"ingest": "done", "detect_embed": "running" if running else "failed", "track": "not_run",
                "cluster": "not_run", "screentime": "not_run"}
    stages = tuple(StageState(s, statuses[s], progress=0.42 if statuses[s] == "running" else 0.0,
                              message="Frame 420 of 1000" if statuses[s] == "running" else "",
                              counters={"frames": 420, "faces": 37} if statuses[s] == "running" else {},
                              eta_s=12.0, elapsed_s=8.5) for s in ORDER)
    return EpisodeSnapshot(episode_id, f"{episode_id}.mp4", f"/videos/{episode_id}.mp4", 1325.0, stages,
                           time.time() - 3600, running is not None)
