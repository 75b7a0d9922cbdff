"""The labels layer and review data on a real analysed demo episode: edits, persistence, screen time
recomputed from labels, suggestions, face thumbnails."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from support import events_sink, load_cfg

from screenalyzer_desktop import labels as lb
from screenalyzer_desktop import pipeline, review
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.tables import read_table, write_table
from screenalyzer_desktop.faces import face_thumbnails, save_cast_photos, thumbnail_path


def _key(labels: lb.Labels, name: str) -> str:
    key = labels.key_named(name)
    assert key is not None, f"{name} not among {[p.name for p in labels.people.values()]}"
    return key


def test_fresh_labels_are_the_clusters(demo) -> None:
    clusters = pd.read_parquet(demo.episode.artifact("clusters.parquet"))
    labels = lb.load_labels(demo.episode)
    people = labels.track_people()
    assert people.to_dict() == dict(zip(clusters["track"], clusters["person"], strict=True))
    assert {p.named_by for p in labels.people.values()} == {"cast", ""}
    assert review.review_queue(labels) == sorted(review.review_queue(labels), key=lambda k: labels.people[k].name)


def test_edits_save_and_survive_a_reload(demo) -> None:
    labels = lb.load_labels(demo.episode)
    unnamed = next(k for k, p in labels.people.items() if p.unnamed)
    renamed = lb.rename(labels, unnamed, "  Tom   Hanks ")
    lb.save_labels(demo.episode, renamed)
    again = lb.load_labels(demo.episode)
    assert again == renamed
    assert again.people[unnamed].name == "Tom Hanks" and again.people[unnamed].named_by == "user"
    assert json.loads((demo.episode.dir / "labels.json").read_text())["schema_version"] == 1
    assert labels.people[unnamed].unnamed, "edits never change their input"


def test_rename_to_an_existing_name_merges(demo) -> None:
    labels = lb.load_labels(demo.episode)
    anna = _key(labels, "anna")
    unnamed = next(k for k, p in labels.people.items() if p.unnamed)
    merged = lb.rename(labels, unnamed, "anna")
    assert unnamed not in merged.people
    assert merged.tracks_of(anna) == sorted(labels.tracks_of(anna) + labels.tracks_of(unnamed))


def test_merge_split_move_eject_hide(demo) -> None:
    labels = lb.load_labels(demo.episode)
    anna, beth = _key(labels, "anna"), _key(labels, "beth")
    first, *rest = labels.tracks_of(anna)
    split = lb.split(labels, [first])
    new = split.tracks[first]
    assert new not in labels.people and split.people[new].name.startswith("cluster_")
    assert split.people[new].unnamed and split.tracks_of(anna) == rest
    merged = lb.merge(split, [new], anna)
    assert merged.tracks_of(anna) == labels.tracks_of(anna) and new not in merged.people
    moved = lb.move(labels, [first], beth)
    assert first in moved.tracks_of(beth)
    ejected = lb.eject(labels, [first])
    assert ejected.tracks[first] is None and anna in ejected.rejected[first]
    assert ejected.track_people()[first] == ""
    hidden = lb.set_hidden(labels, anna, True)
    assert set(hidden.track_people()[labels.tracks_of(anna)]) == {""}
    assert lb.confirm(labels, anna).people[anna].named_by == "user"


def test_moving_every_track_away_removes_the_person(demo) -> None:
    labels = lb.load_labels(demo.episode)
    anna, beth = _key(labels, "anna"), _key(labels, "beth")
    moved = lb.move(labels, labels.tracks_of(anna), beth)
    assert anna not in moved.people


@pytest.mark.parametrize("edit", [
    lambda labels: lb.rename(labels, "nobody", "x"),
    lambda labels: lb.rename(labels, next(iter(labels.people)), "   "),
    lambda labels: lb.merge(labels, [next(iter(labels.people))], next(iter(labels.people))),
    lambda labels: lb.move(labels, [10_000], next(iter(labels.people))),
    lambda labels: lb.split(labels, []),
    lambda labels: lb.confirm(labels, next(k for k, p in labels.people.items() if p.unnamed)),
])
def test_impossible_edits_say_so(demo, edit) -> None:
    with pytest.raises(ScreenalyzerError) as info:
        edit(lb.load_labels(demo.episode))
    assert info.value.code == "ERR_LABEL_INVALID"


def test_corrupt_labels_file_is_reported(demo) -> None:
    (demo.episode.dir / "labels.json").write_text('{"schema_version": 1, "people": 3}')
    with pytest.raises(ScreenalyzerError) as info:
        lb.load_labels(demo.episode)
    assert info.value.code == "ERR_ARTIFACT_CORRUPT"


def test_labels_outlive_a_new_cluster_run_and_take_its_cast_names(demo) -> None:
    labels = lb.load_labels(demo.episode)
    anna, unnamed = _key(labels, "anna"), _key(labels, "cluster_1")
    edited = lb.set_hidden(labels, anna, True)
    lb.save_labels(demo.episode, edited)
    clusters, _ = read_table(demo.episode.artifact("clusters.parquet"), "clusters", "ERR_CLUSTERS_MISSING")
    theirs = clusters["track"].isin(labels.tracks_of(unnamed))
    clusters.loc[theirs, ["person", "named_by"]] = ["tom_hanks", "cast"]  # the cast grew: now matched
    clusters.loc[clusters["cluster"] >= 0, "cluster"] += 100  # and a new run numbers clusters anew
    write_table(demo.episode.artifact("clusters.parquet"), clusters, "clusters")
    again = lb.load_labels(demo.episode)
    assert again.people[anna].hidden, "the editor's word outlives a new cluster run"
    assert (again.people[unnamed].name, again.people[unnamed].named_by) == ("tom_hanks", "cast")
    assert again.tracks == labels.tracks
    assert not list(demo.episode.dir.glob("labels.stale-*.json"))


def test_labels_over_other_tracks_are_set_aside(demo) -> None:
    labels = lb.load_labels(demo.episode)
    lb.save_labels(demo.episode, lb.set_hidden(labels, next(iter(labels.people)), True))
    tracks, vectors = read_table(demo.episode.artifact("tracks.parquet"), "tracks", "ERR_TRACKS_MISSING")
    write_table(demo.episode.artifact("tracks.parquet"), tracks.iloc[::-1].reset_index(drop=True), "tracks",
                {"prototype": vectors["prototype"][::-1]})
    fresh = lb.load_labels(demo.episode)
    assert not any(p.hidden for p in fresh.people.values())
    assert len(list(demo.episode.dir.glob("labels.stale-*.json"))) == 1


def test_screentime_stage_follows_the_labels(demo) -> None:
    config = load_cfg()
    labels = lb.load_labels(demo.episode)
    anna, beth = _key(labels, "anna"), _key(labels, "beth")
    faces = review.load_faces(demo.episode)
    before = review.people_table(labels, faces, config).set_index("name")["screen_time_s"]
    ctx = pipeline.StageContext(demo.workspace, demo.episode, config, "dlib")
    assert pipeline.freshness(ctx, "screentime")[0] == "done"
    merged = lb.merge(labels, [anna], beth)
    lb.save_labels(demo.episode, merged)
    assert pipeline.freshness(ctx, "screentime")[0] == "stale"
    events, emit = events_sink()
    pipeline.run(demo.workspace, demo.episode, "screentime", config, emit)
    written = pd.read_csv(demo.episode.artifact("screentime.csv")).set_index("person")["screen_time_s"]
    in_process = review.people_table(merged, faces, config).set_index("name")["screen_time_s"]
    assert "anna" not in written.index
    assert written["beth"] == pytest.approx(in_process["beth"], abs=1e-6)
    assert before["anna"] + before["beth"] >= written["beth"] > before["beth"]


def test_suggestions_rank_the_true_person_first(demo) -> None:
    labels = lb.load_labels(demo.episode)
    faces = review.load_faces(demo.episode)
    named = [k for k, p in labels.people.items() if not p.unnamed and len(labels.tracks_of(k)) > 1]
    assert len(named) >= 3
    for key in named:
        track = labels.tracks_of(key)[-1]
        split = lb.split(labels, [track])
        best = review.suggestions(split, split.tracks[track], faces, 3)
        assert best[0].name == labels.people[key].name, (labels.people[key].name, best)
        assert review.track_suggestions(lb.eject(labels, [track]), track, faces, 3)[0].key != key, \
            "a track ejected from a person is never offered back to them"


def test_person_tracks_sort_outliers_first(demo) -> None:
    labels = lb.load_labels(demo.episode)
    anna, beth = _key(labels, "anna"), _key(labels, "beth")
    stranger = labels.tracks_of(beth)[0]
    mixed = lb.move(labels, [stranger], anna)
    rows = review.person_tracks(mixed, anna, review.load_faces(demo.episode))
    assert rows["track"].iloc[0] == stranger
    assert rows["similarity"].is_monotonic_increasing


def test_thumbnails_are_cut_once_and_cached(demo) -> None:
    faces = review.load_faces(demo.episode)
    labels = lb.load_labels(demo.episode)
    wanted = review.best_detections(faces, labels.tracks_of(_key(labels, "anna")), 3)
    made = face_thumbnails(demo.episode, faces.detections, wanted, 64, 0.25)
    assert sorted(made) == sorted(wanted)
    import cv2

    image = cv2.imread(str(made[wanted[0]]))
    assert image.shape == (64, 64, 3) and image.std() > 10
    stamp = thumbnail_path(demo.episode, wanted[0], 64).stat().st_mtime_ns
    assert face_thumbnails(demo.episode, faces.detections, wanted, 64, 0.25) == made
    assert thumbnail_path(demo.episode, wanted[0], 64).stat().st_mtime_ns == stamp


def test_confirmed_faces_become_cast_photos_the_detector_finds(demo, tmp_path) -> None:
    from screenalyzer_desktop.engines import load_engine

    faces = review.load_faces(demo.episode)
    labels = lb.load_labels(demo.episode)
    best = review.best_detections(faces, labels.tracks_of(_key(labels, "anna")), 2)
    photos = save_cast_photos(demo.episode, faces.detections, best, tmp_path / "cast" / "anna", 0.8)
    assert len(photos) == 2
    import cv2

    engine = load_engine("dlib", load_cfg(), demo.workspace.models_dir)
    assert all(len(engine.detect(cv2.imread(str(p)))) == 1 for p in photos)
