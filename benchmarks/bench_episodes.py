"""Accuracy and speed on generated episodes with ground truth, against the peer in the same run.

Usage:
    python benchmarks/bench_episodes.py --bench ../shared/bench --seconds 180 [--hard] [--seed 7]
        [--no-cast] [--peer] [--set KEY=VALUE ...] [--out docs/bench-results]

Generates an episode with the bench kit's make_episode.py, runs `screenalyzer analyze` on it
(wall time and peak memory of the process tree), scores the export with score.py, and, with
--peer, runs the face_recognition peer on the same file for a speed ratio. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def peak_rss_tree(pid: int) -> int:
    """Sum of RSS (bytes) of a process and its descendants, from /proc."""
    total = 0
    children = {pid}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) in children or int(entry) == pid:
                children.add(int(entry))
                total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the process tree (sampled every 0.2 s), and stdout."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, peak_rss_tree(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "bench")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hard", action="store_true")
    parser.add_argument("--no-cast", action="store_true")
    parser.add_argument("--peer", action="store_true")
    parser.add_argument("--episode-dir", type=Path, help="reuse an already generated episode folder")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="screenalyzer-bench-"))
    episode = args.episode_dir or work / "episode"
    if not (episode / "truth.json").is_file():
        cmd = [sys.executable, str(args.bench / "make_episode.py"), str(args.bench / "dev-faces"), str(episode),
               "--seconds", str(args.seconds), "--seed", str(args.seed)] + (["--hard"] if args.hard else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    export = work / "export"
    cmd = [sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(episode / "episode.mp4"),
           "--workspace", str(work / "ws"), "--export", str(export), "--progress", "none"]
    cmd += [] if args.no_cast else ["--cast", str(episode / "cast")]
    for item in args.set:
        cmd += ["--set", item]
    wall, peak, _ = run_measured(cmd)
    score_cmd = [sys.executable, str(args.bench / "score.py"), str(episode / "truth.json"),
                 str(export / "screentime.csv"), str(export / "timeline.csv")]
    score = json.loads(subprocess.run(score_cmd, check=True, capture_output=True, text=True).stdout.strip()
                       .splitlines()[-1])
    duration = json.loads((episode / "truth.json").read_text())["duration_s"]
    result = {"episode": str(episode), "hard": args.hard, "cast": not args.no_cast, "duration_s": duration,
              "wall_s": round(wall, 1), "x_realtime": round(duration / wall, 2),
              "peak_rss_mb": round(peak / 2**20), "score": score}
    if args.peer:
        peer_wall, _, _ = run_measured([sys.executable, str(args.bench / "peer_face_recognition.py"), str(episode)])
        peer_score = json.loads(subprocess.run(
            [sys.executable, str(args.bench / "score.py"), str(episode / "truth.json"),
             str(episode / "peer" / "screentime.csv")], check=True, capture_output=True, text=True)
            .stdout.strip().splitlines()[-1])
        result.update(peer_wall_s=round(peer_wall, 1), speed_vs_peer=round(peer_wall / wall, 2),
                      peer_score=peer_score)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
