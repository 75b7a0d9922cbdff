"""Peak memory of a whole analysis on a 4K episode, against the same episode at 720p.

Usage:
    python benchmarks/memory_4k.py [--seconds 20] [--seed 3] [--sizes 720p,4k] [--set KEY=VALUE ...]
        [--out docs/bench-results]

Generates a demo episode (real faces), scales it to 1280x720 and to 3840x2160 with ffmpeg (H.264),
runs `screenalyzer analyze` on each in a fresh workspace and samples the RSS of the whole process
tree (the engine and its detect workers) every 0.2 s. Prints one JSON line per size and the ratio.
Memory is a benchmark, not a test: the numbers depend on the machine and its load.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="folder to append the JSON lines to (memory_4k.jsonl)")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("ffmpeg is needed to scale the episode (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    from screenalyzer_desktop.sample_episode import make_sample_episode

    rows = []
    with tempfile.TemporaryDirectory(prefix="memory-4k-") as tmp:
        root = Path(tmp)
        sample = make_sample_episode(root / "sample", seconds=args.seconds, seed=args.seed)
        for name in args.sizes.split(","):
            width, height = SIZES[name]
            video = root / f"episode-{name}.mp4"
            subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(sample.video), "-vf", f"scale={width}:{height}",
                            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(video)], check=True)
            cmd = [sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(video), "--workspace",
                   str(root / f"ws-{name}"), "--engine", "dlib", "--progress", "none",
                   *(arg for item in args.set for arg in ("--set", item))]
            wall, peak, _ = run_measured(cmd)
            rows.append({"size": name, "width": width, "height": height, "seconds": args.seconds,
                         "frame_mb": round(width * height * 3 / 2**20, 1), "wall_s": round(wall, 1),
                         "peak_rss_mb": round(peak / 2**20)})
            print(json.dumps(rows[-1]), flush=True)
    peaks = {row["size"]: row["peak_rss_mb"] for row in rows}
    if {"720p", "4k"} <= set(peaks):
        rows.append({"peak_rss_4k_over_720p": round(peaks["4k"] / max(peaks["720p"], 1), 2),
                     "pixels_4k_over_720p": 9.0})
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "memory_4k.jsonl", "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
