"""A face the frontal detector loses while it is still on screen (behind a hand, head turned) keeps its time.

One tiny clip from the recall benchmark's generator (benchmarks/bench_recall.py): four 4 s shots. Two end
on a hard face: a hand comes up over one half of the face at 1.4-2.0 s and stays until the cut; in the
other the head turns away (squashed to 55 %) and rolls 28 deg over the same time. The other two start on
one, the hand or the turn lasting from the cut until 2.0-2.6 s. HOG loses the faces for those seconds, so
the detector alone credits under half of their time; the correlation tracker carries them forwards to the
cut, or backwards to it past the frames kept in memory (measured: 100 %).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from support import REPO_ROOT, run_cli

# Credited share of the true seconds. Truth is frame-exact and the tracker measured 100 % on this clip;
# 5 % (0.2 s = 5 frames a shot) leaves room for encoder and platform differences, and is far from the
# 44-48 % the detector alone gets.
MIN_RECALL = 0.95
MAX_FALSE_S = 0.2


def _bench_recall() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_recall", REPO_ROOT / "benchmarks" / "bench_recall.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, Path]:
    pytest.importorskip("insightface")  # the faces ship inside its wheel
    bench = _bench_recall()
    out = tmp_path_factory.mktemp("hard")
    bench.build_episode(out, per_kind=2, seed=4, kinds=("occlusion", "turn"), phases=("end", "start"),
                        people=["beth", "evan"])
    return bench, out


def _analyze(clip: tuple[ModuleType, Path], tmp_path: Path, *settings: str) -> dict[str, dict[str, float]]:
    bench, out = clip
    extra = [arg for item in settings for arg in ("--set", item)]
    done = run_cli("analyze", out / "episode.mp4", "--workspace", tmp_path / "ws", "--cast", out / "cast",
                   "--progress", "none", "--export", tmp_path / "export", *extra)
    assert done.returncode == 0, done.stderr[-2000:]
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return bench.score(truth, bench.read_timeline(tmp_path / "export" / "timeline.csv"))


def test_hand_and_head_turn_until_the_cut_keep_their_time(clip: tuple[ModuleType, Path], tmp_path: Path) -> None:
    scores = _analyze(clip, tmp_path)
    assert {"occlusion/start", "occlusion/end", "turn/start", "turn/end"} <= set(scores), scores
    for score in scores.values():
        assert score["recall"] >= MIN_RECALL and score["false_s"] <= MAX_FALSE_S, scores


def test_the_clip_is_hard_for_the_detector_alone(clip: tuple[ModuleType, Path], tmp_path: Path) -> None:
    """Without the tracker the hard frames are lost: the clip still tests what it is meant to."""
    scores = _analyze(clip, tmp_path, "detect.carry=false")
    assert all(score["recall"] < 0.8 for score in scores.values()), scores


def test_frames_kept_at_half_size_keep_the_time(clip: tuple[ModuleType, Path], tmp_path: Path) -> None:
    """A 4K scan keeps the frames between samples, and those decoded again to carry a face back, at
    ``detect.hold_max_side`` (1080p): the checks and the tracker work on frames half the size of the
    source. Here a 720p clip held at 640 px does the same."""
    scores = _analyze(clip, tmp_path, "detect.hold_max_side=640")
    assert {"occlusion/start", "occlusion/end", "turn/start", "turn/end"} <= set(scores), scores
    for score in scores.values():
        assert score["recall"] >= MIN_RECALL and score["false_s"] <= MAX_FALSE_S, scores
