"""Views follow the files: runs from a terminal show up live, cancel leaves no partial artifact,
a reopened window re-attaches to a run still going, and a dead run reads as interrupted."""

from __future__ import annotations

import signal
import subprocess

import pytest
from gui_helpers import RUN_TIMEOUT_MS, engine, import_episode, select, status, wait_all_done, wait_status
from PySide6.QtCore import Qt, QTimer

from screenalyzer_desktop.core.atomic import is_temp_name
from screenalyzer_desktop.core.records import record_path
from screenalyzer_desktop.core.workspace import Workspace


@pytest.fixture
def reap():
    """Engine processes a test starts itself are stopped at its end."""
    started: list[subprocess.Popen] = []
    yield started.append
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def no_repeating_timers(window) -> bool:
    """None of our objects runs a repeating timer (Qt's own, like the status bar's message timeout, aside)."""
    repeating = [(timer.parent(), timer.interval()) for timer in window.findChildren(QTimer)
                 if timer.isActive() and not timer.isSingleShot()
                 and type(timer.parent()).__module__.startswith("screenalyzer_desktop")]
    assert not repeating, repeating
    return True


def test_a_run_from_the_cli_updates_the_open_window(qtbot, make_window, videos, workspace_dir, reap) -> None:
    window = make_window()
    episode_id = import_episode(qtbot, window, videos["short"])
    select(window, episode_id)
    process = engine(workspace_dir, "run-stage", episode_id, "screentime")
    reap(process)
    wait_status(qtbot, window, episode_id, "detect_embed", "running")
    assert window.live.isVisible() and "last event" in window.live.text()
    assert window.pipeline_panel.rows["detect_embed"].cancel.isEnabled()
    assert "started outside this window" in window.pipeline_panel.now_label.text()
    assert no_repeating_timers(window)
    wait_all_done(qtbot, window, episode_id)
    assert process.wait(60) == 0
    assert window.pipeline_panel.rows["screentime"].status.text() == "Done"
    qtbot.waitUntil(lambda: not window.live.isVisible())
    assert no_repeating_timers(window)


def test_cancel_in_the_middle_of_detect_then_resume(qtbot, make_window, videos, workspace_dir) -> None:
    window = make_window()
    episode_id = import_episode(qtbot, window, videos["medium"])
    select(window, episode_id)
    episode = Workspace(workspace_dir).episode(episode_id)
    before = sorted(p.name for p in episode.artifacts_dir.iterdir())
    window.run_stage(episode_id, "screentime", if_needed=True)
    with qtbot.waitSignal(window.runs.progress, timeout=RUN_TIMEOUT_MS,
                          check_params_cb=lambda job, event: event["stage"] == "detect_embed"
                          and event["fraction"] > 0):
        pass
    cancel = window.pipeline_panel.rows["detect_embed"].cancel
    assert cancel.isEnabled()
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "cancelled"
    assert ended.args[0].outcome.exit_code == 130
    wait_status(qtbot, window, episode_id, "detect_embed", "cancelled")
    after = sorted(p.name for p in episode.artifacts_dir.iterdir())
    assert after == before, "a cancelled detect leaves no artifact, partial or temp"
    assert not any(is_temp_name(p.name) for p in episode.dir.rglob("*"))
    assert not record_path(episode, "detect_embed").exists()
    resume = window.pipeline_panel.resume_button
    qtbot.waitUntil(lambda: resume.isVisible() and resume.isEnabled())
    assert not window.pipeline_panel.error_panel.isVisible(), "a cancel is not shown as an error"
    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    wait_all_done(qtbot, window, episode_id)
    qtbot.waitUntil(lambda: not resume.isVisible())


def test_a_reopened_window_reattaches_to_a_run_still_going(qtbot, make_window, videos, workspace_dir,
                                                           reap) -> None:
    first = make_window()
    episode_id = import_episode(qtbot, first, videos["medium"])
    process = engine(workspace_dir, "run-stage", episode_id, "screentime")
    reap(process)
    wait_status(qtbot, first, episode_id, "detect_embed", "running")
    first.close()
    second = make_window()
    wait_status(qtbot, second, episode_id, "detect_embed", "running", timeout=20_000)
    assert second.live.isVisible()
    select(second, episode_id)
    assert second.pipeline_panel.rows["detect_embed"].status.text() == "Running"
    qtbot.waitUntil(lambda: any("Running detect_embed" in line for line in second.log_panel.shown_lines()))
    wait_all_done(qtbot, second, episode_id)
    assert process.wait(60) == 0
    qtbot.waitUntil(lambda: not second.live.isVisible())


def test_a_run_that_dies_reads_as_interrupted_and_resumes(qtbot, make_window, videos, workspace_dir,
                                                          reap) -> None:
    window = make_window()
    episode_id = import_episode(qtbot, window, videos["medium"])
    select(window, episode_id)
    process = engine(workspace_dir, "run-stage", episode_id, "track")
    reap(process)
    assert process.stdout is not None
    for line in process.stdout:  # wait until detect is really under way
        if '"detect_embed"' in line and '"progress"' in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    wait_status(qtbot, window, episode_id, "detect_embed", "interrupted", timeout=20_000)
    assert window.pipeline_panel.rows["detect_embed"].status.text() == "Interrupted"
    qtbot.waitUntil(lambda: not window.live.isVisible())
    resume = window.pipeline_panel.resume_button
    assert resume.isVisible() and resume.isEnabled()
    # A window opened after the death reads the same.
    other = make_window()
    wait_status(qtbot, other, episode_id, "detect_embed", "interrupted", timeout=20_000)
    other.close()
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    assert (ended.args[0].stage, ended.args[0].status) == ("track", "done"), "resumed to the dead run's target"
    wait_status(qtbot, window, episode_id, "track", "done", timeout=20_000)
    assert status(window, episode_id, "cluster") == "not_run"
