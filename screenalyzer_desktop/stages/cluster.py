"""Stage 4, cluster: group tracks into people and name the ones the cast face bank knows.

Each track has one quality-weighted prototype. Tracks are grouped by average-linkage
agglomerative clustering on cosine distance, cut at the engine's threshold; two tracks seen in
the same sampled frame can never be one person (an infinite distance, which average linkage
carries into every merge that would contain both). Clusters are then named from the cast bank.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenalyzer_desktop.cast_bank import CastBank, cast_digest, ensure_bank
from screenalyzer_desktop.core.atomic import read_json
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.tables import read_table, write_table
from screenalyzer_desktop.engines.base import l2_normalize

if TYPE_CHECKING:
    from screenalyzer_desktop.core.workspace import Episode
    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "cluster"
REQUIRES = ("track",)
WEIGHT = 0.05
USES_ENGINE = False
NOISE = -1


def config_keys(engine: str) -> tuple[str, ...]:
    return ("cluster", f"engines.{engine}.cluster_distance", f"engines.{engine}.match_similarity",
            f"engines.{engine}.match_margin")


def cast_settings(episode: Episode) -> dict[str, Any] | None:
    """The show and cast folder chosen for this episode (`cast.json`), if any."""
    try:
        return read_json(episode.dir / "cast.json")
    except (FileNotFoundError, ScreenalyzerError):
        return None


def external_inputs(ctx: StageContext) -> dict[str, str]:
    settings = cast_settings(ctx.episode)
    if not settings:
        return {}
    try:
        return {"cast": f"{settings['show']}:{cast_digest(settings['cast_dir'])}"}
    except ScreenalyzerError:
        return {"cast": f"{settings.get('show')}:unavailable"}


def average_linkage(distance: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster labels from a symmetric distance matrix (inf = cannot link), merging while ≤ threshold."""
    n = len(distance)
    labels = np.arange(n)
    if n < 2:
        return labels
    d = distance.astype(np.float64).copy()
    np.fill_diagonal(d, np.inf)
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    while True:
        flat = int(np.argmin(d))
        i, j = divmod(flat, n)
        if not np.isfinite(d[i, j]) or d[i, j] > threshold:
            break
        merged = (sizes[i] * d[i] + sizes[j] * d[j]) / (sizes[i] + sizes[j])
        d[i], d[:, i] = merged, merged
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        labels[labels == j] = i
    return labels


