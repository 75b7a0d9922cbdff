"""The headless CLI as the desktop app drives it: JSON lines, structured errors, exit codes by class."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pandas as pd
import pytest
from support import (
    REPO_ROOT,
    child_env,
    cli_command,
    expect_error,
    face_crops,
    load_cfg,
    parse_jsonl,
    run_cli,
    run_pipeline,
    temp_files,
)

from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core.errors import CATALOGUE

EVENT_TYPES = {"progress", "log", "stage", "result", "error"}


def _check_stream(lines: list[dict]) -> None:
    """The JSON-lines contract: known types, overall progress never goes back, one final result/error."""
    assert lines, "no output"
    assert {e["type"] for e in lines} <= EVENT_TYPES
    overall = [e["overall"] for e in lines if e["type"] == "progress"]
    assert overall == sorted(overall), "overall progress went backwards"
    assert all(0.0 <= v <= 1.0 for v in overall)
    finals = [i for i, e in enumerate(lines) if e["type"] in {"result", "error"}]
    assert finals == [len(lines) - 1], "exactly one result or error, and it is the last line"
    for event in lines:
        if event["type"] == "progress":
            assert {"stage", "fraction", "message", "counters", "elapsed_s", "eta_s"} <= set(event)
        elif event["type"] == "log":
            assert {"level", "message", "ts"} <= set(event)
        elif event["type"] == "error":
            assert {"code", "message", "detail", "hint"} <= set(event)
            assert event["code"] in CATALOGUE and event["message"] == CATALOGUE[event["code"]].message


@pytest.fixture
def imported(video: Path, tmp_path: Path) -> tuple[Path, str]:
    workspace, episode, _, _ = run_pipeline(tmp_path / "ws", video, target="ingest")
    return workspace.root, episode.id


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "parallel-workers"])
def test_run_stage_jsonl_stream(imported: tuple[Path, str], workers: int) -> None:
    ws, episode_id = imported
    done = run_cli("run-stage", episode_id, "screentime", "--workspace", ws, "--progress", "jsonl", "--engine", "dlib",
                   "--set", f"detect.workers={workers}", "--set", "detect.min_segment_s=1")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.lines
    _check_stream(lines)
    result = lines[-1]
    assert result["type"] == "result" and result["episode"] == episode_id and result["stage"] == "screentime"
    assert result["ran"] == ["detect_embed", "track", "cluster", "screentime"]
    assert result["summaries"]["detect_embed"]["segments"] == workers
    stages = [(e["stage"], e["status"]) for e in lines if e["type"] == "stage"]
    assert stages == [(s, st) for s in result["ran"] for st in ("running", "done")]
    progress_stages = [e["stage"] for e in lines if e["type"] == "progress"]
    assert set(progress_stages) == set(result["ran"])
    assert any(e["type"] == "log" for e in lines)


def test_up_to_date_stage_with_if_needed_runs_nothing(analysed) -> None:
    done = run_cli("run-stage", analysed.episode.id, "cluster", "--if-needed", "--workspace",
                   analysed.workspace.root, "--progress", "jsonl")
    assert done.returncode == 0
    _check_stream(done.lines)
    assert done.last["ran"] == []


def test_vanished_video_gives_prereq_failed_with_structured_cause(analysed_own_video) -> None:
    analysed_own_video.video.unlink()
    done = run_cli("run-stage", analysed_own_video.episode.id, "screentime", "--workspace",
                   analysed_own_video.workspace.root, "--progress", "jsonl")
    assert done.returncode == 7
    _check_stream(done.lines)
    error = done.last
    assert error["code"] == "ERR_PREREQ_FAILED"
    assert error["cause"]["stage"] == "ingest" and error["cause"]["code"] == "ERR_VIDEO_NOT_FOUND"
    assert str(analysed_own_video.video) in error["cause"]["detail"]
    # The human-readable form says the same, with the cause, and never "Unknown error".
    done = run_cli("run-stage", analysed_own_video.episode.id, "screentime", "--workspace",
                   analysed_own_video.workspace.root)
    assert done.returncode == 7 and done.stdout == ""
    assert "error ERR_PREREQ_FAILED" in done.stderr and "caused by ingest: ERR_VIDEO_NOT_FOUND" in done.stderr
    assert "hint:" in done.stderr and "Unknown error" not in done.stderr


def test_exit_codes_are_distinct_by_failure_class(tmp_path: Path, analysed) -> None:
    """Real child processes, one failure of each class the CLI can meet without special set-up."""
    ws, episode_id = analysed.workspace.root, analysed.episode.id
    cases = {
        "ERR_CONFIG_INVALID": ("run-stage", episode_id, "track", "--set", "track.iou_link=2", "--workspace", ws),
        "ERR_STAGE_UNKNOWN": ("run-stage", episode_id, "detection", "--workspace", ws),
        "ERR_VIDEO_NOT_FOUND": ("import", tmp_path / "absent.mp4", "--workspace", ws),
        "ERR_MODEL_MISSING": ("run-stage", episode_id, "detect_embed", "--engine", "insightface", "--set",
                              f"engines.insightface.pack_dir={tmp_path}", "--workspace", ws),
        "ERR_EPISODE_NOT_FOUND": ("run-stage", "ghost", "track", "--workspace", ws),
    }
    for code, args in cases.items():
        done = run_cli(*args, "--progress", "jsonl")
        _check_stream(done.lines)
        assert done.last["code"] == code, (code, done.last)
        assert done.returncode == CATALOGUE[code].exit_code, code
    assert sorted(CATALOGUE[c].exit_code for c in cases) == [2, 2, 3, 4, 8]


def test_unknown_stage_in_process(analysed, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    error = expect_error(capsys, monkeypatch, "ERR_STAGE_UNKNOWN", "run-stage", analysed.episode.id, "Cluster",
                         "--workspace", analysed.workspace.root)
    assert "Cluster" in error["detail"]


def test_plain_exception_is_reported_as_err_internal(analysed, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx, progress, should_cancel):
        raise RuntimeError("the stage fell over")

    monkeypatch.setattr(pipeline.STAGES["screentime"], "run", broken)
    error = expect_error(capsys, monkeypatch, "ERR_INTERNAL", "run-stage", analysed.episode.id, "screentime",
                         "--workspace", analysed.workspace.root)
    assert error["detail"].startswith("RuntimeError: the stage fell over")
    assert error["message"] == CATALOGUE["ERR_INTERNAL"].message


def test_crash_outside_the_pipeline_is_still_structured(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from screenalyzer_desktop.core import workspace as workspace_module

    def broken_episodes(self):
        raise MemoryError("simulated")

    monkeypatch.setattr(workspace_module.Workspace, "episodes", broken_episodes)
    error = expect_error(capsys, monkeypatch, "ERR_INTERNAL", "status", "--workspace", tmp_path)
    assert error["detail"].startswith("MemoryError: simulated")


def test_export_before_analysis_is_err_screentime_missing(imported: tuple[Path, str], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ws, episode_id = imported
    expect_error(capsys, monkeypatch, "ERR_SCREENTIME_MISSING", "export", episode_id, "--out", tmp_path / "out",
                 "--workspace", ws)
    assert not (tmp_path / "out").exists()


def test_export_writes_every_format(analysed, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    done = run_cli("export", analysed.episode.id, "--out", out, "--workspace", analysed.workspace.root,
                   "--progress", "none")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["coappearance.csv", "screentime.csv", "screentime.json", "screentime.xlsx", "timeline.csv"]
    assert pd.read_csv(out / "screentime.csv").equals(pd.read_csv(analysed.episode.artifact("screentime.csv")))
    doc = json.loads((out / "screentime.json").read_text())
    assert doc["metadata"]["episode"] == analysed.episode.id and len(doc["people"]) == 2
    assert set(pd.ExcelFile(out / "screentime.xlsx").sheet_names) == {"Summary", "Timeline", "Co-appearance",
                                                                     "Metadata"}
    done = run_cli("export", analysed.episode.id, "--out", tmp_path / "csv-only", "--format", "csv", "--workspace",
                   analysed.workspace.root, "--progress", "jsonl")
    _check_stream(done.lines)
    assert len(done.lines) == 1 and len(done.last["exports"]) == 3
    assert sorted(p.name for p in (tmp_path / "csv-only").iterdir()) == ["coappearance.csv", "screentime.csv",
                                                                          "timeline.csv"]


@pytest.mark.parametrize("layout", ["missing", "empty", "photos-at-top-level", "folders-without-photos"])
def test_unusable_cast_folder_is_err_cast_invalid(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    cast = tmp_path / "cast"
    if layout != "missing":
        cast.mkdir()
    if layout == "photos-at-top-level":
        cv2.imwrite(str(cast / "alice.jpg"), face_crops()[0])
    elif layout == "folders-without-photos":
        (cast / "alice").mkdir()
        (cast / "alice" / "notes.txt").write_text("no photo here")
    expect_error(capsys, monkeypatch, "ERR_CAST_INVALID", "import", video, "--cast", cast, "--workspace",
                 tmp_path / "ws")


def test_analyze_with_a_cast_names_the_people(video: Path, tmp_path: Path) -> None:
    cast = tmp_path / "cast"
    for name, face in zip(("alice", "bob"), face_crops(), strict=True):
        (cast / name).mkdir(parents=True)
        cv2.imwrite(str(cast / name / "ref.png"), cv2.copyMakeBorder(face, 40, 40, 40, 40, cv2.BORDER_REPLICATE))
    done = run_cli("analyze", video, "--cast", cast, "--show", "Test Show", "--engine", "dlib", "--workspace",
                   tmp_path / "ws", "--progress", "jsonl", "--export", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    _check_stream(done.lines)
    assert sorted(done.last["exports"]) == sorted(str(p) for p in (tmp_path / "out").iterdir())
    summary = pd.read_csv(tmp_path / "out" / "screentime.csv")
    assert summary["person"].tolist() == ["alice", "bob"]
    assert summary["screen_time_s"].tolist() == pytest.approx([3.0, 1.5], abs=0.35)
    assert not temp_files(tmp_path / "ws")
    # Settings of the run apply to its exports too: intervals under 2 s are dropped, so bob is gone.
    done = run_cli("analyze", video, "--engine", "dlib", "--workspace", tmp_path / "ws", "--progress", "jsonl",
                   "--set", "screentime.min_interval_s=2", "--export", tmp_path / "out2")
    assert done.returncode == 0 and done.last["ran"] == ["screentime"]
    assert pd.read_csv(tmp_path / "out2" / "screentime.csv")["person"].tolist() == ["alice"]


def test_status_json_lists_every_stage(analysed) -> None:
    done = run_cli("status", "--json", "--workspace", analysed.workspace.root)
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert [item["episode"] for item in doc] == [analysed.episode.id]
    assert list(doc[0]["stages"]) == pipeline.ORDER
    assert {s["status"] for s in doc[0]["stages"].values()} == {"done"}
    text = run_cli("status", "--workspace", analysed.workspace.root)
    assert text.returncode == 0 and analysed.episode.id in text.stdout and "screentime" in text.stdout


def test_no_traceback_or_stray_output_on_stdout(tmp_path: Path) -> None:
    """Even a file OpenCV complains about on stderr leaves stdout pure JSON lines."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 5000)
    done = run_cli("import", bad, "--workspace", tmp_path / "ws", "--progress", "jsonl")
    assert done.returncode == 3
    _check_stream(parse_jsonl(done.stdout))
    assert "Traceback" not in done.stderr


