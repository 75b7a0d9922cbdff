"""Peak memory of a whole analysis on a 4K episode, against 720p, and against a longer 4K episode.

Usage:
    python benchmarks/memory_4k.py [--seconds 30,120] [--seed 3] [--sizes 720p,4k] [--set KEY=VALUE ...]
        [--base-mb 350] [--max-growth 1.15] [--out docs/bench-results]

Generates a demo episode (real faces) as long as the longest duration, scales it to 1280x720 and to
3840x2160 with ffmpeg (H.264) and cuts the shorter durations from it, runs `screenalyzer analyze` on
each in a fresh workspace and samples the RSS of the whole process tree (the engine and its detect
workers) every 0.2 s. Prints one JSON line per run, then the checks:

- each run's peak is under its ceiling: ``--base-mb`` for the engine process plus, per detect segment,
  what the app counts a worker to need when it chooses how many to start (``detect.worker_base_mb`` +
  ``detect.worker_frames`` frames of that size);
- at each size, the longest episode's peak is at most ``--max-growth`` times the shortest's scanned in
  as many segments (``--set detect.workers=1`` makes every duration one segment): memory does not grow
  with the episode.

Exits 1 when a check fails. Memory is a benchmark, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_episodes import run_measured  # noqa: E402

SIZES = {"720p": (1280, 720), "4k": (3840, 2160)}


def worker_estimate_mb(settings: list[str], width: int, height: int) -> float:
    from screenalyzer_desktop.core.config import load_config

    overrides = dict(item.split("=", 1) for item in settings)
    detect = load_config(overrides=overrides).section("detect")
    return detect["worker_base_mb"] + detect["worker_frames"] * width * height * 3 / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default="30,120", help="comma-separated durations")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--base-mb", type=float, default=350.0,
                        help="the engine process without its scan (measured: 320 MB after ingest)")
    parser.add_argument("--max-growth", type=float, default=1.15)
    parser.add_argument("--out", type=Path, help="folder to append the JSON lines to (memory_4k.jsonl)")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("ffmpeg is needed to scale the episode (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    from screenalyzer_desktop.sample_episode import make_sample_episode

    durations = sorted(float(s) for s in args.seconds.split(","))
    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="memory-4k-") as tmp:
        root = Path(tmp)
        sample = make_sample_episode(root / "sample", seconds=durations[-1], seed=args.seed)
        for name in args.sizes.split(","):
            width, height = SIZES[name]
            peaks = []
            for seconds in durations:
                video = root / f"episode-{name}-{seconds:g}s.mp4"
                subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(sample.video), "-t", f"{seconds}",
                                "-vf", f"scale={width}:{height}", "-c:v", "libx264", "-preset", "veryfast",
                                "-pix_fmt", "yuv420p", str(video)], check=True)
                cmd = [sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(video), "--workspace",
                       str(root / f"ws-{name}-{seconds:g}"), "--engine", "dlib", "--progress", "jsonl",
                       *(arg for item in args.set for arg in ("--set", item))]
                wall, peak, out = run_measured(cmd)
                segments = json.loads(out.strip().splitlines()[-1])["summaries"]["detect_embed"]["segments"]
                ceiling = args.base_mb + segments * worker_estimate_mb(args.set, width, height)
                rows.append({"size": name, "seconds": seconds, "frame_mb": round(width * height * 3 / 2**20, 1),
                             "segments": segments, "wall_s": round(wall, 1), "peak_rss_mb": round(peak / 2**20),
                             "ceiling_mb": round(ceiling)})
                print(json.dumps(rows[-1]), flush=True)
                if peak / 2**20 > ceiling:
                    failures.append(f"{name} {seconds:g} s: {peak / 2**20:.0f} MB over the ceiling {ceiling:.0f} MB")
                peaks.append((segments, peak))
            for segments in sorted({count for count, _ in peaks}):
                same = [peak for count, peak in peaks if count == segments]  # durations in order
                if len(same) > 1:
                    growth = same[-1] / same[0]
                    rows.append({"size": name, "segments": segments, "growth_longest_over_shortest": round(growth, 2)})
                    print(json.dumps(rows[-1]), flush=True)
                    if growth > args.max_growth:
                        failures.append(f"{name}, {segments} segment(s): {growth:.2f}x from shortest to longest")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "memory_4k.jsonl", "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
