"""Episodes per hour of `screenalyzer batch` on a local Ray instance with 1 and 2 workers, and the cost of
Ray's own start-up.

Usage:
    python benchmarks/bench_batch.py [--episodes 4] [--seconds 20] [--workers 1 2] [--repeat 3] [--out DIR]

Start-up: `ray.init` of a local instance, then one trivial task to its result (the first task waits for
a worker process), then `ray.shutdown`, each timed, best of --repeat fresh instances in a child process.
Throughput: --episodes generated demo episodes of --seconds each (different seeds), analysed by
`screenalyzer batch --max-parallel N` in a fresh workspace; wall time of the whole command (Ray start
included) and the episodes' own analysis time. Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STARTUP = """
import json, os, sys, time
import ray

def pid():
    return os.getpid()

t0 = time.perf_counter()
ray.init(num_cpus=int(sys.argv[1]), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
t1 = time.perf_counter()
ray.get(ray.remote(pid).remote())
t2 = time.perf_counter()
ray.shutdown()
t3 = time.perf_counter()
print(json.dumps({"init_s": t1 - t0, "first_task_s": t2 - t1, "shutdown_s": t3 - t2}))
"""


def ray_env() -> dict[str, str]:
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def startup(workers: int, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", _STARTUP, str(workers)], capture_output=True, text=True,
                              env=ray_env())
        if done.returncode != 0:
            raise SystemExit(f"ray start-up failed: {done.stderr[-3000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: round(min(run[key] for run in runs), 2) for key in runs[0]}


def make_season(folder: Path, episodes: int, seconds: float) -> Path:
    from screenalyzer_desktop.sample_episode import make_sample_episode

    season = folder / "season"
    season.mkdir(parents=True, exist_ok=True)
    for index in range(episodes):
        sample = make_sample_episode(folder / f"src{index}", seconds=seconds, seed=11 + index)
        os.replace(sample.video, season / f"e{index + 1:02d}.mp4")
    return folder / "src0" / "cast"


def batch(season: Path, cast: Path, workspace: Path, workers: int) -> dict[str, float]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "screenalyzer_desktop.cli", "batch", str(season), "--workspace",
                           str(workspace), "--cast", str(cast), "--show", "bench", "--max-parallel", str(workers),
                           "--progress", "jsonl"], capture_output=True, text=True, env=ray_env())
    wall = time.perf_counter() - t0
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    result = next(line for line in lines if line["type"] == "result")
    if done.returncode != 0:
        raise SystemExit(f"batch failed ({done.returncode}): {lines[-1]}")
    episodes = len(result["episodes"])
    return {"workers": workers, "episodes": episodes, "wall_s": round(wall, 1),
            "episodes_per_hour": round(episodes * 3600 / wall, 1),
            "episode_s_mean": round(sum(row["elapsed_s"] for row in result["episodes"]) / episodes, 1),
            "driver_s": result["elapsed_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="keep the generated episodes and workspaces here")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    print(json.dumps({"measure": "ray_startup", "cpus": os.cpu_count(), **startup(max(args.workers),
                                                                                args.repeat)}), flush=True)
    cast = make_season(root, args.episodes, args.seconds)
    for workers in args.workers:
        numbers = batch(root / "season", cast, root / f"ws-{workers}", workers)
        print(json.dumps({"measure": "batch", "seconds_per_episode": args.seconds, **numbers}), flush=True)


if __name__ == "__main__":
    main()
