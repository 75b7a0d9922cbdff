"""Stage 5, screen time: per person (as the editor's labels say), the union of their tracks' intervals,
and the exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from screenalyzer_desktop import screentime_calc
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.exports import write_exports
from screenalyzer_desktop.labels import labels_digest, load_labels

if TYPE_CHECKING:
    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "screentime"
REQUIRES = ("cluster",)
WEIGHT = 0.04
USES_ENGINE = False


def config_keys(engine: str) -> tuple[str, ...]:
    return ("screentime",)


def external_inputs(ctx: StageContext) -> dict[str, str]:
    digest = labels_digest(ctx.episode)
    return {"labels": digest} if digest else {}


def compute_for(ctx: StageContext) -> tuple[screentime_calc.ScreenTime, dict[str, Any]]:
    art = ctx.episode.artifacts_dir
    tracks, _ = read_table(art / "tracks.parquet", "tracks", "ERR_TRACKS_MISSING")
    people = load_labels(ctx.episode).track_people()
    meta = ctx.episode.read_meta()
    result = screentime_calc.compute(tracks, people, float(meta["video"]["duration_s"]),
                                     ctx.config.get("screentime.merge_gap_s"),
                                     ctx.config.get("screentime.min_interval_s"))
    metadata = {"episode": ctx.episode.id, "source": meta["source"]["name"], "engine": ctx.engine_name,
                "duration_s": meta["video"]["duration_s"], "fps": meta["video"]["fps"]}
    return result, metadata


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    result, metadata = compute_for(ctx)
    progress(0.5, f"{len(result.summary)} people on screen", people=len(result.summary))
    written = write_exports(result, metadata, ctx.episode.artifacts_dir)
    progress(1.0, "Screen time ready")
    return StageOutput(written, {"people": len(result.summary),
                                 "total_s": round(float(result.summary["screen_time_s"].sum()), 3)})
