"""The main window's menus and shortcuts, following each platform's conventions (standard keys, menu roles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from screenalyzer_desktop.gui import about

if TYPE_CHECKING:
    from screenalyzer_desktop.gui.main_window import MainWindow


def _action(window: MainWindow, text: str, slot: Callable[[], object],
            shortcut: QKeySequence.StandardKey | str | None = None,
            role: QAction.MenuRole = QAction.MenuRole.NoRole) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setMenuRole(role)
    action.triggered.connect(slot)
    return action


def build_menus(window: MainWindow) -> None:
    """File (Open…, Open Folder…, Preferences…, Quit), Edit (undo and redo of the people), Run (full
    pipeline, resume, cancel, a season on Ray), Help."""
    keys = QKeySequence.StandardKey
    window.open_action = _action(window, "&Open…", window.open_files, keys.Open)
    window.open_folder_action = _action(window, "Open &Folder…", window.open_folder, "Ctrl+Shift+O")
    window.preferences_action = _action(window, "&Preferences…", window.open_preferences, keys.Preferences,
                                        QAction.MenuRole.PreferencesRole)
    window.quit_action = _action(window, "&Quit", window.close, keys.Quit, QAction.MenuRole.QuitRole)
    for action, fallback in ((window.preferences_action, "Ctrl+,"), (window.quit_action, "Ctrl+Q")):
        if action.shortcut().isEmpty():  # platforms without a standard key for it
            action.setShortcut(QKeySequence(fallback))
    window.run_all_action = _action(window, "Run &Full Pipeline", window.run_all_selected, "Ctrl+R")
    window.resume_action = _action(window, "&Resume", window.resume_selected, "Ctrl+Shift+R")
    window.cancel_action = _action(window, "&Cancel Run", window.cancel_selected, "Ctrl+.")
    window.batch_action = _action(window, "Analyse a &Season on Ray…", window.batch_dock.ask_and_start, "Ctrl+B")
    window.logs_action = _action(window, "Show &Logs", window.show_logs_folder)
    window.about_action = _action(window, "&About SCREENALYZER", lambda: about.show_about(window), None,
                                  QAction.MenuRole.AboutRole)
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    for item in (window.open_action, window.open_folder_action, None, window.preferences_action, None,
                 window.quit_action):
        file_menu.addSeparator() if item is None else file_menu.addAction(item)
    edit_menu = menus.addMenu("&Edit")
    review = window.episode_view.review_view
    edit_menu.addAction(review.undoAction)
    edit_menu.addAction(review.redoAction)
    run_menu = menus.addMenu("&Run")
    for item in (window.run_all_action, window.resume_action, window.cancel_action, None, window.batch_action):
        run_menu.addSeparator() if item is None else run_menu.addAction(item)
    help_menu = menus.addMenu("&Help")
    help_menu.addAction(window.logs_action)
    help_menu.addAction(window.about_action)
