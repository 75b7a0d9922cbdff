"""About tells support which face engine a run would use and where onnxruntime runs insightface."""

from __future__ import annotations

import re
from pathlib import Path

import onnxruntime
from onnx_models import build_pack

from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.gui import about


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>|&nbsp;", " ", html))


def test_about_names_the_engine_auto_picks_and_the_providers_of_this_build(tmp_path: Path) -> None:
    models = tmp_path / "models"
    rows = about.engine_rows(load_config(), models)
    assert rows["Face engine"] == "dlib (setting: auto)", "no pack installed: auto means dlib"
    assert rows["onnxruntime providers here"] == ", ".join(onnxruntime.get_available_providers())
    assert onnxruntime.__version__ in rows["onnxruntime"] and onnxruntime.get_device() in rows["onnxruntime"]
    chain = rows["insightface would run on"].split(" → ")
    assert chain[-1] == "CPUExecutionProvider"
    assert all(name in onnxruntime.get_available_providers() for name in chain), "only providers this build has"
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert chain == ["CPUExecutionProvider"], "the CPU build drops the CUDA provider the defaults ask for"

    build_pack(models / str(load_config().get("engines.insightface.pack_name")))
    assert about.engine_rows(load_config(), models)["Face engine"] == "insightface (setting: auto)"
    forced = load_config(overrides={"engine": "dlib"})
    assert about.engine_rows(forced, models)["Face engine"] == "dlib (setting: dlib)"


def test_about_text_says_how_the_app_runs(tmp_path: Path) -> None:
    text = _text(about.about_html(load_config(), tmp_path / "models"))
    assert "Face engine dlib (setting: auto)" in text
    assert "insightface would run on" in text and "Running from source" in text


def test_help_about_answers_for_the_windows_own_settings(make_window, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window = make_window(engine="dlib")
    window.about_action.trigger()
    assert len(shown) == 1 and "Face engine dlib (setting: dlib)" in _text(shown[0])
