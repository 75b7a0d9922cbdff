"""What the window shows of an episode, read from its files (no Qt: runs on the thread pool).

A snapshot joins the completion records (done / stale / not run) with the run state file (running,
progress, counters, errors) and the run lock (is a run attached right now?).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.pipeline import ORDER, StageView, stage_views

RESUMABLE = (run_state.INTERRUPTED, run_state.CANCELLED)


@dataclass(frozen=True)
class EpisodeSnapshot:
    id: str
    name: str
    source: str
    duration_s: float | None
    stages: tuple[StageView, ...]
    last_run: float | None
    run_active: bool
    pid: int | None = None  # of the running engine process, with the host it runs on
    host: str | None = None
    target: str | None = None  # the stage the last run aimed at (what a Resume should reach)

    def stage(self, name: str) -> StageView:
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
    stages = stage_views(workspace, episode, config)
    last_run = max((s.last_activity for s in stages if s.last_activity), default=None)
    active = any(s.status == run_state.RUNNING for s in stages)
    name = str(source.get("name") or episode.id)
    return EpisodeSnapshot(id=episode.id, name=name, source=str(source.get("path", "")),
                           duration_s=video.get("duration_s"), stages=tuple(stages), last_run=last_run,
                           run_active=active, pid=stored.get("pid") if active else None,
                           host=stored.get("host") if active else None, target=run_state.run_target(stored))


def sample_snapshot(episode_id: str = "s01e01", running: str | None = "detect_embed") -> EpisodeSnapshot:
    """A made-up snapshot for the standalone previews of the views."""
    statuses = {"ingest": "done", "detect_embed": "running" if running else "failed", "track": "not_run",
                "cluster": "not_run", "screentime": "not_run"}
    stages = tuple(StageView(s, statuses[s], progress=0.42 if statuses[s] == "running" else 0.0,
                             message="Frame 420 of 1000" if statuses[s] == "running" else "",
                             counters={"frames": 420, "faces": 37} if statuses[s] == "running" else {},
                             eta_s=12.0, elapsed_s=8.5) for s in ORDER)
    return EpisodeSnapshot(episode_id, f"{episode_id}.mp4", f"/videos/{episode_id}.mp4", 1325.0, stages,
                           time.time() - 3600, running is not None)
