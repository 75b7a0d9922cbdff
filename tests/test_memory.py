"""How many scan workers start, and freed frames going back to the system."""

from __future__ import annotations

import json
import subprocess
import sys

import psutil
import pytest
from support import load_cfg

from screenalyzer_desktop.core.memory import return_big_blocks_to_os, workers_that_fit
from screenalyzer_desktop.stages.detect_embed import worker_count

UHD = {"width": 3840, "height": 2160}


def test_workers_are_as_many_as_the_available_memory_holds_and_never_none() -> None:
    available = psutil.virtual_memory().available
    assert workers_that_fit(4, available / 10, 1.0) == 4
    assert workers_that_fit(4, available * 0.4, 1.0) == 2
    assert workers_that_fit(4, available * 10, 1.0) == 1


def test_worker_count_counts_the_frame_size_and_a_setting_wins() -> None:
    starved = {"detect.worker_base_mb": 100000, "detect.memory_share": 0.05}  # 100 GB a worker, 5 % of memory
    assert worker_count(load_cfg(**starved), UHD) == 1
    assert worker_count(load_cfg(**starved, **{"detect.workers": 3}), UHD) == 3
    frames_only = {"detect.worker_base_mb": 0, "detect.worker_frames": 1000, "detect.memory_share": 0.05}
    big = worker_count(load_cfg(**frames_only), {"width": 7680, "height": 4320})  # 95 GB of 8K frames
    small = worker_count(load_cfg(**frames_only), {"width": 64, "height": 36})
    assert big == 1 and small == worker_count(load_cfg(), {"width": 64, "height": 36}) >= 1


# A 24 MB block freed raises glibc's own threshold to 24 MB; a 20 MB block then comes from the heap,
# and a small block allocated after it keeps the heap from shrinking when it is freed.
_RETAINED = """
import json, sys
import numpy as np
from screenalyzer_desktop.core.memory import return_big_blocks_to_os
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
applied = return_big_blocks_to_os(float(sys.argv[1]))
frame = np.ones(24 * 2**20, np.uint8); del frame
before = rss()
block = np.ones(20 * 2**20, np.uint8); pin = np.ones(64, np.uint8)
del block
print(json.dumps({"applied": applied, "retained_mb": (rss() - before) / 2**20}))
"""


def _retained(threshold_mb: float) -> dict:
    done = subprocess.run([sys.executable, "-c", _RETAINED, str(threshold_mb)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_fixed_threshold_returns_freed_frames_to_the_system() -> None:
    default, fixed = _retained(0), _retained(4)
    assert not default["applied"] and fixed["applied"]
    assert default["retained_mb"] > 15, default
    assert fixed["retained_mb"] < 5, fixed


def test_no_threshold_is_no_change() -> None:
    assert return_big_blocks_to_os(0) is False
