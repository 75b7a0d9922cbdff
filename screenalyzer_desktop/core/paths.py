"""Where the app finds its own data files, from source and from a frozen (PyInstaller) build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "screenalyzer-desktop"


def app_root() -> Path:
    """The folder holding configs/ and resources/: the bundle when frozen, else the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[2]


def configs_dir() -> Path:
    return app_root() / "configs"


def resources_dir() -> Path:
    return app_root() / "resources"


def default_workspace() -> Path:
    """SCREENALYZER_WORKSPACE wins; else a folder in the user's data directory."""
    env = os.environ.get("SCREENALYZER_WORKSPACE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "workspace"
