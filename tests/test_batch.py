"""`screenalyzer batch` on a real two-node Ray cluster on loopback (a head and a worker node, each a
`ray start --block` process group): three generated episodes, one of them not a video, the worker node
killed mid-episode; then the same batch again, which skips what is done."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support import SIGKILL, CliProcess

# find_spec, not importorskip: the batch runs Ray in its own processes, this one never imports it.
if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is not installed: pip install -e '.[cluster]' (scripts/setup does)", allow_module_level=True)

from screenalyzer_desktop.batch import DONE, EPISODE, FAILED, SKIPPED, EpisodeJob, batch_error  # noqa: E402
from screenalyzer_desktop.core.errors import CATALOGUE  # noqa: E402

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).with_name("ray"))
NODE_START_S = 120
# Loopback test cluster: no usage report, and no token (token mode would read and write ~/.ray/auth_token).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group_pids(pgid: int) -> list[int]:
    """Processes still alive in a process group (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == pgid and stat[0] != "Z":
                pids.append(int(entry.name))
    return pids


@dataclass
class Cluster:
    address: str
    head: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    worker_node: str  # Ray's id of the worker node


def _node(*args: str, temp_dir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **RAY_ENV}
    return subprocess.Popen([RAY, "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                             "--object-store-memory=100000000", "--disable-usage-stats", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(Path(temp_dir) / "node.log", "ab"),  # noqa: SIM115
                            start_new_session=True)


_WAIT_FOR_NODES = """
import sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
deadline = time.monotonic() + float(sys.argv[3])
while sum(n["Alive"] for n in ray.nodes()) < int(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.5)
print(" ".join(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" not in n["Resources"]))
sys.exit(sum(n["Alive"] for n in ray.nodes()) < int(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head node and a worker node, one CPU each, on 127.0.0.1; both process groups gone at the end."""
    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)  # the batch drivers (children of this process) join without a token too
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _node("--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}",
                 temp_dir=temp_dir)
    worker = None
    try:
        worker = _node(f"--address={address}", temp_dir=temp_dir)
        waited = subprocess.run([sys.executable, "-c", _WAIT_FOR_NODES, address, "2", str(NODE_START_S)],
                                env={**os.environ, **RAY_ENV}, capture_output=True, text=True,
                                timeout=NODE_START_S + 60)
        assert waited.returncode == 0, f"the two Ray nodes did not come up: {waited.stderr[-2000:]}"
        yield Cluster(address, head, worker, waited.stdout.split()[-1])
    finally:
        for proc in (worker, head):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=60)
        for proc in (worker, head):
            if proc is not None:
                for pid in _group_pids(proc.pid):
                    os.kill(pid, SIGKILL)
                proc.wait(timeout=30)
        left = [pid for proc in (worker, head) if proc is not None for pid in _group_pids(proc.pid)]
        shutil.rmtree(temp_dir, ignore_errors=True)
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        assert not left, f"Ray processes left running: {left}"


@dataclass
class Season:
    folder: Path
    cast: Path
    truth: dict[str, dict[str, float]]  # episode id -> person -> seconds
    bad: str


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Season:
    """Two short episodes with real faces and one file that is not a video, in one folder."""
    from screenalyzer_desktop.sample_episode import make_sample_episode

    root = tmp_path_factory.mktemp("season")
    folder = root / "season"
    folder.mkdir()
    truth = {}
    for name, seconds, seed in (("s01e01", 7, 3), ("s01e02", 8, 4)):
        sample = make_sample_episode(root / name, seconds=seconds, seed=seed)
        shutil.copy(sample.video, folder / f"{name}.mp4")
        truth[name] = sample.people
    (folder / "s01e03.mp4").write_text("this is not a video\n")
    return Season(folder, root / "s01e01" / "cast", truth, "s01e03.mp4")


def _batch(cluster: Cluster, season: Season, workspace: Path, *extra: str) -> CliProcess:
    return CliProcess("batch", season.folder, "--workspace", workspace, "--cast", season.cast, "--show", "demo",
                      "--ray-address", cluster.address, "--max-parallel", "2", "--progress", "jsonl", *extra)


@dataclass
class Run:
    code: int
    lines: list[dict[str, Any]]
    killed: str | None = None

    @property
    def result(self) -> dict[str, Any]:
        (result,) = [e for e in self.lines if e["type"] == "result"]
        return result

    @property
    def episodes(self) -> dict[str, dict[str, Any]]:
        return {row["name"]: row for row in self.result["episodes"]}


