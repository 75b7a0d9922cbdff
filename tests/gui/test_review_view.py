"""The Review tab on the real analysed demo episode: every action, its undo and redo, checked on
labels.json and against screen time computed from the expected track → person mapping."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from screenalyzer_desktop import labels as edits
from screenalyzer_desktop import screentime_calc
from screenalyzer_desktop.core.config import Config, load_config
from screenalyzer_desktop.core.workspace import Episode
from screenalyzer_desktop.faces import thumbnail_path
from screenalyzer_desktop.gui.review_gallery import KeyRole
from screenalyzer_desktop.gui.review_side import DataRole
from screenalyzer_desktop.gui.review_view import ReviewView
from screenalyzer_desktop.gui.tasks import wait_for_pool
from screenalyzer_desktop.labels import Labels, load_labels, save_labels
from screenalyzer_desktop.review import load_faces
from screenalyzer_desktop.stages.cluster import cast_settings

WAIT_MS = 30_000


@pytest.fixture
def config() -> Config:
    return load_config(overrides={"engine": "dlib"})


@pytest.fixture
def make_view(qtbot, config: Config):
    views: list[ReviewView] = []

    def make(episode: Episode) -> ReviewView:
        view = ReviewView()
        qtbot.addWidget(view)
        view.resize(1300, 820)
        view.show()
        with qtbot.waitSignal(view.refreshed, timeout=WAIT_MS):
            view.set_episode(episode, config)
        views.append(view)
        return view

    yield make
    wait_for_pool()


def edit(qtbot, view: ReviewView, action) -> None:
    """Do something that saves the labels, and wait until the view shows the result."""
    with qtbot.waitSignals([view.labelsChanged, view.refreshed], timeout=WAIT_MS):
        action()


def on_disk(episode: Episode) -> Labels:
    return load_labels(episode)


def key_of(labels: Labels, name: str) -> str:
    key = labels.key_named(name)
    assert key is not None, f"no {name} in {[p.name for p in labels.people.values()]}"
    return key


def expected_seconds(episode: Episode, mapping: dict[int, str], config: Config) -> dict[str, float]:
    """Screen time per person straight from the tracks and the mapping a test expects."""
    faces = load_faces(episode)
    result = screentime_calc.compute(faces.tracks.reset_index(drop=True), pd.Series(mapping, dtype=object),
                                     faces.duration_s, config.get("screentime.merge_gap_s"),
                                     config.get("screentime.min_interval_s"))
    return dict(zip(result.summary["person"], result.summary["screen_time_s"], strict=True))


def mapping_of(labels: Labels) -> dict[int, str]:
    return {t: "" if k is None or labels.people[k].hidden else labels.people[k].name for t, k in labels.tracks.items()}


def shown_seconds(view: ReviewView) -> dict[str, float]:
    return {r.name: r.screen_time_s for r in view.gallery.source.rows() if r.screen_time_s > 0}


def assert_view_matches(view: ReviewView, episode: Episode, mapping: dict[int, str], config: Config) -> None:
    assert mapping_of(on_disk(episode)) == mapping
    assert shown_seconds(view) == pytest.approx(expected_seconds(episode, mapping, config))


def test_the_gallery_shows_each_person_with_faces_cut_off_the_gui_thread(qtbot, demo, make_view) -> None:
    view = make_view(demo.episode)
    rows = view.gallery.source.rows()
    labels = on_disk(demo.episode)
    assert {r.key for r in rows} == set(labels.people)
    assert {r.name for r in rows if r.to_confirm} == {"anna", "beth", "carl", "dave", "evan"}
    assert sorted(r.name for r in rows if r.unnamed) == ["cluster_1", "cluster_2"]
    shown = [view.gallery.proxy.index(i, 0).data() for i in range(view.gallery.proxy.rowCount())]
    assert shown == [r.name for r in sorted(rows, key=lambda r: (-r.screen_time_s, r.name))]
    wanted = [d for r in rows for d in r.faces]
    assert len(wanted) >= len(rows) * 2
    qtbot.waitUntil(lambda: all(view.thumbnails.pixmap(d) is not None for d in wanted), timeout=WAIT_MS)
    assert all(thumbnail_path(demo.episode, d, view.thumbnails.size).is_file() for d in wanted)
    assert view.thumbnails.worker_threads and threading.get_ident() not in view.thumbnails.worker_threads
    assert "5 to confirm" in view.status.text() and "1 unassigned" in view.status.text()

    stranger = key_of(labels, "cluster_1")  # not in the cast: no named person is a close match
    view.gallery.select_keys([stranger])
    assert view.side.suggestions and view.side.suggestions[0].similarity < view.likely
    assert "Nobody named is a close match" in view.side.suggest_label.text()
    assert view.data.row(stranger).nearest is None, "the card claims no look-alike"


def test_merge_undo_redo_saves_each_step_and_recomputes_screen_time(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    dave, unnamed = key_of(start, "dave"), key_of(start, "cluster_1")
    view.gallery.select_keys([unnamed, dave])
    assert view.actions.merge.isEnabled()
    edit(qtbot, view, view.actions.merge.trigger)
    merged = on_disk(demo.episode)
    assert unnamed not in merged.people and merged.tracks_of(dave) == sorted(start.tracks_of(dave)
                                                                             + start.tracks_of(unnamed))
    expected = {**mapping_of(start), **{t: "dave" for t in start.tracks_of(unnamed)}}
    assert_view_matches(view, demo.episode, expected, config)
    assert view.undoAction.text() == "Undo Merge into dave"

    edit(qtbot, view, view.undoAction.trigger)
    assert on_disk(demo.episode) == start
    assert_view_matches(view, demo.episode, mapping_of(start), config)
    edit(qtbot, view, view.redoAction.trigger)
    assert_view_matches(view, demo.episode, expected, config)


def drag_onto(view: ReviewView, keys: list[str], onto: QPoint | str) -> bool:
    """Drag the cards of ``keys`` over the card of ``onto`` (or a point) and drop them there, as Qt delivers
    a drag to the gallery; returns whether the gallery accepted the drop."""
    gallery = view.gallery
    mime = gallery.source.mimeData([gallery.source.index(i) for i, row in enumerate(gallery.source.rows())
                                    if row.key in keys])
    if isinstance(onto, str):
        card = next(gallery.proxy.index(i, 0) for i in range(gallery.proxy.rowCount())
                    if gallery.proxy.index(i, 0).data(KeyRole) == onto)
        onto = gallery.visualRect(card).center()
    copy, left, none = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(gallery.viewport(), QDragEnterEvent(onto, copy, mime, left, none))
    move = QDragMoveEvent(onto, copy, mime, left, none)
    QApplication.sendEvent(gallery.viewport(), move)
    if not move.isAccepted():
        return False
    drop = QDropEvent(QPointF(onto), copy, mime, left, none)
    QApplication.sendEvent(gallery.viewport(), drop)
    return drop.isAccepted()


def test_dragging_cards_onto_a_card_merges_them_without_losing_a_name(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    dave, first, second = key_of(start, "dave"), key_of(start, "cluster_1"), key_of(start, "cluster_2")
    assert not drag_onto(view, [dave], dave), "a card dropped on itself is no merge"
    corner = view.gallery.viewport().rect().bottomRight() - QPoint(2, 2)
    assert view.gallery.indexAt(corner).data(KeyRole) is None
    assert not drag_onto(view, [dave], corner), "a drop between cards is no merge"
    assert on_disk(demo.episode) == start

    with qtbot.waitSignals([view.labelsChanged, view.refreshed], timeout=WAIT_MS):
        assert drag_onto(view, [first], dave)
    assert view.undoAction.text() == "Undo Merge into dave"
    expected = {**mapping_of(start), **{t: "dave" for t in start.tracks_of(first)}}
    assert_view_matches(view, demo.episode, expected, config)

    # dave, named from the face bank, dropped on an unnamed card: the name wins over where it was dropped.
    with qtbot.waitSignals([view.labelsChanged, view.refreshed], timeout=WAIT_MS):
        assert drag_onto(view, [dave], second)
    assert view.undoAction.text() == "Undo Merge into dave"
    expected.update({t: "dave" for t in start.tracks_of(second)})
    assert_view_matches(view, demo.episode, expected, config)
    edit(qtbot, view, view.undoAction.trigger)
    edit(qtbot, view, view.undoAction.trigger)
    assert on_disk(demo.episode) == start


def test_naming_completes_from_the_cast_and_adds_faces_to_the_cast_folder(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    unnamed = key_of(start, "cluster_1")
    cast_dir = Path(cast_settings(demo.episode)["cast_dir"])
    view.gallery.select_keys([unnamed])
    view.actions.name.trigger()
    dialog = view.name_dialog
    assert dialog.isVisible()
    assert {"anna", "beth", "carl", "dave", "evan"} <= set(dialog.names.stringList())
    dialog.completer.setCompletionPrefix("NN")
    assert dialog.completer.currentCompletion() == "anna"
    dialog.edit.setText("tom hanks")
    with qtbot.waitSignals([view.labelsChanged, view.refreshed, view.castChanged], timeout=WAIT_MS):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    named = on_disk(demo.episode).people[unnamed]
    assert (named.name, named.named_by) == ("tom hanks", "user")
    photos = sorted((cast_dir / "tom hanks").iterdir())
    assert len(photos) == config.get("review.cast_faces_on_confirm")
    assert_view_matches(view, demo.episode, {**mapping_of(start), **{t: "tom hanks" for t in start.tracks_of(unnamed)}},
                        config)

    with qtbot.waitSignal(view.castChanged, timeout=WAIT_MS):
        edit(qtbot, view, view.undoAction.trigger)
    assert on_disk(demo.episode) == start
    assert not any(p.exists() for p in photos), "undo takes the photos it added out of the cast folder"
    assert not (cast_dir / "tom hanks").exists()


def test_confirm_from_the_review_queue_grows_the_face_bank(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    anna = key_of(start, "anna")
    cast_dir = Path(cast_settings(demo.episode)["cast_dir"])
    before = set((cast_dir / "anna").iterdir())
    assert view.side.queue_keys() == [key_of(start, n) for n in ("anna", "beth", "carl", "dave", "evan")]
    view.side.queue_list.setCurrentRow(0)
    with qtbot.waitSignal(view.castChanged, timeout=WAIT_MS):
        edit(qtbot, view, view.side.confirm_button.click)
    assert on_disk(demo.episode).people[anna].named_by == "user"
    added = set((cast_dir / "anna").iterdir()) - before
    assert len(added) == config.get("review.cast_faces_on_confirm")
    assert all(p.name.startswith(demo.episode.id) for p in added)
    assert anna not in view.side.queue_keys() and "4 to confirm" in view.status.text()

    edit(qtbot, view, view.side.confirm_all_button.click)
    assert not any(p.to_confirm for p in on_disk(demo.episode).people.values())
    assert view.side.queue_list.count() == 0
    edit(qtbot, view, view.undoAction.trigger)
    edit(qtbot, view, view.undoAction.trigger)
    assert on_disk(demo.episode) == start


def test_split_a_track_off_and_the_suggestion_puts_the_true_person_first(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    anna = key_of(start, "anna")
    view.gallery.select_keys([anna])
    with qtbot.waitSignal(view.refreshed, timeout=WAIT_MS):
        qtbot.keyClick(view.gallery, Qt.Key.Key_Return)
    assert view.pages.currentWidget() is view.person and view.person.key == anna
    tracks = [r.track for r in view.person.model.rows()]
    assert sorted(tracks) == start.tracks_of(anna)
    sims = [r.similarity for r in view.person.model.rows()]
    assert sims == sorted(sims), "least like the person first"
    view.person.select_tracks([tracks[0]])
    edit(qtbot, view, view.person.split_button.click)
    split = on_disk(demo.episode)
    new_key = split.tracks[tracks[0]]
    assert new_key not in start.people and split.people[new_key].unnamed
    assert view.person.key == anna and [r.track for r in view.person.model.rows()] == tracks[1:]
    assert_view_matches(view, demo.episode, {**mapping_of(start), tracks[0]: split.people[new_key].name}, config)

    view.show_gallery()
    view.gallery.select_keys([new_key])
    assert view.side.suggestions[0].name == "anna"
    assert "looks most like" in view.side.suggest_label.text(), "a track of anna matches her closely"
    button = view.side.suggest_buttons.itemAt(0).widget()
    assert button.text().startswith("This is anna")
    edit(qtbot, view, button.click)
    assert mapping_of(on_disk(demo.episode)) == mapping_of(start)
    edit(qtbot, view, view.undoAction.trigger)
    assert on_disk(demo.episode).tracks[tracks[0]] == new_key


def test_move_and_not_this_person_then_assign_the_unassigned_track(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    beth, carl = key_of(start, "beth"), key_of(start, "carl")
    track = start.tracks_of(beth)[0]
    view.open_person(beth)
    qtbot.waitUntil(lambda: len(view.person.model.rows()) == len(start.tracks_of(beth)), timeout=WAIT_MS)
    view.person.select_tracks([track])
    view.person.move_menu.aboutToShow.emit()
    action = next(a for a in view.person.move_menu.actions() if a.data() == carl)
    edit(qtbot, view, action.trigger)
    assert on_disk(demo.episode).tracks[track] == carl
    assert_view_matches(view, demo.episode, {**mapping_of(start), track: "carl"}, config)
    edit(qtbot, view, view.undoAction.trigger)

    view.person.select_tracks([track])
    edit(qtbot, view, view.person.eject_button.click)
    ejected = on_disk(demo.episode)
    assert ejected.tracks[track] is None and beth in ejected.rejected[track]
    assert_view_matches(view, demo.episode, {**mapping_of(start), track: ""}, config)
    rows = [view.side.unassigned_list.item(i).data(DataRole)
            for i in range(view.side.unassigned_list.count())]
    assert track in rows
    view.side.unassigned_list.setCurrentRow(rows.index(track))
    offered = [view.side.track_buttons.itemAt(i).widget().text() for i in range(view.side.track_buttons.count())]
    assert offered and not any("beth" in text for text in offered), "never offered back to who it was taken from"
    edit(qtbot, view, view.side.track_buttons.itemAt(0).widget().click)
    assert on_disk(demo.episode).tracks[track] is not None


def test_hide_an_extra_keeps_them_but_counts_no_screen_time(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    dave = key_of(start, "dave")
    view.gallery.select_keys([dave])
    view.gallery.setFocus()
    edit(qtbot, view, lambda: qtbot.keyClick(view.gallery, Qt.Key.Key_Delete))
    assert on_disk(demo.episode).people[dave].hidden
    assert_view_matches(view, demo.episode, {**mapping_of(start), **{t: "" for t in start.tracks_of(dave)}}, config)
    assert view.actions.hide.text() == "Unhide"
    view.hidden_box.setChecked(False)
    assert "dave" not in [view.gallery.proxy.index(i, 0).data() for i in range(view.gallery.proxy.rowCount())]
    view.hidden_box.setChecked(True)
    view.gallery.select_keys([dave])
    edit(qtbot, view, view.actions.hide.trigger)
    assert on_disk(demo.episode) == start


def test_edits_survive_a_restart_and_keyboard_drives_the_gallery(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    unnamed, anna = key_of(start, "cluster_2"), key_of(start, "anna")
    view.gallery.select_keys([anna, unnamed])
    view.gallery.setFocus()
    with qtbot.waitSignal(view.castChanged, timeout=WAIT_MS):
        edit(qtbot, view, lambda: qtbot.keyClick(view.gallery, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier))
    confirmed = on_disk(demo.episode)
    assert confirmed.people[anna].named_by == "user" and confirmed.people[unnamed].unnamed, "only names to confirm"
    view.filter_box.setCurrentText("Unnamed only")
    assert sorted(view.gallery.proxy.index(i, 0).data() for i in range(view.gallery.proxy.rowCount())) == \
        ["cluster_1", "cluster_2"]
    view.gallery.select_keys([unnamed])
    view.gallery.setFocus()
    qtbot.keyClick(view.gallery, Qt.Key.Key_F2)
    assert view.name_dialog.isVisible() and view.name_dialog.keys == [unnamed]
    view.name_dialog.edit.setText("fiona")
    edit(qtbot, view, lambda: qtbot.keyClick(view.name_dialog.edit, Qt.Key.Key_Return))
    view.filter_box.setCurrentText("Everyone")

    again = make_view(demo.episode)
    assert {r.key: r.name for r in again.gallery.source.rows()}[unnamed] == "fiona"
    assert shown_seconds(again) == shown_seconds(view)
    again.gallery.select_keys([unnamed])
    again.gallery.setFocus()
    with qtbot.waitSignal(again.refreshed, timeout=WAIT_MS):
        qtbot.keyClick(again.gallery, Qt.Key.Key_Return)
    assert again.pages.currentWidget() is again.person
    qtbot.keyClick(again.person.table, Qt.Key.Key_Escape)
    assert again.pages.currentWidget() is again.gallery


def test_an_impossible_edit_shows_its_error_and_pushes_nothing(qtbot, demo, make_view) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    assert not view.confirm([key_of(start, "cluster_1")])
    assert view.error_panel.isVisible() and view.error_panel.code_label.text() == "ERR_LABEL_INVALID"
    assert "Unknown" not in view.error_panel.message_label.text()
    assert view.undo_stack.count() == 0 and on_disk(demo.episode) == start


def test_an_episode_not_clustered_yet_says_what_to_run(qtbot, demo) -> None:
    demo.episode.artifact("clusters.parquet").unlink()
    view = ReviewView()
    qtbot.addWidget(view)
    view.set_episode(demo.episode, load_config())
    qtbot.waitUntil(lambda: view.pages.currentWidget() is view.empty and "Cluster" in view.empty.text(),
                    timeout=WAIT_MS)
    assert not view.actions.name.isEnabled()
    wait_for_pool()


def test_labels_changed_elsewhere_are_shown_and_end_the_undo_history(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    first, second = key_of(start, "cluster_1"), key_of(start, "cluster_2")
    edit(qtbot, view, lambda: view.rename([first, second], "extras"))  # naming several makes them one person
    named = on_disk(demo.episode)
    assert len(named.people) == len(start.people) - 1 and named.people[first].name == "extras"
    assert view.undo_stack.count() == 1

    save_labels(demo.episode, edits.rename(named, first, "crowd"))  # another window, or the CLI
    with qtbot.waitSignal(view.refreshed, timeout=WAIT_MS):
        view.reload()
    assert "crowd" in [r.name for r in view.gallery.source.rows()]
    assert view.undo_stack.count() == 0, "undo would overwrite what someone else saved"
    assert_view_matches(view, demo.episode, mapping_of(on_disk(demo.episode)), config)


def test_unassigned_tracks_open_as_a_list_and_become_a_new_person(qtbot, demo, make_view, config) -> None:
    view = make_view(demo.episode)
    start = on_disk(demo.episode)
    nobody = start.unassigned()
    assert nobody, "the demo has a track nobody has"
    with qtbot.waitSignal(view.refreshed, timeout=WAIT_MS):
        view.side.open_unassigned_button.click()
    assert view.person.key is None and view.person.title.text() == "Unassigned tracks"
    assert [r.track for r in view.person.model.rows()] == nobody and not view.person.eject_button.isVisible()
    view.person.select_tracks(nobody[:1])
    assert view.person.split_button.text() == "Make a new person"
    edit(qtbot, view, view.person.split_button.click)
    made = on_disk(demo.episode)
    new_key = made.tracks[nobody[0]]
    assert new_key is not None and made.people[new_key].name.startswith("cluster_")
    assert_view_matches(view, demo.episode, {**mapping_of(start), nobody[0]: made.people[new_key].name}, config)
