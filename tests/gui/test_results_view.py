"""The Results tab on a real analysed demo episode: charts and table equal the artifacts, the timeline
opens frames with their boxes, exports land on disk, and the tab follows the artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QApplication
from support import events_sink, load_cfg

from screenalyzer_desktop.core import state as run_state
from screenalyzer_desktop.core.records import clear_record
from screenalyzer_desktop.core.tables import read_table
from screenalyzer_desktop.exports import EDL_NAME, FCPXML_NAME
from screenalyzer_desktop.gui.results_charts import PNG_NAMES, person_colour
from screenalyzer_desktop.gui.results_view import EXPORT_CHOICES, NO_EPISODE, NO_RESULTS, UPDATING, ResultsView
from screenalyzer_desktop.labels import track_people

LOAD_MS = 20_000


@pytest.fixture
def view(qtbot) -> ResultsView:
    widget = ResultsView()
    qtbot.addWidget(widget)
    widget.resize(1300, 800)
    widget.show()
    return widget


def open_episode(qtbot, view: ResultsView, episode) -> bool:
    with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
        view.set_episode(episode)
    return blocker.args[0]


def test_lanes_bars_and_table_equal_the_screen_time_artifacts(qtbot, view: ResultsView, demo) -> None:
    assert open_episode(qtbot, view, demo.episode)
    art = demo.episode.artifacts_dir
    summary = pd.read_csv(art / "screentime.csv")
    timeline = pd.read_csv(art / "timeline.csv")
    shots, _ = read_table(art / "shots.parquet", "shots", "ERR_DETECTIONS_MISSING")
    assert len(summary) >= 5, "the demo episode has several people"
    assert view.timeline.people == summary["person"].tolist(), "one lane per person, most screen time first"
    drawn = sorted((view.timeline.people[lane], start, end) for lane, start, end in view.timeline.segments)
    assert drawn == sorted(zip(timeline["person"], timeline["start_s"], timeline["end_s"], strict=True))
    assert list(view.timeline.cuts.getData()[0][::2]) == pytest.approx(shots["start_s"].tolist()[1:])
    assert view.bars.values() == dict(zip(summary["person"], summary["screen_time_s"], strict=True))
    assert [cell.toPlainText() for cell in view.bars.texts][0] == \
        f"{summary['screen_time_s'][0]:.1f} s · {summary['share'][0] * 100:.1f} %"
    together = pd.read_csv(art / "coappearance.csv", index_col=0)
    assert view.matrix.matrix.tolist() == together.loc[view.bars.people, view.bars.people].to_numpy().tolist()
    table = view.table.model()
    assert table.rowCount() == len(summary)
    assert [table.index(row, 0).data() for row in range(table.rowCount())] == summary["person"].tolist()
    assert view.export_button.isEnabled() and view.empty.isHidden()


def test_the_timeline_zooms_and_pans_in_time_only(qtbot, view: ResultsView, demo) -> None:
    assert open_episode(qtbot, view, demo.episode)
    box = view.timeline.getPlotItem().vb
    (x0, x1), lanes = box.viewRange()[0], box.viewRange()[1]
    centre = view.timeline.viewport().rect().center()
    wheel = QWheelEvent(QPointF(centre), QPointF(view.timeline.viewport().mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.timeline.viewport(), wheel)
    (z0, z1), zoomed_lanes = box.viewRange()
    assert z1 - z0 < (x1 - x0) * 0.9 and zoomed_lanes == pytest.approx(lanes)
    start = QPoint(centre.x() + 100, centre.y())
    qtbot.mousePress(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 11):
        qtbot.mouseMove(view.timeline.viewport(), QPoint(start.x() - 20 * step, start.y() + 10 * step))
    qtbot.mouseRelease(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(start.x() - 200, start.y()))
    (p0, p1), panned_lanes = box.viewRange()
    assert p0 > z0 and p1 - p0 == pytest.approx(z1 - z0) and panned_lanes == pytest.approx(lanes)


def test_the_table_sorts_on_numbers_and_copies_tab_separated_text(qtbot, view: ResultsView, demo) -> None:
    assert open_episode(qtbot, view, demo.episode)
    summary = pd.read_csv(demo.episode.artifact("screentime.csv"))
    table = view.table
    view.tabs.setCurrentWidget(table)
    header = table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(0) + 5, header.height() // 2))
    people = [table.model().index(row, 0).data() for row in range(len(summary))]
    assert people in (sorted(summary["person"], key=str.casefold), sorted(summary["person"], key=str.casefold,
                                                                          reverse=True))
    table.sortByColumn(5, Qt.SortOrder.AscendingOrder)  # tracks: numbers, not text ("10" after "9")
    tracks = [int(table.model().index(row, 5).data()) for row in range(len(summary))]
    assert tracks == sorted(tracks)
    table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    table.selectAll()
    table.setFocus()
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == ["Person", "Screen time (s)", "Share", "First seen", "Last seen", "Tracks"]
    first = lines[1].split("\t")
    assert first[:3] == [summary["person"][0], f"{summary['screen_time_s'][0]:.2f}",
                         f"{summary['share'][0] * 100:.1f} %"]
    assert len(lines) == len(summary) + 1


def test_clicking_an_appearance_shows_its_frame_with_boxes(qtbot, view: ResultsView, demo) -> None:
    assert open_episode(qtbot, view, demo.episode)
    data = view.data
    lane, start, end = max(view.timeline.segments, key=lambda s: s[2] - s[1])
    person = view.timeline.people[lane]
    middle = (start + end) / 2
    point = view.timeline.scene_point(middle, person)
    qtbot.mouseMove(view.timeline.viewport(), point)
    qtbot.waitUntil(lambda: view.timeline.hover_text.startswith(person))
    assert view.timeline.toolTip() == view.timeline.hover_text

    with qtbot.waitSignal(view.preview.frame_shown, timeout=LOAD_MS) as blocker:
        qtbot.mouseClick(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
    frame = blocker.args[0]
    assert round(start * data.fps) <= frame < round(end * data.fps)

    detections, _ = read_table(demo.episode.artifact("detections.parquet"), "detections", "ERR_DETECTIONS_MISSING")
    members, _ = read_table(demo.episode.artifact("track_members.parquet"), "track_members", "ERR_TRACKS_MISSING")
    here = detections[detections["frame"] == frame].merge(members, on="det_id")
    names = here["track"].map(track_people(demo.episode))
    shown = view.preview.shown
    assert sorted(b.person for b in shown.boxes) == sorted(names)
    assert person in names.tolist(), "the clicked person's face is boxed in the frame shown"
    image = view.preview.image()
    meta = demo.episode.read_meta()["video"]
    assert (image.width(), image.height()) == (meta["width"], meta["height"])
    box = next(b for b in shown.boxes if b.person == person)
    edge = image.pixelColor(int(box.x1), int((box.y1 + box.y2) / 2))
    assert edge.getRgb()[:3] == person_colour(lane, len(view.timeline.people)).getRgb()[:3]
    assert view.timeline.cursor.isVisible() and view.timeline.cursor.value() == pytest.approx(frame / data.fps)
    assert person in view.preview.caption.text()


def test_a_missing_video_shows_its_error_code_in_the_preview(qtbot, view: ResultsView, analysed_own_video) -> None:
    assert open_episode(qtbot, view, analysed_own_video.episode)
    analysed_own_video.video.unlink()
    lane, start, end = view.timeline.segments[0]
    point = view.timeline.scene_point((start + end) / 2, view.timeline.people[lane])
    with qtbot.waitSignal(view.preview.failed, timeout=LOAD_MS) as blocker:
        qtbot.mouseClick(view.timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args[0].code == "ERR_VIDEO_NOT_FOUND"
    assert view.preview.picture.text().startswith("ERR_VIDEO_NOT_FOUND: ") and view.preview.shown is None


def test_export_writes_every_format_and_reports_errors_by_code(qtbot, view: ResultsView, demo,
                                                                 tmp_path: Path) -> None:
    assert open_episode(qtbot, view, demo.episode)
    everything = dict(EXPORT_CHOICES)["Everything"]
    out = tmp_path / "out"
    with qtbot.waitSignal(view.exported, timeout=LOAD_MS) as blocker:
        view.export_to(out, everything)
    names = sorted(p.name for p in blocker.args[0])
    assert names == sorted(["screentime.csv", "timeline.csv", "coappearance.csv", "screentime.json",
                            "screentime.xlsx", EDL_NAME, FCPXML_NAME, *PNG_NAMES.values()])
    assert all((out / name).stat().st_size > 0 for name in names)
    for name in ("screentime.csv", "timeline.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(demo.episode.artifact(name)))
    assert f"Exported {len(names)} file(s)" in view.status.text()

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with qtbot.waitSignal(view.export_failed, timeout=LOAD_MS) as failure:
        view.export_to(blocked, ("csv",))
    assert failure.args[0].code == "ERR_WORKSPACE_UNWRITABLE"
    assert "ERR_WORKSPACE_UNWRITABLE" in view.status.text() and "Unknown error" not in view.status.text()
    assert view.export_button.isEnabled()


def test_empty_states_and_reload_follow_the_artifacts(qtbot, view: ResultsView, demo) -> None:
    from screenalyzer_desktop import pipeline

    with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
        view.set_episode(None)
    assert blocker.args == [False] and view.empty.text() == NO_EPISODE

    clear_record(demo.episode, "screentime")
    assert not open_episode(qtbot, view, demo.episode)
    assert view.empty.text() == NO_RESULTS and not view.export_button.isEnabled()

    config = load_cfg(**{"screentime.min_interval_s": 5.0})  # short appearances no longer count
    _, emit = events_sink()
    pipeline.run(demo.workspace, demo.episode, "screentime", config, emit, rerun_target=True)
    with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
        view.reload()
    assert blocker.args == [True]
    summary = pd.read_csv(demo.episode.artifact("screentime.csv"))
    assert view.timeline.people == summary["person"].tolist()
    assert view.bars.values() == dict(zip(summary["person"], summary["screen_time_s"], strict=True))
    assert len(view.timeline.segments) == len(pd.read_csv(demo.episode.artifact("timeline.csv")))


def test_results_stay_up_while_screen_time_is_rewritten(qtbot, view: ResultsView, demo) -> None:
    """The screentime stage clears its record when it starts. While a run holds the episode the view keeps
    the last results, marked as updating and not exportable, instead of flashing "No results yet"."""
    assert open_episode(qtbot, view, demo.episode)
    people = view.timeline.people
    with run_state.RunLock(demo.episode):  # as the engine holds it while it runs
        clear_record(demo.episode, "screentime")
        with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
            view.reload()
        assert blocker.args == [True] and view.stack.currentIndex() == 1
        assert view.status.text() == UPDATING and not view.export_button.isEnabled()
        assert view.timeline.people == people and view.data is not None
    with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
        view.reload()  # the run ended without writing results
    assert blocker.args == [False] and view.empty.text() == NO_RESULTS and view.data is None


def test_label_edits_show_once_screen_time_is_recomputed(qtbot, view: ResultsView, demo) -> None:
    from screenalyzer_desktop import labels, pipeline

    assert open_episode(qtbot, view, demo.episode)
    before = view.timeline.people
    current = labels.load_labels(demo.episode)
    first, second = (current.key_named(name) for name in before[:2])
    labels.save_labels(demo.episode, labels.set_hidden(labels.rename(current, first, "Renamed Person"), second, True))
    _, emit = events_sink()
    pipeline.run(demo.workspace, demo.episode, "screentime", load_cfg(), emit)
    assert open_episode(qtbot, view, demo.episode)
    assert "Renamed Person" in view.timeline.people and before[0] not in view.timeline.people
    assert before[1] not in view.timeline.people and len(view.timeline.people) == len(before) - 1

    everyone_hidden = labels.load_labels(demo.episode)
    for key in everyone_hidden.people:
        everyone_hidden = labels.set_hidden(everyone_hidden, key, True)
    labels.save_labels(demo.episode, everyone_hidden)
    pipeline.run(demo.workspace, demo.episode, "screentime", load_cfg(), emit)
    with qtbot.waitSignal(view.loaded, timeout=LOAD_MS) as blocker:
        view.reload()
    assert blocker.args == [True], "screen time ran: nobody on screen is a result, not a missing one"
    assert view.timeline.people == [] and view.timeline.segments == [] and view.bars.values() == {}
    assert view.table.model().rowCount() == 0 and view.matrix.matrix.shape == (0, 0)
    assert view.status.text().startswith("0 people")


def test_the_view_opens_standalone_on_an_episode_folder(demo) -> None:
    code = ("import runpy, sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication; "
            "run = QApplication.exec; "
            "QApplication.exec = lambda app: (QTimer.singleShot(1500, app.quit), run())[1]; "
            f"sys.argv = ['results_view', {str(demo.episode.dir)!r}]; "
            "runpy.run_module('screenalyzer_desktop.gui.results_view', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
