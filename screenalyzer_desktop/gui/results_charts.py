"""The charts of the Results tab (pyqtgraph): timeline lanes, screen time bars, co-appearance matrix.

The same widgets, drawn offscreen, are the PNG export: in the window, and for the engine CLI (which
never loads Qt itself) in a child process, ``python -m screenalyzer_desktop.gui.results_charts``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from screenalyzer_desktop.core.atomic import atomic_write_bytes
from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error
from screenalyzer_desktop.core.workspace import Episode
from screenalyzer_desktop.gui.results_data import ResultsData, results_for, screentime_from_json

LANE_HEIGHT = 0.7  # of the 1.0 between lanes
PNG_NAMES = {"timeline": "chart_timeline.png", "screentime": "chart_screentime.png",
             "coappearance": "chart_coappearance.png"}


def person_colour(index: int, count: int) -> QColor:
    """One colour per person, the same in every chart and in the frame preview."""
    return pg.intColor(index, hues=max(count, 6), values=1, maxValue=210, minValue=150, sat=200)


def clock_text(seconds: float) -> str:
    """m:ss.s (h:mm:ss past an hour), how editors read positions in an episode."""
    seconds = max(0.0, float(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}"
    return f"{int(minutes)}:{secs:04.1f}"


def short_name(name: str, chars: int = 9) -> str:
    """A name short enough for a matrix column (the row keeps it whole)."""
    return name if len(name) <= chars else name[:chars - 1] + "…"


class ClockAxis(pg.AxisItem):
    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - Qt name
        return [clock_text(v) for v in values]


def _style(plot: pg.PlotWidget) -> None:
    plot.setBackground("w")
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for name in ("left", "bottom"):
        plot.getAxis(name).setTextPen("k")
        plot.getAxis(name).setPen("#888")


def _names_axis(plot: pg.PlotWidget, side: str, names: list[str]) -> None:
    """Person names as the ticks of ``side``, with room for the longest one."""
    axis = plot.getAxis(side)
    axis.setTicks([[(float(i), name) for i, name in enumerate(names)], []])
    if side == "left":
        metrics = QFontMetrics(axis.style.get("tickFont") or plot.font())
        axis.setWidth(max([metrics.horizontalAdvance(n) for n in names], default=0) + 18)


def _looks(colours: list[QColor], darker: bool) -> dict[str, Any]:
    """BarGraphItem fill and outline per bar (pyqtgraph 0.14 fails on empty per-bar lists: no bars, no lists)."""
    if not colours:
        return {"brushes": None, "pens": None, "brush": pg.mkBrush(None), "pen": pg.mkPen(None)}
    return {"brushes": colours, "pens": [pg.mkPen(c.darker(140) if darker else None) for c in colours]}


class TimelineChart(pg.PlotWidget):
    """One lane per person across the episode, shot boundaries as thin lines; x zooms and pans."""

    segment_clicked = Signal(str, float, float, float)  # person, start_s, end_s, clicked at (s)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": ClockAxis("bottom")})
        _style(self)
        self.setMouseEnabled(x=True, y=False)
        self.getPlotItem().invertY(True)
        self.getPlotItem().showGrid(x=True, y=False, alpha=0.15)
        self.bars = pg.BarGraphItem(x0=[], x1=[], y=[], height=LANE_HEIGHT)
        self.cuts = pg.PlotCurveItem(pen=pg.mkPen("#9a9a9a", width=1, style=Qt.PenStyle.DashLine))
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#202020", width=2))
        self.cursor.hide()
        self.addItem(self.cuts)
        self.addItem(self.bars)
        self.addItem(self.cursor)
        self.people: list[str] = []
        self.segments: list[tuple[int, float, float]] = []  # lane, start_s, end_s
        self.hover_text = ""
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    def set_data(self, data: ResultsData) -> None:
        self.people = data.people
        lane = {p: i for i, p in enumerate(self.people)}
        rows = data.result.timeline
        self.segments = [(lane[str(p)], float(a), float(b))
                         for p, a, b in zip(rows["person"], rows["start_s"], rows["end_s"], strict=True)
                         if str(p) in lane]
        colours = [person_colour(i, len(self.people)) for i in range(len(self.people))]
        self.bars.setOpts(x0=[s[1] for s in self.segments], x1=[s[2] for s in self.segments],
                          y=[s[0] for s in self.segments], height=LANE_HEIGHT,
                          **_looks([colours[s[0]] for s in self.segments], darker=True))
        top, bottom = -0.5, max(len(self.people), 1) - 0.5
        cuts = np.repeat(np.asarray(data.shot_starts_s, dtype=float), 2)
        self.cuts.setData(x=cuts, y=np.tile([top, bottom], len(cuts) // 2), connect="pairs")
        _names_axis(self, "left", self.people)
        self.mark(None)
        end = max(data.duration_s, max((s[2] for s in self.segments), default=0.0), 1e-3)
        self.setLimits(xMin=0.0, xMax=end, minXRange=min(end, 1.0), yMin=top, yMax=bottom)
        self.setXRange(0.0, end, padding=0)
        self.setYRange(top, bottom, padding=0)

    def mark(self, t_s: float | None) -> None:
        """Show where the previewed frame is (None: nowhere)."""
        self.cursor.setVisible(t_s is not None)
        if t_s is not None:
            self.cursor.setPos(t_s)

    def segment_at(self, x: float, y: float) -> tuple[str, float, float] | None:
        """The appearance under a point in data coordinates (seconds, lane)."""
        lane = int(round(y))
        if abs(y - lane) > LANE_HEIGHT / 2:
            return None
        for row, start, end in self.segments:
            if row == lane and start <= x <= end:
                return self.people[row], start, end
        return None

    def scene_point(self, t_s: float, person: str) -> QPoint:
        """Where ``person``'s lane is at ``t_s``, in view (widget) coordinates: for tests and tours."""
        scene = self.getPlotItem().vb.mapViewToScene(QPointF(t_s, float(self.people.index(person))))
        return self.mapFromScene(scene)

    def _on_mouse_moved(self, pos: QPointF) -> None:
        point = self.getPlotItem().vb.mapSceneToView(pos)
        hit = self.segment_at(point.x(), point.y())
        self.hover_text = (f"{hit[0]}\n{clock_text(hit[1])} – {clock_text(hit[2])} ({hit[2] - hit[1]:.1f} s)"
                           if hit else "")
        self.setToolTip(self.hover_text)

    def _on_mouse_clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        hit = self.segment_at(point.x(), point.y())
        if hit:
            self.segment_clicked.emit(hit[0], hit[1], hit[2], point.x())


