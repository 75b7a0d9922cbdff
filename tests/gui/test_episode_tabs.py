"""The episode's tabs in the main window: selecting an episode fills Review, Results and Cast; an
edit of the people reruns screen time out of process and the Results tab follows; Edit ▸ Undo
takes it back the same way; a show's cast set in Preferences is matched in the next import."""

from __future__ import annotations

import pandas as pd

from screenalyzer_desktop.gui.episode_view import RESULTS_TAB, REVIEW_TAB
from screenalyzer_desktop.labels import load_labels
from screenalyzer_desktop.stages.cluster import cast_settings

WAIT_MS = 120_000


def shown_people(window) -> list[str]:
    data = window.episode_view.results_view.data
    return [] if data is None else sorted(data.result.summary["person"])


def written_people(episode) -> list[str]:
    return sorted(pd.read_csv(episode.artifact("screentime.csv"))["person"])


def test_an_edit_in_review_reruns_screen_time_and_results_follow(qtbot, make_window, demo) -> None:
    window = make_window(workspace=str(demo.workspace.root))
    view = window.episode_view
    qtbot.waitUntil(lambda: window.selected_id() == demo.episode.id, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.review_view.gallery.source.rows() != [], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "cluster_1" in shown_people(window), timeout=WAIT_MS)
    view.setCurrentIndex(REVIEW_TAB)
    key = load_labels(demo.episode).key_named("cluster_1")
    with qtbot.waitSignal(window.runs.jobEnded, timeout=WAIT_MS) as ended:
        view.review_view.rename([key], "Tom Hanks")
    assert ended.args[0].stage == "screentime" and ended.args[0].status == "done"
    assert "Tom Hanks" in written_people(demo.episode) and "cluster_1" not in written_people(demo.episode)
    qtbot.waitUntil(lambda: "Tom Hanks" in shown_people(window), timeout=WAIT_MS)
    undo = window.menuBar().actions()[1].menu().actions()[0]
    assert undo.isEnabled()
    with qtbot.waitSignal(window.runs.jobEnded, timeout=WAIT_MS):
        undo.trigger()
    assert "cluster_1" in written_people(demo.episode)
    view.setCurrentIndex(RESULTS_TAB)
    qtbot.waitUntil(lambda: "cluster_1" in shown_people(window), timeout=WAIT_MS)
    snapshot = window.snapshots[demo.episode.id]
    assert {s.stage: s.status for s in snapshot.stages}["screentime"] == "done"


def test_the_shows_cast_from_preferences_is_matched_in_the_next_import(qtbot, make_window, demo, videos,
                                                                       tmp_path) -> None:
    cast = cast_settings(demo.episode)["cast_dir"]
    window = make_window(cast_dir=cast, show="Harbour Lights")
    window.import_paths([videos["short"]])
    qtbot.waitUntil(lambda: len(window.snapshots) == 1, timeout=WAIT_MS)
    episode = window.workspace.episode(next(iter(window.snapshots)))
    assert cast_settings(episode) == {"show": "Harbour Lights", "cast_dir": cast}


def test_a_season_batch_starts_from_the_run_menu_in_the_windows_workspace(qtbot, make_window, tmp_path) -> None:
    window = make_window()
    run_menu = window.menuBar().actions()[2].menu()
    assert window.batch_action in run_menu.actions()
    assert not window.batch_dock.isVisible()
    empty = tmp_path / "season"
    empty.mkdir()
    (empty / "notes.txt").write_text("no episodes here\n")
    with qtbot.waitSignal(window.batch_dock.view.batchEnded, timeout=WAIT_MS) as ended:
        window.batch_dock.start([empty])
    assert window.batch_dock.isVisible()
    outcome = ended.args[0]
    assert outcome.error is not None and outcome.error.code == "ERR_USAGE"
    assert "ERR_USAGE" in window.batch_dock.view.status.text()
    assert str(empty) in outcome.error.detail


def test_an_import_can_name_its_own_cast_as_the_demo_does(qtbot, make_window, demo, videos) -> None:
    cast = cast_settings(demo.episode)["cast_dir"]
    window = make_window()
    window.import_paths([videos["short"]], cast=(cast, "demo"))
    qtbot.waitUntil(lambda: len(window.snapshots) == 1 and not window.imports.is_busy(), timeout=WAIT_MS)
    episode = window.workspace.episode(next(iter(window.snapshots)))
    assert cast_settings(episode) == {"show": "demo", "cast_dir": cast}
    assert window.settings.cast_dir == "", "the settings are left as they were"
