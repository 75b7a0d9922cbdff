"""insightface model packs on disk: find, validate, hash-check and import them from a zip.

A pack is a folder of ONNX files in insightface's ``buffalo_l`` layout. Which file detects and which
one recognises is decided by the same input/output signatures ``insightface.model_zoo.get_model``
routes on, so other packs (buffalo_s, antelopev2) work too. The first validation writes ``pack.json``
with each file's size and sha256; every later load checks the models it uses against it, so a
damaged or swapped file is reported instead of producing silently wrong faces.

Packs cannot be downloaded by the app (it must work offline, and insightface's own download has no
timeout): the user imports the pack's zip, or puts its files in the folder.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from screenalyzer_desktop.core.atomic import (
    TEMP_SUFFIX,
    atomic_write_json,
    fsync_dir,
    os_error,
    read_json,
    sha256_file,
)
from screenalyzer_desktop.core.errors import ScreenalyzerError

PACK_MANIFEST = "pack.json"
MANIFEST_SCHEMA_VERSION = 1
DETECTION = "detection"
RECOGNITION = "recognition"

INSIGHTFACE_LICENCE_NOTICE = (
    "The insightface pretrained model packs (buffalo_l and the others) are published for "
    "non-commercial research use only. Make sure your organisation holds the rights to use a pack "
    "before importing it; the insightface code itself is MIT-licensed, the models are not."
)


@dataclass(frozen=True)
class ModelPack:
    """A validated pack: its folder, the two model files the engine loads, and their sha256."""

    folder: Path
    detection: Path
    recognition: Path
    sha256: dict[str, str]  # file name -> hex digest, for every .onnx file in the pack

    @property
    def name(self) -> str:
        return self.folder.name


def pack_folder(settings: Mapping[str, Any], models_dir: Path) -> Path:
    """The pack folder the ``engines.insightface`` settings name: ``pack_dir``, else models_dir/pack_name."""
    if settings["pack_dir"]:
        return Path(settings["pack_dir"]).expanduser()
    return Path(models_dir) / settings["pack_name"]


def _missing(folder: Path, why: str) -> ScreenalyzerError:
    return ScreenalyzerError(
        "ERR_MODEL_MISSING",
        detail=(f"{why}. Put the .onnx files of the pack (for buffalo_l: det_10g.onnx and w600k_r50.onnx) "
                f"in {folder}, or import the pack's zip (`screenalyzer models import <zip>` or "
                "Preferences > Models). The dlib engine works offline without any pack."),
        extra={"folder": str(folder)})


def _invalid(path: Path, why: str) -> ScreenalyzerError:
    return ScreenalyzerError("ERR_MODEL_INVALID", detail=f"{path}: {why}", extra={"path": str(path)})


def _model_role(path: Path) -> str | None:
    """Check one ONNX file and say what insightface would route it to (None: a model we do not use)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf, checker and OS errors all mean "not a usable model"
        raise _invalid(path, f"not a loadable ONNX model ({type(exc).__name__}: {exc})") from exc
    graph = model.graph
    if len(graph.output) >= 5:
        return DETECTION
    if not graph.input:
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in graph.input[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[2] is None or dims[2] != dims[3]:
        return None
    side = dims[2]
    # Mirrors ModelRouter: 192 is the landmark model, 96 the attribute one; ArcFace is square, >=112, /16.
    if side != 192 and side >= 112 and side % 16 == 0 and len(graph.output) == 1:
        return RECOGNITION
    return None


def validate_pack(folder: Path) -> ModelPack:
    """Check every .onnx file of a folder, find the two we need, and write its ``pack.json``."""
    folder = Path(folder)
    files = sorted(folder.glob("*.onnx")) if folder.is_dir() else []
    if not files:
        raise _missing(folder, f"no model pack at {folder}")
    roles: dict[str, list[Path]] = {DETECTION: [], RECOGNITION: []}
    entries: dict[str, dict[str, Any]] = {}
    for path in files:
        role = _model_role(path)
        if role is not None:
            roles[role].append(path)
        entries[path.name] = {"size": path.stat().st_size, "sha256": sha256_file(path), "role": role}
    chosen: dict[str, Path] = {}
    for role, found in roles.items():
        if not found:
            raise _missing(folder, f"the pack in {folder} has no {role} model")
        if len(found) > 1:
            raise _invalid(folder, f"more than one {role} model: {', '.join(p.name for p in found)}")
        chosen[role] = found[0]
    manifest = {"schema_version": MANIFEST_SCHEMA_VERSION, DETECTION: chosen[DETECTION].name,
                RECOGNITION: chosen[RECOGNITION].name, "files": entries}
    atomic_write_json(folder / PACK_MANIFEST, manifest)
    return ModelPack(folder=folder, detection=chosen[DETECTION], recognition=chosen[RECOGNITION],
                     sha256={name: entry["sha256"] for name, entry in entries.items()})


def load_pack(folder: Path, *, verify_hashes: bool = True) -> ModelPack:
    """The pack in ``folder``, checked against its ``pack.json``.

    A folder the user filled by hand has no manifest yet: it is validated (and the manifest written)
    on first sight. ``verify_hashes=False`` checks only presence and sizes, for a cheap availability test.
    """
    folder = Path(folder)
    manifest_path = folder / PACK_MANIFEST
    if not manifest_path.is_file():
        return validate_pack(folder)
    manifest = read_json(manifest_path, code="ERR_MODEL_INVALID")
    try:
        if manifest["schema_version"] != MANIFEST_SCHEMA_VERSION:
            raise _invalid(manifest_path, f"unknown schema_version {manifest['schema_version']!r}")
        role_files = {role: str(manifest[role]) for role in (DETECTION, RECOGNITION)}
        expected = {name: (int(manifest["files"][name]["size"]), str(manifest["files"][name]["sha256"]))
                    for name in role_files.values()}
        hashes = {str(name): str(entry["sha256"]) for name, entry in manifest["files"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid(manifest_path, f"malformed manifest ({type(exc).__name__}: {exc})") from exc
    for name, (size, digest) in expected.items():
        if PurePosixPath(name).name != name or Path(name).name != name:
            raise _invalid(manifest_path, f"model file name {name!r} is not a plain file name")
        path = folder / name
        if not path.is_file():
            raise _missing(folder, f"{name}, listed in {manifest_path}, is missing")
        actual_size = path.stat().st_size
        if actual_size != size:
            raise _invalid(path, f"size {actual_size} differs from {size} recorded in {PACK_MANIFEST}")
        if verify_hashes:
            actual = sha256_file(path)
            if actual != digest:
                raise _invalid(path, f"sha256 {actual} differs from {digest} recorded in {PACK_MANIFEST} "
                                     f"(if you replaced the files on purpose, delete {PACK_MANIFEST} so "
                                     "they are checked again)")
    return ModelPack(folder=folder, detection=folder / role_files[DETECTION],
                     recognition=folder / role_files[RECOGNITION], sha256=hashes)


_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be extracted (zip-slip, absolute path, symlink), or None."""
    name = info.filename
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "'..' in path"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def _model_members(archive: zipfile.ZipFile, zip_path: Path) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        reason = _unsafe_reason(info)
        if reason is not None:
            raise _invalid(zip_path, f"refused: member {info.filename!r} has an unsafe {reason}")
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if (not info.is_dir() and parts and parts[-1].lower().endswith(".onnx")
                and not parts[-1].startswith(".") and "__MACOSX" not in parts):
            members.append(info)
    if not members:
        raise _invalid(zip_path, "the zip holds no .onnx model files")
    names = [PurePosixPath(info.filename.replace("\\", "/")).name for info in members]
    if len(set(names)) != len(names):
        raise _invalid(zip_path, "the zip holds two model files with the same name")
    return members


def _pack_name(members: list[zipfile.ZipInfo], zip_path: Path) -> str:
    """The folder name inside the zip when all models share one (antelopev2), else the zip's stem."""
    tops = {PurePosixPath(info.filename.replace("\\", "/")).parts[0] for info in members}
    nested = all(len(PurePosixPath(info.filename.replace("\\", "/")).parts) > 1 for info in members)
    return tops.pop() if nested and len(tops) == 1 else zip_path.stem


def import_pack_zip(zip_path: Path, models_dir: Path, name: str | None = None) -> Path:
    """Extract a pack zip into ``models_dir/<name>`` safely and validate it; return the pack folder.

    The whole zip is refused if any member is absolute, climbs with ``..`` or is a symlink. Only the
    .onnx files are extracted (flattened), into a temp folder beside the target that replaces the
    target only once it validated, so a failed import leaves any previous pack untouched.
    """
    zip_path, models_dir = Path(zip_path), Path(models_dir)
    if not zip_path.is_file():
        raise ScreenalyzerError("ERR_MODEL_MISSING", detail=f"no such zip file: {zip_path}")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _invalid(zip_path, f"not a readable zip file ({exc})") from exc
    with archive:
        members = _model_members(archive, zip_path)
        name = name or _pack_name(members, zip_path)
        if name in {".", ".."} or Path(name).name != name or PurePosixPath(name).name != name:
            raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"pack name {name!r} is not a folder name")
        try:
            models_dir.mkdir(parents=True, exist_ok=True)
            needed = sum(info.file_size for info in members)
            free = shutil.disk_usage(models_dir).free
        except OSError as exc:
            raise os_error(exc, models_dir) from exc
        if needed > free:
            raise ScreenalyzerError("ERR_DISK_FULL", detail=f"the pack needs {needed} bytes, {models_dir} "
                                                            f"has {free} free")
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.import-", suffix=TEMP_SUFFIX, dir=models_dir))
        try:
            for info in members:
                target = staging / PurePosixPath(info.filename.replace("\\", "/")).name
                with archive.open(info) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                    sink.flush()
                    os.fsync(sink.fileno())
            validate_pack(staging)
            fsync_dir(staging)
            destination = models_dir / name
            _swap_into_place(staging, destination)
        except OSError as exc:
            raise os_error(exc, models_dir) from exc
        except zipfile.BadZipFile as exc:  # a CRC error shows up while reading a member
            raise _invalid(zip_path, f"damaged zip ({exc})") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return destination


def _swap_into_place(staging: Path, destination: Path) -> None:
    """Replace ``destination`` by ``staging``; an old pack is moved aside first, restored on failure."""
    aside = None
    if destination.exists():
        aside = destination.with_name(f".{destination.name}.old-{uuid.uuid4().hex[:8]}{TEMP_SUFFIX}")
        os.replace(destination, aside)
    try:
        os.replace(staging, destination)
    except OSError:
        if aside is not None:
            os.replace(aside, destination)
        raise
    fsync_dir(destination.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