class _StillChart(pg.PlotWidget):
    """A chart that neither zooms nor pans, rows top-down, with text items it redraws as a whole."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        _style(self)
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().invertY(True)
        self.texts: list[pg.TextItem] = []

    def set_texts(self, items: list[tuple[str, float, float, str, tuple[float, float]]]) -> None:
        """Replace the text items: (text, x, y, colour, anchor) each."""
        for item in self.texts:
            self.removeItem(item)
        self.texts = []
        for text, x, y, colour, anchor in items:
            item = pg.TextItem(text, color=colour, anchor=anchor)
            item.setPos(x, y)
            self.addItem(item)
            self.texts.append(item)


class ScreenTimeBars(_StillChart):
    """Screen time per person (seconds), each bar labelled with its share of the episode."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.getPlotItem().setLabel("bottom", "screen time (s)", color="k")
        self.bars = pg.BarGraphItem(x0=[], width=[], y=[], height=LANE_HEIGHT)
        self.addItem(self.bars)
        self.people: list[str] = []

    def set_data(self, data: ResultsData) -> None:
        summary = data.result.summary
        seconds = summary["screen_time_s"].astype(float).tolist()
        count = len(seconds)
        self.bars.setOpts(x0=[0.0] * count, width=seconds, y=list(range(count)), height=LANE_HEIGHT,
                          **_looks([person_colour(i, count) for i in range(count)], darker=False))
        shares = summary["share"].astype(float)
        self.set_texts([(f"{value:.1f} s · {share * 100:.1f} %", value, row, "k", (0, 0.5))
                        for row, (value, share) in enumerate(zip(seconds, shares, strict=True))])
        self.people = data.people
        _names_axis(self, "left", self.people)
        self.setXRange(0.0, max(seconds, default=1.0) * 1.3, padding=0)
        self.setYRange(-0.5, max(count, 1) - 0.5, padding=0)

    def values(self) -> dict[str, float]:
        """Person → the drawn bar's length (seconds)."""
        return dict(zip(self.people, map(float, self.bars.opts["width"]), strict=True))


