"""Exports read back with the libraries that read them in the wild: pandas, openpyxl, OpenTimelineIO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import opentimelineio as otio
import pandas as pd
import pytest
from support import child_env, run_cli

from screenalyzer_desktop import screentime_calc
from screenalyzer_desktop.exports import EDITOR_FORMATS, EDL_NAME, FCPXML_NAME, FORMATS, editor_rate, write_exports

PEOPLE = ("Zoë Åberg", "Smith, Jr.", "cluster_3")


def made_up_result(fps: float) -> tuple[screentime_calc.ScreenTime, dict]:
    """Screen time computed by the real calculation from tracks that start and end on frames."""
    spans = [(0, 0, 50), (0, 120, 700), (1, 30, 95), (1, 400, 1001), (2, 777, 1100), (0, 1350, 1499)]
    tracks = pd.DataFrame({"track": range(len(spans)), "start_s": [a / fps for _, a, _ in spans],
                           "end_s": [b / fps for _, _, b in spans]})
    people = pd.Series([PEOPLE[p] for p, _, _ in spans], index=tracks["track"])
    result = screentime_calc.compute(tracks, people, 1500 / fps, merge_gap_s=0.5, min_interval_s=0.3)
    metadata = {"episode": "Harbour_Lights_S01E01", "source": "Harbour Lights S01E01.mp4", "engine": "dlib",
                "duration_s": 1500 / fps, "fps": fps}
    return result, metadata


def test_csv_json_and_xlsx_read_back_equal_to_the_tables(tmp_path: Path) -> None:
    result, metadata = made_up_result(25.0)
    written = write_exports(result, metadata, tmp_path, FORMATS)
    assert sorted(p.name for p in written) == ["coappearance.csv", "screentime.csv", "screentime.json",
                                               "screentime.xlsx", "timeline.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "screentime.csv"), result.summary)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "timeline.csv"), result.timeline)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "coappearance.csv", index_col=0), result.coappearance)

    doc = json.loads((tmp_path / "screentime.json").read_text(encoding="utf-8"))
    assert doc["metadata"] == metadata
    pd.testing.assert_frame_equal(pd.DataFrame(doc["people"]), result.summary)
    pd.testing.assert_frame_equal(pd.DataFrame(doc["timeline"]), result.timeline)
    assert doc["coappearance"][PEOPLE[0]][PEOPLE[1]] == result.coappearance.loc[PEOPLE[0], PEOPLE[1]]

    sheets = pd.read_excel(tmp_path / "screentime.xlsx", sheet_name=None)
    assert list(sheets) == ["Summary", "Timeline", "Co-appearance", "Metadata"]
    pd.testing.assert_frame_equal(sheets["Summary"], result.summary)
    pd.testing.assert_frame_equal(sheets["Timeline"], result.timeline)
    together = sheets["Co-appearance"].set_index("person")
    pd.testing.assert_frame_equal(together, result.coappearance)
    assert dict(zip(sheets["Metadata"]["key"], sheets["Metadata"]["value"].astype(str), strict=True))["fps"] == "25.0"


def test_the_workbook_is_easy_to_read_in_a_spreadsheet(tmp_path: Path) -> None:
    import openpyxl

    result, metadata = made_up_result(25.0)
    write_exports(result, metadata, tmp_path, ("xlsx",))
    book = openpyxl.load_workbook(tmp_path / "screentime.xlsx")
    summary = book["Summary"]
    header = [cell.value for cell in summary[1]]
    share = summary.cell(row=2, column=header.index("share") + 1)
    assert share.number_format == "0.0%" and share.value == pytest.approx(result.summary["share"][0])
    assert summary.cell(row=2, column=header.index("screen_time_s") + 1).number_format == "0.000"
    assert summary.freeze_panes == "A2" and summary.auto_filter.ref
    widest = max(len(p) for p in PEOPLE)
    assert summary.column_dimensions["A"].width >= widest
    assert book["Co-appearance"].freeze_panes == "B2"


def read_markers(path: Path, rate: float) -> list[otio.schema.Marker]:
    timeline = otio.adapters.read_from_file(str(path), rate=rate) if path.suffix == ".edl" else \
        otio.adapters.read_from_file(str(path))
    clips = list(timeline.find_clips())
    assert len(clips) == 1, "one clip spans the episode"
    return list(clips[0].markers) + list(timeline.tracks.markers)


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001, 24000 / 1001, 10.0])
def test_editor_markers_hold_one_marker_per_appearance_on_its_frame(tmp_path: Path, fps: float) -> None:
    result, metadata = made_up_result(fps)
    media = tmp_path / "media" / "Harbour Lights S01E01.mp4"
    written = write_exports(result, metadata, tmp_path, EDITOR_FORMATS, media=media)
    assert [p.name for p in written] == [EDL_NAME, FCPXML_NAME]
    rate = editor_rate(fps)
    rows = result.timeline.sort_values(["start_s", "person"], kind="stable")
    expected = [(person, rate.frame(round(a * fps)), rate.frame(round(b * fps)))
                for person, a, b in zip(rows["person"], rows["start_s"], rows["end_s"], strict=True)]
    assert len(expected) == 6

    edl = read_markers(tmp_path / EDL_NAME, rate.nominal)
    assert [(m.name, round(m.marked_range.start_time.value)) for m in edl] == \
        [(person.upper(), start) for person, start, _ in expected]  # EDL locators: capitals, no duration
    assert "FCM: NON-DROP FRAME" in (tmp_path / EDL_NAME).read_text()

    fcp = read_markers(tmp_path / FCPXML_NAME, rate.rate)
    assert [(m.name, round(m.marked_range.start_time.value), round(m.marked_range.end_time_exclusive().value))
            for m in fcp] == expected
    clip = otio.adapters.read_from_file(str(tmp_path / FCPXML_NAME)).find_clips()[0]
    assert clip.name == metadata["source"]
    assert clip.media_reference.target_url == media.resolve().as_uri()
    assert round(clip.source_range.duration.value) == rate.frame(1500)


def test_editor_rates_keep_frames_exact() -> None:
    assert (editor_rate(25.0).rate, editor_rate(25.0).frame(1234)) == (25.0, 1234)
    ntsc = editor_rate(29.97)
    assert ntsc.nominal == 30 and ntsc.frame(1800) == 1800
    assert (editor_rate(10.0).rate, editor_rate(10.0).frame(7)) == (30.0, 21)
    assert (editor_rate(12.5).rate, editor_rate(12.5).frame(3)) == (25.0, 6)


def test_the_cli_exports_every_format(analysed) -> None:
    """A child process with no display: PNG charts are drawn offscreen by the CLI on its own."""
    out = analysed.workspace.root.parent / "out"
    formats = ["csv", "xlsx", "json", "edl", "fcpxml", "png"]
    done = run_cli("export", analysed.episode.id, "--workspace", analysed.workspace.root, "--out", out,
                   *[arg for f in formats for arg in ("--format", f)], timeout=180)
    assert done.returncode == 0, done.stderr
    names = sorted(Path(line).name for line in done.stdout.splitlines())
    assert names == sorted(["screentime.csv", "timeline.csv", "coappearance.csv", "screentime.json",
                            "screentime.xlsx", EDL_NAME, FCPXML_NAME, "chart_timeline.png",
                            "chart_screentime.png", "chart_coappearance.png"])
    art = analysed.episode.artifacts_dir
    for name in ("screentime.csv", "timeline.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(art / name))
    timeline = pd.read_csv(art / "timeline.csv")
    fps = analysed.episode.read_meta()["video"]["fps"]
    markers = read_markers(out / FCPXML_NAME, editor_rate(fps).rate)
    assert sorted(m.name for m in markers) == sorted(timeline["person"])
    assert len(read_markers(out / EDL_NAME, editor_rate(fps).nominal)) == len(timeline)
    for name in ("chart_timeline.png", "chart_screentime.png", "chart_coappearance.png"):
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 300, name


def test_png_export_draws_in_a_child_and_keeps_the_cli_free_of_qt(analysed) -> None:
    from screenalyzer_desktop.gui.results_charts import PNG_NAMES

    out = analysed.workspace.root.parent / "png-only"
    code = ("import json, sys\n"
            "from screenalyzer_desktop.cli import main\n"
            f"status = main(['export', {analysed.episode.id!r}, '--workspace', {str(analysed.workspace.root)!r}, "
            f"'--out', {str(out)!r}, '--format', 'png'])\n"
            "print(json.dumps([status, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph'))]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                          env=child_env())
    assert done.returncode == 0, done.stderr[-3000:]
    status, qt_modules = json.loads(done.stdout.splitlines()[-1])
    assert status == 0 and qt_modules == []
    assert sorted(Path(line).name for line in done.stdout.splitlines()[:-1]) == sorted(PNG_NAMES.values())
