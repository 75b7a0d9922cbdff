"""The main window with real engine processes: drop to import, run the pipeline, errors and the queue."""

from __future__ import annotations

import shutil
from pathlib import Path

from gui_helpers import RUN_TIMEOUT_MS, drop, import_episode, select, wait_all_done
from PySide6.QtCore import Qt

from screenalyzer_desktop.gui.library import STAGES, StatusesRole
from screenalyzer_desktop.pipeline import ORDER


def test_dropped_videos_show_at_once_as_probing_then_as_episodes(qtbot, make_window, videos, tmp_path) -> None:
    clips = [tmp_path / "clip one.mp4", tmp_path / "clip two.mp4"]
    for clip in clips:
        shutil.copy(videos["short"], clip)
    window = make_window()
    assert drop(window, clips)
    rows = window.library.rows()
    assert [row.name for row in rows] == ["clip one.mp4", "clip two.mp4"]
    assert all(row.probing for row in rows)
    assert window.library.index(0, STAGES).data(StatusesRole) == "probing"
    qtbot.waitUntil(lambda: len(window.snapshots) == 2 and not any(r.probing for r in window.library.rows()),
                    timeout=RUN_TIMEOUT_MS)
    assert sorted(window.snapshots) == ["clip_one", "clip_two"]
    for snapshot in window.snapshots.values():
        assert snapshot.stage("ingest").status == "done"
        assert snapshot.duration_s == 4.0
    assert window.library.rowCount() == 2


def test_a_dropped_folder_imports_its_videos_only(qtbot, make_window, videos, tmp_path) -> None:
    folder = tmp_path / "season 1"
    folder.mkdir()
    shutil.copy(videos["short"], folder / "e01.mp4")
    (folder / "notes.txt").write_text("call list")
    window = make_window()
    assert drop(window, [folder])
    assert [row.name for row in window.library.rows()] == ["e01.mp4"]
    qtbot.waitUntil(lambda: list(window.snapshots) == ["e01"] and not window.imports.is_busy(), timeout=RUN_TIMEOUT_MS)


def test_a_dropped_file_that_is_no_video_says_why_and_changes_nothing(qtbot, make_window, tmp_path,
                                                                      workspace_dir) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    window = make_window()
    assert drop(window, [notes])
    qtbot.waitUntil(lambda: window.banner.error is not None, timeout=RUN_TIMEOUT_MS)
    assert window.banner.error.code == "ERR_VIDEO_UNREADABLE"
    assert window.banner.code_label.text() == "ERR_VIDEO_UNREADABLE"
    assert "notes.txt" in window.banner.message_label.text()
    assert window.banner.hint_label.text()
    qtbot.waitUntil(lambda: not window.imports.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert window.library.rowCount() == 0
    assert list((workspace_dir / "episodes").iterdir()) == []


def test_full_pipeline_through_the_runner(qtbot, make_window, videos) -> None:
    window = make_window()
    episode_id = import_episode(qtbot, window, videos["short"])
    select(window, episode_id)
    events: list[dict] = []
    stages_started: list[str] = []
    window.runs.progress.connect(lambda job, event: events.append(event))
    window.runs.stageChanged.connect(
        lambda job, event: stages_started.append(event["stage"]) if event["status"] == "running" else None)
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(window.pipeline_panel.run_all_button, Qt.MouseButton.LeftButton)
    job = ended.args[0]
    assert job.status == "done", job.outcome
    assert stages_started == ORDER[1:]
    overall = [event["overall"] for event in events]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert [e["stage"] for e in events] == sorted((e["stage"] for e in events), key=ORDER.index)
    assert any(event["counters"].get("faces") for event in events if event["stage"] == "detect_embed")
    # The files, through the watcher, bring the library badges and the panel to "done".
    wait_all_done(qtbot, window, episode_id)
    row = window.library.row_of(episode_id)
    qtbot.waitUntil(lambda: window.library.index(row, STAGES).data(StatusesRole) == [(s, "done") for s in ORDER])
    for stage in ORDER:
        assert window.pipeline_panel.rows[stage].status.text() == "Done"
        assert window.pipeline_panel.rows[stage].run.text() == "Re-run"
    assert window.log_panel.shown_lines(), "the run's log reached the log panel"
    qtbot.waitUntil(lambda: not window.live.isVisible())


def test_a_failed_prerequisite_shows_its_structured_cause(qtbot, make_window, videos) -> None:
    window = make_window(engine="insightface")  # no model pack in the test workspace
    episode_id = import_episode(qtbot, window, videos["short"])
    select(window, episode_id)
    with qtbot.waitSignal(window.runs.jobEnded, timeout=RUN_TIMEOUT_MS):
        window.run_stage(episode_id, "screentime", if_needed=True)
    panel = window.pipeline_panel.error_panel
    qtbot.waitUntil(panel.isVisible)
    assert panel.code_label.text() == "ERR_PREREQ_FAILED"
    assert "detect_embed" in panel.cause_label.text() and "ERR_MODEL_MISSING" in panel.cause_label.text()
    assert panel.hint_label.text()
    assert not panel.details.isVisible()
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert panel.details.isVisible()
    details = panel.details.toPlainText()
    assert "Caused by stage detect_embed: ERR_MODEL_MISSING" in details
    assert "Unknown error" not in details
    wait_status_text = window.pipeline_panel.rows["detect_embed"].status
    qtbot.waitUntil(lambda: wait_status_text.text() == "Failed")


def test_the_queue_runs_episodes_one_after_another(qtbot, make_window, videos, tmp_path) -> None:
    window = make_window()
    ids = []
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(videos["short"], tmp_path / name)
        ids.append(import_episode(qtbot, window, Path(tmp_path / name)))
    started: list[str] = []
    window.runs.jobStarted.connect(lambda job: started.append(job.episode_id))
    for episode_id in ids:
        window.run_stage(episode_id, "track", if_needed=True)
    texts = [window.queue_view.list.item(n).text() for n in range(window.queue_view.list.count())]
    assert len(texts) == 2 and texts[0].startswith("▶ Running: a") and texts[1] == "Queued: b · track"
    assert window.live.isVisible()
    qtbot.waitUntil(lambda: not window.runs.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert started == ids
    for episode_id in ids:
        qtbot.waitUntil(lambda e=episode_id: window.snapshots[e].stage("track").status == "done")
