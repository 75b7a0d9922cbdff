"""The bundled demo episode: a real short video whose truth agrees with what a face detector sees."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from screenalyzer_desktop import sample_episode as se
from screenalyzer_desktop.core.errors import ScreenalyzerError

SECONDS, SEED = 8.0, 3


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> se.SampleEpisode:
    return se.make_sample_episode(tmp_path_factory.mktemp("sample"), seconds=SECONDS, seed=SEED)


@pytest.fixture(scope="module")
def truth(episode: se.SampleEpisode) -> dict:
    return json.loads(episode.truth.read_text(encoding="utf-8"))


def _read_frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames, index = {}, 0
    while True:
        ok = cap.grab()
        if not ok:
            break
        if index in wanted:
            frames[index] = cap.retrieve()[1]
        index += 1
    cap.release()
    return frames


def test_video_matches_the_recipe(episode: se.SampleEpisode, truth: dict) -> None:
    cap = cv2.VideoCapture(str(episode.video))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 960
    assert int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == 540
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    assert count == truth["frames"] == int(SECONDS * 25)
    assert not [p for p in episode.video.parent.iterdir() if p.name.startswith(".")], "temp files left"


def test_truth_is_consistent(episode: se.SampleEpisode, truth: dict) -> None:
    assert set(truth) == {"fps", "frames", "duration_s", "people"}
    assert truth["fps"] == 25
    assert truth["duration_s"] == pytest.approx(SECONDS)
    names = [p["name"] for p in se.load_recipe()["people"]]
    assert list(truth["people"]) == names
    assert episode.people == {n: v["screen_time_s"] for n, v in truth["people"].items()}
    assert sum(episode.people.values()) > 0
    for person in truth["people"].values():
        last_end = -1.0
        for start, end in person["intervals"]:
            assert 0 <= start < end <= truth["duration_s"]
            assert start > last_end  # sorted, and touching intervals are merged
            last_end = end
        assert sum(b - a for a, b in person["intervals"]) == pytest.approx(person["screen_time_s"], abs=1e-3)


def test_cast_refs_exist_and_show_a_face(episode: se.SampleEpisode, truth: dict) -> None:
    detector = dlib.get_frontal_face_detector()
    for name in truth["people"]:
        ref = cv2.imread(str(episode.cast_dir / name / "ref.jpg"))
        assert ref is not None, name
        assert len(detector(cv2.cvtColor(ref, cv2.COLOR_BGR2RGB), 1)) == 1, name


def test_truth_is_deterministic_for_a_seed(tmp_path: Path, episode: se.SampleEpisode) -> None:
    again = se.make_sample_episode(tmp_path / "again", seconds=SECONDS, seed=SEED)
    assert again.truth.read_text() == episode.truth.read_text()
    other = se._truth(se.load_recipe() | {"seconds": SECONDS, "seed": SEED + 1},
                      se._plan(se.load_recipe() | {"seconds": SECONDS}, np.random.default_rng(SEED + 1)))
    assert other != json.loads(episode.truth.read_text())


def test_detector_agrees_with_truth(episode: se.SampleEpisode, truth: dict) -> None:
    """HOG (upsample 1) finds faces where truth has people, and nothing in empty shots."""
    on_screen = np.zeros(truth["frames"], bool)
    for person in truth["people"].values():
        for start, end in person["intervals"]:
            on_screen[round(start * truth["fps"]):round(end * truth["fps"])] = True
    busy, empty = np.flatnonzero(on_screen), np.flatnonzero(~on_screen)
    assert len(empty) > 0, "a multi-shot episode has at least one empty shot"
    sample_busy = set(busy[np.linspace(0, len(busy) - 1, 8).astype(int)].tolist())
    sample_empty = set(empty[np.linspace(0, len(empty) - 1, 3).astype(int)].tolist())
    frames = _read_frames(episode.video, sample_busy | sample_empty)
    detector = dlib.get_frontal_face_detector()

    def faces(i: int) -> int:
        return len(detector(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB), 1))

    found = [faces(i) > 0 for i in sorted(sample_busy)]
    assert sum(found) >= 0.8 * len(found), found
    assert [faces(i) for i in sorted(sample_empty)] == [0] * len(sample_empty)


def test_default_recipe_plan_has_variety() -> None:
    """45 s default: everyone in several shots, empty shots, and people at clearly different scales."""
    recipe = se.load_recipe()
    shots = se._plan(recipe, np.random.default_rng(int(recipe["seed"])))
    lengths = [s.frames / recipe["fps"] for s in shots]
    assert min(lengths) >= 1.5 and max(lengths) <= 6.0
    assert any(not s.layers for s in shots) and all(len(s.layers) <= 3 for s in shots)
    sizes: dict[str, list[float]] = {}
    for shot in shots:
        z = min(shot.view0[0], shot.view1[0])
        for layer in shot.layers:
            sizes.setdefault(layer.name, []).append(layer.face_px * z)
    assert set(sizes) == {p["name"] for p in recipe["people"]}
    assert all(len(v) >= 2 for v in sizes.values())
    assert max(max(v) / min(v) for v in sizes.values()) >= 1.5


def test_bad_recipe_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "recipe.json"
    bad.write_text(json.dumps({"people": []}))
    with pytest.raises(ScreenalyzerError) as info:
        se.make_sample_episode(tmp_path / "out", bad)
    assert info.value.code == "ERR_CONFIG_INVALID"


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert se.main([str(tmp_path / "cli"), "--seconds", "2", "--seed", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert Path(report["video"]).is_file() and Path(report["truth"]).is_file()