# -- real read-only and full file systems (a private mount namespace; needs CAP_SYS_ADMIN, as root in CI) --
def _can_mount() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
                           capture_output=True, timeout=20)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="cannot make a private mount namespace here")


def _in_namespace(script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "-m", "sh", "-euc", script], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT, env=child_env())


def _sh(*args: str | Path) -> str:
    import shlex

    return " ".join(shlex.quote(str(a)) for a in args)


@needs_mount
def test_read_only_workspace_is_err_workspace_unwritable(analysed, tmp_path: Path) -> None:
    ws = analysed.workspace.root
    out = tmp_path / "out.jsonl"
    cli = _sh(*cli_command("run-stage", analysed.episode.id, "screentime", "--workspace", ws, "--progress", "jsonl"))
    done = _in_namespace(f"mount --bind {_sh(ws)} {_sh(ws)}; mount -o remount,ro,bind {_sh(ws)}; "
                         f"set +e; {cli} > {_sh(out)}; echo $?")
    assert done.stdout.strip() == "5", done.stderr[-3000:]
    lines = parse_jsonl(out.read_text())
    _check_stream(lines)
    assert lines[-1]["code"] == "ERR_WORKSPACE_UNWRITABLE" and "Read-only" in lines[-1]["detail"]
    assert {v.status for v in pipeline.stage_views(analysed.workspace, analysed.episode, load_cfg())} == {"done"}


