"""The views on their own: log panel under a flood, settings schema, Preferences, About, menus."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox

from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.gui import about
from screenalyzer_desktop.gui.log_panel import LogModel, LogPanel, read_log_tail
from screenalyzer_desktop.gui.preferences import PreferencesDialog
from screenalyzer_desktop.gui.settings import SETTINGS_VERSION, AppSettings, load_settings, save_settings


def test_the_qt_binding_keeps_its_references_to_none(qtbot) -> None:
    """PySide6 6.12.0 on Python 3.11 dropped one reference to None per call of a void method, so a long
    session (or this test suite) aborted at exit with 'none_dealloc'. pyproject pins it out."""
    label = QLabel("x")
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2_000):
        label.clear()
    assert sys.getrefcount(None) - before >= 0


def test_the_log_panel_keeps_up_with_a_flood_of_lines(qtbot) -> None:
    model = LogModel(capacity=5_000, batch_ms=20)
    panel = LogPanel()
    qtbot.addWidget(panel)
    panel.set_model(model)
    panel.show()
    inserts: list[int] = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append(last - first + 1))
    started = time.perf_counter()
    for n in range(20_000):
        model.append({"level": "WARNING" if n % 10 == 0 else "INFO", "message": f"line {n}", "ts": time.time()})
    appended_s = time.perf_counter() - started
    qtbot.waitUntil(lambda: model.rowCount() == 5_000)
    assert appended_s < 1.0, f"20,000 appends took {appended_s:.2f} s"
    assert len(inserts) <= 3, "lines arrive in batches, not one insert per line"
    assert panel.shown_lines()[-1].endswith("line 19999")
    panel.level_box.setCurrentText("Warning")
    assert all("WARNING" in line for line in panel.shown_lines())
    assert len(panel.shown_lines()) == 500
    panel.search_box.setText("line 1999")
    assert [line.split()[-1] for line in panel.shown_lines()] == ["19990"]
    panel.copy_lines()
    assert QGuiApplication.clipboard().text().endswith("line 19990")


def test_the_newest_run_log_is_read_back_as_events(tmp_path: Path) -> None:
    (tmp_path / "20240101-100000-track.log").write_text("2024-01-01 10:00:00,000 INFO screenalyzer: old\n")
    newest = tmp_path / "20240102-100000-screentime.log"
    newest.write_text("2024-01-02 10:00:00,250 INFO screenalyzer: Running track (engine dlib)\n"
                      "2024-01-02 10:00:01,000 ERROR screenalyzer: track failed: boom\n"
                      "Traceback (most recent call last):\n")
    os.utime(newest, (time.time() + 5, time.time() + 5))
    events = read_log_tail(tmp_path)
    assert [e["level"] for e in events] == ["INFO", "ERROR"]
    assert events[0]["message"] == "Running track (engine dlib)"
    assert events[1]["message"].endswith("Traceback (most recent call last):")
    assert events[1]["ts"] - events[0]["ts"] == pytest.approx(0.75)


def test_settings_round_trip_and_reach_runs_as_arguments(qsettings: QSettings, tmp_path: Path) -> None:
    settings = AppSettings(workspace=str(tmp_path / "ws"), engine="dlib", sample_fps=4.0,
                           overrides={"track.iou_link": 0.5})
    save_settings(qsettings, settings)
    assert qsettings.value("schema_version") in (SETTINGS_VERSION, str(SETTINGS_VERSION))
    assert load_settings(qsettings) == settings
    args = settings.engine_args()
    assert args[:2] == ["--workspace", str(tmp_path / "ws")]
    assert {"engine=dlib", "detect.sample_fps=4.0", "track.iou_link=0.5"} <= set(args[3::2])
    assert "--set" in args and "engines.insightface.pack_dir=" not in args  # defaults are not repeated


def test_old_settings_are_migrated(qsettings: QSettings) -> None:
    qsettings.setValue("schema_version", 1)
    qsettings.setValue("engine", "dlib")
    qsettings.setValue("thresholds/track.iou_link", "0.4")
    settings = load_settings(qsettings)
    assert settings.engine == "dlib" and settings.overrides == {"track.iou_link": "0.4"}
    assert settings.config().get("track.iou_link") == 0.4


def test_preferences_refuse_an_invalid_threshold(qtbot, tmp_path: Path) -> None:
    dialog = PreferencesDialog(AppSettings(workspace=str(tmp_path)), Workspace(tmp_path))
    qtbot.addWidget(dialog)
    dialog.set_threshold("track.iou_link", "1.7")
    dialog.accept()
    assert dialog.isVisible() is False and dialog.result() == 0
    assert "ERR_CONFIG_INVALID" in dialog.error_label.text() and "track.iou_link" in dialog.error_label.text()
    dialog.set_threshold("track.iou_link", "0.45")
    dialog.fps_spin.setValue(3.0)
    dialog.engine_box.setCurrentIndex(dialog.engine_box.findData("dlib"))
    dialog.accept()
    result = dialog.result_settings()
    assert result.overrides == {"track.iou_link": 0.45}
    assert result.sample_fps == 3.0 and result.engine == "dlib"


def test_the_shows_cast_reaches_every_import(qtbot, tmp_path: Path) -> None:
    dialog = PreferencesDialog(AppSettings(workspace=str(tmp_path)), Workspace(tmp_path))
    qtbot.addWidget(dialog)
    dialog.cast_edit.setText(str(tmp_path / "no such folder"))
    dialog.accept()
    assert dialog.result() == 0 and "ERR_CAST_INVALID" in dialog.error_label.text()
    cast = tmp_path / "The Show cast"
    (cast / "anna").mkdir(parents=True)
    (cast / "anna" / "ref.jpg").write_bytes(b"photo")
    dialog.cast_edit.setText(str(cast))
    dialog.show_edit.setText("The Show")
    dialog.accept()
    settings = dialog.result_settings()
    assert (settings.cast_dir, settings.show) == (str(cast), "The Show")
    assert settings.import_args()[-4:] == ["--cast", str(cast), "--show", "The Show"]
    assert "--cast" not in settings.engine_args(), "stage runs read the cast from the episode, not the settings"


def test_preferences_list_the_execution_providers(qtbot, tmp_path: Path) -> None:
    import onnxruntime

    dialog = PreferencesDialog(AppSettings(), Workspace(tmp_path))
    qtbot.addWidget(dialog)
    items = [dialog.provider_box.itemData(n) for n in range(dialog.provider_box.count())]
    assert items == ["auto", *onnxruntime.get_available_providers()]
    assert "CPUExecutionProvider" in dialog.providers_label.text()


def test_the_licence_notice_comes_before_a_pack_import(qtbot, tmp_path: Path, monkeypatch) -> None:
    shown: list[str] = []

    def fake_exec(box: QMessageBox) -> int:
        shown.append(box.text())
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    dialog = PreferencesDialog(AppSettings(workspace=str(tmp_path)), Workspace(tmp_path))
    qtbot.addWidget(dialog)
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "no models here")
    dialog.import_pack(archive)
    assert shown and "non-commercial" in shown[0]
    assert dialog.import_button.isEnabled() and not (tmp_path / "models").exists(), "declined: nothing imported"
    monkeypatch.setattr(QMessageBox, "exec", lambda box: QMessageBox.StandardButton.Ok)
    dialog.import_pack(archive)
    qtbot.waitUntil(lambda: not dialog.error_label.isHidden())
    assert "ERR_MODEL" in dialog.error_label.text()


def test_about_names_versions_and_model_licences() -> None:
    text = about.about_html()
    for name in ("PySide6", "Qt", "onnxruntime", "insightface", "dlib-bin", "Python"):
        assert name in text
    assert "non-commercial" in text and "CC0" in text


def test_menus_follow_desktop_conventions(make_window) -> None:
    window = make_window()
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    assert not window.preferences_action.shortcut().isEmpty()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Run", "&Help"]
    edit = window.menuBar().actions()[1].menu().actions()
    assert [a.shortcut().toString() for a in edit] == ["Ctrl+Z", "Ctrl+Shift+Z"]


@pytest.mark.parametrize("module", ["pipeline_panel", "library", "log_panel", "error_view", "preferences"])
def test_each_view_opens_standalone(module: str) -> None:
    """`python -m screenalyzer_desktop.gui.<view>` shows the view on sample data (quit at once here)."""
    code = ("import runpy; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication; "
            "run = QApplication.exec; "
            "QApplication.exec = lambda app: (QTimer.singleShot(300, app.quit), run())[1]; "
            f"runpy.run_module('screenalyzer_desktop.gui.{module}', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
