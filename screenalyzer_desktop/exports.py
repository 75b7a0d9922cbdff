"""Writing results for people and other tools: CSV, JSON, XLSX and editor markers (all atomic).

Editor markers go through OpenTimelineIO: one timeline holding one clip that spans the episode and
references its video, with one marker per appearance (a row of timeline.csv) named by the person.

- CMX 3600 EDL (``markers.edl``): the clip is event 001 (reel ``AX``, record time = source time, both
  from 00:00:00:00) and each appearance is a locator line ``* LOC: <timecode> <colour> <PERSON>`` at
  the frame where it starts. EDL locators have no duration, and the cmx_3600 adapter writes their
  names in capitals. Timecode is non-drop-frame (``FCM: NON-DROP FRAME``): at 29.97/59.94 fps the
  labels count frames at 30/60, which keeps every locator on its exact frame.
- FCP 7 XML (``markers.xml``, which Premiere Pro and Resolve import): sequence markers with in and out
  frames, so each appearance keeps its duration.

Both are frame-accurate when the episode's rate is a SMPTE rate (23.976, 24, 25, 29.97, 30, 50,
59.94, 60) or divides one (10 fps is written at 30 with 3 timecode frames per video frame). Other
rates are written at the next SMPTE rate up, to the nearest timecode frame.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenalyzer_desktop.core.atomic import atomic_write_bytes, atomic_write_text
from screenalyzer_desktop.screentime_calc import ScreenTime

if TYPE_CHECKING:
    import opentimelineio as otio

FORMATS = ("csv", "json", "xlsx")  # what the screentime stage writes beside its artifacts
EDITOR_FORMATS = ("edl", "fcpxml")
EDL_NAME, FCPXML_NAME = "markers.edl", "markers.xml"
# Locator colours every EDL reader knows (Avid's eight), one per person in screen-time order.
_MARKER_COLOURS = ("GREEN", "RED", "BLUE", "CYAN", "MAGENTA", "YELLOW", "WHITE", "BLACK")
# Spreadsheet look: number format and width (characters) per column; other columns fit their text.
_XLSX_FORMATS = {"screen_time_s": "0.000", "share": "0.0%", "first_seen_s": "0.000", "last_seen_s": "0.000",
                 "start_s": "0.000", "end_s": "0.000", "tracks": "0"}


def to_json(result: ScreenTime, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "metadata": metadata,
            "people": result.summary.to_dict(orient="records"),
            "timeline": result.timeline.to_dict(orient="records"),
            "coappearance": {p: result.coappearance.loc[p].to_dict() for p in result.coappearance.index}}


def write_exports(result: ScreenTime, metadata: dict[str, Any], out_dir: Path,
                  formats: tuple[str, ...] = FORMATS, media: Path | None = None) -> list[Path]:
    """Write ``formats`` (of FORMATS and EDITOR_FORMATS) into ``out_dir``; the paths written.

    ``metadata`` needs ``fps`` and ``duration_s`` for the editor formats; ``media`` is the episode's
    video, which their clip references (the clip is named after ``metadata['source']`` either way).
    """
    out_dir = Path(out_dir)
    written = []
    if "csv" in formats:
        for name, frame in (("screentime.csv", result.summary), ("timeline.csv", result.timeline)):
            atomic_write_text(out_dir / name, frame.to_csv(index=False))
            written.append(out_dir / name)
        atomic_write_text(out_dir / "coappearance.csv", result.coappearance.to_csv())
        written.append(out_dir / "coappearance.csv")
    if "json" in formats:
        atomic_write_text(out_dir / "screentime.json", json.dumps(to_json(result, metadata), indent=2,
                                                                  ensure_ascii=False) + "\n")
        written.append(out_dir / "screentime.json")
    if "xlsx" in formats:
        atomic_write_bytes(out_dir / "screentime.xlsx", xlsx_bytes(result, metadata))
        written.append(out_dir / "screentime.xlsx")
    if "edl" in formats:
        atomic_write_text(out_dir / EDL_NAME, edl_text(result, metadata, media))
        written.append(out_dir / EDL_NAME)
    if "fcpxml" in formats:
        atomic_write_text(out_dir / FCPXML_NAME, fcpxml_text(result, metadata, media))
        written.append(out_dir / FCPXML_NAME)
    return written


def xlsx_bytes(result: ScreenTime, metadata: dict[str, Any]) -> bytes:
    """Summary, Timeline, Co-appearance and Metadata sheets: numbers stay numbers (share as a
    percentage format over the same fraction), header rows frozen and filterable, columns wide enough."""
    buffer = io.BytesIO()
    sheets = {"Summary": (result.summary, False), "Timeline": (result.timeline, False),
              "Co-appearance": (result.coappearance, True),
              "Metadata": (pd.DataFrame(sorted(_flat(metadata).items()), columns=["key", "value"]), False)}
    with pd.ExcelWriter(buffer, engine="openpyxl") as book:
        for name, (frame, index) in sheets.items():
            frame.to_excel(book, sheet_name=name, index=index)
            _tidy_sheet(book.sheets[name], frame, index)
    return buffer.getvalue()


def _tidy_sheet(sheet: Any, frame: pd.DataFrame, index: bool) -> None:
    from openpyxl.utils import get_column_letter

    headers = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    values = ([frame.index.astype(str).tolist()] if index else []) + [frame[c].astype(str).tolist()
                                                                      for c in frame.columns]
    coappearance = index  # the only sheet with an index holds seconds in every cell
    for number, (header, column) in enumerate(zip(headers, values, strict=True), start=1):
        letter = get_column_letter(number)
        sheet.column_dimensions[letter].width = min(60, max([len(header), *map(len, column)]) + 3)
        style = "0.000" if coappearance and number > 1 else _XLSX_FORMATS.get(header)
        if style:
            for cell in sheet[letter][1:]:
                cell.number_format = style
    sheet.freeze_panes = "B2" if index else "A2"
    if sheet.max_row > 1 and not index:
        sheet.auto_filter.ref = sheet.dimensions


@dataclass(frozen=True)
class EditorRate:
    """How episode frames map to an editing suite's timecode."""

    rate: float  # the SMPTE rate of the sequence (29.97 as 30000/1001)
    ratio: Fraction  # timecode frames per video frame (1; 3 for 10 fps on a 30 fps timecode)

    @property
    def nominal(self) -> int:
        """The integer frame count per timecode second (30 for 29.97)."""
        return round(self.rate)

    def frame(self, video_frame: int) -> int:
        return round(video_frame * self.ratio)


