"""The bundled demo episode: a short video with ground truth, made from face images shipped in packages.

Faces come from the images that ship inside the ``insightface`` wheel (the six faces of ``t1.jpg``
and ``Tom_Hanks_54745.png``), so the app can demo and self-test with no download and no user data.
The episode is a run of hard-cut shots over plain or gradient backgrounds, each with 0-3 people
(head-and-shoulders cut-outs with soft edges) and a slow camera pan/zoom. Every face stays fully
inside the picture for its whole shot, so the truth is exact to the frame. ``cast/NAME/ref.jpg``
holds one reference image per person, augmented differently from the video (scale, brightness,
rotation), for the cast face bank.

The recipe (``resources/sample_episode/recipe.json``) sets everything; the same seed gives the same
truth (not necessarily the same video bytes, which depend on the encoder).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np

from screenalyzer_desktop.core.atomic import atomic_write_bytes, atomic_write_json, fsync_dir
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import resources_dir

Progress = Callable[[float, str], None]

VIDEO_NAME = "episode.mp4"
TRUTH_NAME = "truth.json"
CAST_DIR_NAME = "cast"
CANVAS_MARGIN = 0.06  # the scene is drawn this much larger than the frame on each side, for pans

# Used for any key the recipe leaves out.
_DEFAULTS: dict[str, Any] = {
    "width": 960,
    "height": 540,
    "fps": 25,
    "seconds": 45.0,
    "seed": 7,
    "shot_s": [1.5, 6.0],
    "people_per_shot_weights": [3, 4, 2],
    "empty_shot_share": 0.12,
    "face_px": [64, 150],
    "zoom": [1.0, 1.1],
    "noise_sigma": 3.0,
    "cast_ref": {"face_px": [120, 170], "rotate_deg": [3, 7], "brightness": [0.8, 1.2]},
    "source": {"package": "insightface", "folder": "data/images"},
    "people": [],
}


@dataclass(frozen=True)
class SampleEpisode:
    """What :func:`make_sample_episode` wrote, and the true seconds on screen per person."""

    video: Path
    truth: Path
    cast_dir: Path
    people: dict[str, float]


@dataclass(frozen=True)
class _Cutout:
    """A head-and-shoulders cut-out: colour, soft alpha, and the face box inside it (x0, y0, x1, y1)."""

    image: np.ndarray
    alpha: np.ndarray
    box: tuple[float, float, float, float]

    @property
    def face_size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


@dataclass(frozen=True)
class _Layer:
    name: str
    face_px: float  # face size on the canvas, in canvas pixels
    cx: float  # face centre on the canvas
    cy: float


@dataclass(frozen=True)
class _Shot:
    start: int
    frames: int
    layers: tuple[_Layer, ...]
    background: dict[str, Any]
    view0: tuple[float, float, float]  # camera at the first frame: zoom, view left, view top (canvas px)
    view1: tuple[float, float, float]  # camera at the last frame


# --------------------------------------------------------------------------------------------- recipe


def default_recipe_path() -> Path:
    return resources_dir() / "sample_episode" / "recipe.json"


def load_recipe(recipe: Path | None = None) -> dict[str, Any]:
    """The recipe merged over the built-in defaults; a bad file raises ERR_CONFIG_INVALID."""
    path = Path(recipe) if recipe is not None else default_recipe_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"sample episode recipe {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"sample episode recipe {path}: not an object")
    merged = {**_DEFAULTS, **data}
    merged["cast_ref"] = {**_DEFAULTS["cast_ref"], **data.get("cast_ref", {})}
    _check_recipe(merged, path)
    return merged


def _check_recipe(r: dict[str, Any], path: Path) -> None:
    def bad(why: str) -> ScreenalyzerError:
        return ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"sample episode recipe {path}: {why}")

    if int(r["width"]) < 320 or int(r["height"]) < 240:
        raise bad("width/height must be at least 320x240")
    if not 1 <= float(r["fps"]) <= 120 or float(r["seconds"]) <= 0:
        raise bad("fps must be 1..120 and seconds > 0")
    for key in ("shot_s", "face_px", "zoom"):
        lo, hi = (float(v) for v in r[key])
        if not 0 < lo <= hi:
            raise bad(f"{key} must be [low, high] with 0 < low <= high")
    if float(r["zoom"][0]) < 1.0:
        raise bad("zoom must be >= 1.0")
    if len(r["people_per_shot_weights"]) != 3 or sum(r["people_per_shot_weights"]) <= 0:
        raise bad("people_per_shot_weights must give weights for 1, 2 and 3 people")
    names = [p.get("name") for p in r["people"]]
    if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise bad("people must be a non-empty list with unique names")
    for name in names:
        if "/" in name or "\\" in name or name.startswith("."):
            raise bad(f"person name {name!r} cannot be a folder name")


# ------------------------------------------------------------------------------------------- faces


def _source_folder(source: dict[str, str]) -> Path:
    """The folder of images inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(source["package"])
    if spec is None or spec.origin is None:
        raise ScreenalyzerError(
            "ERR_CONFIG_INVALID", detail=f"package {source['package']!r} is not installed",
            message="The demo episode's face images could not be found.",
            hint=f"Install the {source['package']!r} package (it ships the demo faces).")
    return Path(spec.origin).parent / source["folder"]


