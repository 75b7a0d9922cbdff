"""Memory of the scanning processes: freed frames go back to the system, and no more workers start than fit."""

from __future__ import annotations

import ctypes
import logging
import sys

import psutil

log = logging.getLogger("screenalyzer.memory")

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def return_big_blocks_to_os(threshold_mb: float) -> bool:
    """Serve allocations of ``threshold_mb`` and more from their own mappings, unmapped when freed.

    glibc starts with such a threshold, but raises it to the size of any mapped block that is freed, up
    to 32 MB. After the first 4K frame (24 MB) is freed, frames come from the heap, and the heap does not
    shrink between them: a scan's memory creeps up with its length. A fixed threshold stops the creep.
    0 leaves glibc's default. Returns whether the threshold was set (glibc only)."""
    if threshold_mb <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 -- raises AttributeError on other C libraries (musl)
    except (OSError, AttributeError):
        return False
    return libc.mallopt(_M_MMAP_THRESHOLD, int(threshold_mb * 2**20)) == 1


def workers_that_fit(wanted: int, per_worker_bytes: float, share: float) -> int:
    """At most ``wanted``, at least one: as many workers as ``share`` of the available memory holds."""
    available = psutil.virtual_memory().available
    fit = max(1, int(available * share // max(per_worker_bytes, 1.0)))
    if fit < wanted:
        log.info("Memory for %d of %d scan workers (%.0f MB available, about %.0f MB each)", fit, wanted,
                 available / 2**20, per_worker_bytes / 2**20)
    return min(wanted, fit)
