"""Fault injection: every stage SIGKILLed at many reproducible points, then checked and resumed.

Each stage runs as a real `python -m screenalyzer_desktop.cli run-stage` child in a session of its
own; ``SCREENALYZER_FAULT=<stage>:<label>:<k>`` makes it SIGKILL its whole process group (detect's
pool workers too) the k-th time it reaches a point (core/faults.py). The points of each stage are
listed by one uninterrupted traced run; the ones tried are one per equal slice of that list, at a
seeded random place in the slice. After each kill: every file of the episode reads whole, nothing
counted complete differs from the uninterrupted run, the state says "interrupted", no process of the
group is left; then a resume completes and its artifacts equal the uninterrupted run's.

SCREENALYZER_FAULT_POINTS (default 20 per stage), SCREENALYZER_FAULT_SEED and, for the counts in
docs/reliability.md, SCREENALYZER_FAULT_REPORT=<file> (one JSON line per test) tune a manual run;
benchmarks/fault_injection.py runs this file with more points.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import REPO_ROOT, CliProcess, child_env, cli_command, events_sink, run_cli, two_people, write_video

from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core import faults
from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.atomic import is_temp_name
from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.records import read_record
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.core.workspace import Workspace

POINTS = int(os.environ.get("SCREENALYZER_FAULT_POINTS", "20"))
SEED = int(os.environ.get("SCREENALYZER_FAULT_SEED", "20261129"))
READS = int(os.environ.get("SCREENALYZER_READER_READS", "3000"))
REPORT = os.environ.get("SCREENALYZER_FAULT_REPORT")
# Two detect workers on one-second segments, so that kills land while the pool runs; every progress
# call writes the state file (no throttle), which makes the points of a stage the same run to run.
OVERRIDES = {"engine": "dlib", "detect.workers": 2, "detect.min_segment_s": 1.0,
             "pipeline.state_write_interval_s": 0.0}
CLI_SETTINGS = ("--engine", "dlib", *(arg for key, value in OVERRIDES.items() if key != "engine"
                                      for arg in ("--set", f"{key}={value}")))
# A point reached many times in a loop that reports on a clock (detect's pool) is tried only in the
# first part of its count and, should a faster run not reach it, again at the same share of the count
# that run traced (at most CLOCKED_TRIES runs).
CLOCKED_MIN_COUNT, CLOCKED_SHARE, CLOCKED_TRIES = 5, 0.7, 3
REL_TOL, ABS_TOL = 1e-5, 1e-6
IGNORED_JSON_KEYS = {"probed_at", "finished_at", "pid", "updated_at", "started_at"}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="kills process groups and reads /proc: Linux (CI and the build machines)")


def _report(**counts: Any) -> None:
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(counts) + "\n")


# -- reading and comparing artifacts -----------------------------------------------------------------
def read_whole(path: Path) -> Any:
    """Read one workspace file completely with the reader of its kind; raises if it is partial."""
    suffix = path.suffix
    if suffix == ".parquet":
        table = pq.read_table(path)
        assert b"screenalyzer" in (table.schema.metadata or {}), f"{path.name} lacks its schema version"
        return table
    if suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".xlsx":
        return pd.read_excel(path, sheet_name=None)
    raise AssertionError(f"no reader for {path.name}: a new kind of artifact needs one here")


def _columns(table: pa.Table) -> dict[str, np.ndarray | list]:
    out: dict[str, np.ndarray | list] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_fixed_size_list(column.type):
            out[name] = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        elif pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            out[name] = column.to_numpy(zero_copy_only=False)
        else:
            out[name] = column.to_pylist()
    return out


def _same_json(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) - IGNORED_JSON_KEYS
        assert keys == set(b) - IGNORED_JSON_KEYS, f"{where}: keys differ"
        for key in keys:
            _same_json(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_json(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=REL_TOL, abs=ABS_TOL, nan_ok=True), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_content(path: Path, reference: Path) -> None:
    """Same rows and columns; numbers within float tolerance."""
    got, want = read_whole(path), read_whole(reference)
    name = path.name
    if isinstance(got, pa.Table):
        assert got.column_names == want.column_names and got.num_rows == want.num_rows, name
        for column, (a, b) in zip(got.column_names, zip(_columns(got).values(), _columns(want).values(),
                                                         strict=True), strict=True):
            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=REL_TOL, atol=ABS_TOL, err_msg=f"{name}:{column}")
            elif isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f"{name}:{column}")
            else:
                assert a == b, f"{name}:{column}"
    elif isinstance(got, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=REL_TOL, atol=ABS_TOL, obj=name)
    elif isinstance(got, dict) and all(isinstance(v, pd.DataFrame) for v in got.values()) and got:
        assert list(got) == list(want), name
        for sheet in got:
            pd.testing.assert_frame_equal(got[sheet], want[sheet], check_exact=False, rtol=REL_TOL, atol=ABS_TOL,
                                          obj=f"{name}:{sheet}")
    else:
        _same_json(got, want, name)


def episode_files(episode_dir: Path) -> list[Path]:
    """Every file a reader may open: episode.json, artifacts/*, state/*.json (temp names excluded)."""
    files = [episode_dir / "episode.json"]
    for folder in ("artifacts", "state"):
        files += [p for p in sorted((episode_dir / folder).iterdir())
                  if p.is_file() and not is_temp_name(p.name) and p.suffix != ".lock"]
    return [p for p in files if p.exists()]


def record_artifacts(episode, stage: str) -> list[str]:
    record = read_record(episode, stage)
    assert record is not None, f"{stage} has no valid record"
    return sorted(record.data["artifacts"])


# -- processes -------------------------------------------------------------------------------------
def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Child:
    pid: int  # also its process group: it starts a session of its own
    returncode: int
    stdout: str
    stderr: str


def run_stage_child(workspace: Path, episode_id: str, stage: str, env: dict[str, str],
                    timeout: float = 300) -> Child:
    proc = subprocess.Popen(cli_command("run-stage", episode_id, stage, "--workspace", workspace, "--progress",
                                        "jsonl", *CLI_SETTINGS),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return Child(proc.pid, proc.returncode, out, err)


# -- the uninterrupted run and the points it passes ------------------------------------------------------
@dataclass
class Baseline:
    workspace: Path
    episode_id: str
    video: Path
    points: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    root = tmp_path_factory.mktemp("faults")
    video = write_video(root / "media" / "tiny episode.mp4", seconds=3.0, fps=10.0, who=two_people)
    workspace = Workspace(root / "baseline")
    episode = workspace.create_episode(video)
    trace = root / "trace.tsv"
    env = {**child_env(), faults.TRACE_ENV: str(trace)}
    for stage in pipeline.ORDER:
        done = run_stage_child(workspace.root, episode.id, stage, env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return Baseline(workspace.root, episode.id, video, read_trace(trace))


def read_trace(trace: Path) -> dict[str, list[tuple[str, int]]]:
    """Each stage's points in the order reached: (label, how many times reached so far)."""
    points: dict[str, list[tuple[str, int]]] = {stage: [] for stage in pipeline.ORDER}
    seen: Counter[tuple[str, str]] = Counter()
    for line in trace.read_text(encoding="utf-8").splitlines():
        stage, label = line.split("\t")
        seen[stage, label] += 1
        points[stage].append((label, seen[stage, label]))
    return points


def kill_at(workspace: Path, episode_id: str, stage: str, label: str, k: int, counts: Counter[str],
            trace: Path) -> tuple[Child, int]:
    """Run the stage with a kill at (label, k); a clocked point a faster run did not reach is tried again
    at the same share of the count that run traced. The killed child and the tries it took."""
    share = k / counts[label]
    for tries in range(1, CLOCKED_TRIES + 1):
        trace.unlink(missing_ok=True)
        env = {**child_env(), faults.FAULT_ENV: f"{stage}:{label}:{k}", faults.TRACE_ENV: str(trace)}
        done = run_stage_child(workspace, episode_id, stage, env)
        if done.returncode != 0 or counts[label] < CLOCKED_MIN_COUNT:
            return done, tries
        counts[label] = sum(1 for name, _ in read_trace(trace)[stage] if name == label)
        k = max(1, int(counts[label] * share))
    return done, CLOCKED_TRIES


def choose_points(points: list[tuple[str, int]], count: int, seed: int) -> list[tuple[str, int]]:
    """``count`` points spread over the run: one per equal slice of the list, at a seeded place in it."""
    totals = Counter(label for label, _ in points)
    usable = [(label, k) for label, k in points
              if totals[label] < CLOCKED_MIN_COUNT or k <= max(1, int(totals[label] * CLOCKED_SHARE))]
    if len(usable) <= count:
        return usable
    rng = random.Random(seed)
    edges = np.linspace(0, len(usable), count + 1).round().astype(int)
    return [usable[rng.randrange(a, b)] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _fresh_copy(baseline: Baseline, stage: str, dest: Path) -> Workspace:
    """The baseline workspace as it was before ``stage`` first ran: its and later stages' files removed."""
    shutil.copytree(baseline.workspace, dest)
    workspace = Workspace(dest)
    episode = workspace.episode(baseline.episode_id)
    later = pipeline.ORDER[pipeline.ORDER.index(stage):]
    for name in later:
        if name == "ingest":
            continue  # its artifact is episode.json itself: a re-probe rewrites it
        for rel in record_artifacts(episode, name):
            (episode.dir / rel).unlink()
    for name in later:
        (episode.state_dir / f"{name}.complete.json").unlink()
    (episode.state_dir / run_state.STATE_FILE).unlink()
    return workspace


@pytest.mark.parametrize("stage", pipeline.ORDER)
def test_sigkill_at_many_points_then_resume(baseline: Baseline, tmp_path: Path, stage: str) -> None:
    points = baseline.points[stage]
    chosen = choose_points(points, POINTS, SEED + pipeline.ORDER.index(stage))
    assert len(chosen) >= min(POINTS, 20), f"{stage} passes only {len(points)} fault points: {points}"
    workspace = _fresh_copy(baseline, stage, tmp_path / "ws")
    episode = workspace.episode(baseline.episode_id)
    reference = Workspace(baseline.workspace).episode(baseline.episode_id)
    config = load_config(overrides=OVERRIDES)
    files_read = temp_left = retries = 0
    started = time.monotonic()
    counts = Counter(label for label, _ in points)
    for label, k in chosen:
        where = f"{stage}:{label}:{k}"
        done, tries = kill_at(workspace.root, episode.id, stage, label, k, counts, tmp_path / "trace.tsv")
        retries += tries - 1
        assert done.returncode == -signal.SIGKILL, f"{where} not reached: rc={done.returncode} {done.stderr[-2000:]}"
        deadline = time.monotonic() + 10
        while group_members(done.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_members(done.pid), f"{where}: a process of the killed run is still alive"

        # Every file reads whole; whatever counts as complete is exactly the uninterrupted result.
        for path in episode_files(episode.dir):
            read_whole(path)
            files_read += 1
        temp_left += sum(is_temp_name(p.name) for p in episode.artifacts_dir.iterdir())
        for name in pipeline.ORDER:
            record = read_record(episode, name)
            if record is not None:
                for rel in record.data["artifacts"]:
                    assert_same_content(episode.dir / rel, reference.dir / rel)
        state = run_state.read_state(episode)
        assert state["stages"][stage]["status"] == run_state.INTERRUPTED, f"{where}: {state['stages'][stage]}"
        assert run_state.run_target(state) == stage, "a resume must know what the killed run aimed at"
        assert not run_state.run_active(episode)
        views = {v.stage: v.status for v in pipeline.stage_views(workspace, episode, config)}
        assert views[stage] in ("interrupted", "done"), f"{where}: {views}"
        assert run_state.RUNNING not in views.values(), f"{where}: {views}"

        # Resume (as `run-stage --if-needed` and the window's Resume do), then compare with the baseline.
        _, emit = events_sink()
        result = pipeline.run(workspace, episode, stage, config, emit)
        assert result["type"] == "result"
        views = {v.stage: v.status for v in pipeline.stage_views(workspace, episode, config)}
        assert views[stage] == "done", f"{where}: {views}"
        assert all(entry["status"] != run_state.RUNNING for entry in run_state.read_state(episode)["stages"].values())
        for rel in record_artifacts(episode, stage):
            assert_same_content(episode.dir / rel, reference.dir / rel)
        for folder in (episode.artifacts_dir, episode.state_dir):
            assert not [p.name for p in folder.iterdir() if is_temp_name(p.name)], "a resume clears killed temps"
    _report(test="kill_points", stage=stage, points_in_stage=len(points), kill_points=len(chosen),
            killed=len(chosen), resumed=len(chosen), clocked_retries=retries, files_read_after_kills=files_read,
            partial_files=0, temp_files_left_by_kills=temp_left, wall_s=round(time.monotonic() - started, 1))


# -- a reader in a loop while a process rewrites the artifacts -------------------------------------------
REWRITER = """
import sys
from pathlib import Path
from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.workspace import Workspace

workspace = Workspace(Path(sys.argv[1]))
episode = workspace.episode(sys.argv[2])
stop = Path(sys.argv[3])
settings = [load_config(overrides={"engine": "dlib", "screentime.min_interval_s": value}) for value in (0.3, 2.0)]
runs = 0
print("ready", flush=True)
while not stop.exists():
    config = settings[runs % 2]
    pipeline.run(workspace, episode, "track", config, lambda event: None, rerun_target=True)
    pipeline.run(workspace, episode, "screentime", config, lambda event: None, rerun_target=True)
    runs += 1
print(runs, flush=True)
"""


def test_reader_in_a_loop_never_sees_a_partial_file(analysed, tmp_path: Path) -> None:
    """The window's reload path (load_snapshot, read_table) against a process rewriting the same files."""
    from screenalyzer_desktop.gui.snapshots import load_snapshot

    episode, workspace = analysed.episode, analysed.workspace
    art = episode.artifacts_dir
    tracks_ref, _ = read_table(art / "tracks.parquet", "tracks", "ERR_TRACKS_MISSING")
    members_ref, _ = read_table(art / "track_members.parquet", "track_members", "ERR_TRACKS_MISSING")
    stop = tmp_path / "stop"
    child = subprocess.Popen([sys.executable, "-c", REWRITER, str(workspace.root), episode.id, str(stop)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                             env=child_env())
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    config = load_config(overrides={"engine": "dlib"})
    reads: Counter[str] = Counter()
    partial: list[str] = []
    versions: set[tuple[int, int]] = set()
    people_counts: Counter[int] = Counter()
    try:
        while reads["table"] < READS:
            for name, reference in (("tracks.parquet", tracks_ref), ("track_members.parquet", members_ref)):
                try:
                    versions.add((os.stat(art / name).st_ino, os.stat(art / name).st_mtime_ns))
                    frame, vectors = read_table(art / name, name.split(".")[0], "ERR_TRACKS_MISSING")
                    pd.testing.assert_frame_equal(frame, reference)
                except Exception as exc:  # any failure to read a whole, equal table is a partial file
                    partial.append(f"{name}: {type(exc).__name__}: {exc}")
                reads["table"] += 1
            try:
                people_counts[len(pd.read_csv(art / "screentime.csv"))] += 1
            except Exception as exc:
                partial.append(f"screentime.csv: {type(exc).__name__}: {exc}")
            reads["csv"] += 1
            if reads["table"] % 20 == 0:
                snapshot = load_snapshot(workspace, episode.id, config)
                assert {s.status for s in snapshot.stages} <= {"done", "stale", "not_run", "running", "interrupted"}
                reads["snapshot"] += 1
    finally:
        stop.touch()
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    rewrites = int(out.split()[-1])
    _report(test="reader_loop", table_reads=reads["table"], csv_reads=reads["csv"], snapshots=reads["snapshot"],
            rewrite_rounds=rewrites, versions_seen=len(versions), partial_files=len(partial))
    assert not partial, partial[:5]
    assert rewrites >= 2 and len(versions) >= 4, "the reader must overlap several rewrites"
    assert set(people_counts) <= {1, 2} and len(people_counts) == 2, people_counts  # old and new, both whole


# -- the window (the reader of the run's stdout) killed mid-run ------------------------------------------
WINDOW = """
import subprocess, sys, time
with open(sys.argv[1], "w") as errors:
    engine = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=errors, text=True)
for line in engine.stdout:
    if '"progress"' in line and '"detect_embed"' in line:
        print(engine.pid, flush=True)
        break
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_run_outlives_its_killed_window_and_nothing_stays_running(baseline: Baseline, tmp_path: Path) -> None:
    """The window dies (SIGKILL) while its engine process runs: the engine's stdout pipe breaks, the run
    carries on without a traceback and finishes; nothing is left "running" for the next window."""
    workspace = _fresh_copy(baseline, "detect_embed", tmp_path / "ws")
    episode = workspace.episode(baseline.episode_id)
    errors = tmp_path / "engine-stderr.txt"
    command = cli_command("run-stage", episode.id, "screentime", "--workspace", workspace.root, "--progress", "jsonl",
                          *CLI_SETTINGS)
    window = subprocess.Popen([sys.executable, "-c", WINDOW, str(errors), *command], stdout=subprocess.PIPE,
                              text=True, cwd=REPO_ROOT, env=child_env())
    assert window.stdout is not None
    engine_pid = int(window.stdout.readline())
    window.kill()
    window.wait(timeout=30)
    window.stdout.close()
    deadline = time.monotonic() + 300
    while _alive(engine_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(engine_pid), "the engine never finished"
    assert "Traceback" not in errors.read_text(), errors.read_text()[-3000:]
    config = load_config(overrides=OVERRIDES)
    views = {v.stage: v.status for v in pipeline.stage_views(workspace, episode, config)}
    assert set(views.values()) == {"done"}, views
    assert all(e["status"] == run_state.DONE for e in run_state.read_state(episode)["stages"].values())
    reference = Workspace(baseline.workspace).episode(baseline.episode_id)
    for stage in pipeline.ORDER[1:]:
        for rel in record_artifacts(episode, stage):
            assert_same_content(episode.dir / rel, reference.dir / rel)


# -- two runs of one stage at once ----------------------------------------------------------------------
def test_same_stage_twice_is_busy_then_a_dead_runs_lock_is_recovered(baseline: Baseline, tmp_path: Path) -> None:
    workspace = _fresh_copy(baseline, "detect_embed", tmp_path / "ws")
    episode = workspace.episode(baseline.episode_id)
    first = CliProcess("run-stage", episode.id, "detect_embed", "--workspace", workspace.root, "--progress",
                       "jsonl", *CLI_SETTINGS)
    try:
        first.wait_for(lambda e: e["type"] == "progress" and e["stage"] == "detect_embed", timeout=120)
        second = run_cli("run-stage", episode.id, "detect_embed", "--workspace", workspace.root, "--progress",
                         "jsonl", *CLI_SETTINGS)
        assert second.returncode == 6 and second.last["code"] == "ERR_EPISODE_BUSY", second.stdout[-2000:]
        assert second.last["extra"]["pid"] == first.proc.pid
        assert first.proc.poll() is None, "the refused run must not disturb the running one"
        assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == run_state.RUNNING
    finally:
        first.kill()
    assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == run_state.INTERRUPTED
    again = run_cli("run-stage", episode.id, "detect_embed", "--if-needed", "--workspace", workspace.root,
                    "--progress", "jsonl", *CLI_SETTINGS)
    assert again.returncode == 0 and again.last["ran"] == ["detect_embed"], again.stdout[-2000:]
    assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == run_state.DONE
