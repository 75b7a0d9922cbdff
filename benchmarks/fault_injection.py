"""The fault-injection suite at a larger setting, with the counts docs/reliability.md reports.

Usage:
    python benchmarks/fault_injection.py [--points 60] [--reads 20000] [--seed N] [--out docs/bench-results]

Runs tests/test_faults.py with SCREENALYZER_FAULT_POINTS kill points per stage (CI uses 20) and
SCREENALYZER_READER_READS table reads in the reader loop (CI uses 3000), collects the counts each
test reports (kill points tried, files read after the kills, reads, partial files seen) and prints
them as one JSON document with the wall time and the exact command.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60, help="kill points per stage (CI: 20)")
    parser.add_argument("--reads", type=int, default=20000, help="table reads in the reader loop (CI: 3000)")
    parser.add_argument("--seed", type=int, help="another seed draws other kill points")
    parser.add_argument("--out", type=Path, help="folder to append the result to (fault_injection.jsonl)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        report = Path(tmp) / "counts.jsonl"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SCREENALYZER_FAULT_POINTS": str(args.points),
               "SCREENALYZER_READER_READS": str(args.reads), "SCREENALYZER_FAULT_REPORT": str(report)}
        if args.seed is not None:
            env["SCREENALYZER_FAULT_SEED"] = str(args.seed)
        cmd = [sys.executable, "-m", "pytest", "tests/test_faults.py", "-q", "-p", "no:cacheprovider"]
        t0 = time.monotonic()
        done = subprocess.run(cmd, cwd=REPO, env=env)
        wall = time.monotonic() - t0
        counts = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    settings = {k: env[k] for k in env if k.startswith("SCREENALYZER_") and k != "SCREENALYZER_FAULT_REPORT"}
    result = {"command": " ".join(f"{k}={v}" for k, v in settings.items()) + " " + shlex.join(cmd[1:]),
              "passed": done.returncode == 0, "wall_s": round(wall, 1), "counts": counts,
              "kill_points_total": sum(c.get("kill_points", 0) for c in counts),
              "partial_files_total": sum(c.get("partial_files", 0) for c in counts)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "fault_injection.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
