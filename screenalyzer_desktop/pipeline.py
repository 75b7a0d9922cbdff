"""The stage graph: prerequisites, auto-run, staleness by config hash and input digests.

Every run holds the episode's run lock, reports through one ``emit(event)`` callback (the CLI
prints the events as JSON lines for the desktop app) and records state and completion atomically.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from screenalyzer_desktop.core import faults
from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.atomic import remove_temp_files
from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error, prereq_failed
from screenalyzer_desktop.core.records import CompletionRecord, clear_record, read_record, write_record
from screenalyzer_desktop.core.workspace import Episode, Workspace
from screenalyzer_desktop.engines import FaceEngine, load_engine, resolve_engine_name
from screenalyzer_desktop.stages import cluster, detect_embed, ingest, screentime, track

STAGES: dict[str, ModuleType] = {m.NAME: m for m in (ingest, detect_embed, track, cluster, screentime)}
ORDER: list[str] = list(STAGES)
Emit = Callable[[dict[str, Any]], None]
log = logging.getLogger("screenalyzer")


@dataclass
class StageOutput:
    """What a stage hands back: the artifacts it wrote and counters for the record and the UI."""

    artifacts: list[Path]
    summary: dict[str, Any] = field(default_factory=dict)


class Progress:
    """``progress(frac, message, **counters)`` for one stage, scaled onto the whole run's bar."""

    def __init__(self, stage: str, emit: Emit, writer: run_state.StateWriter, start: float, span: float):
        self._stage, self._emit, self._writer = stage, emit, writer
        self._start, self._span = start, span
        self._t0 = time.monotonic()

    def __call__(self, fraction: float, message: str = "", **counters: Any) -> None:
        faults.point("progress")
        fraction = min(1.0, max(0.0, float(fraction)))
        elapsed = time.monotonic() - self._t0
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        event = {"type": "progress", "stage": self._stage, "fraction": round(fraction, 4),
                 "overall": round(self._start + self._span * fraction, 4), "message": message,
                 "counters": counters, "elapsed_s": round(elapsed, 2),
                 "eta_s": None if eta is None else round(eta, 1)}
        self._emit(event)
        self._writer.update(self._stage, progress=event["fraction"], message=message, counters=counters,
                            eta_s=event["eta_s"])


@dataclass
class StageContext:
    workspace: Workspace
    episode: Episode
    config: Config
    engine_name: str
    records: dict[str, CompletionRecord] = field(default_factory=dict)
    accept_changed_source: bool = False

    @cached_property
    def engine(self) -> FaceEngine:
        return load_engine(self.engine_name, self.config, self.workspace.models_dir)


@dataclass(frozen=True)
class StageView:
    """What a reader (CLI status, the window) shows for one stage: its status from the completion
    records and the run state, and the live figures of the run that last touched it."""

    stage: str
    status: str  # done | stale | not_run | running | failed | cancelled | interrupted
    reason: str = ""
    progress: float = 0.0
    message: str = ""
    error: dict[str, Any] | None = None  # only while the stage stands failed or cancelled
    record: CompletionRecord | None = None
    counters: dict[str, Any] = field(default_factory=dict)
    eta_s: float | None = None
    elapsed_s: float | None = None
    last_activity: float | None = None  # newest start, end or completion time seen for it


def engine_for(ctx_config: Config, workspace: Workspace, episode: Episode) -> str:
    """The engine of the episode's existing detections if any, else the configured choice."""
    record = read_record(episode, "detect_embed")
    if record is not None and ctx_config.get("engine") == "auto":
        return record.engine.get("name", "dlib")
    return resolve_engine_name(ctx_config, workspace.models_dir)


def _expected_inputs(ctx: StageContext, stage: str) -> dict[str, str] | None:
    """The input digests a fresh run of ``stage`` would record, or None if an upstream is not done."""
    module = STAGES[stage]
    inputs: dict[str, str] = {}
    for dep in module.REQUIRES:
        record = read_record(ctx.episode, dep)
        if record is None:
            return None
        inputs[dep] = record.digest
    inputs.update(module.external_inputs(ctx))
    return inputs


def _config_hash(ctx: StageContext, stage: str) -> str:
    return ctx.config.hash_of(*STAGES[stage].config_keys(ctx.engine_name))


def freshness(ctx: StageContext, stage: str) -> tuple[str, str]:
    """("done" | "stale" | "not_run", why) from the completion records alone."""
    record = read_record(ctx.episode, stage)
    if record is None:
        return "not_run", "no valid completion record"
    if record.config_hash != _config_hash(ctx, stage):
        return "stale", "settings changed since it ran"
    expected = _expected_inputs(ctx, stage)
    if expected is None:
        return "stale", "a prerequisite is no longer complete"
    changed = sorted(k for k in expected if record.inputs.get(k) != expected[k])
    if changed:
        return "stale", f"inputs changed: {', '.join(changed)}"
    for dep in STAGES[stage].REQUIRES:  # results built on an out-of-date stage are out of date too
        if freshness(ctx, dep)[0] != "done":
            return "stale", f"{dep} is out of date"
    return "done", ""


