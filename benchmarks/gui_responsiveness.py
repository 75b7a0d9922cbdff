"""Event-loop responsiveness of the main window while detect runs (a benchmark, not a timed test).

A 5 ms QTimer ticks on the GUI thread; the longest gap between ticks is how long the window could
not react. The run is a real engine process started through the window's run queue; optionally the
log panel is fed extra lines at ``--log-rate`` per second on top. Target: max gap < 50 ms.

    python benchmarks/gui_responsiveness.py [--seconds 30] [--sample-fps 4] [--log-rate 1000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from screenalyzer_desktop.gui.main_window import MainWindow  # noqa: E402
from screenalyzer_desktop.gui.settings import AppSettings, save_settings  # noqa: E402
from screenalyzer_desktop.sample_episode import make_sample_episode  # noqa: E402

TICK_MS = 5


def measure(app: QApplication, window: MainWindow, episode_id: str, log_rate: int) -> dict[str, float]:
    ticks: list[float] = []
    progress_events = itertools.count()
    log_lines = itertools.count()
    ticker = QTimer()
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    feeder = QTimer()
    feeder.setInterval(10)
    model = window.log_model(episode_id)
    per_tick = max(1, log_rate // 100)
    feeder.timeout.connect(lambda: [model.append({"level": "INFO", "message": f"flood line {next(log_lines)}"})
                                    for _ in range(per_tick)])
    window.runs.progress.connect(lambda job, event: next(progress_events))
    window.runs.jobEnded.connect(lambda job: app.quit())
    ticker.start()
    if log_rate:
        feeder.start()
    started = time.perf_counter()
    window.run_stage(episode_id, "detect_embed", if_needed=False)
    app.exec()
    elapsed = time.perf_counter() - started
    ticker.stop()
    feeder.stop()
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]
    job_status = window.runs.jobs()[0].status if window.runs.jobs() else "ended"
    return {"run_s": round(elapsed, 2), "ticks": len(ticks), "max_gap_ms": round(max(gaps), 1),
            "p99_gap_ms": round(statistics.quantiles(gaps, n=100)[98], 1),
            "median_gap_ms": round(statistics.median(gaps), 1), "progress_events": next(progress_events),
            "extra_log_lines": next(log_lines), "queue_after": job_status}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the generated episode")
    parser.add_argument("--sample-fps", type=float, default=4.0)
    parser.add_argument("--log-rate", type=int, default=1000, help="extra log lines per second (0: none)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gui-bench-"))
    sample = make_sample_episode(root / "sample", seconds=args.seconds, seed=5)
    workspace = root / "workspace"
    subprocess.run([sys.executable, "-m", "screenalyzer_desktop.cli", "import", str(sample.video), "--workspace",
                    str(workspace), "--progress", "none"], check=True)
    app = QApplication(sys.argv[:1])
    store = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    save_settings(store, AppSettings(workspace=str(workspace), sample_fps=args.sample_fps))
    window = MainWindow(store)
    window.show()
    episode_id = "episode"
    deadline = time.monotonic() + 30
    while episode_id not in window.snapshots and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    window.library_view.selectRow(window.library.row_of(episode_id))
    results = {"platform": app.platformName(), "video_s": args.seconds, "sample_fps": args.sample_fps,
               "plain": measure(app, window, episode_id, 0)}
    if args.log_rate:
        results[f"with_{args.log_rate}_log_lines_per_s"] = measure(app, window, episode_id, args.log_rate)
    window.close()
    print(json.dumps(results, indent=2))
    worst = max(v["max_gap_ms"] for k, v in results.items() if isinstance(v, dict))
    print(f"max event-loop gap: {worst} ms (target < 50 ms)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
