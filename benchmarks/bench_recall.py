"""Recall on hard faces: half out of frame, extreme close-ups, a hand over the face, head turns.

Usage:
    python benchmarks/bench_recall.py [--episode-dir DIR] [--per-kind 4] [--seed 5]
        [--set KEY=VALUE ...] [--variant NAME:KEY=VALUE,KEY=VALUE ...] [--json OUT]

Builds (or reuses) a 1280x720, 25 fps mp4v episode of 4 s shots, one person each, from the faces
that ship inside the insightface wheel (the demo episode's people), runs `screenalyzer analyze` on
it with the cast folder once per variant, and prints a table and one JSON line. Per shot kind:

    recall = seconds credited to the right person while truth says they are on screen / true seconds
    false  = seconds credited inside the kind's shots that truth does not have (wrong time or wrong name)

Truth, per kind (a person counts as on screen while the rule holds, frame by frame):
    edge      the face slides towards a side or the top edge until only 20-55 % of it is in the frame;
              on screen while >= 40 % of the face box's area is inside the frame.
    closeup   face box 45-75 % of the frame height, 15-50 % of it cut by an edge: on screen all shot.
    occlusion a skin-coloured blob covers the lower half or one side of the face: on screen all shot.
    turn      the head is squashed horizontally to 45-60 % and rolled 15-30 deg: on screen all shot.
    control   a plain frontal face drifting slowly: on screen all shot.
The hard part of edge, occlusion and turn shots (phases take turns) is mid-shot (1.2-2.8 s, with a
frontal face before and after), from the cut until 2.0-2.6 s ("start"), or from 1.4-2.0 s until the
next cut ("end"). Each shot shows one person; consecutive shots show different people.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from screenalyzer_desktop import sample_episode as se
from screenalyzer_desktop.core.atomic import atomic_write_bytes, atomic_write_json

KINDS = ("edge", "closeup", "occlusion", "turn", "control")
WIDTH, HEIGHT, FPS = 1280, 720, 25
SHOT_S = 4.0
VISIBLE_MIN = 0.4  # an edge face counts as on screen while this share of its box is inside the frame


@dataclass(frozen=True)
class Pose:
    """Where and how one face is drawn in one frame (frame pixels)."""

    cx: float
    cy: float
    face_px: float
    squash: float = 1.0  # horizontal scale, < 1 looks like a head turned away
    roll_deg: float = 0.0
    hand: tuple[float, float, float, float] | None = None  # hand ellipse centre x, y, half-axes a, b


# ------------------------------------------------------------------------------------------- shots


def _ramp(t: float, t0: float, t1: float) -> float:
    """0 before t0, 1 after t1, eased in between."""
    p = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
    return p * p * (3 - 2 * p)


PHASES = ("middle", "start", "end")


def _hard_share(t: float, phase: str) -> float:
    """How far into its hard state (0..1) a face is at ``t``: for 1.6 s mid-shot, from the cut, or until it."""
    if phase == "middle":
        return _ramp(t, 0.6, 1.2) - _ramp(t, 2.8, 3.4)
    if phase == "start":
        return 1.0 - _ramp(t, 2.0, 2.6)
    return _ramp(t, 1.4, 2.0)


def _plan_shot(kind: str, phase: str, rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
    """A shot's parameters (recorded in truth.json) and a function of time giving its :class:`Pose`.

    ``phase`` says when the hard part is: mid-shot (the detector finds the face before and after),
    at the start or at the end of the shot (found on one side only, as when a shot opens on a turned
    head or cuts away while a hand is still up)."""
    info: dict[str, Any] = {"phase": phase}
    if kind == "edge":
        face = float(rng.uniform(110, 170))
        side = str(rng.choice(["left", "right", "top"]))
        keep = float(rng.uniform(0.2, 0.55))  # smallest share of the face left in the frame
        start = np.array([WIDTH / 2 + float(rng.uniform(-150, 150)), HEIGHT * 0.42])
        # Face box centre at which ``keep`` of its width (height at the top) is left inside the frame.
        end = {"left": (face * (keep - 0.5), start[1]), "right": (WIDTH - face * (keep - 0.5), start[1]),
               "top": (start[0], face * (keep - 0.5))}[side]
        info.update(side=side, min_visible=round(keep, 3), face_px=round(face))

        def pose(t: float) -> Pose:
            c = start + (np.array(end) - start) * _hard_share(t, phase)
            return Pose(float(c[0]), float(c[1]), face)
    elif kind == "closeup":
        face = float(rng.uniform(0.45, 0.75)) * HEIGHT
        side = str(rng.choice(["left", "right", "top", "bottom"]))
        cut = float(rng.uniform(0.15, 0.5))
        off = face * (0.5 - cut)  # face centre this far from the edge leaves ``cut`` of the box outside
        cx, cy = {"left": (off, HEIGHT / 2), "right": (WIDTH - off, HEIGHT / 2),
                  "top": (WIDTH / 2, off), "bottom": (WIDTH / 2, HEIGHT - off)}[side]
        drift = float(rng.uniform(-0.04, 0.04)) * face
        info.update(phase="whole", side=side, cut=round(cut, 3), face_px=round(face))

        def pose(t: float) -> Pose:
            d = drift * t / SHOT_S  # along the edge, so the cut share stays the same
            return Pose(cx + (d if side in ("top", "bottom") else 0), cy + (d if side in ("left", "right") else 0),
                        face)
    elif kind == "occlusion":
        face = float(rng.uniform(110, 180))
        cover = str(rng.choice(["lower", "left", "right"]))
        cx, cy = WIDTH / 2 + float(rng.uniform(-250, 250)), HEIGHT * float(rng.uniform(0.38, 0.5))
        info.update(cover=cover, face_px=round(face))

        def pose(t: float) -> Pose:
            p = _hard_share(t, phase)
            if cover == "lower":  # over mouth and chin, up to just under the eyes, coming from below
                hand = (cx, cy + 0.42 * face + (1 - p) * 1.2 * face, 0.62 * face, 0.42 * face)
            else:  # over one eye and that half of the face, coming from the side
                sign = -1 if cover == "left" else 1
                hand = (cx + sign * (0.34 * face + (1 - p) * 1.2 * face), cy, 0.36 * face, 0.75 * face)
            return Pose(cx, cy, face, hand=hand if p > 0 else None)
    elif kind == "turn":
        face = float(rng.uniform(110, 180))
        squash = float(rng.uniform(0.45, 0.6))
        roll = float(rng.uniform(15, 30)) * (1 if rng.random() < 0.5 else -1)
        cx, cy = WIDTH / 2 + float(rng.uniform(-250, 250)), HEIGHT * float(rng.uniform(0.38, 0.5))
        info.update(squash=round(squash, 3), roll_deg=round(roll, 1), face_px=round(face))

        def pose(t: float) -> Pose:
            p = _hard_share(t, phase)
            return Pose(cx, cy, face, squash=1 - (1 - squash) * p, roll_deg=roll * p)
    else:
        face = float(rng.uniform(90, 170))
        x0, y0 = WIDTH / 2 + float(rng.uniform(-300, 300)), HEIGHT * float(rng.uniform(0.35, 0.55))
        dx, dy = (float(v) for v in rng.uniform(-40, 40, 2))
        info.update(phase="whole", face_px=round(face))

        def pose(t: float) -> Pose:
            return Pose(x0 + dx * t / SHOT_S, y0 + dy * t / SHOT_S, face)
    return info, pose


def visible_share(pose: Pose) -> float:
    """Share of the (squashed) face box's area inside the frame."""
    half_w, half_h = pose.face_px * pose.squash / 2, pose.face_px / 2
    x1, y1, x2, y2 = pose.cx - half_w, pose.cy - half_h, pose.cx + half_w, pose.cy + half_h
    inside = max(0.0, min(x2, WIDTH) - max(x1, 0)) * max(0.0, min(y2, HEIGHT) - max(y1, 0))
    return inside / ((x2 - x1) * (y2 - y1))