def _cutouts(recipe: dict[str, Any]) -> dict[str, _Cutout]:
    """Find each recipe person's face (dlib HOG, sorted left to right) and cut out head and shoulders."""
    folder = _source_folder(recipe["source"])
    detector = dlib.get_frontal_face_detector()
    boxes_by_image: dict[str, list[tuple[float, float, float, float]]] = {}
    images: dict[str, np.ndarray] = {}
    out: dict[str, _Cutout] = {}
    for person in recipe["people"]:
        file = person["image"]
        if file not in images:
            img = cv2.imread(str(folder / file), cv2.IMREAD_COLOR)
            if img is None:
                raise ScreenalyzerError(
                    "ERR_CONFIG_INVALID", detail=f"cannot read {folder / file}",
                    message="The demo episode's face images could not be found.",
                    hint="Reinstall the package that ships them (see the recipe's 'source').")
            images[file] = img
            rects = detector(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), 1)
            boxes_by_image[file] = sorted(
                ((r.left(), r.top(), r.right(), r.bottom()) for r in rects), key=lambda b: b[0])
        boxes = boxes_by_image[file]
        index = int(person.get("face_index", 0))
        if not 0 <= index < len(boxes):
            raise ScreenalyzerError(
                "ERR_CONFIG_INVALID",
                detail=f"{file}: face_index {index} for {person['name']!r}, but {len(boxes)} faces found")
        out[person["name"]] = _cut_head(images[file], boxes[index])
    return out


