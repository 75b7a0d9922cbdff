"""Shared fixtures: an isolated workspace for every test, analysed episodes, child processes reaped."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Analysed, CliProcess, run_pipeline, two_people, write_video


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the user's data folder: the default workspace and XDG folders are temp folders."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("SCREENALYZER_WORKSPACE", str(home / "default-workspace"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A 3 s, 10 fps 320x240 mp4v video with two people (the second from 1.5 s)."""
    return write_video(tmp_path / "media" / "episode.mp4", who=two_people)


@pytest.fixture(scope="session")
def analysed_template(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    root = tmp_path_factory.mktemp("template")
    video_path = write_video(root / "media" / "episode.mp4", who=two_people)
    workspace, episode, _, _ = run_pipeline(root / "ws", video_path)
    return Analysed(workspace, episode, video_path)


@pytest.fixture
def analysed(analysed_template: Analysed, tmp_path: Path) -> Analysed:
    """A fully analysed episode in a workspace of this test's own (video shared: do not change it)."""
    from screenalyzer_desktop.core.workspace import Workspace

    shutil.copytree(analysed_template.workspace.root, tmp_path / "ws")
    workspace = Workspace(tmp_path / "ws")
    return Analysed(workspace, workspace.episode(analysed_template.episode.id), analysed_template.video)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Analysed:
    """A 40 s demo episode (seven real faces, cast photos of all but two) analysed with its cast."""
    from screenalyzer_desktop.cast_bank import set_episode_cast
    from screenalyzer_desktop.core.workspace import Workspace
    from screenalyzer_desktop.sample_episode import make_sample_episode

    root = tmp_path_factory.mktemp("demo")
    sample = make_sample_episode(root / "media", seconds=40, seed=7)
    cast = root / "cast"
    for person in sorted(sample.cast_dir.iterdir())[:-2]:
        shutil.copytree(person, cast / person.name)
    workspace = Workspace(root / "ws")
    episode = workspace.create_episode(sample.video)
    set_episode_cast(episode, cast, "demo")
    run_pipeline(workspace.root, sample.video, existing=episode)
    return Analysed(workspace, episode, sample.video)


@pytest.fixture
def demo(demo_template: Analysed, tmp_path: Path) -> Analysed:
    """The analysed demo episode in a workspace and with a cast folder of this test's own (confirming a
    name adds photos to the cast); the video is shared: do not change it."""
    from screenalyzer_desktop.cast_bank import set_episode_cast
    from screenalyzer_desktop.core.workspace import Workspace
    from screenalyzer_desktop.stages.cluster import cast_settings

    shutil.copytree(demo_template.workspace.root, tmp_path / "ws")
    workspace = Workspace(tmp_path / "ws")
    episode = workspace.episode(demo_template.episode.id)
    cast = shutil.copytree(cast_settings(demo_template.episode)["cast_dir"], tmp_path / "cast")
    set_episode_cast(episode, cast, "demo")
    return Analysed(workspace, episode, demo_template.video)


@pytest.fixture
def analysed_own_video(tmp_path: Path) -> Analysed:
    """A fully analysed episode whose video this test may change or delete."""
    video_path = write_video(tmp_path / "media" / "episode.mp4", who=two_people)
    workspace, episode, _, _ = run_pipeline(tmp_path / "ws", video_path)
    return Analysed(workspace, episode, video_path)


@pytest.fixture
def cli_procs() -> Iterator[list[CliProcess]]:
    """Children started by a test; any still running at the end is killed (and fails the test)."""
    procs: list[CliProcess] = []
    yield procs
    left = [p for p in procs if p.proc.poll() is None]
    for proc in left:
        proc.kill()
    assert not left, "a child process was left running"
