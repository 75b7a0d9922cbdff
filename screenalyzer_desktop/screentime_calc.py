"""Per-person screen time from tracks and their person labels: pure functions, no I/O.

The review UI recomputes through the same functions after every edit, with no re-detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def merge_intervals(intervals: list[tuple[float, float]], merge_gap_s: float) -> list[tuple[float, float]]:
    """Union of intervals, bridging gaps shorter than ``merge_gap_s``."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start - merged[-1][1] < merge_gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def overlap_seconds(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        total += max(0.0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


@dataclass(frozen=True)
class ScreenTime:
    summary: pd.DataFrame  # person, screen_time_s, share, first_seen_s, last_seen_s, tracks
    timeline: pd.DataFrame  # person, start_s, end_s
    coappearance: pd.DataFrame  # person × person seconds on screen together


def compute(tracks: pd.DataFrame, people: pd.Series, duration_s: float, merge_gap_s: float,
            min_interval_s: float) -> ScreenTime:
    """``tracks`` has start_s/end_s per track; ``people`` maps track → person ('' = nobody)."""
    frame = tracks[["track", "start_s", "end_s"]].merge(people.rename("person"), left_on="track",
                                                        right_index=True)
    frame = frame[frame["person"] != ""]
    intervals: dict[str, list[tuple[float, float]]] = {}
    counts: dict[str, int] = {}
    for person, part in frame.groupby("person"):
        merged = merge_intervals(list(zip(part["start_s"], part["end_s"], strict=True)), merge_gap_s)
        merged = [(a, b) for a, b in merged if b - a >= min_interval_s]
        if merged:
            intervals[str(person)] = merged
            counts[str(person)] = len(part)
    rows = [{"person": p, "screen_time_s": round(sum(b - a for a, b in iv), 3),
             "share": round(sum(b - a for a, b in iv) / duration_s, 5) if duration_s > 0 else 0.0,
             "first_seen_s": round(iv[0][0], 3), "last_seen_s": round(iv[-1][1], 3), "tracks": counts[p]}
            for p, iv in intervals.items()]
    summary = pd.DataFrame(rows, columns=["person", "screen_time_s", "share", "first_seen_s", "last_seen_s",
                                          "tracks"])
    summary = summary.sort_values(["screen_time_s", "person"], ascending=[False, True]).reset_index(drop=True)
    order = summary["person"].tolist()
    timeline = pd.DataFrame([{"person": p, "start_s": round(a, 3), "end_s": round(b, 3)}
                             for p in order for a, b in intervals[p]], columns=["person", "start_s", "end_s"])
    together = np.array([[overlap_seconds(intervals[a], intervals[b]) if a != b else 0.0 for b in order]
                         for a in order]).reshape(len(order), len(order))
    coappearance = pd.DataFrame(np.round(together, 3), index=pd.Index(order, name="person"), columns=order)
    return ScreenTime(summary, timeline, coappearance)
