"""Run state and the run lock, with real child processes: cancel, busy, killed runs read as interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import (
    SIGKILL,
    CliProcess,
    load_cfg,
    run_cli,
    run_pipeline,
    temp_files,
    two_people,
    write_video,
)

from screenalyzer_desktop import pipeline
from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.atomic import atomic_write_json
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.records import record_path
from screenalyzer_desktop.core.workspace import Workspace

# Detection at 10 samples/s on 30 s of video: several seconds of work, time enough to act mid-stage.
SLOW_DETECT = ("--set", "detect.sample_fps=10", "--engine", "dlib")


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("long") / "long episode.mp4", seconds=30.0, fps=10.0,
                       who=two_people)


@pytest.fixture
def imported(long_video: Path, tmp_path: Path) -> tuple[Workspace, str]:
    workspace, episode, _, _ = run_pipeline(tmp_path / "ws", long_video, target="ingest")
    return workspace, episode.id


def _started_detecting(event: dict) -> bool:
    return event["type"] == "progress" and event["stage"] == "detect_embed" and event["fraction"] > 0


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- unit level --------------------------------------------------------------------------------------
def test_run_lock_is_exclusive_and_released(analysed) -> None:
    episode = analysed.episode
    with run_state.RunLock(episode):
        assert run_state.run_active(episode)
        with pytest.raises(ScreenalyzerError) as info, run_state.RunLock(episode):
            pass
        assert info.value.code == "ERR_EPISODE_BUSY"
    assert not run_state.run_active(episode)
    with run_state.RunLock(episode):
        pass


_PROBE_LOOP = """
import sys, time
from pathlib import Path
from screenalyzer_desktop.core import state
from screenalyzer_desktop.core.workspace import Episode
episode = Episode(Path(sys.argv[1]))
print("probing", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    state.run_active(episode)
"""


def _busy_while_probed(episode, wait_s: float, tries: int, stop_at: int | None = None) -> int:
    """How many of ``tries`` lock attempts (up to ``stop_at``) are refused while another process probes the
    lock in a loop."""
    probe = subprocess.Popen([sys.executable, "-c", _PROBE_LOOP, str(episode.dir), "30"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout.readline().strip() == "probing"
        busy = 0
        for _ in range(tries):
            try:
                with run_state.RunLock(episode, wait_s):
                    pass
            except ScreenalyzerError as error:
                assert error.code == "ERR_EPISODE_BUSY"
                busy += 1
                if busy == stop_at:
                    break
        return busy
    finally:
        probe.kill()
        probe.wait()


def test_the_windows_probe_of_the_lock_never_refuses_a_run(analysed) -> None:
    """The window asks ``run_active`` on every reload, taking the lock for an instant. A run starting in that
    instant waited for nothing and answered ERR_EPISODE_BUSY; it now waits ``pipeline.lock_wait_s``."""
    episode = analysed.episode
    assert _busy_while_probed(episode, 0.0, tries=5000, stop_at=1) == 1  # the race is real
    assert _busy_while_probed(episode, load_cfg().get("pipeline.lock_wait_s"), tries=300) == 0


def test_running_entry_without_a_live_run_reads_interrupted(analysed) -> None:
    episode = analysed.episode
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    atomic_write_json(episode.state_dir / run_state.STATE_FILE, {
        "schema_version": 1, "pid": int(dead.stdout), "host": "h", "updated_at": 0,
        "stages": {"track": {"status": "running", "progress": 0.4, "message": "Linking"}}})
    assert run_state.read_state(episode)["stages"]["track"]["status"] == "interrupted"
    views = {v.stage: v for v in pipeline.stage_views(analysed.workspace, episode, load_cfg())}
    assert views["track"].status == "done", "a complete record outranks an interrupted re-run"


def test_damaged_state_file_reads_as_empty(analysed) -> None:
    path = analysed.episode.state_dir / run_state.STATE_FILE
    for garbage in (b"", b"{not json", b"[1, 2]", b'{"stages": 3}', b"\xff\xfe"):
        path.write_bytes(garbage)
        assert run_state.read_state(analysed.episode)["stages"] == {}
    assert {v.status for v in pipeline.stage_views(analysed.workspace, analysed.episode, load_cfg())} == {"done"}


# -- real processes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "parallel-workers"])
def test_sigterm_mid_detect_cancels_cleanly(imported: tuple[Workspace, str], cli_procs: list[CliProcess],
                                            workers: int) -> None:
    workspace, episode_id = imported
    extra = ("--set", f"detect.workers={workers}", "--set", "detect.min_segment_s=5")
    proc = CliProcess("run-stage", episode_id, "detect_embed", "--workspace", workspace.root, "--progress", "jsonl",
                      *SLOW_DETECT, *extra)
    cli_procs.append(proc)
    proc.wait_for(_started_detecting)
    workers_seen = _children_of(proc.proc.pid)
    if workers > 1:
        deadline = time.monotonic() + 10
        while len(workers_seen) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
            workers_seen = sorted(set(workers_seen) | set(_children_of(proc.proc.pid)))
        assert len(workers_seen) >= workers, "the parallel path did not start its workers"
    proc.signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr[-3000:]
    last = proc.lines[-1]
    assert last["type"] == "error" and last["code"] == "ERR_CANCELLED"
    assert {"message", "detail", "hint"} <= set(last)
    assert any(e["type"] == "stage" and e["stage"] == "detect_embed" and e["status"] == "cancelled"
               for e in proc.lines)
    episode = workspace.episode(episode_id)
    assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == "cancelled"
    assert run_state.read_state(episode)["stages"]["detect_embed"]["error"]["code"] == "ERR_CANCELLED"
    assert not record_path(episode, "detect_embed").exists()
    assert not temp_files(workspace.root)
    assert not any(episode.artifacts_dir.glob("*.parquet")), "nothing half-done left behind"
    assert not run_state.run_active(episode)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers_seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers_seen), "worker processes outlived a cancelled run"
    views = {v.stage: v.status for v in pipeline.stage_views(workspace, episode, load_cfg())}
    assert views["ingest"] == "done" and views["detect_embed"] == "cancelled"


def test_second_run_is_busy_and_a_killed_run_is_recovered(imported: tuple[Workspace, str],
                                                          cli_procs: list[CliProcess]) -> None:
    workspace, episode_id = imported
    first = CliProcess("run-stage", episode_id, "detect_embed", "--workspace", workspace.root, "--progress", "jsonl",
                       *SLOW_DETECT)
    cli_procs.append(first)
    first.wait_for(_started_detecting)

    second = run_cli("run-stage", episode_id, "track", "--workspace", workspace.root, "--progress", "jsonl")
    assert second.returncode == 6, second.stderr
    busy = second.last
    assert busy["type"] == "error" and busy["code"] == "ERR_EPISODE_BUSY"
    assert busy["extra"]["pid"] == first.proc.pid and str(first.proc.pid) in busy["detail"]
    assert first.proc.poll() is None, "the busy refusal must not disturb the running one"
    status = json.loads(run_cli("status", episode_id, "--workspace", workspace.root, "--json").stdout)
    assert status[0]["stages"]["detect_embed"]["status"] == "running"

    first.signal(SIGKILL)
    first.wait(timeout=30)
    episode = workspace.episode(episode_id)
    assert run_state.read_state(episode)["stages"]["detect_embed"]["status"] == "interrupted"
    status = json.loads(run_cli("status", episode_id, "--workspace", workspace.root, "--json").stdout)
    assert status[0]["stages"]["detect_embed"]["status"] == "interrupted"
    assert not record_path(episode, "detect_embed").exists()
    assert all(p.name.startswith(".") for p in temp_files(workspace.root)), "only dot-temp names may be left"

    # The lock died with its process: the next run takes it; its state file no longer says "running".
    again = run_cli("run-stage", episode_id, "ingest", "--workspace", workspace.root, "--progress", "jsonl")
    assert again.returncode == 0 and again.last["type"] == "result"
    stored = json.loads((episode.state_dir / run_state.STATE_FILE).read_text())
    assert stored["stages"]["detect_embed"]["status"] == "interrupted"
    assert stored["stages"]["ingest"]["status"] == "done"


def test_killed_runs_state_is_rewritten_by_the_next_lock_holder(analysed) -> None:
    """In-process view of the same rule: the lock holder turns a dead run's "running" into "interrupted"."""
    episode = analysed.episode
    atomic_write_json(episode.state_dir / run_state.STATE_FILE, {
        "schema_version": 1, "pid": os.getpid() + 1_000_000, "host": "h", "updated_at": 0,
        "stages": {"cluster": {"status": "running", "progress": 0.5}}})
    with run_state.RunLock(episode):
        writer = run_state.StateWriter(episode, 0.0)
        writer.start("screentime")
        stored = json.loads((episode.state_dir / run_state.STATE_FILE).read_text())
        assert stored["stages"]["cluster"]["status"] == "interrupted"
        assert stored["stages"]["screentime"]["status"] == "running" and stored["pid"] == os.getpid()
        assert run_state.read_state(episode)["stages"]["screentime"]["status"] == "running"


def test_state_progress_writes_are_throttled(analysed) -> None:
    episode = analysed.episode
    path = episode.state_dir / run_state.STATE_FILE
    with run_state.RunLock(episode):
        writer = run_state.StateWriter(episode, 60.0)
        writer.start("track")
        before = path.stat().st_mtime_ns
        for i in range(50):
            writer.update("track", progress=i / 50)
        assert path.stat().st_mtime_ns == before, "progress within the interval is not written"
        writer.finish("track", run_state.DONE)
        assert json.loads(path.read_text())["stages"]["track"]["status"] == "done"
