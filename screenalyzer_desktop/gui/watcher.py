"""Views follow the files: a QFileSystemWatcher on each episode's folders, with a short debounce.

Folders are watched, not files, since an atomic replace drops a watch on the file itself. A folder
event that only a temp file caused (created, then renamed away) changes no listing and is ignored.
A run that dies writes no file, so the engine process of an attached run is watched too (a pidfd,
where the OS has them): its exit triggers a reload, which then reads the run as interrupted.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QSocketNotifier, QTimer, Signal

from screenalyzer_desktop.core.atomic import is_temp_name
from screenalyzer_desktop.core.workspace import Episode, Workspace

_LIST_KEY = ""  # the debounce key of the episode list itself
Listing = frozenset[tuple[str, int, int]]


def _listing(folder: str) -> Listing:
    """Names, sizes and mtimes of a folder's entries, temp files left out."""
    out = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_temp_name(entry.name):
                    continue
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                out.add((entry.name, stat.st_size, stat.st_mtime_ns))
    except OSError:
        pass
    return frozenset(out)


class EpisodeWatcher(QObject):
    """Emits ``episodesChanged`` when episodes come or go, ``episodeChanged(id)`` when one's files change."""

    episodesChanged = Signal()
    episodeChanged = Signal(str)

    def __init__(self, workspace: Workspace, parent: QObject | None = None, *, debounce_ms: int = 60) -> None:
        super().__init__(parent)
        self._workspace = workspace
        self._debounce_ms = debounce_ms
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_directory_changed)
        self._owners: dict[str, str] = {}  # watched folder -> episode id ("" for the episodes folder)
        self._listings: dict[str, Listing] = {}
        self._timers: dict[str, QTimer] = {}
        self._exits: dict[int, tuple[str, int, QSocketNotifier]] = {}  # pid -> (episode id, pidfd, notifier)
        self._add(str(workspace.episodes_dir), _LIST_KEY)

    def watch_process(self, episode_id: str, pid: int) -> bool:
        """Reload ``episode_id`` when process ``pid`` (on this host) exits; False where that cannot be watched."""
        if pid in self._exits:
            return True
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is None:
            return False
        try:
            fd = pidfd_open(pid)
        except OSError:
            return False
        notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)
        notifier.activated.connect(lambda *_: self._on_process_exited(pid))
        self._exits[pid] = (episode_id, fd, notifier)
        return True

    def close(self) -> None:
        """Stop watching processes (their notifiers hold file descriptors)."""
        for pid in list(self._exits):
            self._forget_process(pid)

    def _on_process_exited(self, pid: int) -> None:
        episode_id = self._forget_process(pid)
        if episode_id is not None:
            self._debounce(episode_id)

    def _forget_process(self, pid: int) -> str | None:
        entry = self._exits.pop(pid, None)
        if entry is None:
            return None
        episode_id, fd, notifier = entry
        notifier.setEnabled(False)
        notifier.deleteLater()
        os.close(fd)
        return episode_id

    def watch_episodes(self, episode_ids: list[str]) -> None:
        """Watch the folders of exactly these episodes (re-adding any folder that was recreated)."""
        wanted = {_LIST_KEY, *episode_ids}
        stale = [path for path, owner in self._owners.items() if owner not in wanted]
        if stale:
            self._watcher.removePaths(stale)
            for path in stale:
                self._owners.pop(path, None)
                self._listings.pop(path, None)
        self._add(str(self._workspace.episodes_dir), _LIST_KEY)
        for episode_id in episode_ids:
            episode = Episode(self._workspace.episodes_dir / episode_id)
            for folder in (episode.dir, episode.state_dir, episode.artifacts_dir):
                self._add(str(folder), episode_id)

    def _add(self, folder: str, owner: str) -> None:
        if folder in self._watcher.directories() or not Path(folder).is_dir():
            return
        if self._watcher.addPath(folder):
            self._owners[folder] = owner
            self._listings[folder] = _listing(folder)

    def _on_directory_changed(self, folder: str) -> None:
        owner = self._owners.get(folder)
        if owner is None:
            return
        listing = _listing(folder)
        if listing == self._listings.get(folder) and Path(folder).is_dir():
            return
        self._listings[folder] = listing
        if not Path(folder).is_dir():
            self._owners.pop(folder, None)
            self._listings.pop(folder, None)
            owner = _LIST_KEY
        self._debounce(owner)

    def _debounce(self, key: str) -> None:
        timer = self._timers.get(key)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(self._debounce_ms)
            timer.timeout.connect(lambda: self._on_debounce_timeout(key))
            self._timers[key] = timer
        if not timer.isActive():  # not restarted per event: a steady stream of writes still reloads each interval
            timer.start()

    def _on_debounce_timeout(self, key: str) -> None:
        if key == _LIST_KEY:
            self.episodesChanged.emit()
        else:
            self.episodeChanged.emit(key)
