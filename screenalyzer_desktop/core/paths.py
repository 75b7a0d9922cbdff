"""Where the app finds its own data files and programs, from source and from a frozen (PyInstaller) build.

Every path to configs/, resources/ or a program of the app is made here, so the frozen build has one
place to get right. Files that ship inside third-party packages (dlib weights, the demo faces) are
found through those packages (``importlib``), which PyInstaller's importer answers from the bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "screenalyzer-desktop"  # the window's program (pyproject gui-scripts) and the bundle folder
CLI_NAME = "screenalyzer"  # the engine command line (pyproject scripts); stage workers run it
APP_ICON = Path("icons") / "screenalyzer.png"  # under resources/
CHARTS_OPTION = "--draw-charts"  # the window program, given this first, draws chart PNGs for the CLI and exits


def is_frozen() -> bool:
    """True inside the PyInstaller build."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def app_root() -> Path:
    """The folder holding configs/ and resources/: the bundle when frozen, else the source tree."""
    if is_frozen():
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parents[2]


def configs_dir() -> Path:
    return app_root() / "configs"


def resources_dir() -> Path:
    return app_root() / "resources"


def app_icon_path() -> Path:
    return resources_dir() / APP_ICON


def bundled_program(name: str) -> Path:
    """A program of the frozen build: it sits next to the running one (``.exe`` on Windows)."""
    suffix = ".exe" if sys.platform == "win32" else ""
    return Path(sys.executable).resolve().with_name(name + suffix)


def default_workspace() -> Path:
    """SCREENALYZER_WORKSPACE wins; else a folder in the user's data directory."""
    env = os.environ.get("SCREENALYZER_WORKSPACE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "workspace"
