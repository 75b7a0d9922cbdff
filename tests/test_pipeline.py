"""The stage graph on a real analysed episode: completion records, staleness, auto-run, structured failures."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import events_sink, load_cfg, temp_files

from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core import atomic
from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.records import read_record, record_path
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.stages import cluster, screentime, track


def _views(analysed, config=None) -> dict[str, pipeline.StageView]:
    return {v.stage: v for v in pipeline.stage_views(analysed.workspace, analysed.episode, config or load_cfg())}


def _status(analysed, config=None) -> dict[str, str]:
    return {stage: view.status for stage, view in _views(analysed, config).items()}


def _ctx(analysed, config=None) -> pipeline.StageContext:
    return pipeline.StageContext(analysed.workspace, analysed.episode, config or load_cfg(), "dlib")


def _run(analysed, target: str, config=None, **kwargs):
    events, emit = events_sink()
    result = pipeline.run(analysed.workspace, analysed.episode, target, config or load_cfg(), emit, **kwargs)
    return result, events


def _fails(analysed, target: str, config=None, **kwargs) -> tuple[ScreenalyzerError, list[dict]]:
    events, emit = events_sink()
    with pytest.raises(ScreenalyzerError) as info:
        pipeline.run(analysed.workspace, analysed.episode, target, config or load_cfg(), emit, **kwargs)
    return info.value, events


def _no_progress(*args: object, **kwargs: object) -> None:
    return None


def _never() -> bool:
    return False


# -- a complete analysis ------------------------------------------------------------------------------
def test_analysis_is_complete_and_sensible(analysed) -> None:
    assert set(_status(analysed).values()) == {"done"}
    art = analysed.episode.artifacts_dir
    tracks, vectors = read_table(art / "tracks.parquet", "tracks", "ERR_TRACKS_MISSING")
    clusters, _ = read_table(art / "clusters.parquet", "clusters", "ERR_CLUSTERS_MISSING")
    assert len(tracks) >= 2 and vectors["prototype"].shape[1] == 128
    summary = pd.read_csv(art / "screentime.csv")
    # Person 0 is on screen for the whole 3 s, person 1 from 1.5 s.
    assert len(summary) == 2, summary
    assert summary["screen_time_s"].iloc[0] == pytest.approx(3.0, abs=0.35)
    assert summary["screen_time_s"].iloc[1] == pytest.approx(1.5, abs=0.35)
    assert clusters["person"].str.startswith("cluster_").all()
    for stage in pipeline.ORDER:
        record = read_record(analysed.episode, stage)
        assert record is not None and record.engine["name"] == "dlib"
        assert set(record.inputs) >= set(pipeline.STAGES[stage].REQUIRES)
    assert not temp_files(analysed.workspace.root)


def test_progress_events_are_monotonic_and_scaled(tmp_path: Path) -> None:
    from support import run_pipeline, two_people, write_video

    video = write_video(tmp_path / "v.mp4", who=two_people)
    _, _, result, events = run_pipeline(tmp_path / "ws", video)
    progress = [e for e in events if e["type"] == "progress"]
    assert progress and all(0.0 <= e["overall"] <= 1.0 and 0.0 <= e["fraction"] <= 1.0 for e in progress)
    screentime_run = [e for e in progress if e["stage"] != "ingest"]
    overall = [e["overall"] for e in screentime_run]
    assert overall == sorted(overall), "overall progress went backwards"
    assert result["ran"] == ["detect_embed", "track", "cluster", "screentime"]
    assert [e["stage"] for e in events if e["type"] == "stage" and e["status"] == "done"][-4:] == result["ran"]


def test_up_to_date_stage_runs_nothing_unless_asked(analysed) -> None:
    result, _ = _run(analysed, "screentime")
    assert result["ran"] == []
    result, _ = _run(analysed, "screentime", rerun_target=True)
    assert result["ran"] == ["screentime"]


# -- completion records and staleness ------------------------------------------------------------------
def test_tampered_artifact_means_not_run_and_downstream_stale(analysed) -> None:
    path = analysed.episode.artifact("clusters.parquet")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    status = _status(analysed)
    assert status["cluster"] == "not_run"
    assert status["screentime"] == "stale"
    assert status["track"] == status["detect_embed"] == status["ingest"] == "done"
    assert _views(analysed)["screentime"].reason == "a prerequisite is no longer complete"
    # Running the target re-runs exactly what is needed.
    result, _ = _run(analysed, "screentime")
    assert result["ran"] == ["cluster", "screentime"]
    assert set(_status(analysed).values()) == {"done"}


@pytest.mark.parametrize("damage", ["truncate", "delete", "garbage-record", "record-of-other-stage"])
def test_damaged_record_or_artifact_means_not_run(analysed, damage: str) -> None:
    episode = analysed.episode
    if damage == "truncate":
        path = episode.artifact("tracks.parquet")
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "delete":
        episode.artifact("tracks.parquet").unlink()
    elif damage == "garbage-record":
        record_path(episode, "track").write_text("{ half a record")
    else:
        shutil.copy(record_path(episode, "cluster"), record_path(episode, "track"))
    assert _status(analysed)["track"] == "not_run"
    assert read_record(episode, "track") is None
    result, _ = _run(analysed, "cluster")
    assert result["ran"] == ["track", "cluster"]


def test_changed_setting_makes_exactly_its_stages_stale(analysed) -> None:
    assert _status(analysed, load_cfg(**{"screentime.merge_gap_s": 1.0})) == {
        "ingest": "done", "detect_embed": "done", "track": "done", "cluster": "done", "screentime": "stale"}
    assert _views(analysed, load_cfg(**{"screentime.merge_gap_s": 1.0}))["screentime"].reason == \
        "settings changed since it ran"
    assert _status(analysed, load_cfg(**{"cluster.min_track_score": 0.9})) == {
        "ingest": "done", "detect_embed": "done", "track": "done", "cluster": "stale", "screentime": "stale"}
    upstream = _status(analysed, load_cfg(**{"engines.dlib.upsample": 0}))
    assert upstream["ingest"] == "done"
    assert {upstream[s] for s in ("detect_embed", "track", "cluster", "screentime")} == {"stale"}
    # A setting no stage reads changes nothing.
    assert set(_status(analysed, load_cfg(**{"pipeline.state_write_interval_s": 1.0})).values()) == {"done"}
    # Running with the new value brings it back; the plan is only what the setting touches.
    config = load_cfg(**{"screentime.merge_gap_s": 1.0})
    result, _ = _run(analysed, "screentime", config)
    assert result["ran"] == ["screentime"]
    assert set(_status(analysed, config).values()) == {"done"}
    assert _status(analysed)["screentime"] == "stale", "and the old value is now the changed one"


def test_rerunning_a_stage_makes_everything_downstream_stale(analysed) -> None:
    result, _ = _run(analysed, "track", rerun_target=True)
    assert result["ran"] == ["track"]
    views = _views(analysed)
    assert views["track"].status == "done"
    assert views["cluster"].status == "stale" and views["cluster"].reason == "inputs changed: track"
    assert views["screentime"].status == "stale" and "cluster" in views["screentime"].reason
    ctx = _ctx(analysed)
    assert pipeline.plan(ctx, "screentime", rerun_target=False) == ["cluster", "screentime"]
    result, _ = _run(analysed, "screentime")
    assert result["ran"] == ["cluster", "screentime"]
    assert set(_status(analysed).values()) == {"done"}


def test_record_lists_artifacts_with_sizes_and_hashes(analysed) -> None:
    data = json.loads(record_path(analysed.episode, "cluster").read_text())
    assert data["stage"] == "cluster" and data["config_hash"] and data["inputs"]["track"]
    (name, meta), = data["artifacts"].items()
    artifact = analysed.episode.dir / name
    assert meta["size"] == artifact.stat().st_size
    assert meta["sha256"] == atomic.sha256_file(artifact)


# -- stage functions on missing or damaged inputs ------------------------------------------------------
@pytest.mark.parametrize(("artifact", "stage", "code"), [
    ("detections.parquet", track, "ERR_DETECTIONS_MISSING"),
    ("embeddings.parquet", track, "ERR_EMBEDDINGS_MISSING"),
    ("tracks.parquet", cluster, "ERR_TRACKS_MISSING"),
    ("track_members.parquet", cluster, "ERR_TRACKS_MISSING"),
    ("clusters.parquet", screentime, "ERR_CLUSTERS_MISSING"),
    ("tracks.parquet", screentime, "ERR_TRACKS_MISSING"),
])
def test_stage_with_a_deleted_input_names_what_is_missing(analysed, artifact: str, stage, code: str) -> None:
    analysed.episode.artifact(artifact).unlink()
    with pytest.raises(ScreenalyzerError) as info:
        stage.run(_ctx(analysed), _no_progress, _never)
    assert info.value.code == code and artifact in info.value.detail


@pytest.mark.parametrize(("artifact", "stage"), [
    ("tracks.parquet", cluster), ("embeddings.parquet", track), ("clusters.parquet", screentime)])
@pytest.mark.parametrize("damage", ["truncated", "wrong-kind", "not-parquet"])
def test_stage_with_a_damaged_input_is_err_artifact_corrupt(analysed, artifact: str, stage, damage: str) -> None:
    path = analysed.episode.artifact(artifact)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "wrong-kind":
        shutil.copy(analysed.episode.artifact("samples.parquet"), path)
    else:
        path.write_text("name,value\nx,1\n")
    with pytest.raises(ScreenalyzerError) as info:
        stage.run(_ctx(analysed), _no_progress, _never)
    assert info.value.code == "ERR_ARTIFACT_CORRUPT" and artifact in info.value.detail


# -- failures through the pipeline ---------------------------------------------------------------------
def test_vanished_video_is_prereq_failed_with_a_structured_cause(analysed_own_video) -> None:
    analysed_own_video.video.unlink()
    error, events = _fails(analysed_own_video, "screentime", rerun_target=True)
    assert error.code == "ERR_PREREQ_FAILED" and error.exit_code == 7
    assert error.cause is not None
    assert error.cause.stage == "ingest" and error.cause.code == "ERR_VIDEO_NOT_FOUND"
    assert str(analysed_own_video.video) in error.cause.detail
    assert error.to_dict()["cause"]["code"] == "ERR_VIDEO_NOT_FOUND"
    failed = [e for e in events if e["type"] == "stage" and e["status"] == "failed"]
    assert failed[0]["stage"] == "ingest" and failed[0]["error"]["code"] == "ERR_VIDEO_NOT_FOUND"
    stored = run_state.read_state(analysed_own_video.episode)["stages"]
    assert stored["ingest"]["status"] == "failed" and stored["ingest"]["error"]["code"] == "ERR_VIDEO_NOT_FOUND"
    assert _status(analysed_own_video)["ingest"] == "failed"


def test_plain_exception_in_a_stage_is_err_internal(analysed, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx, progress, should_cancel):
        progress(0.5, "about to fail")
        return {}["no-such-column"]

    monkeypatch.setattr(pipeline.STAGES["cluster"], "run", broken)
    error, events = _fails(analysed, "cluster", rerun_target=True)
    assert error.code == "ERR_INTERNAL" and error.exit_code == 1
    assert error.detail.startswith("KeyError: 'no-such-column'") and "broken" in error.detail
    assert error.message != "Unknown error" and error.hint
    stored = run_state.read_state(analysed.episode)["stages"]["cluster"]
    assert stored["status"] == "failed" and stored["error"]["code"] == "ERR_INTERNAL"
    assert any(e["type"] == "log" and e["level"] == "ERROR" for e in events)
    # As a prerequisite of another stage, the internal error is the structured cause.
    error, _ = _fails(analysed, "screentime")
    assert error.code == "ERR_PREREQ_FAILED"
    assert error.cause.stage == "cluster" and error.cause.code == "ERR_INTERNAL"


def test_unknown_stage_is_err_stage_unknown(analysed) -> None:
    error, events = _fails(analysed, "detect")
    assert error.code == "ERR_STAGE_UNKNOWN" and "detect" in error.detail and events == []


def test_disk_full_while_writing_an_artifact(analysed, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC injected into fsync of files in artifacts/ only (the state folder still writes)."""
    real_fsync = os.fsync
    artifacts = str(analysed.episode.artifacts_dir)

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(artifacts + os.sep):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    before = analysed.episode.artifact("screentime.csv").read_bytes()
    monkeypatch.setattr(atomic.os, "fsync", fsync)
    error, _ = _fails(analysed, "screentime", rerun_target=True)
    monkeypatch.undo()
    assert error.code == "ERR_DISK_FULL" and error.exit_code == 5
    assert "screentime" in error.detail
    assert analysed.episode.artifact("screentime.csv").read_bytes() == before, "the old result is intact"
    assert not temp_files(analysed.workspace.root)
    assert read_record(analysed.episode, "screentime") is None
    stored = run_state.read_state(analysed.episode)["stages"]["screentime"]
    assert stored["status"] == "failed" and stored["error"]["code"] == "ERR_DISK_FULL"


