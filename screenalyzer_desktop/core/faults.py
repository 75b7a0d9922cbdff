"""Fault injection for the robustness tests: a real SIGKILL at a chosen point of a stage.

``SCREENALYZER_FAULT="<stage>:<label>:<k>"`` makes the process kill itself (and, when it leads its
process group, the whole group: its detect pool workers too) the k-th time it reaches the point
``label`` while ``stage`` runs. Points are the steps of every atomic write
(``write:<file>:created|written|synced|replaced|dir_synced``), each table read
(``read:<file>``), the clearing of the stage's completion record
and every progress call. ``SCREENALYZER_FAULT_TRACE=<file>`` appends one ``<stage>\\t<label>`` line
per point reached, so a test can list a stage's points from one uninterrupted run.

With neither variable set (always, outside the tests) a point costs one attribute test.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAULT_ENV = "SCREENALYZER_FAULT"
TRACE_ENV = "SCREENALYZER_FAULT_TRACE"


def _parse(spec: str) -> tuple[str, str, int] | None:
    stage, _, rest = spec.partition(":")
    label, _, count = rest.rpartition(":")
    if not stage or not label or not count.isdigit() or int(count) < 1:
        return None
    return stage, label, int(count)


_target = _parse(os.environ.get(FAULT_ENV, ""))
_trace = os.environ.get(TRACE_ENV) or None
_active = _target is not None or _trace is not None
_stage: str | None = None
_seen: Counter[str] = Counter()


def enter_stage(stage: str) -> None:
    """Points count from here (the stage's state already says "running") until leave_stage()."""
    global _stage
    _stage = stage
    _seen.clear()


def leave_stage() -> None:
    global _stage
    _stage = None


def point(label: str) -> None:
    """A place where the process may be killed; does nothing unless a test asked for it."""
    if not _active or _stage is None:
        return
    _seen[label] += 1
    if _trace is not None:
        with open(_trace, "a", encoding="utf-8") as handle:
            handle.write(f"{_stage}\t{label}\n")
    if _target == (_stage, label, _seen[label]):
        kill_now()


def kill_now() -> None:
    """SIGKILL this process, and its process group when it leads one (never an exception)."""
    sigkill = getattr(signal, "SIGKILL", signal.SIGTERM)
    if hasattr(os, "killpg") and os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), sigkill)
    os.kill(os.getpid(), sigkill)
