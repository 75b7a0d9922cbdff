"""What the Results tab shows, read from an episode's screen-time artifacts (no Qt: runs on the pool).

The tab shows whatever the screentime stage wrote, never a recomputation: a missing or failed
completion record means "no results yet".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.records import read_record
from screenalyzer_desktop.core.state import run_active
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.core.workspace import Episode
from screenalyzer_desktop.labels import track_people
from screenalyzer_desktop.screentime_calc import ScreenTime

SUMMARY_COLUMNS = ["person", "screen_time_s", "share", "first_seen_s", "last_seen_s", "tracks"]
TIMELINE_COLUMNS = ["person", "start_s", "end_s"]


@dataclass(frozen=True)
class Box:
    person: str  # '' when the face belongs to nobody shown (hidden, unassigned)
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class ResultsData:
    episode_id: str
    result: ScreenTime
    metadata: dict[str, Any]
    duration_s: float
    fps: float
    video: Path | None
    shot_starts_s: np.ndarray  # where each shot after the first begins
    detections: pd.DataFrame = field(repr=False)  # frame, x1, y1, x2, y2, person

    @property
    def people(self) -> list[str]:
        """People by screen time, most first (the order of every chart)."""
        return self.result.summary["person"].astype(str).tolist()

    def frame_for(self, person: str, start_s: float, end_s: float, t_s: float) -> int:
        """The frame to show for a click at ``t_s`` on ``person``'s appearance: the nearest frame
        where their face was detected in it, else the frame under the click."""
        first = int(round(start_s * self.fps))
        last = max(first, int(round(end_s * self.fps)) - 1)
        frames = self.detections.loc[(self.detections["person"] == person)
                                     & self.detections["frame"].between(first, last), "frame"].to_numpy()
        wanted = int(round(t_s * self.fps))
        if len(frames):
            return int(frames[np.argmin(np.abs(frames - wanted))])
        return min(max(wanted, first), last)

    def boxes_at(self, frame: int) -> list[Box]:
        part = self.detections[self.detections["frame"] == frame]
        return [Box(str(p), float(a), float(b), float(c), float(d))
                for p, a, b, c, d in zip(part["person"], part["x1"], part["y1"], part["x2"], part["y2"],
                                         strict=True)]


def load_results(episode: Episode) -> ResultsData | None:
    """The episode's results, or None when the screentime stage has not (completely) run."""
    if read_record(episode, "screentime") is None:
        return None
    path = episode.artifact("screentime.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScreenalyzerError("ERR_SCREENTIME_MISSING", detail=f"{path} is missing") from exc
    except (OSError, ValueError) as exc:
        raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail=f"{path}: {exc}") from exc
    return results_for(episode, *screentime_from_json(doc))


def read_results(episode: Episode) -> tuple[ResultsData | None, bool]:
    """:func:`load_results`, and when there are none, whether a run holds the episode right now: the
    screentime stage clears its record when it starts, so its results are missing while it rewrites them."""
    data = load_results(episode)
    return data, data is None and run_active(episode)


def screentime_from_json(doc: dict[str, Any]) -> tuple[ScreenTime, dict[str, Any]]:
    """The tables and metadata of a screentime.json document (exports.to_json)."""
    people = pd.DataFrame(doc["people"], columns=SUMMARY_COLUMNS)
    timeline = pd.DataFrame(doc["timeline"], columns=TIMELINE_COLUMNS)
    order = people["person"].tolist()
    together = pd.DataFrame(doc["coappearance"], dtype=float).T.reindex(index=order, columns=order).fillna(0.0)
    together.index.name = "person"
    return ScreenTime(people, timeline, together), dict(doc["metadata"])


def results_for(episode: Episode, result: ScreenTime, metadata: dict[str, Any]) -> ResultsData:
    """``result`` with what the charts and the frame preview need from the episode's other artifacts."""
    meta = episode.read_meta()
    video = meta.get("video", {})
    fps = float(metadata.get("fps") or video.get("fps") or 0.0)
    duration = float(metadata.get("duration_s") or video.get("duration_s") or 0.0)
    art = episode.artifacts_dir
    shots, _ = read_table(art / "shots.parquet", "shots", "ERR_DETECTIONS_MISSING")
    detections, _ = read_table(art / "detections.parquet", "detections", "ERR_DETECTIONS_MISSING")
    members, _ = read_table(art / "track_members.parquet", "track_members", "ERR_TRACKS_MISSING")
    track = detections["det_id"].map(pd.Series(members["track"].to_numpy(), index=members["det_id"].to_numpy()))
    person = track.map(track_people(episode)).fillna("").astype(str)  # boxes named as the labels say now
    boxes = detections[["frame", "x1", "y1", "x2", "y2"]].assign(person=person.to_numpy())
    source = meta.get("source", {}).get("path")
    return ResultsData(episode.id, result, dict(metadata), duration, fps, Path(source) if source else None,
                       shots["start_s"].to_numpy(dtype=float)[1:], boxes)
