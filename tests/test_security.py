"""Security hygiene: no code path can run what a workspace file says, and imports stay in their folder.

Workspace files (Parquet, JSON, YAML settings, model packs) come from disk that other people and
machines write: nothing may unpickle or evaluate them. A static scan of the package's syntax tree
enforces it (and is itself checked against a sample that breaks every rule). Model packs are checked
before use and zips cannot write outside their target: see also tests/test_insightface_engine.py.
"""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest
from onnx_models import build_arcface, build_scrfd
from support import REPO_ROOT

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.engines.model_pack import PACK_MANIFEST, import_pack_zip, load_pack

PACKAGE = REPO_ROOT / "screenalyzer_desktop"
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "jsonpickle"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_ATTRIBUTES = {"read_pickle", "to_pickle", "unsafe_load", "full_load", "full_load_all", "unsafe_load_all",
                     "load_all"}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def unsafe_uses(source: str, filename: str) -> list[str]:
    """Each place in ``source`` that could run data as code: pickle-like modules, eval/exec,
    yaml.load without a safe loader, np.load(allow_pickle=True), pandas' pickle readers."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where} from {node.module} import")
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            keywords = {k.arg: k.value for k in node.keywords}
            if name in UNSAFE_CALLS or name.split(".")[-1] in UNSAFE_ATTRIBUTES:
                found.append(f"{where} {name}()")
            elif name == "yaml.load":
                loader = keywords.get("Loader") or (node.args[1] if len(node.args) > 1 else None)
                if loader is None or _name(loader).split(".")[-1] not in SAFE_YAML_LOADERS:
                    found.append(f"{where} yaml.load without a safe loader")
            elif name.split(".")[-1] == "load" and name.split(".")[0] in ("np", "numpy"):
                flag = keywords.get("allow_pickle")
                if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                    found.append(f"{where} {name}(allow_pickle=...)")
            elif name.split(".")[-1] in ("loads", "load") and name.split(".")[0] in UNSAFE_MODULES:
                found.append(f"{where} {name}()")
    return found


BAD_SAMPLE = """
import pickle
from marshal import loads
import yaml, numpy as np, pandas as pd
pickle.loads(b"")
eval("1")
exec("x = 1")
yaml.load(text)
yaml.load(text, Loader=yaml.Loader)
yaml.unsafe_load(text)
np.load("a.npy", allow_pickle=True)
pd.read_pickle("a.pkl")
"""
GOOD_SAMPLE = """
import json, yaml, numpy as np
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
np.load("a.npy")
np.load("a.npy", allow_pickle=False)
json.loads("{}")
model.eval()
"""


def test_the_scanner_catches_every_rule_and_passes_safe_code() -> None:
    bad = unsafe_uses(BAD_SAMPLE, "bad.py")
    assert len(bad) == 10, bad
    assert unsafe_uses(GOOD_SAMPLE, "good.py") == []


def test_the_package_never_unpickles_or_evaluates_data() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found = [hit for path in files for hit in unsafe_uses(path.read_text(encoding="utf-8"),
                                                          str(path.relative_to(REPO_ROOT)))]
    assert found == []


def _pack_zip(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    build_scrfd(source / "det_10g.onnx")
    build_arcface(source / "w600k_r50.onnx")
    archive = tmp_path / "buffalo_l.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in source.iterdir():
            out.write(path, path.name)
        for name, data in extra.items():
            out.writestr(zipfile.ZipInfo(name), data)
    return archive


@pytest.mark.parametrize("evil", ["..\\..\\evil.onnx", "pack\\..\\..\\evil.onnx", "\\evil.onnx", "c:evil.onnx",
                                  "./../evil.onnx"])
def test_windows_style_and_dot_slip_paths_are_refused(tmp_path: Path, evil: str) -> None:
    """The zip-slip names test_insightface_engine.py does not try: backslashes, drive-relative, ./.."""
    archive = _pack_zip(tmp_path, {evil: b"x"})
    models = tmp_path / "work" / "models"
    with pytest.raises(ScreenalyzerError) as caught:
        import_pack_zip(archive, models)
    assert caught.value.code == "ERR_MODEL_INVALID" and "refused" in caught.value.detail
    assert not list(tmp_path.rglob("evil.onnx"))
    assert not models.exists() or not any(models.iterdir())


def test_import_records_each_models_sha256_and_load_verifies_it(tmp_path: Path) -> None:
    import hashlib
    import json

    folder = import_pack_zip(_pack_zip(tmp_path, {}), tmp_path / "models")
    manifest = json.loads((folder / PACK_MANIFEST).read_text())
    for name in ("det_10g.onnx", "w600k_r50.onnx"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert load_pack(folder).sha256["w600k_r50.onnx"] == manifest["files"]["w600k_r50.onnx"]["sha256"]
    # A manifest pointing outside the pack is refused rather than followed.
    manifest["recognition"] = "../../outside.onnx"
    (folder / PACK_MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ScreenalyzerError) as caught:
        load_pack(folder)
    assert caught.value.code == "ERR_MODEL_INVALID"
