"""Stage 2, detect & embed: faces in sampled frames, frame-exact tracklet bounds, a few embeddings each.

The video is cut into contiguous segments scanned in parallel worker processes (dlib holds the
GIL, so threads would not help); each worker streams its frames (`scan.scan_segment`), so memory
does not grow with the episode. Tracklets cut by a segment boundary are re-joined by box overlap.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.linking import iou_matrix
from screenalyzer_desktop.core.memory import return_big_blocks_to_os, workers_that_fit
from screenalyzer_desktop.core.tables import write_table
from screenalyzer_desktop.engines import load_engine
from screenalyzer_desktop.scan import DETECTION_COLUMNS, ScanParams, SegmentResult, hold_scale, scan_segment

if TYPE_CHECKING:
    from pathlib import Path

    from screenalyzer_desktop.pipeline import Progress, StageContext, StageOutput

NAME = "detect_embed"
REQUIRES = ("ingest",)
WEIGHT = 0.85
USES_ENGINE = True
log = logging.getLogger("screenalyzer.detect")


def config_keys(engine: str) -> tuple[str, ...]:
    return ("detect", "track.cut_threshold", "track.iou_link", "track.max_gap_s", f"engines.{engine}")


def external_inputs(ctx: StageContext) -> dict[str, str]:
    return {}


def scan_params(config: Config, video: dict[str, Any]) -> ScanParams:
    """The scan's settings for a video, from its probed metadata (``fps``, ``width``, ``height``)."""
    d = config.section("detect")
    fps = float(video["fps"])
    return ScanParams(fps=fps, sample_fps=d["sample_fps"], cut_threshold=config.get("track.cut_threshold"),
                      thumb_size=tuple(d["cut_thumb_size"]), max_side=d["max_side"], min_face_px=d["min_face_px"],
                      iou_link=config.get("track.iou_link"), max_gap_s=config.get("track.max_gap_s"),
                      embeds_per_track=d["embeds_per_track"], crop_margin=d["crop_margin"],
                      sharpness_full=d["sharpness_full"], size_full_px=d["size_full_px"], refine=d["refine_bounds"],
                      roi_margin=d["roi_margin"], roi_face_px=d["roi_face_px"], queue_frames=d["queue_frames"],
                      carry=d["carry"], carry_min_psr=d["carry_min_psr"], carry_keep_psr=d["carry_keep_psr"],
                      carry_min_visible=d["carry_min_visible"], carry_back_s=d["carry_back_s"],
                      hold_scale=hold_scale(int(video["width"]), int(video["height"]), d["hold_max_side"]))