def _cut_head(img: np.ndarray, box: tuple[float, float, float, float]) -> _Cutout:
    """Head-and-shoulders crop with margin; where it runs past the photo the edge is replicated and faded."""
    x0, y0, x1, y1 = box
    f = float(max(x1 - x0, y1 - y0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(round(cx - 1.25 * f)), int(round(cy - 1.2 * f))
    right, bottom = int(round(cx + 1.25 * f)), int(round(cy + 1.7 * f))
    h, w = img.shape[:2]
    # Never reach into a neighbour's face: the crop is bounded by the photo plus a faded replicated rim.
    pad = int(2 * f)
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    valid = np.zeros(padded.shape[:2], np.float32)
    valid[pad:pad + h, pad:pad + w] = 1.0
    rim = max(3, int(0.15 * f)) | 1
    valid = cv2.dilate(valid, np.ones((rim, rim), np.uint8))
    sl = (slice(top + pad, bottom + pad), slice(left + pad, right + pad))
    image = padded[sl].copy()
    smooth = cv2.GaussianBlur(padded, (0, 0), 0.08 * f)[sl]
    inside = np.zeros(padded.shape[:2], np.float32)
    inside[pad:pad + h, pad:pad + w] = 1.0
    inside = inside[sl][..., None]
    image = (image * inside + smooth * (1 - inside)).astype(np.uint8)  # soften the replicated streaks
    feather = max(3, int(0.22 * f))
    rect = np.zeros(image.shape[:2], np.float32)
    rect[feather:-feather, feather:-feather] = 1.0
    alpha = rect * valid[sl]
    alpha = cv2.GaussianBlur(alpha, (0, 0), feather / 2.5)
    return _Cutout(image=image, alpha=alpha, box=(x0 - left, y0 - top, x1 - left, y1 - top))


# ------------------------------------------------------------------------------------------- plan


def _plan(recipe: dict[str, Any], rng: np.random.Generator) -> list[_Shot]:
    """Decide every shot (length, people, sizes, positions, camera) before drawing anything."""
    width, height, fps = int(recipe["width"]), int(recipe["height"]), float(recipe["fps"])
    total = max(1, int(round(float(recipe["seconds"]) * fps)))
    lo_len, hi_len = (max(1, int(round(float(s) * fps))) for s in recipe["shot_s"])
    lengths: list[int] = []
    left = total
    while left > 0:
        if left <= hi_len:
            n = left
        elif left < hi_len + lo_len:
            n = left - lo_len  # leave room for one last shot of at least the minimum length
        else:
            n = int(rng.integers(lo_len, hi_len + 1))
        lengths.append(n)
        left -= n

    n_shots = len(lengths)
    n_empty = 0 if n_shots < 2 else max(1, int(round(float(recipe["empty_shot_share"]) * n_shots)))
    empty = set(rng.choice(np.arange(1, n_shots), size=min(n_empty, n_shots - 1), replace=False).tolist())

    names = [p["name"] for p in recipe["people"]]
    seen = dict.fromkeys(names, 0)
    big_first = {n: bool(rng.integers(0, 2)) for n in names}  # each person alternates small/large shots
    weights = np.asarray(recipe["people_per_shot_weights"], float)
    lo_face, hi_face = (float(v) for v in recipe["face_px"])
    zoom_lo, zoom_hi = (float(v) for v in recipe["zoom"])
    canvas_w, canvas_h = _canvas_size(width, height)

    shots: list[_Shot] = []
    start, previous = 0, set()
    for i, n_frames in enumerate(lengths):
        views = []
        for _ in range(2):
            z = float(rng.uniform(zoom_lo, zoom_hi))
            vw, vh = width / z, height / z
            views.append((z, float(rng.uniform(0, canvas_w - vw)), float(rng.uniform(0, canvas_h - vh))))
        # The faces go where both the first and last views see them, hence every view in between.
        (z0, l0, t0), (z1, l1, t1) = views
        safe = (max(l0, l1), max(t0, t1), min(l0 + width / z0, l1 + width / z1),
                min(t0 + height / z0, t1 + height / z1))
        background = _background_params(rng)
        layers: list[_Layer] = []
        if i not in empty:
            k = min(len(names), 1 + int(rng.choice(3, p=weights / weights.sum())))
            order = sorted(names, key=lambda n: (seen[n], n in previous, float(rng.random())))
            cast = order[:k]
            rng.shuffle(cast)
            slot_w = (safe[2] - safe[0]) / k
            z_min = min(z0, z1)
            for j, name in enumerate(cast):
                big = big_first[name] != (seen[name] % 2 == 1)
                span = hi_face - lo_face
                lo, hi = (lo_face + 0.6 * span, hi_face) if big else (lo_face, lo_face + 0.4 * span)
                on_screen = float(rng.uniform(lo, hi))
                face = min(on_screen / z_min, slot_w / 2.2, (safe[3] - safe[1]) / 2.2)
                face = max(face, lo_face / z_min)
                jitter = max(0.0, 0.5 * slot_w - 1.25 * face) * 0.6
                cx = safe[0] + slot_w * (j + 0.5) + float(rng.uniform(-jitter, jitter))
                # Faces sit in the upper part of the picture, as in most framing.
                y_lo = safe[1] + 0.6 * face
                y_hi = min(max(y_lo, safe[1] + 0.55 * (safe[3] - safe[1])), safe[3] - 0.6 * face)
                cy = float(rng.uniform(y_lo, max(y_lo, y_hi)))
                layers.append(_Layer(name=name, face_px=face, cx=cx, cy=cy))
                seen[name] += 1
            layers.sort(key=lambda layer: layer.face_px)  # bigger (nearer) people are drawn last
        previous = {layer.name for layer in layers}
        shots.append(_Shot(start=start, frames=n_frames, layers=tuple(layers), background=background,
                           view0=views[0], view1=views[1]))
        start += n_frames
    return shots


def _canvas_size(width: int, height: int) -> tuple[int, int]:
    return int(round(width * (1 + 2 * CANVAS_MARGIN))), int(round(height * (1 + 2 * CANVAS_MARGIN)))


def _background_params(rng: np.random.Generator) -> dict[str, Any]:
    kind = ["plain", "linear", "linear", "radial"][int(rng.integers(0, 4))]
    return {"kind": kind, "c0": rng.integers(25, 230, 3).tolist(), "c1": rng.integers(25, 230, 3).tolist(),
            "angle": float(rng.uniform(0, np.pi)), "noise": float(rng.uniform(2.0, 6.0))}


def _truth(recipe: dict[str, Any], shots: list[_Shot]) -> dict[str, Any]:
    """truth.json: per person the seconds on screen and [start_s, end_s) intervals (touching ones merged)."""
    fps = recipe["fps"]
    frames = sum(s.frames for s in shots)
    spans: dict[str, list[list[int]]] = {p["name"]: [] for p in recipe["people"]}
    for shot in shots:
        for layer in shot.layers:
            runs = spans[layer.name]
            if runs and runs[-1][1] == shot.start:
                runs[-1][1] = shot.start + shot.frames
            else:
                runs.append([shot.start, shot.start + shot.frames])
    people = {
        name: {"screen_time_s": round(sum(b - a for a, b in runs) / fps, 4),
               "intervals": [[round(a / fps, 4), round(b / fps, 4)] for a, b in runs]}
        for name, runs in spans.items()
    }
    return {"fps": fps, "frames": frames, "duration_s": round(frames / fps, 4), "people": people}


# ------------------------------------------------------------------------------------------- draw


def _background(params: dict[str, Any], size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = size
    c0, c1 = np.asarray(params["c0"], np.float32), np.asarray(params["c1"], np.float32)
    if params["kind"] == "plain":
        t = np.zeros((h, w, 1), np.float32)
    else:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        xs, ys = xs / w - 0.5, ys / h - 0.5
        if params["kind"] == "linear":
            a = params["angle"]
            t = xs * np.cos(a) + ys * np.sin(a)
            t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        else:
            t = np.clip(np.sqrt(xs**2 + ys**2) / 0.7, 0, 1)
        t = t[..., None]
    bg = c0 * (1 - t) + c1 * t
    bg += rng.normal(0, params["noise"], (h, w, 1)).astype(np.float32)  # mild grain, a touch of texture
    return np.clip(bg, 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, cut: _Cutout, scale: float, fx: float, fy: float) -> None:
    """Alpha-blend ``cut`` scaled by ``scale`` so that its face centre lands on (fx, fy)."""
    h, w = cut.image.shape[:2]
    sw, sh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    img = cv2.resize(cut.image, (sw, sh), interpolation=interp).astype(np.float32)
    alpha = cv2.resize(cut.alpha, (sw, sh), interpolation=cv2.INTER_LINEAR)[..., None]
    bx, by = (cut.box[0] + cut.box[2]) / 2 * sw / w, (cut.box[1] + cut.box[3]) / 2 * sh / h
    x, y = int(round(fx - bx)), int(round(fy - by))
    ch, cw = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(cw, x + sw), min(ch, y + sh)
    if x1 <= x0 or y1 <= y0:
        return
    src, a = img[y0 - y:y1 - y, x0 - x:x1 - x], alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    dst = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = np.clip(src * a + dst * (1 - a), 0, 255).astype(np.uint8)


def _write_video(path: Path, recipe: dict[str, Any], shots: list[_Shot], cutouts: dict[str, _Cutout],
                 rng: np.random.Generator, progress: Progress | None) -> None:
    width, height, fps = int(recipe["width"]), int(recipe["height"]), float(recipe["fps"])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise ScreenalyzerError("ERR_VIDEO_UNSUPPORTED", detail=f"OpenCV cannot write mp4v to {path}",
                                message="The demo video could not be encoded.",
                                hint="Install an OpenCV build with FFmpeg (opencv-python-headless).")
    sigma = float(recipe["noise_sigma"])
    grain = [rng.normal(0, sigma, (height, width, 3)).astype(np.int16) for _ in range(5)] if sigma > 0 else []
    total = sum(s.frames for s in shots)
    try:
        for shot in shots:
            canvas = _background(shot.background, _canvas_size(width, height), rng)
            for layer in shot.layers:
                cut = cutouts[layer.name]
                _paste(canvas, cut, layer.face_px / cut.face_size, layer.cx, layer.cy)
            (z0, l0, t0), (z1, l1, t1) = shot.view0, shot.view1
            for t in range(shot.frames):
                p = t / max(1, shot.frames - 1)
                p = p * p * (3 - 2 * p)  # ease in and out, like a camera operator
                # Interpolate the view's edges, so every view lies between the first and the last.
                left, top = l0 + (l1 - l0) * p, t0 + (t1 - t0) * p
                right = l0 + width / z0 + (l1 + width / z1 - l0 - width / z0) * p
                z = width / (right - left)
                m = np.float32([[z, 0, -z * left], [0, z, -z * top]])
                frame = cv2.warpAffine(canvas, m, (width, height), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REFLECT)
                if grain:
                    frame = cv2.add(frame, grain[(shot.start + t) % len(grain)], dtype=cv2.CV_8U)
                writer.write(frame)
            if progress is not None:
                progress((shot.start + shot.frames) / total, f"frame {shot.start + shot.frames} of {total}")
    finally:
        writer.release()


def _cast_ref(cut: _Cutout, recipe: dict[str, Any], rng: np.random.Generator,
              detector: Any) -> np.ndarray:
    """A reference photo unlike the video's: other scale, brightness, a slight rotation, on a plain card.

    An already tilted head rotated further can defeat a frontal detector, so a draw in which dlib
    (upsample 1) does not find exactly one face is drawn again, and the last resort is no rotation.
    """
    for attempt in range(6):
        card = _augment(cut, recipe["cast_ref"], rng, rotate=attempt < 5)
        if len(detector(cv2.cvtColor(card, cv2.COLOR_BGR2RGB), 1)) == 1:
            break
    return card


def _augment(cut: _Cutout, cfg: dict[str, Any], rng: np.random.Generator, rotate: bool) -> np.ndarray:
    scale = float(rng.uniform(*cfg["face_px"])) / cut.face_size
    angle = float(rng.uniform(*cfg["rotate_deg"])) * (1 if rng.random() < 0.5 else -1) if rotate else 0.0
    gain = float(rng.uniform(*cfg["brightness"]))
    h, w = cut.image.shape[:2]
    sw, sh = int(round(w * scale)), int(round(h * scale))
    card = np.empty((sh, sw, 3), np.uint8)
    card[:] = rng.integers(150, 235, 3).astype(np.uint8)
    fx, fy = (cut.box[0] + cut.box[2]) / 2 * scale, (cut.box[1] + cut.box[3]) / 2 * scale
    _paste(card, cut, scale, fx, fy)
    rot = cv2.getRotationMatrix2D((fx, fy), angle, 1.0)
    card = cv2.warpAffine(card, rot, (sw, sh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return cv2.convertScaleAbs(card, alpha=gain)


# ------------------------------------------------------------------------------------------- main


def make_sample_episode(out_dir: Path, recipe: Path | None = None, *, seconds: float | None = None,
                        seed: int | None = None, progress: Progress | None = None) -> SampleEpisode:
    """Write ``episode.mp4``, ``truth.json`` and ``cast/NAME/ref.jpg`` into ``out_dir``.

    ``seconds`` and ``seed`` override the recipe's. truth.json is written last, and any old one is
    removed first, so a truth file always belongs to the video beside it.
    """
    cfg = load_recipe(recipe)
    if seconds is not None:
        cfg["seconds"] = float(seconds)
    if seed is not None:
        cfg["seed"] = int(seed)
    if float(cfg["seconds"]) <= 0:
        raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"seconds must be > 0, got {cfg['seconds']}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path, video_path, cast_dir = out_dir / TRUTH_NAME, out_dir / VIDEO_NAME, out_dir / CAST_DIR_NAME
    truth_path.unlink(missing_ok=True)

    seed_value = int(cfg["seed"])
    plan_rng = np.random.default_rng(seed_value)
    shots = _plan(cfg, plan_rng)
    truth = _truth(cfg, shots)
    cutouts = _cutouts(cfg)

    detector = dlib.get_frontal_face_detector()
    for name, cut in cutouts.items():
        card = _cast_ref(cut, cfg, plan_rng, detector)
        ok, jpg = cv2.imencode(".jpg", card, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise ScreenalyzerError("ERR_INTERNAL", detail=f"JPEG encoding failed for {name}")
        atomic_write_bytes(cast_dir / name / "ref.jpg", jpg.tobytes())

    # VideoWriter picks the container from the extension, so the temp file lives in a temp folder.
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{VIDEO_NAME}.", suffix=".tmp", dir=out_dir))
    try:
        tmp_video = tmp_dir / VIDEO_NAME
        _write_video(tmp_video, cfg, shots, cutouts, np.random.default_rng(seed_value + 1), progress)
        with open(tmp_video, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_video, video_path)
        fsync_dir(out_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    atomic_write_json(truth_path, truth)
    people = {name: float(v["screen_time_s"]) for name, v in truth["people"].items()}
    return SampleEpisode(video=video_path, truth=truth_path, cast_dir=cast_dir, people=people)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m screenalyzer_desktop.sample_episode",
                                     description="Make the bundled demo episode with ground truth.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=None, help="length (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the recipe's)")
    parser.add_argument("--recipe", type=Path, default=None, help="recipe JSON (default: the bundled one)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        ep = make_sample_episode(args.out_dir, args.recipe, seconds=args.seconds, seed=args.seed)
    except ScreenalyzerError as exc:
        print(json.dumps({"error": exc.to_dict()}), file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"video": str(ep.video), "truth": str(ep.truth), "cast_dir": str(ep.cast_dir),
                      "people": ep.people, "elapsed_s": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