# ------------------------------------------------------------------------------------------- draw


def _draw_face(frame: np.ndarray, cut: se._Cutout, pose: Pose) -> None:
    """Alpha-blend the head-and-shoulders cut-out, scaled, squashed and rolled about the face centre."""
    scale = pose.face_px / cut.face_size
    fx, fy = (cut.box[0] + cut.box[2]) / 2, (cut.box[1] + cut.box[3]) / 2
    a = math.radians(pose.roll_deg)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    linear = rot @ np.diag([scale * pose.squash, scale])
    h, w = cut.image.shape[:2]
    corners = (np.array([[0, 0], [w, 0], [0, h], [w, h]]) - [fx, fy]) @ linear.T + [pose.cx, pose.cy]
    x0, y0 = (max(0, int(math.floor(v))) for v in corners.min(axis=0))
    x1, y1 = min(WIDTH, int(math.ceil(corners[:, 0].max()))), min(HEIGHT, int(math.ceil(corners[:, 1].max())))
    if x1 <= x0 or y1 <= y0:
        return
    shift = np.array([pose.cx - x0, pose.cy - y0]) - linear @ [fx, fy]
    m = np.hstack([linear, shift[:, None]]).astype(np.float32)
    size = (x1 - x0, y1 - y0)
    img = cv2.warpAffine(cut.image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(cut.alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    dst = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (img * alpha + dst * (1 - alpha)).astype(np.uint8)


def _draw_hand(frame: np.ndarray, hand: tuple[float, float, float, float], skin: np.ndarray) -> None:
    """A soft-edged, shaded skin-coloured ellipse: a hand as a face detector sees it."""
    cx, cy, a, b = hand
    x0, y0 = max(0, int(cx - a - 4)), max(0, int(cy - b - 4))
    x1, y1 = min(WIDTH, int(cx + a + 4)), min(HEIGHT, int(cy + b + 4))
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    r = np.sqrt(((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2)
    alpha = np.clip((1.0 - r) * 12, 0, 1)[..., None]  # a ~8 % soft rim
    shade = (1.08 - 0.25 * np.clip((ys - (cy - b)) / (2 * b), 0, 1))[..., None]  # lit from above
    colour = np.clip(skin * shade, 0, 255)
    dst = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (colour * alpha + dst * (1 - alpha)).astype(np.uint8)


def _skin(cut: se._Cutout) -> np.ndarray:
    """Median colour of the cheeks-and-nose band of the face: the hand's colour."""
    x0, y0, x1, y1 = (int(v) for v in cut.box)
    w, h = x1 - x0, y1 - y0
    band = cut.image[y0 + h // 2:y0 + 3 * h // 4, x0 + w // 4:x1 - w // 4].reshape(-1, 3)
    return np.median(band, axis=0).astype(np.float32)


# ------------------------------------------------------------------------------------------- build


def build_episode(out_dir: Path, per_kind: int = 6, seed: int = 5, kinds: tuple[str, ...] = KINDS,
                  phases: tuple[str, ...] = PHASES, people: list[str] | None = None) -> dict[str, Any]:
    """Write ``episode.mp4``, ``cast/NAME/ref.jpg`` and ``truth.json`` (last) into ``out_dir``.

    Shots of one kind take ``phases`` in turn; ``people`` (default: the demo episode's) take shots in turn."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / "truth.json"
    truth_path.unlink(missing_ok=True)
    recipe = se.load_recipe()
    if people is not None:
        recipe["people"] = [p for p in recipe["people"] if p["name"] in people]
    rng = np.random.default_rng(seed)
    cutouts = se._cutouts(recipe)
    names = list(cutouts)
    detector = dlib.get_frontal_face_detector()
    for name, cut in cutouts.items():
        ok, jpg = cv2.imencode(".jpg", se._cast_ref(cut, recipe, rng, detector), [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        atomic_write_bytes(out_dir / "cast" / name / "ref.jpg", jpg.tobytes())

    order = [kind for _ in range(per_kind) for kind in rng.permutation(kinds)]
    frames_per_shot = int(round(SHOT_S * FPS))
    writer = cv2.VideoWriter(str(out_dir / "episode.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write mp4v")
    grain = [rng.normal(0, 3.0, (HEIGHT, WIDTH, 3)).astype(np.int16) for _ in range(5)]
    shots = []
    try:
        for i, kind in enumerate(order):
            name = names[i % len(names)]  # consecutive shots never show the same person
            info, pose_at = _plan_shot(str(kind), phases[order[:i].count(kind) % len(phases)], rng)
            background = se._background(se._background_params(rng), (WIDTH, HEIGHT), rng)
            start = i * frames_per_shot
            on = []
            for k in range(frames_per_shot):
                pose = pose_at(k / FPS)
                frame = background.copy()
                _draw_face(frame, cutouts[name], pose)
                if pose.hand is not None:
                    _draw_hand(frame, pose.hand, _skin(cutouts[name]))
                writer.write(cv2.add(frame, grain[(start + k) % len(grain)], dtype=cv2.CV_8U))
                on.append(visible_share(pose) >= VISIBLE_MIN)
            shots.append({"kind": str(kind), "person": name, "start_frame": start,
                          "end_frame": start + frames_per_shot, "on_frames": _runs(on, start), **info})
    finally:
        writer.release()
    total = len(order) * frames_per_shot
    spans: dict[str, list[list[int]]] = {n: [] for n in names}
    for shot in shots:
        spans[shot["person"]].extend(shot["on_frames"])
    truth = {"fps": FPS, "frames": total, "duration_s": total / FPS, "visible_min": VISIBLE_MIN, "shots": shots,
             "people": {n: {"screen_time_s": round(sum(b - a for a, b in r) / FPS, 4),
                            "intervals": [[a / FPS, b / FPS] for a, b in r]} for n, r in spans.items()}}
    atomic_write_json(truth_path, truth)
    return truth


def _runs(flags: list[bool], offset: int) -> list[list[int]]:
    """[start, end) frame runs where ``flags`` is true."""
    runs: list[list[int]] = []
    for k, flag in enumerate(flags):
        if flag and runs and runs[-1][1] == offset + k:
            runs[-1][1] += 1
        elif flag:
            runs.append([offset + k, offset + k + 1])
    return runs


# ------------------------------------------------------------------------------------------- score


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(x2, y2) - max(x1, y1)) for x1, x2 in a for y1, y2 in b)


def score(truth: dict[str, Any], timeline: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    """Per kind and per kind/phase: true seconds, credited seconds (right person, inside truth), false
    seconds (credited in those shots outside truth, to anyone), recall."""
    fps = truth["fps"]
    out: dict[str, dict[str, float]] = {}
    for shot in truth["shots"]:
        window = [(shot["start_frame"] / fps, shot["end_frame"] / fps)]
        on = [(a / fps, b / fps) for a, b in shot["on_frames"]]
        hit = _overlap(timeline.get(shot["person"], []), on)
        credited = sum(_overlap(intervals, window) for intervals in timeline.values())
        for key in (shot["kind"], f"{shot['kind']}/{shot['phase']}"):
            row = out.setdefault(key, {"shots": 0, "true_s": 0.0, "credited_s": 0.0, "false_s": 0.0})
            row["shots"] += 1
            row["true_s"] += sum(b - a for a, b in on)
            row["credited_s"] += hit
            row["false_s"] += credited - hit
    for row in out.values():
        row["recall"] = row["credited_s"] / row["true_s"] if row["true_s"] else 1.0
        for key in ("true_s", "credited_s", "false_s", "recall"):
            row[key] = round(row[key], 3)
    return out


def truth_keys(truth: dict[str, Any]) -> set[str]:
    return {k for shot in truth["shots"] for k in (shot["kind"], f"{shot['kind']}/{shot['phase']}")}


def read_timeline(path: Path) -> dict[str, list[tuple[float, float]]]:
    timeline: dict[str, list[tuple[float, float]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            timeline.setdefault(row["person"], []).append((float(row["start_s"]), float(row["end_s"])))
    return timeline


def analyze(episode: Path, settings: list[str]) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    """Wall seconds of `screenalyzer analyze` on the episode, and its exported timeline."""
    work = Path(tempfile.mkdtemp(prefix="screenalyzer-recall-"))
    cmd = [sys.executable, "-m", "screenalyzer_desktop.cli", "analyze", str(episode / "episode.mp4"),
           "--workspace", str(work / "ws"), "--cast", str(episode / "cast"), "--progress", "none",
           "--export", str(work / "export")]
    for item in settings:
        cmd += ["--set", item]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"analyze failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - started, read_timeline(work / "export" / "timeline.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episode-dir", type=Path, help="reuse (or build here) the episode folder")
    parser.add_argument("--per-kind", type=int, default=6, help="shots of each kind (phases take turns)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE for every variant")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:KEY=VALUE[,KEY=VALUE...] (default: one variant, the defaults)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()

    episode = args.episode_dir or Path(tempfile.mkdtemp(prefix="screenalyzer-recall-ep-"))
    if not (episode / "truth.json").is_file():
        build_episode(episode, args.per_kind, args.seed)
    truth = json.loads((episode / "truth.json").read_text(encoding="utf-8"))
    variants = [v.partition(":") for v in args.variant] or [("default", ":", "")]
    results = {}
    for name, _, items in variants:
        wall, timeline = analyze(episode, args.set + [s for s in items.split(",") if s])
        results[name] = {"wall_s": round(wall, 1), "kinds": score(truth, timeline)}

    keys = [k for kind in KINDS for k in (kind, *(f"{kind}/{p}" for p in PHASES)) if k in truth_keys(truth)]
    print(f"{'kind':<16} {'true s':>7} " + " ".join(f"{n[:18]:>18}" for n in results))
    for key in keys:
        rows = [r["kinds"][key] for r in results.values()]
        cells = " ".join(f"{r['recall']:>8.1%} {r['false_s']:>5.1f}s fp" for r in rows)
        print(f"{key:<16} {rows[0]['true_s']:>7.1f} {cells}")
    print(f"{'wall s':<24} " + " ".join(f"{r['wall_s']:>18.1f}" for r in results.values()))
    line = json.dumps({"episode": str(episode), "set": args.set, "variants": results})
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
