"""The Batch view fed by a real `screenalyzer batch` child on a local Ray instance: one short episode and
one file that is not a video."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

# find_spec, not importorskip: the batch runs Ray in its own processes, this one never imports it.
if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is not installed: pip install -e '.[cluster]' (scripts/setup does)", allow_module_level=True)

from screenalyzer_desktop.gui.batch_view import BatchView  # noqa: E402
from screenalyzer_desktop.gui.process_runner import CANCELLED, FAILED, RunOutcome  # noqa: E402

BATCH_TIMEOUT_MS = 300_000  # a local Ray start and a 4 s episode on a loaded 2-core machine


@pytest.mark.slow
def test_the_batch_view_shows_each_episode_and_the_overall_progress(
        qtbot, videos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # no token: token mode reads and writes ~/.ray
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    season = tmp_path / "season"
    season.mkdir()
    shutil.copy(videos["short"], season / "e01.mp4")
    (season / "e02.mp4").write_text("not a video\n")
    cast = videos["short"].parent / "cast"
    view = BatchView(grace_ms=2000)
    qtbot.addWidget(view)
    percents: list[int] = []
    view.overall.valueChanged.connect(percents.append)
    with qtbot.waitSignal(view.batchEnded, timeout=BATCH_TIMEOUT_MS) as blocker:
        view.start([season], workspace=tmp_path / "ws", cast=cast, show="demo", max_parallel=1)
    outcome: RunOutcome = blocker.args[0]
    assert outcome.status == FAILED and outcome.error is not None
    assert outcome.error.code == "ERR_VIDEO_UNREADABLE" and outcome.exit_code == outcome.error.exit_code
    assert view.row("e01") == {"Episode": "e01", "Status": "done", "Stage": "screentime", "%": "100", "Code": ""}
    bad = view.row("e02.mp4")
    assert (bad["Status"], bad["Code"]) == ("failed", "ERR_VIDEO_UNREADABLE")
    assert view.overall.value() == 1000 and percents == sorted(percents) and len(set(percents)) > 2
    assert "1 of 2 episode(s) failed" in view.status.text()
    assert not view.is_running() and not view.cancel_button.isEnabled()
    assert (tmp_path / "ws" / "batch_summary.xlsx").is_file()


@pytest.mark.slow
def test_cancel_stops_the_batch_cleanly(qtbot, videos: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    view = BatchView(grace_ms=30_000)  # time for a clean stop: the test wants the batch's own answer
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.runner.progress, timeout=BATCH_TIMEOUT_MS,
                          check_params_cb=lambda event: event.get("stage") == "detect_embed"):
        view.start([videos["medium"]], workspace=tmp_path / "ws", max_parallel=1)
    with qtbot.waitSignal(view.batchEnded, timeout=BATCH_TIMEOUT_MS) as blocker:
        view.cancel_button.click()
    outcome: RunOutcome = blocker.args[0]
    assert outcome.status == CANCELLED and outcome.exit_code == 130
    assert outcome.error is not None and outcome.error.code == "ERR_CANCELLED"
    row = view.row("episode")
    assert (row["Status"], row["Code"]) == ("failed", "ERR_CANCELLED")
