"""`screenalyzer batch`: a season of episodes on Ray, one task per episode.

Each task runs the same `pipeline.run` as a local run (see batch_worker.py) against a workspace folder
every node reaches. Without ``--ray-address`` a local Ray instance is started; with one, the driver joins
that cluster (it must run on one of its nodes). Ray is an optional extra, imported only when a batch runs.

Events (``--progress jsonl``): the tasks' own pipeline events tagged with ``video`` and ``episode``;
``{"type": "stage", "stage": "episode", "status": queued|running|done|skipped|failed, ...}`` per episode;
``{"type": "progress", "stage": "batch", ...}`` overall; one ``result`` (stage "batch") with the table;
then, when an episode failed, one ``error`` with the most severe failure's code (see EXIT_SEVERITY).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import CATALOGUE, ScreenalyzerError

EPISODE, BATCH = "episode", "batch"  # stage names of per-episode lifecycle events and of the whole batch
QUEUED, RUNNING, DONE, SKIPPED, FAILED = "queued", "running", "done", "skipped", "failed"
ENDED = (DONE, SKIPPED, FAILED)
# A batch exits with the exit code of its most severe failure, most severe first: cancelled, internal
# (incl. a worker lost twice), workspace/disk, models, settings, busy, prerequisite, missing results, video.
EXIT_SEVERITY = (130, 1, 5, 4, 2, 6, 7, 8, 3)
SUMMARY_NAME = "batch_summary"


@dataclass
class EpisodeJob:
    """What the driver knows of one episode of the batch."""

    video: str
    episode: str | None = None
    status: str = QUEUED
    stage: str = ""
    fraction: float = 0.0
    attempts: int = 0
    node: str = ""
    error: dict[str, Any] | None = None
    people: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def name(self) -> str:
        return self.episode or Path(self.video).name

    @property
    def code(self) -> str:
        return (self.error or {}).get("code", "")


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ScreenalyzerError("ERR_USAGE", detail=str(exc), message="The batch command needs Ray, which is "
                                "not installed.", hint="pip install 'screenalyzer-desktop[cluster]'") from exc
    return ray


def cmd_batch(args: argparse.Namespace, report: Any, cancel: threading.Event) -> int:
    from screenalyzer_desktop.batch_display import BatchDisplay
    from screenalyzer_desktop.cast_bank import cast_photos
    from screenalyzer_desktop.cli import _config
    from screenalyzer_desktop.core.video import videos_in
    from screenalyzer_desktop.core.workspace import Workspace

    config = _config(args)
    for option, value in (("--max-parallel", args.max_parallel), ("--gpus-per-task", args.gpus_per_task)):
        if value is not None and value <= 0:
            raise ScreenalyzerError("ERR_USAGE", detail=f"{option} must be more than 0, not {value}")
    videos = [str(path.resolve()) for path in videos_in(args.paths)]
    if not videos:
        raise ScreenalyzerError("ERR_USAGE", detail=f"no video files in {', '.join(map(str, args.paths))}")
    if args.cast is not None:
        cast_photos(args.cast)  # a bad cast folder is one error up front, not one per episode
    workspace = Workspace(args.workspace)
    workspace.ensure_writable()
    jobs = {video: EpisodeJob(video) for video in videos}
    if args.ray_address:
        probe_head(args.ray_address, config.get("batch.connect_timeout_s"))
    ray = import_ray()
    with stdout_for_json_only(report.mode == "jsonl") as json_out:
        display = BatchDisplay(report.mode, jobs, json_out)
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        connect(ray, args.ray_address, args.max_parallel)
        for signum, handler in handlers.items():  # Ray's core installs its own: a stop must cancel the batch
            signal.signal(signum, handler)
        try:
            run_jobs(ray, jobs, display, cancel, workspace_root=str(workspace.root.resolve()), config=config,
                     cast=str(args.cast.resolve()) if args.cast else None, show=args.show,
                     gpus_per_task=args.gpus_per_task, max_parallel=args.max_parallel)
        finally:
            ray.shutdown()
        written = write_summary(list(jobs.values()), args.out or workspace.root)
        display.finish(written)
    failed = [job for job in jobs.values() if job.status == FAILED]
    if failed:
        raise batch_error(failed, len(jobs))
    return 0


@contextlib.contextmanager
def stdout_for_json_only(active: bool) -> Iterator[TextIO]:
    """While Ray runs, its notices to stdout (e.g. "(raylet) Task ... will be retried", printed by its
    threads) go to stderr; the JSON lines go to the real stdout through the stream yielded here."""
    try:
        stdout_fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (stdout captured in-process): nothing below it to redirect
        active = False
    if not active:
        yield sys.stdout
        return
    sys.stdout.flush()
    json_fd = os.dup(stdout_fd)
    os.dup2(sys.stderr.fileno(), stdout_fd)
    try:
        with os.fdopen(os.dup(json_fd), "w", encoding="utf-8", errors="replace") as stream:
            yield stream
    finally:
        os.dup2(json_fd, stdout_fd)
        os.close(json_fd)


def probe_head(address: str, timeout_s: float) -> None:
    """Ray retries an unreachable head for many minutes: say at once that nothing answers there."""
    import socket

    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as exc:
        raise ScreenalyzerError("ERR_USAGE", detail=f"--ray-address {address}: {exc}",
                                message="No Ray cluster answers at that address.",
                                hint="Start the head with `ray start --head --port=PORT` and give HOST:PORT, "
                                     "or leave --ray-address out for a local run.") from exc


def connect(ray: Any, address: str | None, max_parallel: int | None) -> None:
    """Join the cluster at ``address``, or start a local Ray instance with a CPU per parallel episode."""
    import logging

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline machines: no usage report, no prompt
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=max_parallel or os.cpu_count(), include_dashboard=False, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ScreenalyzerError("ERR_USAGE", detail=f"Ray at {address or 'local'}: {exc}",
                                message="Could not start or join the Ray cluster.",
                                hint="Check --ray-address (host:port of `ray start --head`) and that this "
                                     "machine is one of the cluster's nodes.") from exc


def run_jobs(ray: Any, jobs: dict[str, EpisodeJob], display: Any, cancel: threading.Event, *,
             workspace_root: str, config: Config, cast: str | None, show: str | None,
             gpus_per_task: float | None, max_parallel: int | None) -> None:
    """Submit one task per episode (at most ``max_parallel`` in flight) and follow them to the end."""
    from ray.util.queue import Queue
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from screenalyzer_desktop.batch_worker import analyze_episode

    # The event queue lives on the driver's node, so losing a worker node never loses the progress channel.
    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
    queue = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})
    task = ray.remote(analyze_episode).options(
        num_cpus=config.get("batch.cpus_per_task"), num_gpus=gpus_per_task or 0,
        max_retries=config.get("batch.retries"), retry_exceptions=False)
    todo, pending = list(jobs), {}
    wait_s = config.get("batch.driver_wait_s")
    while todo or pending:
        if cancel.is_set():
            for ref in pending:
                ray.cancel(ref, force=True)
            for video in [*todo, *pending.values()]:
                display.ended(jobs[video], {"status": FAILED, "error": ScreenalyzerError(
                    "ERR_CANCELLED", detail="the batch was cancelled").to_dict()})
            break
        while todo and len(pending) < (max_parallel or len(jobs)):
            video = todo.pop(0)
            pending[task.remote(video, workspace_root, config, cast, show, queue)] = video
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=wait_s)
        display.events(_drain(queue))  # a task's events are all in the queue before its result is ready
        for ref in ready:
            video = pending.pop(ref)
            display.ended(jobs[video], _outcome(ray, ref))
    display.events(_drain(queue))


def _drain(queue: Any) -> list[dict[str, Any]]:
    size = queue.qsize()
    return queue.get_nowait_batch(size) if size else []


def _outcome(ray: Any, ref: Any) -> dict[str, Any]:
    """The task's answer; a task Ray gave up on (its worker or node died on every attempt) as an error."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        error = ScreenalyzerError("ERR_INTERNAL", detail=f"{type(exc).__name__}: {exc}",
                                  message="The worker analysing this episode was lost on every attempt.",
                                  hint="Check the cluster's nodes (`ray status`), then run the batch again: "
                                       "finished stages are kept.")
        return {"status": FAILED, "error": error.to_dict()}