def editor_rate(fps: float) -> EditorRate:
    """The SMPTE rate an episode at ``fps`` is written at (see the module docstring)."""
    from opentimelineio.opentime import RationalTime

    nearest = RationalTime.nearest_smpte_timecode_rate(fps)
    if nearest > 0 and abs(nearest - fps) <= 1e-3 * fps:
        return EditorRate(nearest, Fraction(1))
    exact = Fraction(fps).limit_denominator(1001)
    bases = [base for base in range(1, 4 * max(round(fps), 30) + 1) if RationalTime.is_smpte_timecode_rate(base)]
    multiple = next((b for b in bases if b >= fps and (b / exact).denominator == 1), None)
    base = multiple or next((b for b in bases if b >= fps), bases[-1])
    return EditorRate(float(base), Fraction(base) / exact)


@dataclass(frozen=True)
class Appearance:
    person: str
    start_frame: int  # first video frame on screen
    end_frame: int  # first video frame no longer on screen


def appearances(result: ScreenTime, fps: float) -> list[Appearance]:
    """timeline.csv rows as episode frames, in time order."""
    rows = result.timeline.sort_values(["start_s", "person"], kind="stable")
    return [Appearance(str(p), round(float(a) * fps), max(round(float(b) * fps), round(float(a) * fps) + 1))
            for p, a, b in zip(rows["person"], rows["start_s"], rows["end_s"], strict=True)]


def marker_timeline(result: ScreenTime, metadata: dict[str, Any], media: Path | None,
                    editor: EditorRate, rate: float, on_clip: bool) -> otio.schema.Timeline:
    """The episode as one clip with one marker per appearance, with timecode frames counted at
    ``rate``; markers on the clip (``on_clip``, what EDL needs) or on the sequence."""
    import opentimelineio as otio

    fps = float(metadata["fps"])
    at = otio.opentime.RationalTime
    total = at(editor.frame(round(float(metadata["duration_s"]) * fps)), rate)
    span = otio.opentime.TimeRange(at(0, rate), total)
    source = str(metadata.get("source") or (media.name if media else "episode"))
    reference = (otio.schema.ExternalReference(target_url=Path(media).resolve().as_uri(), available_range=span)
                 if media is not None else otio.schema.MissingReference(name=source, available_range=span))
    clip = otio.schema.Clip(name=source, media_reference=reference, source_range=span,
                            metadata={"cmx_3600": {"reel": "AX"}})
    timeline = otio.schema.Timeline(name=str(metadata.get("episode") or source))
    timeline.global_start_time = at(0, rate)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    track.append(clip)
    colour = {p: _MARKER_COLOURS[n % len(_MARKER_COLOURS)] for n, p in enumerate(result.summary["person"])}
    holder = clip if on_clip else timeline.tracks
    for item in appearances(result, fps):
        start, end = editor.frame(item.start_frame), editor.frame(item.end_frame)
        marked = otio.opentime.TimeRange(at(start, rate), at(end - start, rate))
        holder.markers.append(otio.schema.Marker(name=item.person, marked_range=marked,
                                                 color=colour.get(item.person, _MARKER_COLOURS[0])))
    return timeline


def edl_text(result: ScreenTime, metadata: dict[str, Any], media: Path | None = None) -> str:
    import opentimelineio as otio

    rate = editor_rate(float(metadata["fps"]))
    timeline = marker_timeline(result, metadata, media, rate, rate.nominal, on_clip=True)
    text = otio.adapters.write_to_string(timeline, "cmx_3600", rate=rate.nominal)
    title, _, events = text.partition("\n")
    return f"{title}\nFCM: NON-DROP FRAME\n{events}"


def fcpxml_text(result: ScreenTime, metadata: dict[str, Any], media: Path | None = None) -> str:
    import opentimelineio as otio

    rate = editor_rate(float(metadata["fps"]))
    timeline = marker_timeline(result, metadata, media, rate, rate.rate, on_clip=False)
    return otio.adapters.write_to_string(timeline, "fcp_xml")


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out