# -- engines that cannot load ------------------------------------------------------------------------------
def _dlib_models(tmp_path: Path, kind: str) -> Path:
    from screenalyzer_desktop.engines.dlib_engine import DESCRIPTOR_FILE, SHAPE_PREDICTOR_FILE, default_models_dir

    folder = tmp_path / f"dlib-{kind}"
    folder.mkdir()
    if kind == "garbage":
        for name in (SHAPE_PREDICTOR_FILE, DESCRIPTOR_FILE):
            (folder / name).write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    elif kind == "truncated":
        for name in (SHAPE_PREDICTOR_FILE, DESCRIPTOR_FILE):
            data = (default_models_dir() / name).read_bytes()
            (folder / name).write_bytes(data[: len(data) // 3])
    elif kind == "swapped":
        shutil.copy(default_models_dir() / SHAPE_PREDICTOR_FILE, folder / SHAPE_PREDICTOR_FILE)
        shutil.copy(default_models_dir() / SHAPE_PREDICTOR_FILE, folder / DESCRIPTOR_FILE)
    return folder


@pytest.mark.parametrize(("kind", "code"), [("empty", "ERR_MODEL_MISSING"), ("garbage", "ERR_MODEL_INVALID"),
                                            ("truncated", "ERR_MODEL_INVALID"), ("swapped", "ERR_MODEL_INVALID")])
def test_dlib_engine_with_bad_model_folder(analysed, tmp_path: Path, kind: str, code: str) -> None:
    config = load_cfg(**{"engines.dlib.models_dir": str(_dlib_models(tmp_path, kind))})
    error, events = _fails(analysed, "detect_embed", config)
    assert error.code == code and error.exit_code == 4
    assert str(tmp_path) in error.detail
    stored = run_state.read_state(analysed.episode)["stages"]["detect_embed"]
    assert stored["status"] == "failed" and stored["error"]["code"] == code
    # Needed by a later stage, the model error is the cause of ERR_PREREQ_FAILED.
    error, _ = _fails(analysed, "screentime", config)
    assert error.code == "ERR_PREREQ_FAILED"
    assert error.cause.stage == "detect_embed" and error.cause.code == code


@pytest.mark.parametrize(("kind", "code"), [("no-pack", "ERR_MODEL_MISSING"), ("garbage", "ERR_MODEL_INVALID"),
                                            ("only-detector", "ERR_MODEL_MISSING")])
def test_insightface_engine_with_bad_pack(analysed, tmp_path: Path, kind: str, code: str) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    if kind == "garbage":
        (pack / "det_10g.onnx").write_bytes(b"\x08\x07garbage" * 100)
        (pack / "w600k_r50.onnx").write_bytes(b"not onnx")
    elif kind == "only-detector":
        from onnx_models import build_scrfd

        build_scrfd(pack / "det_10g.onnx")
    config = load_cfg(**{"engine": "insightface", "engines.insightface.pack_dir": str(pack),
                         "engines.insightface.providers": "CPUExecutionProvider"})
    error, _ = _fails(analysed, "detect_embed", config)
    assert error.code == code and error.exit_code == 4
    assert str(pack) in error.detail or str(pack) in json.dumps(error.extra)
