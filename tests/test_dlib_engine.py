"""The offline dlib engine on real photos that ship inside the installed insightface package."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.engines.base import Face, FaceEngine
from screenalyzer_desktop.engines.dlib_engine import DESCRIPTOR_FILE, SHAPE_PREDICTOR_FILE, DlibEngine

insightface = pytest.importorskip("insightface")
IMAGES = Path(insightface.__file__).parent / "data" / "images"

# Measured on these photos (cosine of the unit descriptors): the same face under resize, brightness
# and mirroring >= 0.98; different people in t1.jpg up to 0.92. These bounds keep a margin each side.
SAME_MIN = 0.96
DIFFERENT_MAX = 0.94


@pytest.fixture(scope="module")
def dlib_config() -> dict:
    return load_config().section("engines")["dlib"]


@pytest.fixture(scope="module")
def engine(dlib_config: dict) -> DlibEngine:
    return DlibEngine(dlib_config)


@pytest.fixture(scope="module")
def group_photo() -> np.ndarray:
    image = cv2.imread(str(IMAGES / "t1.jpg"))
    assert image is not None, "insightface's sample t1.jpg is missing"
    return image


@pytest.fixture(scope="module")
def group_faces(engine: DlibEngine, group_photo: np.ndarray) -> list[Face]:
    return engine.detect(group_photo)


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    image = cv2.imread(str(IMAGES / "Tom_Hanks_54745.png"))
    assert image is not None
    # The sample is a tight 112x112 crop: give HOG some context around the face.
    return cv2.copyMakeBorder(cv2.resize(image, (224, 224)), 64, 64, 64, 64, cv2.BORDER_REPLICATE)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a @ b.T


def test_is_a_face_engine(engine: DlibEngine) -> None:
    assert isinstance(engine, FaceEngine)
    assert engine.name == "dlib" and engine.embedding_dim == 128


def test_detects_the_six_people_in_the_group_photo(group_faces: list[Face], group_photo: np.ndarray) -> None:
    assert len(group_faces) == 6
    h, w = group_photo.shape[:2]
    for face in group_faces:
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 60 <= face.width <= 200  # the faces in t1.jpg are about 90-130 px wide
        assert face.landmarks is not None and face.landmarks.shape == (5, 2)
        assert np.all((face.landmarks >= [x1 - 20, y1 - 20]) & (face.landmarks <= [x2 + 20, y2 + 20]))
    scores = [f.score for f in group_faces]
    assert scores == sorted(scores, reverse=True)


def test_embeddings_are_unit_float32_rows(engine: DlibEngine, group_photo: np.ndarray,
                                          group_faces: list[Face]) -> None:
    rows = engine.embed(group_photo, group_faces)
    assert rows.shape == (6, 128) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert engine.embed(group_photo, []).shape == (0, 128)


def test_embed_without_landmarks_matches_embed_with_them(engine: DlibEngine, group_photo: np.ndarray,
                                                         group_faces: list[Face]) -> None:
    bare = [Face(box=f.box, score=f.score) for f in group_faces[:2]]
    sims = np.diag(_cos(engine.embed(group_photo, bare), engine.embed(group_photo, group_faces[:2])))
    assert np.all(sims > 0.99)


def test_different_people_are_far_apart(engine: DlibEngine, group_photo: np.ndarray,
                                        group_faces: list[Face], portrait: np.ndarray) -> None:
    rows = engine.embed(group_photo, group_faces)
    hanks = engine.embed(portrait, engine.detect(portrait)[:1])
    sims = _cos(rows, rows)[~np.eye(6, dtype=bool)]
    assert sims.max() < DIFFERENT_MAX
    assert _cos(hanks, rows).max() < DIFFERENT_MAX


def _variants(image: np.ndarray) -> dict[str, tuple[np.ndarray, float, bool]]:
    """name -> (image, scale applied, mirrored)"""
    return {
        "half_size": (cv2.resize(image, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA), 0.6, False),
        "brighter": (cv2.convertScaleAbs(image, alpha=1.3, beta=15), 1.0, False),
        "darker": (cv2.convertScaleAbs(image, alpha=0.6), 1.0, False),
        "mirrored": (cv2.flip(image, 1), 1.0, True),
    }


def test_same_people_embed_close_under_resize_brightness_and_flip(
        engine: DlibEngine, group_photo: np.ndarray, group_faces: list[Face]) -> None:
    reference = engine.embed(group_photo, group_faces)
    w = group_photo.shape[1]
    centres = np.array([[(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2] for f in group_faces])
    for name, (image, scale, mirrored) in _variants(group_photo).items():
        faces = engine.detect(image)
        assert len(faces) == 6, name
        rows = engine.embed(image, faces)
        for face, row in zip(faces, rows, strict=True):
            cx, cy = (face.box[0] + face.box[2]) / 2 / scale, (face.box[1] + face.box[3]) / 2 / scale
            if mirrored:
                cx = w - cx
            j = int(np.argmin(np.linalg.norm(centres - [cx, cy], axis=1)))
            sims = reference @ row
            assert sims[j] >= SAME_MIN, (name, j, sims[j])
            assert int(np.argmax(sims)) == j, name


def test_portrait_is_found_and_matches_itself_mirrored(engine: DlibEngine, portrait: np.ndarray) -> None:
    faces = engine.detect(portrait)
    assert len(faces) == 1
    mirrored = cv2.flip(portrait, 1)
    a = engine.embed(portrait, faces)
    b = engine.embed(mirrored, engine.detect(mirrored)[:1])
    assert float(_cos(a, b)[0, 0]) >= SAME_MIN


def test_describe_names_models_and_hashes(engine: DlibEngine) -> None:
    info = engine.describe()
    assert info["engine"] == "dlib" and info["dlib_version"]
    files = {m["file"]: m for m in info["models"]}
    assert set(files) == {SHAPE_PREDICTOR_FILE, DESCRIPTOR_FILE}
    assert all(len(m["sha256"]) == 64 for m in files.values())
    assert "68" not in " ".join(files)
    assert engine.describe() == info  # hashes are cached, the answer is stable


def _copy_models(engine: DlibEngine, folder: Path) -> Path:
    folder.mkdir()
    for path in (engine.shape_predictor_path, engine.descriptor_path):
        (folder / path.name).symlink_to(path)
    return folder


def test_missing_model_is_err_model_missing(engine: DlibEngine, dlib_config: dict, tmp_path: Path) -> None:
    folder = _copy_models(engine, tmp_path / "models")
    (folder / DESCRIPTOR_FILE).unlink()
    with pytest.raises(ScreenalyzerError) as info:
        DlibEngine({**dlib_config, "models_dir": str(folder)})
    assert info.value.code == "ERR_MODEL_MISSING"
    assert DESCRIPTOR_FILE in info.value.detail


@pytest.mark.parametrize("victim", [SHAPE_PREDICTOR_FILE, DESCRIPTOR_FILE])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_model_is_err_model_invalid(engine: DlibEngine, dlib_config: dict, tmp_path: Path,
                                            victim: str, damage: str) -> None:
    folder = _copy_models(engine, tmp_path / "models")
    original = (folder / victim).resolve()
    (folder / victim).unlink()
    if damage == "truncated":
        with original.open("rb") as src, (folder / victim).open("wb") as dst:
            dst.write(src.read(200_000))
    else:
        (folder / victim).write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ScreenalyzerError) as info:
        DlibEngine({**dlib_config, "models_dir": str(folder)})
    assert info.value.code == "ERR_MODEL_INVALID"
    assert victim in info.value.detail


def test_models_dir_setting_is_honoured(engine: DlibEngine, dlib_config: dict, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(engine.shape_predictor_path, folder)
    shutil.copy(engine.descriptor_path, folder)
    other = DlibEngine({**dlib_config, "models_dir": str(folder)})
    assert other.descriptor_path.parent == folder
    hashes = [m["sha256"] for m in engine.describe()["models"]]
    assert [m["sha256"] for m in other.describe()["models"]] == hashes
