"""The insightface engine and model packs, on tiny ONNX models with the real signatures (no download)."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from onnx_models import build_arcface, build_pack, build_scrfd, face_box, face_image

from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.engines.insightface_engine import (
    InsightFaceEngine,
    pack_available,
    select_providers,
)
from screenalyzer_desktop.engines.model_pack import (
    INSIGHTFACE_LICENCE_NOTICE,
    PACK_MANIFEST,
    import_pack_zip,
    load_pack,
    pack_folder,
)


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    return load_config().section("engines.insightface")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, settings: dict[str, Any]) -> InsightFaceEngine:
    return InsightFaceEngine(build_pack(tmp_path_factory.mktemp("pack") / "buffalo_l"), settings)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _pack_files(tmp_path: Path) -> dict[str, bytes]:
    folder = build_pack(tmp_path / "src")
    return {name: (folder / name).read_bytes() for name in ("det_10g.onnx", "w600k_r50.onnx")}


@pytest.mark.parametrize("input_size", [None, 640])
def test_get_model_routes_tiny_models_like_real_ones(tmp_path: Path, input_size: int | None) -> None:
    from insightface.model_zoo import SCRFD, ArcFaceONNX, get_model

    detector = get_model(str(build_scrfd(tmp_path / "det.onnx", input_size=input_size)),
                         providers=["CPUExecutionProvider"])
    recognizer = get_model(str(build_arcface(tmp_path / "rec.onnx")), providers=["CPUExecutionProvider"])
    assert isinstance(detector, SCRFD) and detector.use_kps and detector.fmc == 3
    assert isinstance(recognizer, ArcFaceONNX) and recognizer.input_size == (112, 112)


@pytest.mark.parametrize(("width", "height", "scale"), [(640, 480, 1.0), (320, 240, 0.5), (1280, 720, 2.0)])
def test_detect_finds_the_known_face_in_image_pixels(engine: InsightFaceEngine, width: int, height: int,
                                                      scale: float) -> None:
    faces = engine.detect(face_image(width, height, scale))
    assert len(faces) == 1
    face = faces[0]
    assert face.box == pytest.approx(face_box(scale), abs=1e-3)
    assert engine.det_threshold <= face.score <= 1.0
    assert face.landmarks is not None and face.landmarks.shape == (5, 2)
    x1, y1, x2, y2 = face.box
    assert np.all((face.landmarks >= (x1, y1)) & (face.landmarks <= (x2, y2)))


def test_detect_on_an_empty_frame_finds_nothing(engine: InsightFaceEngine) -> None:
    assert engine.detect(np.zeros((480, 640, 3), dtype=np.uint8)) == []


def test_embed_returns_unit_rows_that_depend_on_the_face(engine: InsightFaceEngine) -> None:
    image = face_image()
    face = engine.detect(image)[0]
    other = face_image()
    other[100:110, 165:185] = 0  # a dark band across the "eyes"
    rows = engine.embed(image, [face, face])
    assert rows.shape == (2, 512) and engine.embedding_dim == 512 and rows.dtype == np.float32
    assert np.linalg.norm(rows, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert rows[0] == pytest.approx(rows[1], abs=1e-6)
    assert float(rows[0] @ engine.embed(other, [face])[0]) < 0.999
    assert engine.embed(image, []).shape == (0, 512)


def test_fixed_batch_recognizer_and_detector_without_keypoints(tmp_path: Path,
                                                               settings: dict[str, Any]) -> None:
    engine = InsightFaceEngine(build_pack(tmp_path / "p", input_size=640, with_kps=False, arcface_batch=1),
                               settings)
    image = face_image()
    faces = engine.detect(image)
    assert len(faces) == 1 and faces[0].landmarks is None
    rows = engine.embed(image, faces * 3)
    assert rows.shape == (3, 512)
    assert np.linalg.norm(rows, axis=1) == pytest.approx([1.0] * 3, abs=1e-5)


def test_describe_reports_pack_hashes_and_providers_in_use(engine: InsightFaceEngine) -> None:
    info = engine.describe()
    manifest = json.loads((engine.pack.folder / PACK_MANIFEST).read_text())
    assert info["engine"] == "insightface" and info["pack"] == "buffalo_l"
    assert info["models"]["detection"] == {"file": "det_10g.onnx",
                                           "sha256": manifest["files"]["det_10g.onnx"]["sha256"]}
    assert info["models"]["recognition"]["file"] == "w600k_r50.onnx"
    assert info["providers"][-1] == "CPUExecutionProvider"
    assert set(info["providers"]) <= set(onnxruntime.get_available_providers())
    assert info["det_size"] == [640, 640] and info["embedding_dim"] == 512


def test_providers_keep_requested_order_and_fall_back_to_cpu(settings: dict[str, Any]) -> None:
    gpu = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert select_providers(settings["providers"], available=gpu) == gpu
    assert select_providers(["CUDAExecutionProvider"], available=gpu) == gpu
    cpu = ["CPUExecutionProvider"]
    assert select_providers(settings["providers"], available=cpu) == cpu
    assert select_providers(["TensorrtExecutionProvider"], available=gpu) == ["CPUExecutionProvider"]
    assert select_providers(["CPUExecutionProvider"], available=gpu) == ["CPUExecutionProvider"]


def test_cuda_requested_without_cuda_runs_on_cpu(tmp_path: Path, settings: dict[str, Any]) -> None:
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: there is nothing to fall back from")
    cuda_only = {**settings, "providers": ["CUDAExecutionProvider"]}
    engine = InsightFaceEngine(build_pack(tmp_path / "p"), cuda_only)
    assert engine.describe()["providers"] == ["CPUExecutionProvider"]


def test_pack_folder_from_settings(tmp_path: Path, settings: dict[str, Any]) -> None:
    assert pack_folder(settings, tmp_path) == tmp_path / "buffalo_l"
    assert pack_folder({**settings, "pack_dir": str(tmp_path / "x")}, tmp_path / "models") == tmp_path / "x"


@pytest.mark.parametrize("content", ["nothing", "no_folder", "only_detector"])
def test_missing_pack_says_where_and_what_to_do(tmp_path: Path, settings: dict[str, Any],
                                                content: str) -> None:
    folder = tmp_path / "buffalo_l"
    if content != "no_folder":
        folder.mkdir()
    if content == "only_detector":
        build_scrfd(folder / "det_10g.onnx")
    assert not pack_available(folder)
    with pytest.raises(ScreenalyzerError) as caught:
        InsightFaceEngine(folder, settings)
    assert caught.value.code == "ERR_MODEL_MISSING"
    assert str(folder) in caught.value.detail and "import" in caught.value.detail
    assert "dlib" in caught.value.detail


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_onnx_is_invalid(tmp_path: Path, damage: str) -> None:
    folder = build_pack(tmp_path / "p")
    model = folder / "w600k_r50.onnx"
    data = model.read_bytes()
    model.write_bytes(b"this is not a model\x00\xff" * 50 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(ScreenalyzerError) as caught:
        load_pack(folder)
    assert caught.value.code == "ERR_MODEL_INVALID" and "w600k_r50.onnx" in caught.value.detail
    assert not pack_available(folder)


def test_changed_model_fails_the_recorded_hash(tmp_path: Path, settings: dict[str, Any]) -> None:
    folder = build_pack(tmp_path / "p")
    load_pack(folder)  # first sight: validates and writes pack.json
    manifest = json.loads((folder / PACK_MANIFEST).read_text())
    assert manifest["detection"] == "det_10g.onnx" and manifest["recognition"] == "w600k_r50.onnx"
    build_arcface(folder / "w600k_r50.onnx", seed=1)  # same size, other weights
    assert (folder / "w600k_r50.onnx").stat().st_size == manifest["files"]["w600k_r50.onnx"]["size"]
    with pytest.raises(ScreenalyzerError) as caught:
        InsightFaceEngine(folder, settings)
    assert caught.value.code == "ERR_MODEL_INVALID" and "sha256" in caught.value.detail


def test_model_of_another_size_is_invalid_even_without_hashing(tmp_path: Path) -> None:
    folder = build_pack(tmp_path / "p")
    load_pack(folder)
    build_arcface(folder / "w600k_r50.onnx", dim=128)
    assert not pack_available(folder)


@pytest.mark.parametrize(("layout", "expected_name"), [("flat", "buffalo_l"), ("nested", "antelopev2")])
def test_zip_import_extracts_validates_and_replaces(tmp_path: Path, settings: dict[str, Any], layout: str,
                                                   expected_name: str) -> None:
    files = _pack_files(tmp_path)
    prefix = "antelopev2/" if layout == "nested" else ""
    members = {f"{prefix}{name}": data for name, data in files.items()}
    members[f"{prefix}readme.txt"] = b"not extracted"
    archive = _zip(tmp_path / "buffalo_l.zip", members)
    models = tmp_path / "models"
    old = models / expected_name
    old.mkdir(parents=True)
    (old / "stale.onnx").write_bytes(b"old pack")
    folder = import_pack_zip(archive, models)
    assert folder == models / expected_name
    assert sorted(p.name for p in folder.iterdir()) == ["det_10g.onnx", PACK_MANIFEST, "w600k_r50.onnx"]
    assert sorted(p.name for p in models.iterdir()) == [expected_name]  # no temp or old folders left
    assert pack_available(folder)
    assert InsightFaceEngine(folder, settings).detect(face_image())


@pytest.mark.parametrize("evil", ["../evil.onnx", "/abs/evil.onnx", "pack/../../evil.onnx", "C:/evil.onnx",
                                  "symlink"])
def test_zip_slip_and_links_are_refused(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "evil.zip"
    members = _pack_files(tmp_path)
    with zipfile.ZipFile(archive, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
        if evil == "symlink":
            link = zipfile.ZipInfo("link.onnx")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            out.writestr(link, "/etc/passwd")
        else:
            out.writestr(zipfile.ZipInfo(evil), b"x")
    models = tmp_path / "work" / "models"
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(archive, models)
    assert caught.value.code == "ERR_MODEL_INVALID" and "refused" in caught.value.detail
    assert not (tmp_path / "work" / "evil.onnx").exists() and not (tmp_path / "evil.onnx").exists()
    assert not models.exists() or not any(models.iterdir())


def test_zip_with_a_bad_model_leaves_the_previous_pack(tmp_path: Path) -> None:
    models = tmp_path / "models"
    good = import_pack_zip(_zip(tmp_path / "buffalo_l.zip", _pack_files(tmp_path)), models)
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    (tmp_path / "bad").mkdir()
    bad = _zip(tmp_path / "bad" / "buffalo_l.zip", {"det_10g.onnx": b"junk", "w600k_r50.onnx": b"junk"})
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(bad, models)
    assert caught.value.code == "ERR_MODEL_INVALID"
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before
    assert sorted(p.name for p in models.iterdir()) == ["buffalo_l"]


def test_not_a_zip_and_no_models(tmp_path: Path) -> None:
    text = tmp_path / "pack.zip"
    text.write_text("hello")
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(text, tmp_path / "models")
    assert caught.value.code == "ERR_MODEL_INVALID"
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(_zip(tmp_path / "empty.zip", {"readme.txt": b"hi"}), tmp_path / "models")
    assert caught.value.code == "ERR_MODEL_INVALID" and "no .onnx" in caught.value.detail
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(tmp_path / "absent.zip", tmp_path / "models")
    assert caught.value.code == "ERR_MODEL_MISSING"


def test_licence_notice_says_non_commercial() -> None:
    assert "non-commercial" in INSIGHTFACE_LICENCE_NOTICE and "research" in INSIGHTFACE_LICENCE_NOTICE


def test_copied_pack_folder_is_adopted(tmp_path: Path) -> None:
    """A pack copied by hand (no pack.json) is validated on first load, then hash-checked."""
    source = build_pack(tmp_path / "src")
    folder = tmp_path / "models" / "buffalo_l"
    shutil.copytree(source, folder)
    assert not (folder / PACK_MANIFEST).exists()
    assert pack_available(folder)
    assert (folder / PACK_MANIFEST).exists()
    assert load_pack(folder).detection == folder / "det_10g.onnx"