def stage_views(workspace: Workspace, episode: Episode, config: Config) -> list[StageView]:
    ctx = StageContext(workspace, episode, config, engine_for(config, workspace, episode))
    stored = run_state.read_state(episode)["stages"]
    views = []
    for stage in ORDER:
        entry = stored.get(stage, {})
        status, reason = freshness(ctx, stage)
        live = entry.get("status")
        if live in (run_state.RUNNING, run_state.INTERRUPTED, run_state.FAILED, run_state.CANCELLED) and (
                status != "done" or live == run_state.RUNNING):
            status = live
        record = read_record(episode, stage)
        started, finished = entry.get("started_at"), entry.get("finished_at")
        elapsed = None
        if started and finished and finished >= started:
            elapsed = finished - started
        elif started and status == run_state.RUNNING:
            elapsed = time.time() - started
        stamps = [float(t) for t in (started, finished, record.finished_at if record else None) if t]
        views.append(StageView(
            stage, status, reason, 1.0 if status == "done" else float(entry.get("progress") or 0.0),
            entry.get("message") or "",
            entry.get("error") if status in (run_state.FAILED, run_state.CANCELLED) else None, record,
            dict(entry.get("counters") or {}), entry.get("eta_s"), elapsed, max(stamps, default=None)))
    return views


def plan(ctx: StageContext, target: str, *, rerun_target: bool) -> list[str]:
    """Stages to run, in order, to bring ``target`` up to date."""
    wanted: list[str] = []

    def visit(stage: str) -> None:
        for dep in STAGES[stage].REQUIRES:
            visit(dep)
        if stage in wanted:
            return
        upstream_runs = any(dep in wanted for dep in STAGES[stage].REQUIRES)
        if upstream_runs or freshness(ctx, stage)[0] != "done" or (stage == target and rerun_target):
            wanted.append(stage)

    visit(target)
    return wanted


class _EmitHandler(logging.Handler):
    def __init__(self, emit: Emit) -> None:
        super().__init__(logging.INFO)
        self._emit = emit

    def emit(self, record: logging.LogRecord) -> None:
        self._emit({"type": "log", "level": record.levelname, "logger": record.name,
                    "message": record.getMessage(), "ts": record.created})


def run(workspace: Workspace, episode: Episode, target: str, config: Config, emit: Emit,
        cancel: threading.Event | None = None, *, rerun_target: bool = False,
        accept_changed_source: bool = False) -> dict[str, Any]:
    """Run ``target`` and whatever it needs. Returns the result event; raises ScreenalyzerError."""
    if target not in STAGES:
        raise ScreenalyzerError("ERR_STAGE_UNKNOWN", detail=repr(target))
    cancel = cancel or threading.Event()
    workspace.ensure_writable()
    with run_state.RunLock(episode, config.get("pipeline.lock_wait_s")):
        # Holding the lock, any temp file in these folders was left by a writer that was killed.
        for folder in (episode.artifacts_dir, episode.state_dir):
            for name in remove_temp_files(folder):
                log.debug("Removed %s left by an interrupted run", name)
        writer = run_state.StateWriter(episode, config.get("pipeline.state_write_interval_s"))
        handlers = [_EmitHandler(emit), _file_handler(episode, target)]
        for handler in handlers:
            log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            ctx = StageContext(workspace, episode, config, engine_for(config, workspace, episode),
                               accept_changed_source=accept_changed_source or target == "ingest")
            stages = plan(ctx, target, rerun_target=rerun_target)
            writer.begin_run(target, stages)
            return _run_stages(ctx, stages, target, emit, writer, cancel)
        finally:
            for handler in handlers:
                log.removeHandler(handler)
                handler.close()


def _file_handler(episode: Episode, target: str) -> logging.Handler:
    episode.logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    handler = logging.FileHandler(episode.logs_dir / f"{stamp}-{target}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _run_stages(ctx: StageContext, stages: list[str], target: str, emit: Emit,
                writer: run_state.StateWriter, cancel: threading.Event) -> dict[str, Any]:
    weights = [STAGES[s].WEIGHT for s in stages]
    total = sum(weights) or 1.0
    start = 0.0
    summaries: dict[str, Any] = {}
    t0 = time.monotonic()
    if not stages:
        log.info("%s is up to date; nothing to run", target)
    for stage, weight in zip(stages, weights, strict=True):
        span = weight / total
        emit({"type": "stage", "stage": stage, "status": run_state.RUNNING, "plan": stages})
        log.info("Running %s (engine %s)", stage, ctx.engine_name)
        writer.start(stage)
        faults.enter_stage(stage)
        clear_record(ctx.episode, stage)
        faults.point("record_cleared")
        try:
            if cancel.is_set():
                raise ScreenalyzerError("ERR_CANCELLED", detail=f"cancelled before {stage}")
            output = STAGES[stage].run(ctx, Progress(stage, emit, writer, start, span), cancel.is_set)
            inputs = _expected_inputs(ctx, stage) or {}
            engine = {"name": ctx.engine_name, **(ctx.engine.describe() if STAGES[stage].USES_ENGINE else {})}
            record = write_record(ctx.episode, stage, output.artifacts, engine=engine,
                                  config_hash=_config_hash(ctx, stage), inputs=inputs,
                                  summary=output.summary)
        except Exception as exc:
            faults.leave_stage()
            error = exc if isinstance(exc, ScreenalyzerError) else internal_error(exc)
            status = run_state.CANCELLED if error.code == "ERR_CANCELLED" else run_state.FAILED
            if error.code == "ERR_INTERNAL":
                log.error("%s failed: %s", stage, error.detail)
            writer.finish(stage, status, error=error.to_dict(), message=error.message)
            emit({"type": "stage", "stage": stage, "status": status, "error": error.to_dict()})
            if stage != target and status == run_state.FAILED:
                raise prereq_failed(target, stage, error) from exc
            raise error from exc
        faults.leave_stage()
        ctx.records[stage] = record
        summaries[stage] = output.summary
        writer.finish(stage, run_state.DONE, message="Done")
        emit({"type": "stage", "stage": stage, "status": run_state.DONE, "summary": output.summary})
        start += span
    return {"type": "result", "episode": ctx.episode.id, "stage": target, "ran": stages,
            "summaries": summaries, "engine": ctx.engine_name, "elapsed_s": round(time.monotonic() - t0, 2)}