class CoappearanceMatrix(_StillChart):
    """Seconds two people share the screen, as a heat map with the seconds in each cell."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L17"))
        self.addItem(self.image)
        self.matrix = np.zeros((0, 0))

    def set_data(self, data: ResultsData) -> None:
        frame = data.result.coappearance.reindex(index=data.people, columns=data.people).fillna(0.0)
        self.matrix = frame.to_numpy(dtype=float)
        count = len(self.matrix)
        top = float(self.matrix.max()) if count else 0.0
        self.image.setImage(self.matrix if count else np.zeros((1, 1)), levels=(0.0, max(top, 1e-6)))
        self.image.setRect(-0.5, -0.5, max(count, 1), max(count, 1))
        self.set_texts([("" if row == col else f"{value:.1f}" if value > 0 else "·", col, row,
                         "w" if top > 0 and value / top > 0.55 else "k", (0.5, 0.5))
                        for (row, col), value in np.ndenumerate(self.matrix)])
        _names_axis(self, "left", data.people)
        _names_axis(self, "bottom", [short_name(p) for p in data.people])
        self.setXRange(-0.5, max(count, 1) - 0.5, padding=0.02)
        self.setYRange(-0.5, max(count, 1) - 0.5, padding=0.02)


def chart_widgets(data: ResultsData) -> dict[str, pg.PlotWidget]:
    charts: dict[str, pg.PlotWidget] = {"timeline": TimelineChart(), "screentime": ScreenTimeBars(),
                                        "coappearance": CoappearanceMatrix()}
    for chart in charts.values():
        chart.set_data(data)  # type: ignore[attr-defined]
    return charts


def write_chart_pngs(data: ResultsData, out_dir: Path) -> list[Path]:
    """Draw the three charts offscreen at a fixed size and write them as PNGs (atomically)."""
    from pyqtgraph.exporters import ImageExporter

    app = QApplication.instance() or QApplication([])  # the CLI has none; keep it alive while drawing
    people = max(len(data.people), 1)
    sizes = {"timeline": (1400, 120 + 34 * people), "screentime": (900, 120 + 34 * people),
             "coappearance": (200 + 70 * people, 160 + 70 * people)}
    written = []
    for name, chart in chart_widgets(data).items():
        title = {"timeline": "Timeline", "screentime": "Screen time", "coappearance": "Co-appearance (s)"}[name]
        chart.getPlotItem().setTitle(f"{data.episode_id} — {title}", color="k")
        chart.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        chart.resize(*sizes[name])
        chart.show()
        app.processEvents()
        image = ImageExporter(chart.getPlotItem()).export(toBytes=True)
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        path = Path(out_dir) / PNG_NAMES[name]
        atomic_write_bytes(path, bytes(buffer.data()))
        written.append(path)
        chart.close()
        chart.deleteLater()
    return written



def main(argv: Sequence[str] | None = None) -> int:
    """``EPISODE_DIR OUT_DIR``, the results (a screentime.json document) on stdin: write the chart PNGs
    and print one JSON line, ``{"written": [paths]}`` or ``{"error": {...}}`` (a ScreenalyzerError)."""
    episode_dir, out_dir = (sys.argv[1:] if argv is None else list(argv))[:2]
    try:
        result, metadata = screentime_from_json(json.loads(sys.stdin.read()))
        written = write_chart_pngs(results_for(Episode(Path(episode_dir)), result, metadata), Path(out_dir))
    except ScreenalyzerError as error:
        print(json.dumps({"error": error.to_dict()}))
        return error.exit_code
    except Exception as exc:  # noqa: BLE001 - handed to the CLI as a structured error
        error = internal_error(exc)
        print(json.dumps({"error": error.to_dict()}))
        return error.exit_code
    print(json.dumps({"written": [str(path) for path in written]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
