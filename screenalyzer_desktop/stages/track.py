"""Stage 3, track: join a shot's tracklets into tracks and give each track its on-screen interval.

Tracklets were linked by box overlap while detecting, and their first and last frames on screen
were found to the frame. Here, within one shot, a later tracklet continues an earlier one when
they never share a sample and their faces look alike: appearance bridges the samples where the
detector lost a turned or covered face, so those frames still count. A track's interval runs from
its first tracklet's first frame to its last tracklet's last frame, within the shot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.tables import read_table, write_table
from screenalyzer_desktop.engines.base import l2_normalize

if TYPE_CHECKING:
    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "track"
REQUIRES = ("detect_embed",)
WEIGHT = 0.04
USES_ENGINE = False


def config_keys(engine: str) -> tuple[str, ...]:
    return ("track", f"engines.{engine}.cluster_distance")


def external_inputs(ctx: StageContext) -> dict[str, str]:
    return {}


def load_detections(ctx: StageContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Detections, tracklet bounds, shots, and one embedding row per detection (NaN where none)."""
    art = ctx.episode.artifacts_dir
    detections, _ = read_table(art / "detections.parquet", "detections", "ERR_DETECTIONS_MISSING")
    embedded, vectors = read_table(art / "embeddings.parquet", "embeddings", "ERR_EMBEDDINGS_MISSING")
    tracklets, _ = read_table(art / "tracklets.parquet", "tracklets", "ERR_DETECTIONS_MISSING")
    shots, _ = read_table(art / "shots.parquet", "shots", "ERR_DETECTIONS_MISSING")
    matrix = vectors.get("embedding")
    if matrix is None or len(matrix) != len(embedded):
        raise ScreenalyzerError("ERR_EMBEDDINGS_MISSING", detail="embeddings.parquet has no embedding column")
    full = np.full((len(detections), matrix.shape[1]), np.nan, dtype=np.float32)
    index = pd.Index(detections["det_id"]).get_indexer(embedded["det_id"])
    if (index < 0).any():
        raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail="embeddings refer to unknown detections")
    full[index] = matrix
    return detections, tracklets, shots, full


def prototype(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """Quality-weighted mean of the embedded faces, normalised; None when nothing was embedded."""
    have = ~np.isnan(vectors[:, 0]) if len(vectors) else np.zeros(0, dtype=bool)
    if not have.any():
        return None
    w = np.maximum(weights[have], 1e-6)
    return l2_normalize((vectors[have] * w[:, None]).sum(axis=0, keepdims=True))[0]


def _join_tracklets(group: pd.DataFrame, protos: dict[int, np.ndarray | None], max_distance: float,
                    bridge_s: float) -> dict[int, int]:
    """Map each tracklet of one shot to the earliest compatible tracklet it continues."""
    spans = group.groupby("tracklet")["t_s"].agg(["min", "max"]).sort_values("min")
    track_of: dict[int, int] = {}
    tails: dict[int, tuple[float, np.ndarray | None]] = {}  # track root -> (last time, prototype)
    for tracklet, span in spans.iterrows():
        proto = protos.get(int(tracklet))
        best, best_d = None, max_distance
        for root, (last, root_proto) in tails.items():
            if last >= span["min"] or span["min"] - last > bridge_s or proto is None or root_proto is None:
                continue
            distance = 1.0 - float(np.dot(proto, root_proto))
            if distance <= best_d:
                best, best_d = root, distance
        if best is None:
            track_of[int(tracklet)] = int(tracklet)
            tails[int(tracklet)] = (span["max"], proto)
        else:
            track_of[int(tracklet)] = best
            tails[best] = (span["max"], tails[best][1] if proto is None else proto)
    return track_of


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    detections, tracklets, shots, vectors = load_detections(ctx)
    max_distance = ctx.config.get(f"engines.{ctx.engine_name}.cluster_distance")
    bridge_s = ctx.config.get("track.bridge_same_person_s")
    protos = {int(t): prototype(vectors[idx], detections["quality"].to_numpy()[idx])
              for t, idx in detections.groupby("tracklet").indices.items()}
    detections["track"] = -1
    for n, (shot, group) in enumerate(detections.groupby("shot")):
        if should_cancel():
            raise ScreenalyzerError("ERR_CANCELLED", detail="cancelled while tracking")
        mapping = _join_tracklets(group, protos, max_distance, bridge_s)
        detections.loc[group.index, "track"] = group["tracklet"].map(mapping)
        progress(n / max(1, shots["shot"].nunique()), f"Shot {shot}")
    fps = float(ctx.episode.read_meta()["video"]["fps"])
    tracks = _track_table(detections, tracklets.set_index("tracklet"), shots, vectors, fps)
    members = detections[["det_id", "track"]].astype({"track": "int32"})
    art = ctx.episode.artifacts_dir
    proto_matrix = np.stack(tracks.pop("proto").to_list()) if len(tracks) else np.zeros(
        (0, vectors.shape[1]), np.float32)
    written = [write_table(art / "tracks.parquet", tracks, "tracks", {"prototype": proto_matrix}),
               write_table(art / "track_members.parquet", members, "track_members")]
    progress(1.0, f"{len(tracks)} tracks", tracks=len(tracks))
    return StageOutput(written, {"tracks": len(tracks), "tracklets": int(detections["tracklet"].nunique())})


def _track_table(detections: pd.DataFrame, tracklets: pd.DataFrame, shots: pd.DataFrame, vectors: np.ndarray,
                 fps: float) -> pd.DataFrame:
    shot_info = shots.set_index("shot")
    quality = detections["quality"].to_numpy()
    rows = []
    for track, idx in detections.groupby("track").indices.items():
        part = detections.iloc[idx]
        shot = int(part["shot"].iloc[0])
        members = tracklets.loc[part["tracklet"].unique()]
        start = max(float(shot_info.at[shot, "start_s"]), members["enter_frame"].min() / fps)
        end = min(float(shot_info.at[shot, "end_s"]), members["leave_frame"].max() / fps)
        proto = prototype(vectors[idx], quality[idx])
        rows.append({"track": int(track), "shot": shot, "start_s": start, "end_s": max(start, end),
                     "first_t_s": float(part["t_s"].min()), "last_t_s": float(part["t_s"].max()),
                     "detections": len(part), "embedded": int((~np.isnan(vectors[idx, 0])).sum()),
                     "mean_score": float(part["score"].mean()), "max_face_px": float(part["face_px"].max()),
                     "has_prototype": proto is not None,
                     "proto": proto if proto is not None else np.zeros(vectors.shape[1], np.float32)})
    columns = ["track", "shot", "start_s", "end_s", "first_t_s", "last_t_s", "detections", "embedded",
               "mean_score", "max_face_px", "has_prototype", "proto"]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({"track": "int32", "shot": "int32", "detections": "int32", "embedded": "int32"})
