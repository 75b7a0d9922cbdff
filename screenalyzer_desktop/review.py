"""What the review views show, computed from the artifacts and the labels: pure functions, no Qt.

Per person: screen time (through the same `screentime_calc` as the stage), tracks, best faces and a
prototype; per track: similarity to its person's prototype, so outliers sort first; per unnamed or
small person: the nearest named people, never one seen on screen at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from screenalyzer_desktop import screentime_calc
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.engines.base import l2_normalize

if TYPE_CHECKING:
    from screenalyzer_desktop.core.config import Config
    from screenalyzer_desktop.core.workspace import Episode
    from screenalyzer_desktop.labels import Labels


@dataclass(frozen=True)
class EpisodeFaces:
    """The artifacts review needs, read once per episode (and again when they change)."""

    tracks: pd.DataFrame  # tracks.parquet, indexed by track
    protos: dict[int, np.ndarray]  # track → prototype, for tracks that have one
    detections: pd.DataFrame  # detections.parquet with its track
    shared_frames: frozenset[frozenset[int]]  # pairs of tracks seen in one frame: never one person
    duration_s: float
    fps: float


@dataclass(frozen=True)
class Suggestion:
    key: str
    name: str
    similarity: float


def load_faces(episode: Episode) -> EpisodeFaces:
    art = episode.artifacts_dir
    tracks, vectors = read_table(art / "tracks.parquet", "tracks", "ERR_TRACKS_MISSING")
    members, _ = read_table(art / "track_members.parquet", "track_members", "ERR_TRACKS_MISSING")
    detections, _ = read_table(art / "detections.parquet", "detections", "ERR_DETECTIONS_MISSING")
    detections = detections.merge(members, on="det_id")
    protos = {int(t): vectors["prototype"][i] for i, t in enumerate(tracks["track"]) if tracks["has_prototype"].iat[i]}
    shared = frozenset(frozenset(map(int, group)) for group in
                       _pairs(detections.groupby("frame")["track"].unique()))
    video = episode.read_meta()["video"]
    return EpisodeFaces(tracks.set_index("track", drop=False), protos, detections, shared,
                        float(video["duration_s"]), float(video["fps"]))


def _pairs(groups: pd.Series) -> set[tuple[int, int]]:
    out = set()
    for tracks in groups:
        ordered = sorted(int(t) for t in tracks)
        out.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:])
    return out


def person_prototype(labels: Labels, key: str, faces: EpisodeFaces) -> np.ndarray | None:
    """Duration-weighted mean of the person's track prototypes (as the cluster stage builds them)."""
    rows = [(faces.protos[t], _duration(faces, t)) for t in labels.tracks_of(key) if t in faces.protos]
    if not rows:
        return None
    return l2_normalize(sum(v * max(w, 1e-3) for v, w in rows)[None, :])[0]


def _duration(faces: EpisodeFaces, track: int) -> float:
    row = faces.tracks.loc[track]
    return float(row["end_s"] - row["start_s"])


def screen_time(labels: Labels, faces: EpisodeFaces, config: Config) -> screentime_calc.ScreenTime:
    return screentime_calc.compute(faces.tracks.reset_index(drop=True), labels.track_people(), faces.duration_s,
                                   config.get("screentime.merge_gap_s"), config.get("screentime.min_interval_s"))


def people_table(labels: Labels, faces: EpisodeFaces, config: Config) -> pd.DataFrame:
    """One row per person: key, name, named_by, hidden, tracks, screen_time_s, share, best_det."""
    summary = screen_time(labels, faces, config).summary.set_index("person")
    rows = []
    for key, person in labels.people.items():
        tracks = labels.tracks_of(key)
        seconds = 0.0 if person.hidden or person.name not in summary.index else float(
            summary.at[person.name, "screen_time_s"])
        best = best_detections(faces, tracks, 1)
        rows.append({"key": key, "name": person.name, "named_by": person.named_by, "hidden": person.hidden,
                     "tracks": len(tracks), "screen_time_s": seconds,
                     "share": seconds / faces.duration_s if faces.duration_s > 0 else 0.0,
                     "best_det": best[0] if best else -1})
    return pd.DataFrame(rows, columns=["key", "name", "named_by", "hidden", "tracks", "screen_time_s", "share",
                                       "best_det"])


def best_detections(faces: EpisodeFaces, tracks: list[int], n: int) -> list[int]:
    """The ``n`` best faces of these tracks by quality, at most one per track while tracks last."""
    part = faces.detections[faces.detections["track"].isin(tracks)]
    if part.empty:
        return []
    ranked = part.sort_values("quality", ascending=False)
    firsts = ranked.drop_duplicates("track")
    rest = ranked.drop(firsts.index)
    return [int(d) for d in pd.concat([firsts, rest])["det_id"].head(n)]


def person_tracks(labels: Labels, key: str, faces: EpisodeFaces) -> pd.DataFrame:
    """The person's tracks, least like the person first: track, start_s, end_s, detections,
    similarity (NaN for a track with no embedded face), best_det."""
    proto = person_prototype(labels, key, faces)
    rows = []
    for t in labels.tracks_of(key):
        row = faces.tracks.loc[t]
        sim = float(faces.protos[t] @ proto) if proto is not None and t in faces.protos else float("nan")
        best = best_detections(faces, [t], 1)
        rows.append({"track": t, "start_s": float(row["start_s"]), "end_s": float(row["end_s"]),
                     "detections": int(row["detections"]), "similarity": sim, "best_det": best[0] if best else -1})
    table = pd.DataFrame(rows, columns=["track", "start_s", "end_s", "detections", "similarity", "best_det"])
    return table.sort_values("similarity", na_position="first", kind="stable").reset_index(drop=True)


def suggestions(labels: Labels, key: str, faces: EpisodeFaces, limit: int) -> list[Suggestion]:
    """Named people nearest to ``key`` by prototype similarity, best first; people seen on screen
    with them, and people one of their tracks was ejected from, are never offered."""
    mine = labels.tracks_of(key)
    ruled_out = {key}.union(*(labels.rejected.get(t, frozenset()) for t in mine))
    return _nearest(labels, faces, person_prototype(labels, key, faces), mine, ruled_out, limit, named_only=True)


def track_suggestions(labels: Labels, track: int, faces: EpisodeFaces, limit: int) -> list[Suggestion]:
    """For one track (an unassigned one, say): the people it looks most like."""
    ruled_out = {labels.tracks.get(track)} | labels.rejected.get(track, frozenset())
    return _nearest(labels, faces, faces.protos.get(track), [track], ruled_out, limit, named_only=False)


def _nearest(labels: Labels, faces: EpisodeFaces, vector: np.ndarray | None, mine: list[int],
             ruled_out: set, limit: int, *, named_only: bool) -> list[Suggestion]:
    if vector is None:
        return []
    out = []
    for other, person in labels.people.items():
        if other in ruled_out or person.hidden or (named_only and person.unnamed):
            continue
        theirs = labels.tracks_of(other)
        if any(frozenset((a, b)) in faces.shared_frames for a in mine for b in theirs):
            continue
        proto = person_prototype(labels, other, faces)
        if proto is not None:
            out.append(Suggestion(other, person.name, float(vector @ proto)))
    return sorted(out, key=lambda s: -s.similarity)[:limit]


def review_queue(labels: Labels) -> list[str]:
    """People the face bank named, waiting for the editor to confirm, in name order."""
    return sorted((k for k, p in labels.people.items() if p.to_confirm), key=lambda k: labels.people[k].name)