def segments(total: int, fps: float, workers: int, min_segment_s: float) -> list[tuple[int, int]]:
    count = max(1, min(workers, int(total / max(1.0, min_segment_s * fps))))
    bounds = np.linspace(0, total, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def worker_count(config: Config, video: dict[str, Any]) -> int:
    """``detect.workers``, or one per core up to ``max_auto_workers`` and as many as the memory holds."""
    configured = config.get("detect.workers")
    if configured > 0:
        return configured
    cores = max(1, min(os.cpu_count() or 1, config.get("detect.max_auto_workers")))
    frame_bytes = int(video["width"]) * int(video["height"]) * 3
    d = config.section("detect")
    return workers_that_fit(cores, d["worker_base_mb"] * 2**20 + d["worker_frames"] * frame_bytes, d["memory_share"])


# -- worker processes ----------------------------------------------------------------------------
_progress_queue: Any = None
_cancel_event: Any = None


def _init_worker(progress_queue: Any, cancel_event: Any, mmap_threshold_mb: float) -> None:
    """Each worker is one of several on the cores: keep OpenCV and FFmpeg to one thread each."""
    global _progress_queue, _cancel_event
    _progress_queue, _cancel_event = progress_queue, cancel_event
    return_big_blocks_to_os(mmap_threshold_mb)
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "threads;1"
    import cv2

    cv2.setNumThreads(1)


def _scan_in_worker(index: int, path: Path, start: int, end: int, params: ScanParams, engine_name: str,
                    config: dict[str, Any], models_dir: Path) -> SegmentResult:
    engine = load_engine(engine_name, Config(config), models_dir)
    parent = mp.parent_process()
    last = [0.0]

    def report(frame: int, faces: int, embedded: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.2:
            last[0] = now
            _progress_queue.put((index, frame, faces, embedded))

    def should_cancel() -> bool:
        return _cancel_event.is_set() or (parent is not None and not parent.is_alive())

    return scan_segment(path, start, end, params, engine, report, should_cancel)


def _scan_parallel(ctx: StageContext, parts: list[tuple[int, int]], params: ScanParams, progress: Progress,
                   should_cancel: Callable[[], bool], total: int) -> list[SegmentResult]:
    context = mp.get_context("spawn")
    progress_queue, cancel_event = context.Queue(), context.Event()
    done_frames = {i: 0 for i in range(len(parts))}
    counts = {i: (0, 0) for i in range(len(parts))}
    initargs = (progress_queue, cancel_event, ctx.config.get("detect.mmap_threshold_mb"))
    with ProcessPoolExecutor(len(parts), mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        futures = {pool.submit(_scan_in_worker, i, ctx.episode.source, a, b, params, ctx.engine_name,
                               ctx.config.to_dict(), ctx.workspace.models_dir): i
                   for i, (a, b) in enumerate(parts)}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # raises a worker's error here, on the stage's thread
                while True:
                    try:
                        i, frame, faces, embedded = progress_queue.get_nowait()
                    except queue.Empty:
                        break
                    done_frames[i], counts[i] = frame - parts[i][0], (faces, embedded)
                if should_cancel():
                    raise ScreenalyzerError("ERR_CANCELLED", detail="cancelled while scanning")
                frames = sum(done_frames.values())
                progress(frames / max(total, 1), f"Scanned {frames:,} of {total:,} frames", frames=frames,
                         faces=sum(c[0] for c in counts.values()), embedded=sum(c[1] for c in counts.values()))
        except BaseException:
            cancel_event.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        return [futures_result for futures_result in (f.result() for f in sorted(futures, key=futures.get))]


def run(ctx: StageContext, progress: Progress, should_cancel: Callable[[], bool]) -> StageOutput:
    from screenalyzer_desktop.pipeline import StageOutput

    video = ctx.episode.read_meta()["video"]
    fps, total = float(video["fps"]), int(video["frame_count"])
    params = scan_params(ctx.config, video)
    return_big_blocks_to_os(ctx.config.get("detect.mmap_threshold_mb"))
    parts = segments(total, fps, worker_count(ctx.config, video), ctx.config.get("detect.min_segment_s"))
    log.info("Scanning %d frames with %s in %d segment(s), %.2f samples/s", total, ctx.engine_name, len(parts),
             params.sample_fps)
    if len(parts) == 1:
        def report(frame: int, faces: int, embedded: int) -> None:
            progress(frame / max(total, 1), f"Frame {frame:,} of {total:,}", frames=frame, faces=faces,
                     embedded=embedded)

        results = [scan_segment(ctx.episode.source, 0, total, params, ctx.engine, report, should_cancel)]
    else:
        results = _scan_parallel(ctx, parts, params, progress, should_cancel, total)
    if not any(r.samples for r in results):
        raise ScreenalyzerError("ERR_NO_FRAMES", detail=f"{ctx.episode.source}: no frame decoded")
    frames_read = sum(r.frames_read for r in results)
    if frames_read < total:
        log.warning("Decoded %d of the %d frames the container announces", frames_read, total)
    return StageOutput(_write(ctx, results, fps, params, ctx.engine.embedding_dim),
                       {"samples": sum(len(r.samples) for r in results),
                        "detections": sum(len(r.detections) for r in results),
                        "embedded": sum(len(r.embeddings) for r in results), "segments": len(parts),
                        "frames": frames_read})


def _join_segments(results: list[SegmentResult], iou_min: float) -> list[dict[int, int]]:
    """Global tracklet id for each segment's local ids; tracklets cut by a boundary are re-joined."""
    mapping: list[dict[int, int]] = []
    next_id = 0
    for n, result in enumerate(results):
        local = sorted({row[1] for row in result.detections})
        ids = {t: next_id + i for i, t in enumerate(local)}
        next_id += len(local)
        if n and result.start not in result.cuts and mapping:
            prev = results[n - 1]
            open_prev = [t for t, frame in prev.leave.items() if frame >= prev.end]
            first_sample = result.samples[0][0] if result.samples else None
            starting = [t for t in local if result.enter.get(t, -1) <= (first_sample or -1)]
            if open_prev and starting:
                last_box = {row[1]: row[2:6] for row in prev.detections}
                first_box: dict[int, tuple] = {}
                for row in result.detections:
                    first_box.setdefault(row[1], row[2:6])
                overlap = iou_matrix(np.array([last_box[t] for t in open_prev], np.float32),
                                     np.array([first_box[t] for t in starting], np.float32))
                for flat in np.argsort(-overlap, axis=None):
                    i, j = divmod(int(flat), overlap.shape[1])
                    if overlap[i, j] < iou_min:
                        break
                    if starting[j] in ids and ids[starting[j]] >= next_id - len(local):
                        ids[starting[j]] = mapping[n - 1][open_prev[i]]
        mapping.append(ids)
    return mapping


def _write(ctx: StageContext, results: list[SegmentResult], fps: float, params: ScanParams, dim: int) -> list:
    mapping = _join_segments(results, params.iou_link)
    cuts = sorted({c for r in results for c in r.cuts if c > 0})
    shot_starts = np.array([0, *cuts], dtype=np.int64)
    total_frames = max(r.start + r.frames_read for r in results)
    rows, vectors, det_ids = [], [], []
    enter: dict[int, int] = {}
    leave: dict[int, int] = {}
    for result, ids in zip(results, mapping, strict=True):
        offset = len(rows)
        for row in result.detections:
            rows.append((row[0], ids[row[1]], *row[2:]))
        for row_index, vector in result.embeddings:
            det_ids.append(offset + row_index)
            vectors.append(vector)
        for local, frame in result.enter.items():
            enter[ids[local]] = min(frame, enter.get(ids[local], frame))
        for local, frame in result.leave.items():
            leave[ids[local]] = max(frame, leave.get(ids[local], frame))
    detections = pd.DataFrame(rows, columns=DETECTION_COLUMNS)
    detections.insert(0, "det_id", np.arange(len(detections), dtype=np.int64))
    detections.insert(2, "t_s", detections["frame"] / fps)
    detections.insert(3, "shot", np.searchsorted(shot_starts, detections["frame"].to_numpy(), side="right") - 1)
    detections = detections.astype({"frame": "int64", "shot": "int32", "tracklet": "int32", "x1": "float32",
                                    "y1": "float32", "x2": "float32", "y2": "float32", "score": "float32",
                                    "face_px": "float32", "sharpness": "float32", "quality": "float32"})
    order = np.argsort(np.asarray(det_ids, dtype=np.int64), kind="stable")
    embeddings = pd.DataFrame({"det_id": np.asarray(det_ids, dtype=np.int64)[order]})
    matrix = np.stack(vectors)[order] if vectors else np.zeros((0, dim), np.float32)
    tracklets = pd.DataFrame({"tracklet": sorted(enter)}, dtype="int32")
    tracklets["enter_frame"] = tracklets["tracklet"].map(enter).astype("int64")
    tracklets["leave_frame"] = tracklets["tracklet"].map(lambda t: leave.get(t, total_frames)).astype("int64")
    shots = pd.DataFrame({"shot": np.arange(len(shot_starts), dtype=np.int32), "start_frame": shot_starts,
                          "end_frame": np.append(shot_starts[1:], total_frames)})
    shots["start_s"], shots["end_s"] = shots["start_frame"] / fps, shots["end_frame"] / fps
    samples = pd.DataFrame([s for r in results for s in r.samples], columns=["frame", "faces"]).astype("int64")
    samples["t_s"] = samples["frame"] / fps
    samples["shot"] = (np.searchsorted(shot_starts, samples["frame"].to_numpy(), side="right") - 1).astype("int32")
    art = ctx.episode.artifacts_dir
    return [write_table(art / "detections.parquet", detections, "detections"),
            write_table(art / "embeddings.parquet", embeddings, "embeddings", {"embedding": matrix}),
            write_table(art / "tracklets.parquet", tracklets, "tracklets"),
            write_table(art / "shots.parquet", shots, "shots"),
            write_table(art / "samples.parquet", samples, "samples")]
