"""What runs on a Ray worker for `screenalyzer batch`: one episode through the same `pipeline.run` as a
local run, its events forwarded (throttled) to the driver. Qt-free; Ray is imported only here, lazily.

Ray reuses its worker processes, and `engines.load_engine` caches per process, so a worker loads the
face models once for all the episodes it runs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from screenalyzer_desktop.batch import DONE, EPISODE, FAILED, RUNNING, SKIPPED
from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error
from screenalyzer_desktop.core.workspace import Episode, Workspace

log = logging.getLogger("screenalyzer.batch")


class Forwarder:
    """The emit callback of one task's pipeline run: events tagged with the video and episode, progress
    throttled, quiet log lines dropped, put into the driver's queue. Best effort: a lost queue never
    stops the episode (its state file and artifacts say the rest)."""

    def __init__(self, queue: Any, video: str, config: Config) -> None:
        self._queue, self.video, self.episode = queue, video, None
        self._throttle_s = float(config.get("batch.progress_throttle_s"))
        self._min_level = logging.getLevelName(config.get("batch.forward_log_level"))
        self._last_progress = -math.inf

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "result":  # the task's return value carries it
            return
        if kind == "progress":
            now = time.monotonic()
            if now - self._last_progress < self._throttle_s and event.get("fraction", 0) < 1:
                return
            self._last_progress = now
        elif kind == "log" and logging.getLevelName(event.get("level", "INFO")) < self._min_level:
            return
        self.put(event)

    def put(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put({**event, "video": self.video, "episode": self.episode})
        except Exception as exc:  # the driver is gone or its queue died: the episode goes on
            log.debug("progress not forwarded: %s", exc)


def people_seconds(episode: Episode) -> dict[str, float]:
    import pandas as pd

    table = pd.read_csv(episode.artifact("screentime.csv"))
    return {str(person): float(seconds) for person, seconds in zip(table["person"], table["screen_time_s"],
                                                                    strict=True)}


def analyze_episode(video: str, workspace_root: str, config: Config, cast: str | None, show: str | None,
                    queue: Any) -> dict[str, Any]:
    """Import ``video`` into the shared workspace, set the show's cast, run every stage that is not
    already done with these settings. Errors come back as data; only a dead worker raises (Ray retries)."""
    import ray

    from screenalyzer_desktop import pipeline
    from screenalyzer_desktop.cast_bank import set_episode_cast

    t0 = time.monotonic()
    forward = Forwarder(queue, video, config)
    forward.put({"type": "stage", "stage": EPISODE, "status": RUNNING, "pid": os.getpid(),
                 "node": ray.get_runtime_context().get_node_id()})
    outcome: dict[str, Any] = {"video": video, "episode": None, "people": {}, "error": None, "ran": []}
    try:
        workspace = Workspace(Path(workspace_root))
        episode = workspace.import_video(Path(video))
        forward.episode = outcome["episode"] = episode.id
        if cast:
            set_episode_cast(episode, Path(cast), show)
        result = pipeline.run(workspace, episode, "screentime", config, forward, accept_changed_source=True)
        outcome.update(status=DONE if result["ran"] else SKIPPED, ran=result["ran"], engine=result["engine"],
                       people=people_seconds(episode))
    except Exception as exc:
        error = exc if isinstance(exc, ScreenalyzerError) else internal_error(exc)
        outcome.update(status=FAILED, error=error.to_dict())
    outcome["elapsed_s"] = round(time.monotonic() - t0, 2)
    return outcome
