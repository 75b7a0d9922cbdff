"""The headless engine never loads Qt: checked on a fresh interpreter and by a static scan."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO_ROOT, child_env

PACKAGE = REPO_ROOT / "screenalyzer_desktop"
HEADLESS_DIRS = ["core", "engines", "stages"]
HEADLESS_FILES = ["pipeline.py", "cli.py", "scan.py", "screentime_calc.py", "exports.py", "cast_bank.py",
                  "sample_episode.py", "__init__.py", "__main__.py"]
QT_PREFIXES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "qtpy", "shiboken6")


def _headless_sources() -> list[Path]:
    files = [p for d in HEADLESS_DIRS for p in sorted((PACKAGE / d).rglob("*.py"))]
    return files + [PACKAGE / name for name in HEADLESS_FILES if (PACKAGE / name).is_file()]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
                "import_module", "__import__"} and node.args and isinstance(node.args[0], ast.Constant):
            found.append(str(node.args[0].value))
    return found


def test_static_scan_finds_no_qt_import_outside_gui() -> None:
    sources = _headless_sources()
    assert len(sources) >= 20
    offenders = {str(p.relative_to(REPO_ROOT)): name for p in sources for name in _imports(p)
                 if name.startswith(QT_PREFIXES) or name.startswith("screenalyzer_desktop.gui")}
    assert not offenders, offenders


def test_static_scan_finds_no_qt_text_either() -> None:
    """Catches the dynamic forms the AST pass would miss (strings handed to importlib, exec)."""
    offenders = [str(p.relative_to(REPO_ROOT)) for p in _headless_sources()
                 if any(prefix in p.read_text(encoding="utf-8") for prefix in ("PySide", "PyQt", "pyqtgraph"))]
    assert not offenders, offenders


@pytest.mark.parametrize("modules", [
    ["screenalyzer_desktop.core.errors", "screenalyzer_desktop.core.atomic", "screenalyzer_desktop.core.config",
     "screenalyzer_desktop.core.workspace", "screenalyzer_desktop.core.records", "screenalyzer_desktop.core.state",
     "screenalyzer_desktop.core.tables", "screenalyzer_desktop.core.video", "screenalyzer_desktop.core.linking"],
    ["screenalyzer_desktop.engines", "screenalyzer_desktop.engines.dlib_engine",
     "screenalyzer_desktop.engines.insightface_engine", "screenalyzer_desktop.engines.model_pack"],
    ["screenalyzer_desktop.stages.ingest", "screenalyzer_desktop.stages.detect_embed",
     "screenalyzer_desktop.stages.track", "screenalyzer_desktop.stages.cluster",
     "screenalyzer_desktop.stages.screentime"],
    ["screenalyzer_desktop.pipeline", "screenalyzer_desktop.cli", "screenalyzer_desktop.exports",
     "screenalyzer_desktop.cast_bank"],
], ids=["core", "engines", "stages", "pipeline-cli"])
def test_fresh_interpreter_importing_the_engine_loads_no_qt(modules: list[str]) -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(QT_PREFIXES)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env=child_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_running_a_cli_command_loads_no_qt(tmp_path: Path) -> None:
    """Not only the imports: a real `status` run through the CLI's main stays Qt-free."""
    code = (
        "import json, sys\n"
        "from screenalyzer_desktop.cli import main\n"
        f"main(['status', '--workspace', {str(tmp_path)!r}, '--json'])\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(QT_PREFIXES)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env=child_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