@needs_mount
def test_full_disk_is_err_disk_full_and_leaves_no_temp_file(analysed, tmp_path: Path) -> None:
    art = analysed.episode.artifacts_dir
    copy, out, listing = tmp_path / "art-copy", tmp_path / "out.jsonl", tmp_path / "listing.txt"
    before = (art / "screentime.csv").read_bytes()
    cli = _sh(*cli_command("run-stage", analysed.episode.id, "screentime", "--workspace", analysed.workspace.root,
                           "--progress", "jsonl"))
    done = _in_namespace(
        f"cp -a {_sh(art)} {_sh(copy)}; mount -t tmpfs -o size=4m tmpfs {_sh(art)}; cp -a {_sh(copy)}/. {_sh(art)}/; "
        f"dd if=/dev/zero of={_sh(art)}/.filler bs=4k 2>/dev/null || true; "
        f"set +e; {cli} > {_sh(out)}; rc=$?; ls -a {_sh(art)} > {_sh(listing)}; "
        f"cmp -s {_sh(art)}/screentime.csv {_sh(copy)}/screentime.csv && echo intact >> {_sh(listing)}; echo $rc")
    assert done.stdout.strip() == "5", done.stderr[-3000:]
    lines = parse_jsonl(out.read_text())
    _check_stream(lines)
    assert lines[-1]["code"] == "ERR_DISK_FULL" and "No space left" in lines[-1]["detail"]
    names = listing.read_text().split()
    assert "intact" in names, "the previous result survived the failed write"
    assert not [n for n in names if n.endswith(".tmp")], names
    # The tmpfs went with its namespace; the real folder is as it was.
    assert (art / "screentime.csv").read_bytes() == before
