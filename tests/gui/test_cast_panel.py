"""The Cast tab on the real demo episode: a new cast for the show, people, photos dragged in, a bad
photo removed, another cast folder chosen; each change makes the episode's Cluster stage stale."""

from __future__ import annotations

import shutil
from pathlib import Path

from gui_helpers import drop

from screenalyzer_desktop.cast_bank import cast_photos
from screenalyzer_desktop.core.config import load_config
from screenalyzer_desktop.gui.cast_panel import CastPanel
from screenalyzer_desktop.gui.cast_photos import TRASH, PathRole, guess_show, restore_photo, trash_photo
from screenalyzer_desktop.gui.tasks import wait_for_pool
from screenalyzer_desktop.pipeline import stage_views
from screenalyzer_desktop.stages.cluster import cast_settings

WAIT_MS = 30_000


def cluster_status(demo) -> str:
    views = stage_views(demo.workspace, demo.episode, load_config(overrides={"engine": "dlib"}))
    return next(v.status for v in views if v.stage == "cluster")


def make_panel(qtbot, demo) -> CastPanel:
    panel = CastPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 640)
    panel.show()
    panel.set_episode(demo.workspace, demo.episode)
    return panel


def test_a_new_cast_takes_people_and_dropped_photos_and_a_bad_photo_goes_to_the_trash(qtbot, demo) -> None:
    old_cast = Path(cast_settings(demo.episode)["cast_dir"])
    (demo.episode.dir / "cast.json").unlink()
    panel = make_panel(qtbot, demo)
    assert panel.pages.currentIndex() == 0 and panel.new_cast_button.isEnabled()
    assert guess_show(demo.episode) == demo.episode.id  # no SxxEyy in "episode": the id is the guess

    folder = panel.new_cast("Harbour Lights")
    assert folder is not None and folder.is_dir() and folder.is_relative_to(demo.workspace.cast_dir)
    assert panel.pages.currentIndex() == 1 and cast_settings(demo.episode) is None, "no photo yet"
    assert panel.add_person("anna")
    assert panel.current_person() == "anna" and panel.people_list.count() == 1

    assert cluster_status(demo) == "done"
    sources = [old_cast / "anna" / "ref.jpg", old_cast / "beth" / "ref.jpg"]  # the second one is a bad photo
    with qtbot.waitSignal(panel.castChanged, timeout=WAIT_MS):
        assert drop(panel.photos.viewport(), [*sources, demo.video])  # the video is not a photo
    assert [p.name for p in cast_photos(folder)["anna"]] == ["ref-1.jpg", "ref.jpg"], "a name taken is not overwritten"
    assert cast_settings(demo.episode) == {"show": "Harbour Lights", "cast_dir": str(folder.resolve())}
    assert cluster_status(demo) == "stale" and panel.hint_row.isVisible()
    assert panel.photos.count() == len(sources)
    qtbot.waitUntil(lambda: all(not panel.photos.item(i).icon().isNull() for i in range(panel.photos.count())),
                    timeout=WAIT_MS)

    with qtbot.waitSignal(panel.rerunMatchingRequested, timeout=WAIT_MS) as asked:
        panel.rerun_button.click()
    assert asked.args == [demo.episode.id]

    panel.photos.item(0).setSelected(True)
    bad = Path(panel.photos.item(0).data(PathRole))
    assert bad.name == "ref-1.jpg"
    with qtbot.waitSignal(panel.castChanged, timeout=WAIT_MS):
        panel.remove_photo_button.click()
    assert not bad.exists()
    trashed = list((folder / TRASH / "anna").iterdir())
    assert len(trashed) == 1 and trashed[0].name.endswith(bad.name)
    assert panel.photos.count() == 1 and [p.name for p in cast_photos(folder)["anna"]] == ["ref.jpg"]
    assert TRASH not in cast_photos(folder)

    assert panel.put_back_button.isEnabled()
    with qtbot.waitSignal(panel.castChanged, timeout=WAIT_MS):
        panel.put_back_button.click()
    assert bad.is_file() and bad.read_bytes() == sources[1].read_bytes()
    assert not any((folder / TRASH / "anna").iterdir())
    assert panel.photos.count() == 2 and not panel.put_back_button.isEnabled()
    assert sorted(p.name for p in cast_photos(folder)["anna"]) == ["ref-1.jpg", "ref.jpg"]
    wait_for_pool()


def test_a_photo_put_back_where_a_new_one_took_its_name_keeps_both(tmp_path: Path) -> None:
    photo = tmp_path / "cast" / "anna" / "ref.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"the removed photo")
    trashed = trash_photo(tmp_path / "cast", photo)
    photo.write_bytes(b"a new photo of the same name")
    back = restore_photo(trashed, photo)
    assert back == photo.with_name("ref-1.jpg") and back.read_bytes() == b"the removed photo"
    assert photo.read_bytes() == b"a new photo of the same name" and not trashed.exists()


def test_use_a_cast_folder_lists_its_people_and_refuses_an_empty_one(qtbot, demo, tmp_path) -> None:
    old_cast = Path(cast_settings(demo.episode)["cast_dir"])
    mine = tmp_path / "my cast"
    shutil.copytree(old_cast, mine)
    (demo.episode.dir / "cast.json").unlink()
    panel = make_panel(qtbot, demo)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not panel.use_cast_folder(empty)
    assert panel.error_panel.isVisible() and panel.error_panel.code_label.text() == "ERR_CAST_INVALID"
    assert panel.use_cast_folder(mine)
    assert cast_settings(demo.episode)["cast_dir"] == str(mine.resolve())
    people = [panel.people_list.item(i).data(PathRole) for i in range(panel.people_list.count())]
    assert people == sorted(cast_photos(mine))
    assert panel.people_list.item(0).text() == f"{people[0]}  ({len(cast_photos(mine)[people[0]])})"
    wait_for_pool()


def test_the_panel_follows_the_selected_episode(qtbot, demo) -> None:
    panel = make_panel(qtbot, demo)
    assert panel.pages.currentIndex() == 1 and panel.show_name == "demo"
    assert panel.people_list.count() == len(cast_photos(Path(cast_settings(demo.episode)["cast_dir"])))
    panel.set_episode(demo.workspace, None)
    assert panel.pages.currentIndex() == 0 and not panel.use_folder_button.isEnabled()
    wait_for_pool()
