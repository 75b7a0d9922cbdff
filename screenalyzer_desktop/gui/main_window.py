"""The main window: episode library and run queue on the left, the selected episode's tabs (pipeline
and log, review, results, cast) on the right, menus, drag and drop, and a status bar with the live-run
indicator."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.video import VIDEO_SUFFIXES, videos_in
from screenalyzer_desktop.core.workspace import Workspace
from screenalyzer_desktop.gui.batch_dock import BatchDock
from screenalyzer_desktop.gui.episode_view import EpisodeView
from screenalyzer_desktop.gui.error_view import ErrorPanel
from screenalyzer_desktop.gui.jobs import IMPORT, STAGE, Job, RunQueue
from screenalyzer_desktop.gui.library import EpisodeLibraryModel, LibraryView
from screenalyzer_desktop.gui.live_indicator import LiveIndicator
from screenalyzer_desktop.gui.log_panel import LogModel, read_log_tail
from screenalyzer_desktop.gui.menus import build_menus
from screenalyzer_desktop.gui.queue_view import QueueView
from screenalyzer_desktop.gui.settings import AppSettings, load_settings, save_settings
from screenalyzer_desktop.gui.snapshots import EpisodeSnapshot, list_episode_ids, load_snapshot
from screenalyzer_desktop.gui.tasks import run_in_pool
from screenalyzer_desktop.gui.watcher import EpisodeWatcher
from screenalyzer_desktop.pipeline import ORDER


class MainWindow(QMainWindow):
    def __init__(self, store: QSettings, *, grace_ms: int = 3000) -> None:
        super().__init__()
        self.setWindowTitle("SCREENALYZER")
        self.setAcceptDrops(True)
        self.resize(1280, 780)
        self._store = store
        self.settings: AppSettings = load_settings(store)
        self._config: Config | None = None  # parsed once per settings change: YAML parsing is slow
        self.workspace = Workspace(self.settings.workspace_path())
        self.imports = RunQueue(lambda: self.settings.import_args(), self, grace_ms=grace_ms)
        self.runs = RunQueue(self.settings_args, self, grace_ms=grace_ms)
        self.library = EpisodeLibraryModel(self)
        self.library_view = LibraryView(self.library)
        self.queue_view = QueueView([self.runs, self.imports])
        self.episode_view = EpisodeView()
        self.pipeline_panel = self.episode_view.pipeline_panel
        self.log_panel = self.episode_view.log_panel
        self.banner = ErrorPanel(closable=True)
        self.live = LiveIndicator()
        self.workspace_label = QLabel()
        self.log_models: dict[str, LogModel] = {}
        self.snapshots: dict[str, EpisodeSnapshot] = {}
        self._errors: dict[str, ScreenalyzerError] = {}
        self._targets: dict[str, str] = {}
        self._loading: set[str] = set()
        self._dirty: set[str] = set()
        self._run_after_import: set[str] = set()
        self.watcher: EpisodeWatcher | None = None
        self._build_layout()
        self.batch_dock = BatchDock(self, grace_ms=grace_ms)
        build_menus(self)
        self._connect()
        self._open_workspace()

    # -- building ---------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        left_layout.addWidget(self.library_view, 1)
        left_layout.addWidget(self.queue_view)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.episode_view)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 1020])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self.workspace_label)
        self.statusBar().addPermanentWidget(self.live)

    def _connect(self) -> None:
        self.library_view.selectionModel().currentRowChanged.connect(self._on_library_current_row_changed)
        self.pipeline_panel.runRequested.connect(self._on_pipeline_run_requested)
        self.pipeline_panel.cancelRequested.connect(self.cancel_selected)
        self.pipeline_panel.resumeRequested.connect(self.resume_selected)
        for queue in (self.runs, self.imports):
            queue.activity.connect(self.live.note_event)
            queue.changed.connect(self._update_live)
        self.runs.progress.connect(self._on_runs_progress)
        self.runs.stageChanged.connect(self._on_runs_stage_changed)
        self.runs.log.connect(self._on_runs_log)
        self.runs.jobStarted.connect(self._on_runs_job_started)
        self.runs.jobEnded.connect(self._on_runs_job_ended)
        self.imports.jobEnded.connect(self._on_imports_job_ended)
        self.episode_view.labelsChanged.connect(self._on_episode_view_labels_changed)
        self.episode_view.castChanged.connect(self.reload_episode)
        self.episode_view.rerunRequested.connect(lambda episode_id, stage: self.run_stage(episode_id, stage,
                                                                                         if_needed=True))

    def settings_args(self) -> list[str]:
        return self.settings.engine_args()

    # -- workspace and snapshots ------------------------------------------------------------------
    def _open_workspace(self) -> None:
        self.workspace_label.setText(f"Workspace: {self.workspace.root}")
        try:
            self.workspace.ensure_writable()
        except ScreenalyzerError as error:
            self.banner.show_error(error, str(self.workspace.root))
        if self.watcher is not None:
            self.watcher.close()
            self.watcher.deleteLater()
        self.watcher = EpisodeWatcher(self.workspace, self)
        self.watcher.episodesChanged.connect(self.reload_list)
        self.watcher.episodeChanged.connect(self._on_watcher_episode_changed)
        self.reload_list()

    def reload_list(self) -> None:
        run_in_pool(list_episode_ids, self.workspace, on_done=self._on_list_loaded, on_failed=self._on_load_failed,
                    owner=self)

    def _on_list_loaded(self, episode_ids: list[str]) -> None:
        if self.watcher is None:
            return
        self.watcher.watch_episodes(episode_ids)
        self.library.keep_only(set(episode_ids))
        for episode_id in episode_ids:
            self.reload_episode(episode_id)

    def _on_watcher_episode_changed(self, episode_id: str) -> None:
        self.live.note_event()
        self.reload_episode(episode_id)

    def reload_episode(self, episode_id: str) -> None:
        """Read an episode's files on the pool; a change during a read schedules one more read."""
        if episode_id in self._loading:
            self._dirty.add(episode_id)
            return
        try:
            config = self._config = self._config or self.settings.config()
        except ScreenalyzerError as error:
            self.banner.show_error(error, "Settings")
            return
        self._loading.add(episode_id)
        workspace = self.workspace
        run_in_pool(load_snapshot, workspace, episode_id, config,
                    on_done=lambda snap: self._on_snapshot_loaded(workspace, episode_id, snap),
                    on_failed=lambda error: self._on_snapshot_failed(episode_id, error), owner=self)

    def _on_snapshot_loaded(self, workspace: Workspace, episode_id: str, snapshot: EpisodeSnapshot) -> None:
        self._loading.discard(episode_id)
        if workspace is self.workspace:
            self.snapshots[episode_id] = snapshot
            if snapshot.run_active and snapshot.pid and snapshot.host == socket.gethostname() and self.watcher:
                self.watcher.watch_process(episode_id, int(snapshot.pid))
            self.library.set_snapshot(snapshot)
            shown = self.pipeline_panel.snapshot
            if self.selected_id() == episode_id and shown is not None and shown.id == episode_id:
                self.pipeline_panel.set_snapshot(snapshot)
                self._show_episode(episode_id)
            elif self.selected_id() == episode_id:
                self._on_library_current_row_changed()  # the selected placeholder became this episode
            elif self.selected_id() is None and self.library_view.currentIndex().row() < 0:
                self.library_view.selectRow(self.library.row_of(episode_id))
            self._update_live()
        if episode_id in self._dirty:
            self._dirty.discard(episode_id)
            self.reload_episode(episode_id)

    def _on_snapshot_failed(self, episode_id: str, error: ScreenalyzerError) -> None:
        self._loading.discard(episode_id)
        self._dirty.discard(episode_id)
        if error.code != "ERR_EPISODE_NOT_FOUND":
            self._on_load_failed(error)

    def _on_load_failed(self, error: ScreenalyzerError) -> None:
        self.banner.show_error(error, "Reading the workspace")

    def _update_live(self) -> None:
        attached = any(snap.run_active for snap in self.snapshots.values())
        self.live.set_active(self.runs.is_busy() or self.imports.is_busy() or attached)

    # -- selection --------------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        row = self.library.row_data(self.library.key_at(self.library_view.currentIndex().row()) or "")
        return row.key if row is not None and row.snapshot is not None else None

    def _on_library_current_row_changed(self, *_: object) -> None:
        episode_id = self.selected_id()
        self.pipeline_panel.set_snapshot(self.snapshots.get(episode_id) if episode_id else None)
        self.log_panel.set_model(self.log_model(episode_id) if episode_id else None)
        self._show_episode(episode_id)
        self._sync_panel_job()
        if episode_id in self._errors:
            self.pipeline_panel.show_error(self._errors[episode_id])

    def _show_episode(self, episode_id: str | None) -> None:
        """Point the review, results and cast tabs at the episode; they reload when its stages change."""
        snapshot = self.snapshots.get(episode_id or "")
        if episode_id is None or snapshot is None:
            self.episode_view.set_episode(self.workspace, None, None)
            return
        stamp = (*(f"{s.stage}:{s.status}" for s in snapshot.stages), str(snapshot.last_run))
        self.episode_view.set_episode(self.workspace, self.workspace.episode(episode_id), self._config, stamp)

    def _on_episode_view_labels_changed(self, episode_id: str) -> None:
        """An edit of the people: screen time and its exports are recomputed by the engine, as ever."""
        if self.runs.job_for(episode_id) is None:
            self.run_stage(episode_id, ORDER[-1], if_needed=True)

    def log_model(self, episode_id: str) -> LogModel:
        """The episode's log lines; a new one starts with the tail of its newest log file."""
        if episode_id not in self.log_models:
            model = self.log_models[episode_id] = LogModel(self)
            run_in_pool(read_log_tail, self.workspace.episodes_dir / episode_id / "logs", owner=model,
                        on_done=lambda events: self._on_log_tail_loaded(model, events), on_failed=self._on_load_failed)
        return self.log_models[episode_id]

    def _on_log_tail_loaded(self, model: LogModel, events: list[dict]) -> None:
        if model.rowCount() == 0:  # lines of a run of this window came first: they are newer
            for event in events:
                model.append(event)

    def _sync_panel_job(self) -> None:
        episode_id = self.selected_id()
        job = self.runs.job_for(episode_id) if episode_id else None
        own = job is not None and job is self.runs.current()
        self.pipeline_panel.set_job_state(queued=job is not None and not own, own_run=own,
                                          plan=job.plan if own and job else None)

    # -- importing --------------------------------------------------------------------------------
    def import_paths(self, paths: list[Path], *, run_after: bool = False,
                     cast: tuple[Path, str] | None = None) -> None:
        """Import videos (folders: their videos), matched against ``cast`` (folder, show) if given, else
        against the show's cast of the settings."""
        videos = videos_in(paths)
        if not videos:
            self.banner.show_error(ScreenalyzerError("ERR_VIDEO_NOT_FOUND",
                                                     detail=f"no video files in {', '.join(map(str, paths))}"))
            return
        for video in videos:
            self.library.add_probing(video)
            if run_after:
                self._run_after_import.add(str(video.resolve()))
            settings = self.settings if cast is None else self.settings.with_changes(cast_dir=str(cast[0]),
                                                                                     show=cast[1])
            self.imports.enqueue(Job(IMPORT, str(video.resolve()), args=settings.import_args()))
        self.statusBar().showMessage(f"Importing {len(videos)} video(s)…", 5000)

    def open_files(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in sorted(VIDEO_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Open videos", "", f"Videos ({patterns});;All files (*)")
        if files:
            self.import_paths([Path(f) for f in files])

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of videos")
        if folder:
            self.import_paths([Path(folder)])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def _on_imports_job_ended(self, job: Job) -> None:
        self.library.end_probing(Path(job.ref))
        outcome = job.outcome
        if outcome is not None and outcome.error is not None:
            self._run_after_import.discard(job.ref)
            if outcome.status == "failed":
                self.banner.show_error(outcome.error, Path(job.ref).name)
            return
        if job.ref in self._run_after_import and job.episode_id:
            self._run_after_import.discard(job.ref)
            self.run_stage(job.episode_id, ORDER[-1], if_needed=True)

    # -- running ----------------------------------------------------------------------------------
    def run_stage(self, episode_id: str, stage: str, *, if_needed: bool) -> Job:
        self._errors.pop(episode_id, None)
        if self.selected_id() == episode_id:
            self.pipeline_panel.error_panel.clear_error()
        self._targets[episode_id] = stage
        job = self.runs.enqueue(Job(STAGE, episode_id, stage, if_needed))
        self._sync_panel_job()
        return job

    def _on_pipeline_run_requested(self, stage: str, if_needed: bool) -> None:
        episode_id = self.selected_id()
        if episode_id:
            self.run_stage(episode_id, stage, if_needed=if_needed)

    def run_all_selected(self) -> None:
        self._on_pipeline_run_requested(ORDER[-1], True)

    def resume_selected(self) -> None:
        episode_id = self.selected_id()
        snapshot = self.snapshots.get(episode_id or "")
        if episode_id is None or snapshot is None or self.runs.job_for(episode_id):
            return
        if not snapshot.resumable:
            return
        target = snapshot.target or self._targets.get(episode_id, ORDER[-1])  # a run from a terminal too
        self.run_stage(episode_id, target, if_needed=True)

    def cancel_selected(self) -> None:
        episode_id = self.selected_id()
        job = self.runs.job_for(episode_id) if episode_id else None
        if job is not None:
            self.runs.cancel(job)
            return
        snapshot = self.snapshots.get(episode_id or "")
        if snapshot and snapshot.run_active and snapshot.pid and snapshot.host == socket.gethostname():
            try:
                os.kill(int(snapshot.pid), signal.SIGTERM)  # the engine cancels cleanly on SIGTERM
            except OSError as exc:
                self.statusBar().showMessage(f"Could not cancel the run of pid {snapshot.pid}: {exc}", 8000)

    def _on_runs_job_started(self, job: Job) -> None:
        if job.episode_id == self.selected_id():
            self._sync_panel_job()

    def _on_runs_progress(self, job: Job, event: dict) -> None:
        if job.episode_id == self.selected_id():
            self.pipeline_panel.apply_progress(event)

    def _on_runs_stage_changed(self, job: Job, event: dict) -> None:
        if job.episode_id == self.selected_id():
            self._sync_panel_job()
            self.pipeline_panel.apply_stage_event(event)

    def _on_runs_log(self, job: Job, event: dict) -> None:
        if job.episode_id:
            self.log_model(job.episode_id).append(event)

    def _on_runs_job_ended(self, job: Job) -> None:
        outcome = job.outcome
        episode_id = job.episode_id or ""
        if outcome is not None and outcome.error is not None and outcome.status == "failed":
            self._errors[episode_id] = outcome.error
            if episode_id == self.selected_id():
                self.pipeline_panel.show_error(outcome.error)
        verdict = {"done": "finished", "cancelled": "was cancelled", "failed": "failed"}
        self.statusBar().showMessage(f"{job.label} {verdict.get(job.status, job.status)}", 8000)
        if episode_id == self.selected_id():
            self._sync_panel_job()
        self._update_live()

    # -- menus ------------------------------------------------------------------------------------
    def open_preferences(self) -> None:
        from screenalyzer_desktop.gui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self.workspace, self)
        if dialog.exec() == PreferencesDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: AppSettings) -> None:
        """Store new settings; a new workspace reloads the library, new thresholds the stage states."""
        old_root = self.workspace.root
        self.settings = settings
        self._config = None
        save_settings(self._store, settings)
        if settings.workspace_path() != old_root:
            self.workspace = Workspace(settings.workspace_path())
            self.snapshots.clear()
            self.library.keep_only(set())
            self._open_workspace()
        else:
            for episode_id in list(self.snapshots):
                self.reload_episode(episode_id)

    def show_logs_folder(self) -> None:
        episode_id = self.selected_id()
        folder = self.workspace.episodes_dir / episode_id / "logs" if episode_id else self.workspace.root
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Runs of this window stop with it (cleanly: the engine keeps what it finished)."""
        busy = len(self.runs.jobs()) + len(self.imports.jobs())
        if busy:
            answer = QMessageBox.question(
                self, "Runs in progress",
                f"{busy} run(s) are going or queued. Cancel them and quit?\n"
                "Finished stages are kept; you can resume later.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        for queue in (self.runs, self.imports):
            queue.shutdown()
        self.batch_dock.stop()
        if self.watcher is not None:
            self.watcher.close()
        event.accept()
