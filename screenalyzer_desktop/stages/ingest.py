"""Stage 1, ingest: probe the video and record what it is in episode.json."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.video import probe
from screenalyzer_desktop.core.workspace import content_fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable

    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "ingest"
REQUIRES: tuple[str, ...] = ()
WEIGHT = 0.02
USES_ENGINE = False


def config_keys(engine: str) -> tuple[str, ...]:
    return ()


def external_inputs(ctx: StageContext) -> dict[str, str]:
    """The source file's current fingerprint: a changed or missing file makes ingest stale."""
    try:
        return {"video": content_fingerprint(ctx.episode.source)}
    except OSError:
        return {"video": "missing"}


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    meta = ctx.episode.read_meta()
    source = ctx.episode.source
    progress(0.1, f"Probing {source.name}")
    info = probe(source, vfr_check_s=ctx.config.get("video.vfr_check_s"),
                 vfr_max_drift_frames=ctx.config.get("video.vfr_max_drift_frames"))
    stat = source.stat()
    fingerprint = content_fingerprint(source)
    recorded = meta.get("source", {}).get("fingerprint")
    if recorded and recorded != fingerprint and not ctx.accept_changed_source:
        raise ScreenalyzerError("ERR_VIDEO_CHANGED",
                                detail=f"{source}: fingerprint {fingerprint} differs from {recorded} "
                                       "recorded at import")
    meta["source"].update(size=stat.st_size, mtime=stat.st_mtime, fingerprint=fingerprint)
    meta.update(probed=True, probed_at=time.time(), video=info.to_dict())
    ctx.episode.write_meta(meta)
    progress(1.0, f"{info.width}×{info.height}, {info.fps:.3g} fps, {info.duration_s:.1f} s",
             frames=info.frame_count)
    return StageOutput([ctx.episode.meta_path], {"frames": info.frame_count,
                                                  "duration_s": round(info.duration_s, 3)})
