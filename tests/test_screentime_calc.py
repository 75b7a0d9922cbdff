"""Screen time from hand-made intervals: merging, blips, shares and co-appearance."""

from __future__ import annotations

import pandas as pd
import pytest

from screenalyzer_desktop.screentime_calc import compute, merge_intervals, overlap_seconds


def _tracks(*rows: tuple[int, float, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["track", "start_s", "end_s"]).astype({"track": "int32"})


def _people(mapping: dict[int, str]) -> pd.Series:
    return pd.Series(mapping)


def _summary(result) -> dict[str, float]:
    return dict(zip(result.summary["person"], result.summary["screen_time_s"], strict=True))


@pytest.mark.parametrize(("intervals", "gap", "expected"), [
    ([], 0.5, []),
    ([(0, 1)], 0.5, [(0, 1)]),
    ([(0, 1), (1.2, 2)], 0.5, [(0, 2)]),  # gap 0.2 < 0.5: bridged
    ([(0, 1), (1.5, 2)], 0.5, [(0, 1), (1.5, 2)]),  # gap of exactly 0.5 is not bridged
    ([(0, 1), (1.6, 2)], 0.5, [(0, 1), (1.6, 2)]),
    ([(2, 3), (0, 1), (0.5, 2.5)], 0.0, [(0, 3)]),  # unsorted and overlapping
    ([(0, 5), (1, 2)], 0.0, [(0, 5)]),  # contained
    ([(0, 1), (1, 2)], 0.0, [(0, 1), (1, 2)]),  # touching, no gap allowed: kept apart, total unchanged
])
def test_merge_intervals(intervals, gap, expected) -> None:
    assert merge_intervals(intervals, gap) == expected


def test_overlap_seconds() -> None:
    a = [(0.0, 2.0), (4.0, 6.0)]
    b = [(1.0, 5.0)]
    assert overlap_seconds(a, b) == pytest.approx(2.0)
    assert overlap_seconds(b, a) == pytest.approx(2.0)
    assert overlap_seconds(a, []) == 0.0
    assert overlap_seconds([(0.0, 1.0)], [(1.0, 2.0)]) == 0.0
    assert overlap_seconds([(0.0, 10.0)], [(1.0, 2.0), (3.0, 4.0), (9.5, 12.0)]) == pytest.approx(2.5)


def test_union_of_a_persons_tracks_counts_overlaps_once() -> None:
    tracks = _tracks((0, 0.0, 4.0), (1, 2.0, 6.0), (2, 10.0, 12.0))
    result = compute(tracks, _people({0: "ann", 1: "ann", 2: "ann"}), duration_s=20.0, merge_gap_s=0.5,
                     min_interval_s=0.3)
    row = result.summary.iloc[0]
    assert row["person"] == "ann" and row["screen_time_s"] == pytest.approx(8.0)
    assert row["share"] == pytest.approx(0.4) and row["tracks"] == 3
    assert (row["first_seen_s"], row["last_seen_s"]) == (0.0, 12.0)
    assert result.timeline.values.tolist() == [["ann", 0.0, 6.0], ["ann", 10.0, 12.0]]


def test_short_gaps_are_bridged_and_blips_dropped() -> None:
    tracks = _tracks((0, 0.0, 2.0), (1, 2.3, 4.0),  # gap 0.3 → one interval 0–4
                     (2, 7.0, 7.2),  # a 0.2 s blip: dropped
                     (3, 9.0, 9.1), (4, 9.2, 9.35))  # two blips that merge into 0.35 s: kept
    result = compute(tracks, _people({0: "bo", 1: "bo", 2: "bo", 3: "bo", 4: "bo"}), 10.0, 0.5, 0.3)
    assert result.timeline[["start_s", "end_s"]].values.tolist() == [[0.0, 4.0], [9.0, 9.35]]
    assert _summary(result) == {"bo": pytest.approx(4.35)}


def test_person_with_only_blips_is_not_on_screen() -> None:
    tracks = _tracks((0, 0.0, 3.0), (1, 5.0, 5.1))
    result = compute(tracks, _people({0: "cy", 1: "ghost"}), 10.0, 0.5, 0.3)
    assert list(result.summary["person"]) == ["cy"]
    assert list(result.coappearance.index) == ["cy"]


def test_unlabelled_and_unknown_tracks_are_ignored() -> None:
    tracks = _tracks((0, 0.0, 3.0), (1, 0.0, 9.0), (2, 1.0, 2.0))
    result = compute(tracks, _people({0: "dee", 1: ""}), 10.0, 0.5, 0.3)  # track 2 has no label at all
    assert _summary(result) == {"dee": pytest.approx(3.0)}


def test_ordering_shares_and_coappearance() -> None:
    tracks = _tracks((0, 0.0, 6.0), (1, 4.0, 8.0), (2, 5.0, 7.0), (3, 20.0, 21.0))
    people = _people({0: "eve", 1: "fay", 2: "gus", 3: "fay"})
    result = compute(tracks, people, duration_s=30.0, merge_gap_s=0.5, min_interval_s=0.3)
    assert list(result.summary["person"]) == ["eve", "fay", "gus"]  # by screen time, then name
    assert _summary(result) == {"eve": 6.0, "fay": 5.0, "gus": 2.0}
    assert result.summary["share"].tolist() == pytest.approx([0.2, 5 / 30, 2 / 30], abs=1e-5)
    co = result.coappearance
    assert list(co.index) == list(co.columns) == ["eve", "fay", "gus"]
    assert co.loc["eve", "fay"] == co.loc["fay", "eve"] == pytest.approx(2.0)  # 4–6
    assert co.loc["eve", "gus"] == pytest.approx(1.0)  # 5–6
    assert co.loc["fay", "gus"] == pytest.approx(2.0)  # 5–7
    assert all(co.loc[p, p] == 0.0 for p in co.index)


def test_ties_are_ordered_by_name() -> None:
    tracks = _tracks((0, 0.0, 2.0), (1, 3.0, 5.0))
    result = compute(tracks, _people({0: "zed", 1: "amy"}), 10.0, 0.5, 0.3)
    assert list(result.summary["person"]) == ["amy", "zed"]


def test_nobody_on_screen_gives_empty_tables_with_columns() -> None:
    result = compute(_tracks(), _people({}), 10.0, 0.5, 0.3)
    assert result.summary.empty and list(result.summary.columns) == ["person", "screen_time_s", "share",
                                                                     "first_seen_s", "last_seen_s", "tracks"]
    assert result.timeline.empty and list(result.timeline.columns) == ["person", "start_s", "end_s"]
    assert result.coappearance.shape == (0, 0)


def test_zero_duration_gives_zero_share() -> None:
    result = compute(_tracks((0, 0.0, 1.0)), _people({0: "ivy"}), 0.0, 0.5, 0.3)
    assert result.summary["share"].tolist() == [0.0]