def cannot_link_pairs(members: pd.DataFrame, detections: pd.DataFrame, track_index: pd.Index) -> np.ndarray:
    """(k, 2) row positions of tracks that share a sampled frame."""
    frames = detections[["det_id", "frame"]].merge(members, on="det_id")
    pairs = set()
    for tracks in frames.groupby("frame")["track"].unique():
        rows = track_index.get_indexer(tracks)
        rows = rows[rows >= 0]
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                pairs.add((min(rows[a], rows[b]), max(rows[a], rows[b])))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def name_clusters(bank: CastBank | None, protos: np.ndarray, conflicts: np.ndarray, min_similarity: float,
                  min_margin: float) -> tuple[list[str | None], np.ndarray]:
    """Best cast name per cluster prototype, never one name for two clusters that share a frame.

    A name needs the similarity and a lead over the next-best person (a ratio test): a stranger can
    come close to one cast member, but rarely stands out from all the others."""
    names: list[str | None] = [None] * len(protos)
    best = np.full(len(protos), np.nan, dtype=np.float32)
    if bank is None or not len(protos) or not len(bank.vectors):
        return names, best
    people, sims = bank.similarity(protos)
    best = sims.max(axis=1)
    runner_up = np.sort(sims, axis=1)[:, -2] if len(people) > 1 else np.full(len(protos), -1.0)
    for flat in np.argsort(-sims, axis=None):
        c, p = divmod(int(flat), len(people))
        if sims[c, p] < min_similarity:
            break
        if best[c] - runner_up[c] < min_margin:
            continue
        if names[c] is None and not any(names[o] == people[p] for o in np.flatnonzero(conflicts[c])):
            names[c] = people[p]
            best[c] = sims[c, p]
    return names, best


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    art = ctx.episode.artifacts_dir
    tracks, vectors = read_table(art / "tracks.parquet", "tracks", "ERR_TRACKS_MISSING")
    members, _ = read_table(art / "track_members.parquet", "track_members", "ERR_TRACKS_MISSING")
    detections, _ = read_table(art / "detections.parquet", "detections", "ERR_DETECTIONS_MISSING")
    protos = vectors["prototype"]
    cfg = ctx.config
    noise = (~tracks["has_prototype"]) | (
        (tracks["detections"] < cfg.get("cluster.min_track_detections"))
        & (tracks["mean_score"] < cfg.get("cluster.min_track_score")))
    keep = np.flatnonzero(~noise.to_numpy())
    progress(0.1, f"Clustering {len(keep)} tracks", tracks=len(keep))
    kept = tracks.iloc[keep]
    distance = 1.0 - np.clip(protos[keep] @ protos[keep].T, -1.0, 1.0)
    pairs = cannot_link_pairs(members, detections, pd.Index(kept["track"]))
    distance[pairs[:, 0], pairs[:, 1]] = np.inf
    distance[pairs[:, 1], pairs[:, 0]] = np.inf
    if should_cancel():
        raise ScreenalyzerError("ERR_CANCELLED", detail="cancelled before clustering")
    raw = average_linkage(distance, cfg.get(f"engines.{ctx.engine_name}.cluster_distance"))
    roots, labels = np.unique(raw, return_inverse=True)
    duration = (kept["end_s"] - kept["start_s"]).to_numpy()
    k = len(roots)
    cluster_protos = l2_normalize(np.stack([(protos[keep][labels == c] * duration[labels == c, None]).sum(0)
                                            for c in range(k)])) if k else np.zeros((0, protos.shape[1]))
    conflicts = np.zeros((k, k), dtype=bool)
    conflicts[labels[pairs[:, 0]], labels[pairs[:, 1]]] = True
    conflicts |= conflicts.T
    progress(0.6, f"{k} people found; matching the cast", people=k)
    bank = _bank(ctx)
    names, similarity = name_clusters(bank, cluster_protos, conflicts,
                                      cfg.get(f"engines.{ctx.engine_name}.match_similarity"),
                                      cfg.get(f"engines.{ctx.engine_name}.match_margin"))
    weak = _weak_clusters(kept, labels, names, cfg.get("cluster.min_person_score"))
    out = _label_table(tracks, keep, labels, names, similarity, duration, weak)
    written = [write_table(art / "clusters.parquet", out, "clusters", {})]
    people = k - len(weak)
    named = sum(1 for c in range(k) if names[c] is not None)
    progress(1.0, f"{people} people, {named} named from the cast", people=people, named=named)
    return StageOutput(written, {"people": people, "named": named, "noise_tracks": int(noise.sum()),
                                 "weak_clusters": len(weak)})


def _weak_clusters(kept: pd.DataFrame, labels: np.ndarray, names: list[str | None], min_score: float) -> set[int]:
    """Unnamed clusters whose detections are weak throughout: a face-like texture recurring in the
    picture (a reflection, a painting), not a person. A cast match vouches for a weak cluster."""
    weights = kept["detections"].to_numpy()
    scores = kept["mean_score"].to_numpy()
    return {c for c in range(len(names)) if names[c] is None
            and np.average(scores[labels == c], weights=weights[labels == c]) < min_score}


def _label_table(tracks: pd.DataFrame, keep: np.ndarray, labels: np.ndarray, names: list[str | None],
                 similarity: np.ndarray, duration: np.ndarray, weak: set[int]) -> pd.DataFrame:
    """One row per track: its cluster and person; unnamed people are cluster_1, 2… by screen time."""
    seconds = {c: duration[labels == c].sum() for c in range(len(names))}
    unnamed = sorted((c for c in range(len(names)) if names[c] is None and c not in weak), key=lambda c: -seconds[c])
    person_of = {c: names[c] or "" for c in range(len(names))}
    person_of.update({c: f"cluster_{i}" for i, c in enumerate(unnamed, start=1)})
    n = len(tracks)
    cluster = np.full(n, NOISE, dtype=np.int32)
    cluster[keep] = [NOISE if c in weak else c for c in labels]
    person = np.full(n, "", dtype=object)
    person[keep] = [person_of[c] for c in labels]
    named_by = np.full(n, "", dtype=object)
    named_by[keep] = ["cast" if names[c] is not None else "" for c in labels]
    cast_similarity = np.full(n, np.nan, dtype=np.float32)
    cast_similarity[keep] = similarity[labels]
    out = pd.DataFrame({"track": tracks["track"].to_numpy(np.int32), "cluster": cluster, "person": person,
                        "named_by": named_by, "cast_similarity": cast_similarity})
    return out


def _bank(ctx: StageContext) -> CastBank | None:
    settings = cast_settings(ctx.episode)
    if not settings:
        return None
    return ensure_bank(ctx.workspace.cast_dir, settings["show"], settings["cast_dir"], ctx.engine)
