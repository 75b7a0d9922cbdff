"""Headless entry point: `screenalyzer analyze | import | run-stage | status | export | demo | models`.

`--progress jsonl` prints one JSON object per line (progress, log, stage, result, error) for the
desktop app to consume; the default draws a progress bar on stderr. Exit codes are per failure
class (see core/errors.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from screenalyzer_desktop import __version__
from screenalyzer_desktop.core.config import Config, load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error
from screenalyzer_desktop.core.workspace import Episode, Workspace


class Reporter:
    """Turns pipeline events into JSON lines or a progress bar plus readable log lines."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._bar: Any = None
        self._lock = threading.Lock()
        self.stdout_closed = False

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self.mode == "jsonl":
                if self.stdout_closed:
                    return
                try:
                    sys.stdout.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
                    sys.stdout.flush()
                except BrokenPipeError:
                    # The reader (the window) is gone: the run goes on; its state and artifacts say the rest.
                    self.stdout_closed = True
                    silence_stdout()
            elif self.mode == "bar":
                self._draw(event)

    def _draw(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm

        kind = event["type"]
        if kind == "progress":
            if self._bar is None:
                self._bar = tqdm(total=1000, unit="‰", file=sys.stderr, dynamic_ncols=True,
                                 bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}")
            self._bar.set_description(event["stage"])
            self._bar.set_postfix_str(event.get("message", ""), refresh=False)
            self._bar.update(int(event["overall"] * 1000) - self._bar.n)
        elif kind == "log" and event["level"] in ("WARNING", "ERROR"):
            (self._bar.write if self._bar else print)(f"{event['level'].lower()}: {event['message']}",
                                                      file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def error(self, error: ScreenalyzerError) -> None:
        self.close()
        if self.mode == "jsonl":
            self({"type": "error", **error.to_dict()})
            return
        print(f"error {error.code}: {error.message}", file=sys.stderr)
        if error.cause is not None:
            print(f"  caused by {error.cause.stage}: {error.cause.code}: {error.cause.message}",
                  file=sys.stderr)
            print(f"  {error.cause.detail}", file=sys.stderr)
        elif error.detail and error.code != "ERR_INTERNAL":
            print(f"  {error.detail}", file=sys.stderr)
        print(f"  hint: {error.hint}", file=sys.stderr)


def silence_stdout() -> None:
    """Point stdout at the null device after its reader left, so no later write or the exit flush fails."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors become ERR_USAGE, reported like every other error (a JSON line in jsonl mode)."""

    def error(self, message: str) -> Any:
        raise ScreenalyzerError("ERR_USAGE", detail=f"{self.prog}: {message}",
                                extra={"usage": self.format_usage().strip()})


def _progress_mode(argv: Sequence[str]) -> str:
    """The --progress mode asked for, read from raw arguments that argparse refused."""
    for i, arg in enumerate(argv):
        option, sep, value = arg.partition("=")
        if len(option) >= 3 and "--progress".startswith(option):
            value = value if sep else (argv[i + 1] if i + 1 < len(argv) else "")
            if value in ("bar", "jsonl", "none"):
                return value
    return "bar"


def _install_cancel_handlers() -> threading.Event:
    """SIGTERM/SIGINT ask the running stage to stop cleanly; a second SIGINT stops at once."""
    cancel = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if cancel.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        cancel.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return cancel


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"--set {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = value.strip()
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    if getattr(args, "sample_fps", None) is not None:
        overrides["detect.sample_fps"] = args.sample_fps
    return load_config(args.config, overrides)


def _set_cast(episode: Episode, cast: Path | None, show: str | None) -> None:
    if cast is not None:
        from screenalyzer_desktop.cast_bank import set_episode_cast

        set_episode_cast(episode, cast, show)


def cmd_analyze(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop import pipeline

    config = _config(args)
    workspace = Workspace(args.workspace)
    episode = workspace.import_video(args.video)
    _set_cast(episode, args.cast, args.show)
    # One run (one plan, one progress bar from 0 to 1); analysing a file accepts it as it is now.
    result = pipeline.run(workspace, episode, "screentime", config, report, cancel, accept_changed_source=True)
    return _finish(workspace, episode, config, result, report, args.export)


def cmd_import(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop import pipeline

    config = _config(args)
    workspace = Workspace(args.workspace)
    episode = workspace.import_video(args.video)
    _set_cast(episode, args.cast, args.show)
    result = pipeline.run(workspace, episode, "ingest", config, report, cancel)
    report(result)
    if report.mode != "jsonl":
        print(episode.id)
    return 0


def cmd_run_stage(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop import pipeline

    config = _config(args)
    workspace = Workspace(args.workspace)
    episode = workspace.resolve(args.episode)
    result = pipeline.run(workspace, episode, args.stage, config, report, cancel, rerun_target=not args.if_needed)
    report(result)
    if report.mode != "jsonl":
        print(f"{args.stage}: done ({', '.join(result['ran']) or 'up to date'})")
    return 0


def cmd_status(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop import pipeline

    config = _config(args)
    workspace = Workspace(args.workspace)
    episodes = [workspace.resolve(args.episode)] if args.episode else workspace.episodes()
    doc = []
    for episode in episodes:
        views = pipeline.stage_views(workspace, episode, config)
        doc.append({"episode": episode.id, "stages": {v.stage: {"status": v.status, "reason": v.reason,
                                                                 "progress": v.progress, "message": v.message,
                                                                 "error": v.error} for v in views}})
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    if not doc:
        print(f"No episodes in {workspace.root}")
    for item in doc:
        print(item["episode"])
        for stage, view in item["stages"].items():
            extra = view["reason"] or view["message"]
            if view["error"]:
                extra = f"{view['error']['code']}: {view['error']['message']}"
            print(f"  {stage:<13} {view['status']:<12} {extra}")
    return 0


def cmd_export(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    config = _config(args)
    workspace = Workspace(args.workspace)
    episode = workspace.resolve(args.episode)
    written = _export(workspace, episode, config, args.out, args.format)
    if report.mode == "jsonl":  # stdout carries JSON lines only
        report({"type": "result", "episode": episode.id, "exports": [str(path) for path in written]})
    else:
        for path in written:
            print(path)
    return 0


def _export(workspace: Workspace, episode: Episode, config: Config, out: Path,
            formats: Sequence[str] | None) -> list[Path]:
    from screenalyzer_desktop import pipeline
    from screenalyzer_desktop.core.records import read_record
    from screenalyzer_desktop.exports import write_exports
    from screenalyzer_desktop.stages import screentime

    if read_record(episode, "screentime") is None:
        raise ScreenalyzerError("ERR_SCREENTIME_MISSING", detail=f"{episode.id} has no screen-time results")
    ctx = pipeline.StageContext(workspace, episode, config, pipeline.engine_for(config, workspace, episode))
    result, metadata = screentime.compute_for(ctx)
    chosen = tuple(dict.fromkeys(formats or ["csv", "xlsx", "json"]))
    written = write_exports(result, metadata, out, chosen, media=episode.source)
    if "png" in chosen:
        written += _chart_pngs(episode, result, metadata, out)
    return written


def _chart_pngs(episode: Episode, result: Any, metadata: dict[str, Any], out: Path) -> list[Path]:
    """The charts are the Results tab's own widgets, drawn offscreen in a child process: this process
    (a stage worker's program) never loads Qt, and needs no display."""
    import os
    import subprocess

    from screenalyzer_desktop.core.paths import APP_NAME, CHARTS_OPTION, bundled_program, is_frozen
    from screenalyzer_desktop.exports import to_json

    # The installed app runs no `-m` modules: its window program draws them when given CHARTS_OPTION.
    program = [str(bundled_program(APP_NAME)), CHARTS_OPTION] if is_frozen() else [
        sys.executable, "-m", "screenalyzer_desktop.gui.results_charts"]
    done = subprocess.run([*program, str(episode.dir), str(out)], input=json.dumps(to_json(result, metadata),
                                                                                  default=str),
                          capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise internal_error(RuntimeError(f"the chart renderer exited with {done.returncode}: "
                                          f"{done.stderr[-2000:]}")) from None
    if "error" in answer:
        raise ScreenalyzerError.from_dict(answer["error"])
    return [Path(path) for path in answer["written"]]


def cmd_demo(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop.sample_episode import make_sample_episode

    workspace = Workspace(args.workspace)
    demo_dir = workspace.root / "demo"
    if not (demo_dir / "truth.json").is_file():
        print(f"Generating the demo episode in {demo_dir} …", file=sys.stderr)
        make_sample_episode(demo_dir)
    args.video, args.cast, args.show = demo_dir / "episode.mp4", demo_dir / "cast", "demo"
    code = cmd_analyze(args, report, cancel)
    truth = json.loads((demo_dir / "truth.json").read_text())["people"]
    if report.mode != "jsonl":
        print("\nGround truth of the demo episode:")
        for person, info in sorted(truth.items(), key=lambda kv: -kv[1]["screen_time_s"]):
            print(f"  {person:<16} {info['screen_time_s']:8.2f} s")
    return code


def cmd_models_import(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop.engines.model_pack import INSIGHTFACE_LICENCE_NOTICE, import_pack_zip

    workspace = Workspace(args.workspace)
    print(INSIGHTFACE_LICENCE_NOTICE, file=sys.stderr)
    folder = import_pack_zip(args.zip, workspace.models_dir)
    print(folder)
    return 0


def _finish(workspace: Workspace, episode: Episode, config: Config, result: dict[str, Any], report: Reporter,
            export_dir: Path | None) -> int:
    import pandas as pd

    report.close()
    # Exported with the settings of this run (not the defaults), and in jsonl mode as part of the result.
    written = _export(workspace, episode, config, export_dir, None) if export_dir is not None else []
    if report.mode == "jsonl":
        report({**result, "exports": [str(path) for path in written]} if written else result)
        return 0
    for path in written:
        print(path)
    summary = pd.read_csv(episode.artifact("screentime.csv"))
    print(f"\n{episode.id}: engine {result['engine']}, {result['elapsed_s']:.1f} s")
    if summary.empty:
        print("No people on screen.")
    else:
        summary["share"] = (summary["share"] * 100).map("{:.1f} %".format)
        print(summary.to_string(index=False))
    print(f"\nResults: {episode.artifacts_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="screenalyzer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", type=Path, default=None, help="workspace folder (default: user data dir)")
    common.add_argument("--config", type=Path, default=None, help="YAML file of settings over the defaults")
    common.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one setting")
    common.add_argument("--progress", choices=["bar", "jsonl", "none"], default="bar")
    engine = argparse.ArgumentParser(add_help=False)
    engine.add_argument("--engine", choices=["auto", "insightface", "dlib"])
    engine.add_argument("--sample-fps", type=float, dest="sample_fps")
    cast = argparse.ArgumentParser(add_help=False)
    cast.add_argument("--cast", type=Path, help="folder with one sub-folder of photos per cast member")
    cast.add_argument("--show", help="show name for the cast bank (default: the cast folder's name)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", parents=[common, engine, cast], help="run every stage on a video")
    p.add_argument("video", type=Path)
    p.add_argument("--export", type=Path, help="also write CSV/XLSX/JSON here")
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser("import", parents=[common, cast], help="add a video to the workspace and probe it")
    p.add_argument("video", type=Path)
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("run-stage", parents=[common, engine], help="run one stage (and what it needs)")
    p.add_argument("episode", help="episode id or video path")
    p.add_argument("stage")
    p.add_argument("--if-needed", action="store_true", help="skip the stage when it is already up to date")
    p.set_defaults(func=cmd_run_stage)
    p = sub.add_parser("status", parents=[common], help="stage status of one or all episodes")
    p.add_argument("episode", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("export", parents=[common], help="write the results of an episode")
    p.add_argument("episode")
    p.add_argument("--format", action="append", choices=["csv", "xlsx", "json", "edl", "fcpxml", "png"],
                   help="repeat for several (default: csv, xlsx, json); edl/fcpxml: one editor marker per "
                        "appearance; png: the charts")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("demo", parents=[common, engine], help="analyse the bundled demo episode")
    p.add_argument("--export", type=Path)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("models", parents=[common], help="manage insightface model packs")
    models = p.add_subparsers(dest="models_command", required=True)
    m = models.add_parser("import", parents=[common], help="import a model pack from a local zip")
    m.add_argument("zip", type=Path)
    m.set_defaults(func=cmd_models_import)
    p = sub.add_parser("batch", parents=[common, cast], help="analyse many episodes on Ray (local or a cluster)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="video files or folders of videos")
    p.add_argument("--ray-address", help="join this Ray cluster (host:port of `ray start --head`); default: "
                   "start a local Ray instance")
    p.add_argument("--gpus-per-task", type=float, help="GPUs each episode asks for (GPU nodes run insightface)")
    p.add_argument("--max-parallel", type=int, help="episodes in flight at once (local Ray: also its CPUs)")
    p.add_argument("--out", type=Path, help="where batch_summary.csv/.xlsx go (default: the workspace)")
    p.set_defaults(func=_cmd_batch)
    return parser


def _cmd_batch(args: argparse.Namespace, report: Reporter, cancel: threading.Event) -> int:
    from screenalyzer_desktop.batch import cmd_batch

    return cmd_batch(args, report, cancel)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except ScreenalyzerError as error:
        report = Reporter(_progress_mode(argv))
        if report.mode != "jsonl":
            print(error.extra.get("usage", ""), file=sys.stderr)
        report.error(error)
        return error.exit_code
    report = Reporter(args.progress)
    cancel = _install_cancel_handlers()
    func: Callable[[argparse.Namespace, Reporter, threading.Event], int] = args.func
    try:
        code = func(args, report, cancel)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return code
    except BrokenPipeError:  # plain output piped into a reader that stopped early (`| head`)
        silence_stdout()
        return 0
    except ScreenalyzerError as error:
        report.error(error)
        return error.exit_code
    except Exception as exc:
        error = internal_error(exc)
        report.error(error)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
