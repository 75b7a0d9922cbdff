"""Preferences: workspace, engine, insightface model pack, execution provider, sampling rate and every
threshold of configs/default.yaml. Values are validated by core.config before the dialog closes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.cast_bank import cast_photos
from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.engines.model_pack import INSIGHTFACE_LICENCE_NOTICE, import_pack_zip
from screenalyzer_desktop.gui.settings import DEDICATED_KEYS, PROVIDER_AUTO, AppSettings, cli_value, flat_defaults
from screenalyzer_desktop.gui.tasks import run_in_pool

ENGINES = (("auto", "Automatic (insightface when a model pack is installed, else dlib)"),
           ("insightface", "insightface (GPU or CPU, needs a model pack)"), ("dlib", "dlib (offline, CPU)"))


def available_providers() -> list[str]:
    try:
        import onnxruntime
    except ImportError:
        return []
    return list(onnxruntime.get_available_providers())


class PreferencesDialog(QDialog):
    def __init__(self, settings: AppSettings, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.resize(720, 560)
        self._settings = settings
        self._result = settings
        self._defaults = flat_defaults()
        self.workspace_edit = QLineEdit(settings.workspace)
        self.workspace_edit.setPlaceholderText(str(workspace.root))
        self.engine_box = QComboBox()
        for key, text in ENGINES:
            self.engine_box.addItem(text, key)
        self.engine_box.setCurrentIndex(max(0, self.engine_box.findData(settings.engine)))
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.25, 30.0)
        self.fps_spin.setSingleStep(0.5)
        self.fps_spin.setSuffix(" samples/s")
        self.fps_spin.setValue(settings.sample_fps or float(self._defaults["detect.sample_fps"]))
        self.fps_spin.setToolTip(f"Frames the face detector looks at per second of video "
                                 f"(default {self._defaults['detect.sample_fps']})")
        self.cast_edit = QLineEdit(settings.cast_dir)
        self.cast_edit.setPlaceholderText("none: people are numbered, not named")
        self.cast_edit.setToolTip("One sub-folder of photos per cast member; every episode imported is matched "
                                  "against it")
        self.show_edit = QLineEdit(settings.show)
        self.show_edit.setPlaceholderText("the cast folder's name")
        self.pack_edit = QLineEdit(settings.pack_dir)
        default_pack = workspace.models_dir / str(self._defaults["engines.insightface.pack_name"])
        self.pack_edit.setPlaceholderText(str(default_pack))
        self.import_button = QPushButton("Import model pack (.zip)…")
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.provider_box = QComboBox()
        self.providers = available_providers()
        self.provider_box.addItem("Automatic (GPU when available, else CPU)", PROVIDER_AUTO)
        for provider in self.providers:
            self.provider_box.addItem(provider, provider)
        self.provider_box.setCurrentIndex(max(0, self.provider_box.findData(settings.provider)))
        gpu = [p for p in self.providers if p not in ("CPUExecutionProvider", "AzureExecutionProvider")]
        listed = ", ".join(self.providers) or "none (onnxruntime is missing)"
        verdict = (f"<b>GPU available</b> ({', '.join(gpu)})." if gpu
                   else "<b>No GPU provider</b>: insightface runs on the CPU.")
        self.providers_label = QLabel(f"onnxruntime providers on this machine: {listed}.<br>{verdict}")
        self.providers_label.setWordWrap(True)
        self.thresholds = self._threshold_table(settings.overrides)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b71c1c;")
        self.error_label.hide()
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)

        tabs = QTabWidget()
        tabs.addTab(self._general_tab(), "General")
        tabs.addTab(self._models_tab(), "Face models")
        tabs.addTab(self._thresholds_tab(), "Thresholds")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _folder_row(self, edit: QLineEdit, title: str) -> QHBoxLayout:
        """A path field with its Browse… button."""
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse_folder(edit, title))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return row

    def _general_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("Workspace folder", self._folder_row(self.workspace_edit, "Workspace folder"))
        form.addRow("Face engine", self.engine_box)
        form.addRow("Sampling rate", self.fps_spin)
        form.addRow("Cast folder for new episodes", self._folder_row(self.cast_edit, "Cast folder of the show"))
        form.addRow("Show", self.show_edit)
        return page

    def _models_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("insightface pack folder", self._folder_row(self.pack_edit, "insightface model pack folder"))
        form.addRow("", self.import_button)
        form.addRow("", self.notice_label)
        form.addRow("Execution provider", self.provider_box)
        form.addRow("", self.providers_label)
        return page

    def _threshold_table(self, overrides: dict[str, Any]) -> QTableWidget:
        keys = [key for key in self._defaults if key not in DEDICATED_KEYS]
        table = QTableWidget(len(keys), 3)
        table.setHorizontalHeaderLabels(["Setting", "Value", "Default"])
        for row, key in enumerate(keys):
            default = cli_value(self._defaults[key])
            for column, text in enumerate((key, cli_value(overrides.get(key, self._defaults[key])), default)):
                item = QTableWidgetItem(text)
                if column != 1:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                table.setItem(row, column, item)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().hide()
        return table

    def _thresholds_tab(self) -> QWidget:
        reset = QPushButton("Reset all to defaults")
        reset.clicked.connect(self._on_reset_clicked)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Defaults come from configs/default.yaml; allowed ranges from configs/limits.yaml."))
        layout.addWidget(self.thresholds, 1)
        layout.addWidget(reset, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def set_threshold(self, key: str, text: str) -> None:
        row = next(r for r in range(self.thresholds.rowCount()) if self.thresholds.item(r, 0).text() == key)
        self.thresholds.item(row, 1).setText(text)

    def _on_reset_clicked(self) -> None:
        for row in range(self.thresholds.rowCount()):
            self.thresholds.item(row, 1).setText(self.thresholds.item(row, 2).text())

    def _browse_folder(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() or edit.placeholderText())
        if folder:
            edit.setText(folder)

    def _models_dir(self) -> Path:
        text = self.workspace_edit.text().strip() or self.workspace_edit.placeholderText()
        return Workspace(Path(text).expanduser()).models_dir

    def confirm_licence(self) -> bool:
        box = QMessageBox(QMessageBox.Icon.Information, "insightface model licence", INSIGHTFACE_LICENCE_NOTICE,
                          QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel, self)
        box.button(QMessageBox.StandardButton.Ok).setText("I have the rights — import")
        return box.exec() == QMessageBox.StandardButton.Ok

    def _on_import_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import an insightface model pack", "", "Zip files (*.zip)")
        if path:
            self.import_pack(Path(path))

    def import_pack(self, zip_path: Path) -> None:
        """Show the licence notice, then import on the pool; the pack folder field follows."""
        if not self.confirm_licence():
            return
        self.import_button.setEnabled(False)
        self.notice_label.setText(f"Importing {zip_path.name}…")
        run_in_pool(import_pack_zip, zip_path, self._models_dir(), on_done=self._on_pack_imported,
                    on_failed=self._on_pack_failed, owner=self)

    def _on_pack_imported(self, folder: Path) -> None:
        self.import_button.setEnabled(True)
        self.pack_edit.setText(str(folder))
        self.notice_label.setText(f"Imported the model pack into {folder}.")

    def _on_pack_failed(self, error: ScreenalyzerError) -> None:
        self.import_button.setEnabled(True)
        self.notice_label.setText("")
        self._show_error(error)

    def _show_error(self, error: ScreenalyzerError) -> None:
        self.error_label.setText(f"<b>{error.code}</b>: {error.message} {error.detail}<br>{error.hint}")
        self.error_label.show()

    def _collect(self) -> AppSettings:
        """The dialog's values as settings, thresholds coerced and checked by core.config."""
        texts = {self.thresholds.item(r, 0).text(): self.thresholds.item(r, 1).text().strip()
                 for r in range(self.thresholds.rowCount())}
        changed = {key: text for key, text in texts.items() if text != cli_value(self._defaults[key])}
        config = load_config(overrides=changed)
        overrides = {key: config.get(key) for key in changed if config.get(key) != self._defaults[key]}
        fps = self.fps_spin.value()
        settings = self._settings.with_changes(
            workspace=self.workspace_edit.text().strip(), engine=self.engine_box.currentData(),
            pack_dir=self.pack_edit.text().strip(), provider=self.provider_box.currentData(),
            sample_fps=None if fps == self._defaults["detect.sample_fps"] else fps, overrides=overrides,
            cast_dir=self.cast_edit.text().strip(), show=self.show_edit.text().strip())
        settings.config()
        if settings.cast_dir:
            cast_photos(Path(settings.cast_dir).expanduser())
        return settings

    def accept(self) -> None:
        try:
            self._result = self._collect()
        except ScreenalyzerError as error:
            self._show_error(error)
            return
        super().accept()

    def result_settings(self) -> AppSettings:
        return self._result


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    dialog = PreferencesDialog(AppSettings(), Workspace())
    dialog.show()
    sys.exit(app.exec())
