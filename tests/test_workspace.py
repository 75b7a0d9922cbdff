"""Episode ids from hostile file names, id collisions, lookups, and an unwritable workspace."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from support import expect_error

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import default_workspace
from screenalyzer_desktop.core.workspace import Workspace, episode_id_for

WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                    *(f"lpt{i}" for i in range(1, 10))}
HOSTILE_NAMES = [
    "../../etc/passwd", "..", ".", "...", "../", "/", "\\", "..\\..\\windows\\system32\\x.mp4", "a/../../b.mp4",
    "tab\there.mp4", "nl\nhere.mp4", "nul\x00byte.mp4", "bell\x07.mp4", "esc\x1b[31mred.mp4", "\u202egnp.exe.mp4",
    "zero\u200bwidth.mp4", "CON.mp4", "con", "Nul.txt.mp4", "COM1.mp4", "lpt9.avi", "aux.", "PRN .mp4",
    "x" * 300 + ".mp4", "é" * 300 + ".mp4", "日本語のエピソード" * 20 + ".mp4", "👩‍👩‍👧‍👦" * 50 + ".mp4",
    "ﬁnal／cut.mp4", "a:b*c?d\"e<f>g|h.mp4", "  spaced out  .mp4", "-dash-.mp4", "", ".hidden.mp4",
    "Episode 1 - Pilot (2024) [1080p].mp4",
]


def _is_safe(episode_id: str) -> bool:
    return (0 < len(episode_id) <= 65 and len(episode_id.encode("utf-8")) <= 121
            and episode_id not in {".", ".."} and not episode_id.startswith((".", "-", " "))
            and not episode_id.endswith((".", " "))
            and not any(ch in episode_id for ch in '<>:"/\\|?*')
            and not any(unicodedata.category(ch).startswith("C") or ch.isspace() for ch in episode_id)
            and episode_id.split(".")[0].lower() not in WINDOWS_RESERVED)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_give_safe_ids_that_round_trip(name: str) -> None:
    episode_id = episode_id_for(name)
    assert _is_safe(episode_id), repr(episode_id)
    assert episode_id_for(episode_id + ".mp4") == episode_id, "an id must be accepted as an id"


def test_ids_keep_what_people_recognise() -> None:
    assert episode_id_for("Episode 1 - Pilot.mp4") == "Episode_1_-_Pilot"
    assert episode_id_for("Épisode 2 — Le Retour.mkv") == "Épisode_2_—_Le_Retour"
    assert episode_id_for("con.mp4") == "_con"
    assert episode_id_for("../../etc/passwd") == "passwd"
    assert episode_id_for("") == episode_id_for("...") == "episode"


@pytest.mark.parametrize("name", ["../../escape.mp4", "..", "CON.mp4", "x" * 240 + ".mp4",
                                  "日本語のエピソード" * 8 + ".mp4", "é" * 120 + ".mp4", "tab\there.mp4"])
def test_episode_folders_stay_inside_the_workspace_and_collisions_are_numbered(tmp_path: Path, name: str) -> None:
    workspace = Workspace(tmp_path / "ws")
    source_dirs = [tmp_path / f"disk{i}" for i in range(3)]
    episodes = []
    for folder in source_dirs:
        folder.mkdir()
        video = folder / (Path(name).name or "video.mp4")
        if video.name in {"", ".", ".."}:
            video = folder / "video.mp4"
        video.write_bytes(b"stand-in")  # create_episode does not open the file; probing is ingest's job
        episodes.append(workspace.create_episode(video))
    ids = [e.id for e in episodes]
    assert len(set(ids)) == 3
    assert ids[1].endswith("-2") and ids[2].endswith("-3")
    for episode in episodes:
        assert episode.dir.parent == workspace.episodes_dir
        assert _is_safe(episode.id)
        assert workspace.episode(episode.id).dir == episode.dir, "every numbered id resolves"
        assert (episode.dir / "episode.json").is_file()
    # Importing the same file again gives the same episode, not a fourth one.
    assert workspace.create_episode(source_dirs[0] / (episodes[0].read_meta()["source"]["name"])).id == ids[0]
    assert len(workspace.episodes()) == 3


def test_lookup_by_id_or_by_video_path(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    video = tmp_path / "show s01e01.mp4"
    video.write_bytes(b"x")
    episode = workspace.create_episode(video)
    assert workspace.resolve(episode.id).dir == episode.dir
    assert workspace.resolve(str(video)).dir == episode.dir
    assert workspace.find_by_source(tmp_path / "other.mp4") is None


@pytest.mark.parametrize("ref", ["nope", "../ws", "..", ".", "", "a/b", "episodes/../x", "con"])
def test_unknown_or_unsafe_ids_are_err_episode_not_found(tmp_path: Path, ref: str) -> None:
    workspace = Workspace(tmp_path / "ws")
    (tmp_path / "ws" / "episodes").mkdir(parents=True)
    with pytest.raises(ScreenalyzerError) as info:
        workspace.episode(ref)
    assert info.value.code == "ERR_EPISODE_NOT_FOUND"


def test_cli_unknown_episode_is_err_episode_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    error = expect_error(capsys, monkeypatch, "ERR_EPISODE_NOT_FOUND", "run-stage", "no-such-episode", "track",
                         "--workspace", tmp_path / "ws")
    assert "no-such-episode" in error["detail"]
    expect_error(capsys, monkeypatch, "ERR_EPISODE_NOT_FOUND", "status", "../../etc", "--workspace", tmp_path)


def test_workspace_under_a_regular_file_is_err_workspace_unwritable(tmp_path: Path) -> None:
    """Tests run as root, which ignores permission bits; a folder under a regular file fails for root too."""
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    workspace = Workspace(blocker / "ws")
    with pytest.raises(ScreenalyzerError) as info:
        workspace.ensure_writable()
    assert info.value.code == "ERR_WORKSPACE_UNWRITABLE"
    with pytest.raises(ScreenalyzerError) as info:
        workspace.create_episode(video)
    assert info.value.code == "ERR_WORKSPACE_UNWRITABLE"


def test_default_workspace_is_isolated_by_the_test_fixture(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = default_workspace()
    assert os.environ["SCREENALYZER_WORKSPACE"] == str(root)
    assert str(tmp_path_factory.getbasetemp()) in str(root)
