"""The batch driver's view of its episodes: kept up to date from the tasks' events and shown as JSON
lines (for the window), as one overall bar plus a bar per running episode, or not at all."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from screenalyzer_desktop.batch import BATCH, ENDED, EPISODE, FAILED, RUNNING, EpisodeJob, job_dict, print_tables

_BAR_STEPS = 1000


class BatchDisplay:
    def __init__(self, mode: str, jobs: dict[str, EpisodeJob], json_out: TextIO) -> None:
        self._mode, self.jobs, self._json_out = mode, jobs, json_out
        self._json_reader_gone = False
        self._bars: dict[str, Any] = {}
        self._slots: dict[str, int] = {}  # the terminal line of each running episode's bar
        self._overall: Any = None
        self._t0 = time.monotonic()
        for job in jobs.values():
            self._lifecycle(job)

    # -- state ------------------------------------------------------------------------------------------
    def events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self._event(event)
        if events:
            self._progress()

    def _event(self, event: dict[str, Any]) -> None:
        job = self.jobs.get(event.get("video", ""))
        if job is None:
            return
        job.episode = event.get("episode") or job.episode
        if event["type"] == "stage" and event.get("stage") == EPISODE:  # a task (or its retry) started
            job.status, job.node = RUNNING, event.get("node", "")
            job.attempts += 1
            self._lifecycle(job, pid=event.get("pid"))
            return
        if event["type"] in ("stage", "progress"):
            job.stage = event.get("stage", job.stage)
            job.fraction = float(event.get("overall", job.fraction))
        self._show(event)

    def ended(self, job: EpisodeJob, outcome: dict[str, Any]) -> None:
        job.status, job.error = outcome["status"], outcome.get("error")
        job.episode = outcome.get("episode") or job.episode
        job.people = outcome.get("people") or {}
        job.elapsed_s = outcome.get("elapsed_s", job.elapsed_s)
        if job.status != FAILED:
            job.fraction = 1.0
        self._lifecycle(job)
        self._progress()

    def _lifecycle(self, job: EpisodeJob, **extra: Any) -> None:
        self._show({"type": "stage", "stage": EPISODE, "video": job.video, "episode": job.episode,
                    "name": job.name, "status": job.status, "attempt": job.attempts, "node": job.node,
                    "error": job.error, "people": job.people, "elapsed_s": job.elapsed_s, **extra})

    def _progress(self) -> None:
        total = len(self.jobs)
        ended = sum(job.status in ENDED for job in self.jobs.values())
        fraction = sum(1.0 if job.status in ENDED else job.fraction for job in self.jobs.values()) / total
        self._show({"type": "progress", "stage": BATCH, "fraction": round(fraction, 4),
                    "overall": round(fraction, 4), "message": f"{ended} of {total} episodes",
                    "counters": {"ended": ended, "total": total,
                                 "failed": sum(job.status == FAILED for job in self.jobs.values())},
                    "elapsed_s": round(time.monotonic() - self._t0, 2)})

    def finish(self, written: list[Path]) -> None:
        for video in list(self._bars):
            self._close_bar(video)
        if self._overall is not None:
            self._overall.close()
        jobs = list(self.jobs.values())
        if self._mode == "jsonl":
            self._write_json({"type": "result", "stage": BATCH, "episodes": [job_dict(job) for job in jobs],
                          "summary": [str(path) for path in written],
                          "elapsed_s": round(time.monotonic() - self._t0, 2)})
        else:
            print_tables(jobs, written)

    # -- output -----------------------------------------------------------------------------------------
    def _show(self, event: dict[str, Any]) -> None:
        if self._mode == "jsonl":
            self._write_json(event)
        elif self._mode == "bar":
            self._draw(event)

    def _write_json(self, event: dict[str, Any]) -> None:
        if self._json_reader_gone:
            return
        try:
            self._json_out.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
            self._json_out.flush()
        except BrokenPipeError:  # the reader (the window) is gone: the batch goes on
            self._json_reader_gone = True

    def _draw(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm

        if self._overall is None:
            self._overall = tqdm(total=_BAR_STEPS, desc=BATCH, file=sys.stderr, dynamic_ncols=True, position=0,
                                 bar_format="{desc:<24.24}{percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")
        video = event.get("video")
        if event["type"] == "progress" and event.get("stage") == BATCH:
            self._overall.set_postfix_str(event["message"], refresh=False)
            self._overall.update(int(event["overall"] * _BAR_STEPS) - self._overall.n)
        elif event["type"] == "stage" and event.get("stage") == EPISODE:
            job = self.jobs[video]
            if job.status == RUNNING and video not in self._bars:
                slot = self._slots[video] = min(set(range(1, len(self._slots) + 2)) - set(self._slots.values()))
                self._bars[video] = tqdm(total=_BAR_STEPS, desc=job.name, file=sys.stderr, dynamic_ncols=True,
                                         position=slot, leave=False,
                                         bar_format="{desc:<24.24}{percentage:3.0f}%|{bar}| {postfix}")
            elif job.status in ENDED:
                self._close_bar(video)
                how = f"{job.status} {job.code}".strip()
                tqdm.write(f"{job.name}: {how} ({job.elapsed_s:.1f} s)", file=sys.stderr)
        elif event["type"] == "progress" and video in self._bars:
            bar = self._bars[video]
            bar.set_postfix_str(f"{event['stage']}: {event.get('message', '')}", refresh=False)
            bar.update(int(event["overall"] * _BAR_STEPS) - bar.n)
        elif event["type"] == "log":
            tqdm.write(f"{self.jobs[video].name}: {event['level'].lower()}: {event['message']}", file=sys.stderr)

    def _close_bar(self, video: str) -> None:
        bar = self._bars.pop(video, None)
        self._slots.pop(video, None)
        if bar is not None:
            bar.close()
