"""The installed app (the PyInstaller one-folder build) run as an editor runs it: no Python, no venv.

Runs against the bundle folder named by SCREENALYZER_BUNDLE; `scripts/smoke_installer` unpacks the
archive and sets it, and `scripts/test` builds and runs it after the suite. Without it: skipped.
Every program runs with a bare environment (PATH of the system only, a temp HOME), so a bundle that
reached for the build machine's Python or libraries would fail here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from screenalyzer_desktop import __version__
from screenalyzer_desktop.core.paths import APP_ICON, APP_NAME, CLI_NAME
from screenalyzer_desktop.engines.dlib_engine import DESCRIPTOR_FILE, SHAPE_PREDICTOR_FILE

BUNDLE = os.environ.get("SCREENALYZER_BUNDLE")
if not BUNDLE:
    pytest.skip("no installer bundle: scripts/smoke_installer (or scripts/test) runs these", allow_module_level=True)
BUNDLE_DIR = Path(BUNDLE)
INTERNAL = BUNDLE_DIR / "_internal"
DEMO_TIMEOUT_S = 900
# The demo run splits its scan in two worker processes, so the frozen multiprocessing spawn runs too.
PARALLEL_SCAN = ["--set", "detect.workers=2", "--set", "detect.min_segment_s=10"]


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache")}
    return {**env, **extra}


def run(program: str, *args: str | Path, home: Path, timeout: float = 120, **env: str) -> tuple[
        subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    done = subprocess.run([str(BUNDLE_DIR / program), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=bare_env(home, **env), cwd=home)
    elapsed = time.perf_counter() - start
    print(f"\n[installer] {program} {' '.join(map(str, args))}: exit {done.returncode} in {elapsed:.2f} s")
    return done, elapsed


def assert_screenshot(path: Path) -> None:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    assert image.width() >= 800 and image.height() >= 500, (image.width(), image.height())
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}
    assert len(colours) > 40, f"{len(colours)} colours: a blank or nearly blank window"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_the_bundle_holds_what_the_app_loads_and_not_what_it_never_does() -> None:
    assert (BUNDLE_DIR / APP_NAME).is_file() and (BUNDLE_DIR / CLI_NAME).is_file()
    needed = ["configs/default.yaml", "configs/limits.yaml", "resources/sample_episode/recipe.json",
              f"resources/{APP_ICON.as_posix()}", f"face_recognition_models/models/{SHAPE_PREDICTOR_FILE}",
              f"face_recognition_models/models/{DESCRIPTOR_FILE}", "insightface/data/images/t1.jpg",
              "insightface/data/images/Tom_Hanks_54745.png", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
              "PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/imageformats/libqjpeg.so"]
    missing = [name for name in needed if not (INTERNAL / name).is_file()]
    assert not missing, missing
    assert list(INTERNAL.glob("onnxruntime/capi/*.so")), "onnxruntime's native library"
    assert list(INTERNAL.glob("cv2/*.so")) and list(INTERNAL.glob("_dlib_pybind11*.so")), "OpenCV and dlib"
    never = [path for pattern in ("shape_predictor_68_face_landmarks.dat", "libQt6WebEngine*", "libQt6Quick*",
                                  "libarrow_flight.so*", "*.pxd") for path in INTERNAL.rglob(pattern)]
    assert not never, never


@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd (Linux)")
def test_every_library_in_the_bundle_finds_what_it_links_to() -> None:
    """Nothing the spec leaves out (UNUSED_FILES) is needed by a library that stays, plugins included."""
    libraries = [p for p in INTERNAL.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    assert len(libraries) > 100
    missing = {}
    for library in libraries:
        done = subprocess.run(["ldd", str(library)], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": str(INTERNAL)})
        lost = [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]
        if lost:
            missing[str(library.relative_to(INTERNAL))] = lost
    assert not missing, missing


def test_both_programs_tell_their_version(home: Path) -> None:
    for program in (CLI_NAME, APP_NAME):
        done, _ = run(program, "--version", home=home)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{program} {__version__}"


def test_the_demo_runs_end_to_end_in_the_bundled_cli(home: Path) -> None:
    workspace = home / "workspace"
    done, elapsed = run(CLI_NAME, "demo", "--workspace", workspace, "--progress", "jsonl", *PARALLEL_SCAN,
                        home=home, timeout=DEMO_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-4000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events and events[-1]["type"] == "result", events[-3:]
    truth = json.loads((workspace / "demo" / "truth.json").read_text())["people"]
    (episode_dir,) = [p for p in (workspace / "episodes").iterdir() if p.is_dir()]
    assert (episode_dir / "state" / "screentime.complete.json").is_file()
    log = "\n".join(p.read_text() for p in (episode_dir / "logs").glob("*.log"))
    assert "in 2 segment(s)" in log, "the scan ran in two spawned worker processes"
    import pandas as pd

    found = pd.read_csv(episode_dir / "artifacts" / "screentime.csv").set_index("person")["screen_time_s"]
    for person, info in truth.items():
        assert person in found.index, f"{person} not named: {list(found.index)}"
        assert abs(found[person] - info["screen_time_s"]) <= 0.1 * info["screen_time_s"], (person, found[person])
    print(f"[installer] demo analysis through the bundled CLI: {elapsed:.1f} s")
    out = home / "exports"
    done, _ = run(CLI_NAME, "export", episode_dir.name, "--workspace", workspace, "--format", "png",
                  "--format", "edl", "--format", "fcpxml", "--out", out, home=home)
    assert done.returncode == 0, done.stderr[-4000:]
    assert len(list(out.glob("*.png"))) >= 3 and (out / "markers.edl").is_file() and (out / "markers.xml").is_file()


def test_the_window_runs_the_demo_through_the_bundled_worker(home: Path) -> None:
    """The window's runs start the bundle's CLI (no Python on the PATH): import, then every stage."""
    workspace, shot = home / "workspace", home / "demo-window.png"
    done, elapsed = run(APP_NAME, "--workspace", workspace, "--demo", "--screenshot", shot, home=home,
                        timeout=DEMO_TIMEOUT_S, QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr[-4000:]  # the window's verdict on its run of every stage
    (episode_dir,) = [p for p in (workspace / "episodes").iterdir() if p.is_dir()]
    assert (episode_dir / "state" / "screentime.complete.json").is_file()
    import pandas as pd

    truth = json.loads((workspace / "demo" / "truth.json").read_text())["people"]
    named = set(pd.read_csv(episode_dir / "artifacts" / "screentime.csv")["person"])
    assert named == set(truth), "the window's demo is matched against its cast"
    assert_screenshot(shot)
    print(f"[installer] demo through the window and its bundled workers: {elapsed:.1f} s")


def test_the_window_starts_offscreen(home: Path) -> None:
    shot = home / "window.png"
    done, elapsed = run(APP_NAME, "--workspace", home / "workspace", "--screenshot", shot, home=home,
                        QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr[-4000:]
    assert_screenshot(shot)
    print(f"[installer] window up and shot (with the settle wait): {elapsed:.1f} s")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (scripts/setup installs it)")
def test_the_window_starts_on_an_x_display(home: Path) -> None:
    """The xcb platform plugin and the libraries it loads are in the bundle (offscreen needs neither)."""
    shot = home / "window-x11.png"
    start = time.perf_counter()
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(BUNDLE_DIR / APP_NAME),
                           "--workspace", str(home / "workspace"), "--screenshot", str(shot)],
                          capture_output=True, text=True, timeout=120, env=bare_env(home, QT_QPA_PLATFORM="xcb"))
    assert done.returncode == 0, done.stderr[-4000:]
    assert_screenshot(shot)
    print(f"[installer] window on Xvfb: {time.perf_counter() - start:.1f} s")
