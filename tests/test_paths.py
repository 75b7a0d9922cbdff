"""One helper finds the app's data and programs, from source and frozen; the frozen entry's pieces."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support import REPO_ROOT, child_env

from screenalyzer_desktop.core import paths
from screenalyzer_desktop.sample_episode import default_recipe_path

PACKAGE = REPO_ROOT / "screenalyzer_desktop"


def test_from_source_the_data_folders_are_the_repository_ones() -> None:
    assert not paths.is_frozen()
    assert paths.app_root() == REPO_ROOT
    assert (paths.configs_dir() / "default.yaml").is_file() and (paths.configs_dir() / "limits.yaml").is_file()
    assert default_recipe_path() == REPO_ROOT / "resources" / "sample_episode" / "recipe.json"
    assert paths.app_icon_path().is_file() and paths.app_icon_path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_frozen_data_and_programs_are_found_in_the_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from screenalyzer_desktop.gui.process_runner import worker_command

    internal = tmp_path / "screenalyzer-desktop" / "_internal"
    internal.mkdir(parents=True)
    window_program = tmp_path / "screenalyzer-desktop" / paths.APP_NAME
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(window_program))
    assert paths.is_frozen()
    assert paths.configs_dir() == internal / "configs" and paths.resources_dir() == internal / "resources"
    program, args = worker_command(["run-stage", "ep", "track", "--progress", "jsonl"])
    assert Path(program) == window_program.with_name(paths.CLI_NAME), "the bundle's CLI, never a Python"
    assert args == ["run-stage", "ep", "track", "--progress", "jsonl"]


def test_program_names_are_the_entry_points_of_the_package() -> None:
    """The frozen entry picks window or CLI by program name: the names must be the installed ones."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"][paths.CLI_NAME] == "screenalyzer_desktop.cli:main"
    assert project["gui-scripts"][paths.APP_NAME] == "screenalyzer_desktop.gui.app:main"


def test_no_module_finds_its_own_files_but_the_paths_helper() -> None:
    """`__file__` and `sys._MEIPASS` point somewhere else once frozen: only core/paths.py may use them."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "core" / "paths.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Name) and node.id == "__file__") or (
                    isinstance(node, ast.Attribute) and node.attr == "_MEIPASS"):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_the_window_program_saves_a_screenshot_and_quits(tmp_path: Path) -> None:
    """The `--screenshot` mode the installer smoke test relies on, from source: a real window, offscreen."""
    shot = tmp_path / "window.png"
    env = {**child_env(), "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "screenalyzer_desktop.frozen_main", "--workspace",
                           str(tmp_path / "ws"), "--screenshot", str(shot)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 500, (image.width(), image.height())
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20, "a blank or one-colour picture"


def test_version_answers_before_qt_starts(tmp_path: Path) -> None:
    from screenalyzer_desktop import __version__

    env = {**child_env(), "QT_QPA_PLATFORM": "no-such-platform"}  # Qt starting would abort here
    done = subprocess.run([sys.executable, "-m", "screenalyzer_desktop.frozen_main", "--version"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0 and done.stdout.strip().endswith(__version__), done.stderr