def batch_error(failed: list[EpisodeJob], total: int) -> ScreenalyzerError:
    """The most severe failure of the batch, its detail naming every failed episode."""
    def severity(job: EpisodeJob) -> int:
        code = CATALOGUE[job.code].exit_code if job.code in CATALOGUE else 1
        return EXIT_SEVERITY.index(code) if code in EXIT_SEVERITY else 0

    worst = min(failed, key=severity)
    error = ScreenalyzerError.from_dict(worst.error or ScreenalyzerError("ERR_INTERNAL").to_dict())
    listing = "; ".join(f"{job.name}: {job.code}" for job in failed)
    error.detail = f"{len(failed)} of {total} episodes failed ({listing}). {worst.name}: {error.detail}"
    error.extra = {**error.extra, "failed": [job.name for job in failed]}
    return error


def summary_table(jobs: list[EpisodeJob]) -> Any:
    """Episodes × people, seconds on screen (0 for a person not in that episode), finished episodes only."""
    import pandas as pd

    rows = {job.name: job.people for job in jobs if job.status in (DONE, SKIPPED)}
    table = pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)
    table = table.reindex(sorted(table.columns), axis=1)
    table.index.name = "episode"
    return table


def status_table(jobs: list[EpisodeJob]) -> Any:
    import pandas as pd

    return pd.DataFrame([{"episode": job.name, "status": job.status, "code": job.code, "attempts": job.attempts,
                          "elapsed_s": job.elapsed_s, "video": job.video} for job in jobs])


def write_summary(jobs: list[EpisodeJob], out: Path) -> list[Path]:
    """batch_summary.csv (episodes × people) and batch_summary.xlsx (that and the episodes' status)."""
    import io

    import pandas as pd

    from screenalyzer_desktop.core.atomic import atomic_write_bytes, atomic_write_text
    from screenalyzer_desktop.exports import _tidy_sheet

    people, statuses = summary_table(jobs), status_table(jobs)
    csv_path, xlsx_path = Path(out) / f"{SUMMARY_NAME}.csv", Path(out) / f"{SUMMARY_NAME}.xlsx"
    atomic_write_text(csv_path, people.to_csv(float_format="%.3f"))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as book:
        for name, frame, index in (("Screen time", people, True), ("Episodes", statuses, False)):
            frame.to_excel(book, sheet_name=name, index=index)
            _tidy_sheet(book.sheets[name], frame, index)
    atomic_write_bytes(xlsx_path, buffer.getvalue())
    return [csv_path, xlsx_path]


def job_dict(job: EpisodeJob) -> dict[str, Any]:
    return {**asdict(job), "name": job.name, "code": job.code}


def print_tables(jobs: list[EpisodeJob], written: list[Path]) -> None:
    statuses, people = status_table(jobs), summary_table(jobs)
    print(statuses.drop(columns=["video"]).to_string(index=False))
    if not people.empty:
        print()
        print(people.to_string(float_format=lambda v: f"{v:.2f}"))
    for path in written:
        print(path)
    sys.stdout.flush()