@pytest.fixture(scope="module")
def killed_run(cluster: Cluster, season: Season, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """The season on the cluster; the worker node is SIGKILLed while it detects faces in an episode."""
    workspace = tmp_path_factory.mktemp("ws")
    proc = _batch(cluster, season, workspace)
    try:
        started = proc.wait_for(lambda e: e["type"] == "stage" and e["stage"] == EPISODE and "pid" in e
                                and e["node"] == cluster.worker_node, timeout=300)
        proc.wait_for(lambda e: e["type"] == "progress" and e["stage"] == "detect_embed"
                      and e.get("video") == started["video"], timeout=300)
        os.killpg(cluster.worker.pid, SIGKILL)  # the whole worker node: raylet, its workers, the `ray start`
        code = proc.wait(timeout=600)
    finally:
        proc.kill()
    return Run(code, proc.lines, killed=Path(started["video"]).stem), workspace


def test_good_episodes_complete_with_their_screen_time_and_the_bad_one_has_its_code(
        killed_run: tuple[Run, Path], season: Season) -> None:
    run, workspace = killed_run
    rows = run.episodes
    assert {name: row["status"] for name, row in rows.items()} == {"s01e01": DONE, "s01e02": DONE,
                                                                   season.bad: FAILED}
    assert rows[season.bad]["code"] == "ERR_VIDEO_UNREADABLE"
    assert run.code == CATALOGUE["ERR_VIDEO_UNREADABLE"].exit_code
    assert run.lines[-1]["type"] == "error" and run.lines[-1]["code"] == "ERR_VIDEO_UNREADABLE"
    table = pd.read_csv(workspace / "batch_summary.csv", index_col="episode")
    assert sorted(table.index) == ["s01e01", "s01e02"]
    for episode, people in season.truth.items():
        for person, seconds in people.items():
            found = table.loc[episode].get(person, 0.0)
            assert abs(found - seconds) <= 0.1 * seconds + 0.05, (episode, person, found, seconds)
        assert rows[episode]["people"] == pytest.approx(table.loc[episode][table.loc[episode] > 0].to_dict())
    sheets = pd.read_excel(workspace / "batch_summary.xlsx", sheet_name=None, index_col=0)
    assert set(sheets) == {"Screen time", "Episodes"}
    assert sheets["Screen time"].round(3).equals(table.round(3))


def test_the_killed_nodes_episode_is_retried_once_and_resumes(killed_run: tuple[Run, Path]) -> None:
    run, workspace = killed_run
    assert run.episodes[run.killed]["attempts"] == 2
    nodes = [e["node"] for e in run.lines if e["type"] == "stage" and e["stage"] == EPISODE and "pid" in e
             and Path(e["video"]).stem == run.killed]
    assert len(nodes) == 2 and nodes[0] != nodes[1], "the retry ran on the surviving node"
    state = json.loads((workspace / "episodes" / run.killed / "state" / "pipeline_state.json").read_text())
    assert all(stage["status"] == "done" for stage in state["stages"].values())
    assert not [p for p in workspace.rglob("*.tmp")], "a temp file of the killed run was left"


def test_a_rerun_skips_the_finished_episodes(killed_run: tuple[Run, Path], cluster: Cluster,
                                             season: Season) -> None:
    run, workspace = killed_run
    before = {name: (workspace / "episodes" / name / "state" / "screentime.complete.json").stat().st_mtime_ns
              for name in season.truth}
    again = _batch(cluster, season, workspace)
    try:
        code = again.wait(timeout=300)
    finally:
        again.kill()
    rerun = Run(code, again.lines)
    assert {name: row["status"] for name, row in rerun.episodes.items()} == {"s01e01": SKIPPED, "s01e02": SKIPPED,
                                                                             season.bad: FAILED}
    assert not [e for e in again.lines if e["type"] == "stage" and e["stage"] == "detect_embed"]
    assert code == CATALOGUE["ERR_VIDEO_UNREADABLE"].exit_code
    after = {name: (workspace / "episodes" / name / "state" / "screentime.complete.json").stat().st_mtime_ns
             for name in season.truth}
    assert after == before
    assert rerun.episodes["s01e01"]["people"] == run.episodes["s01e01"]["people"]


def test_the_exit_code_is_the_most_severe_failure() -> None:
    def failed(name: str, code: str) -> EpisodeJob:
        return EpisodeJob(video=f"/v/{name}.mp4", episode=name, status=FAILED, error={"code": code, "detail": name})

    jobs = [failed("a", "ERR_VIDEO_UNREADABLE"), failed("b", "ERR_MODEL_MISSING"), failed("c", "ERR_PREREQ_FAILED")]
    error = batch_error(jobs, 5)
    assert error.code == "ERR_MODEL_MISSING" and error.exit_code == 4
    assert error.extra["failed"] == ["a", "b", "c"] and "3 of 5 episodes failed" in error.detail
    assert batch_error([*jobs, failed("d", "ERR_INTERNAL")], 5).exit_code == 1


def test_usage_errors_are_reported_before_ray_starts(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from support import expect_error

    empty = tmp_path / "empty"
    empty.mkdir()
    error = expect_error(capsys, monkeypatch, "ERR_USAGE", "batch", empty, "--workspace", tmp_path / "ws")
    assert "no video files" in error["detail"]
    error = expect_error(capsys, monkeypatch, "ERR_USAGE", "batch", empty, "--max-parallel", "0")
    assert "--max-parallel" in error["detail"]
    error = expect_error(capsys, monkeypatch, "ERR_USAGE", "batch", season_free_video(tmp_path), "--workspace",
                         tmp_path / "ws", "--ray-address", f"127.0.0.1:{_free_port()}")
    assert "No Ray cluster answers" in error["message"]
    assert "ray" not in sys.modules, "Ray is imported only where a batch runs"


def season_free_video(folder: Path) -> Path:
    """A file named like a video: the address is refused before any video is opened."""
    path = folder / "e01.mp4"
    path.write_bytes(b"\0")
    return path
