"""ProcessRunner against tiny real child processes: the signals, their order, and every way a run ends."""

from __future__ import annotations

import sys
import textwrap

import pytest

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.gui.process_runner import ProcessRunner, RunOutcome, worker_command

TIMEOUT_MS = 15_000


def child(script: str) -> tuple[str, list[str]]:
    return sys.executable, ["-c", textwrap.dedent(script)]


GOOD_RUN = """
    import json, sys, time
    def out(**event):
        print(json.dumps(event), flush=True)
    out(type="stage", stage="detect_embed", status="running", plan=["detect_embed"])
    out(type="log", level="INFO", message="Scanning", ts=time.time())
    for i in (1, 2, 3):
        out(type="progress", stage="detect_embed", fraction=i / 3, overall=i / 3, message=f"step {i}",
            counters={"frames": i * 10}, elapsed_s=0.1 * i, eta_s=0.1 * (3 - i))
    out(type="stage", stage="detect_embed", status="done")
    out(type="result", episode="ep", stage="detect_embed", ran=["detect_embed"])
"""


@pytest.fixture
def runner(qtbot) -> ProcessRunner:
    return ProcessRunner(grace_ms=500)


def test_worker_command_runs_the_engine_cli() -> None:
    program, args = worker_command(["status"])
    assert program == sys.executable
    assert args == ["-m", "screenalyzer_desktop.cli", "status"]


def test_a_good_run_emits_its_signals_in_order(qtbot, runner: ProcessRunner) -> None:
    fractions: list[float] = []
    runner.progress.connect(lambda event: fractions.append(event["fraction"]))
    signals = [runner.started, runner.stageChanged, runner.log, runner.progress, runner.progress,
               runner.progress, runner.stageChanged, runner.finished, runner.ended]
    with qtbot.waitSignals(signals, order="strict", timeout=TIMEOUT_MS):
        runner.start([], command=child(GOOD_RUN))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    outcome = runner.outcome
    assert isinstance(outcome, RunOutcome)
    assert outcome.status == "done" and outcome.exit_code == 0 and outcome.result["episode"] == "ep"


def test_lines_split_across_reads_are_joined(qtbot, runner: ProcessRunner) -> None:
    script = """
        import sys, time
        sys.stdout.write('{"type": "progress", "stage": "track", "fra'); sys.stdout.flush(); time.sleep(0.3)
        sys.stdout.write('ction": 0.5}\\nnot json at all\\n'); sys.stdout.flush()
        print('{"type": "result", "ran": []}')
    """
    logs: list[dict] = []
    progress: list[dict] = []
    runner.log.connect(logs.append)
    runner.progress.connect(progress.append)
    with qtbot.waitSignals([runner.progress, runner.finished], order="strict", timeout=TIMEOUT_MS):
        runner.start([], command=child(script))
    assert [event["fraction"] for event in progress] == [0.5]
    assert [entry["message"] for entry in logs] == ["not json at all"]


def test_an_error_line_becomes_a_structured_error(qtbot, runner: ProcessRunner) -> None:
    script = """
        import json, sys
        print(json.dumps({"type": "error", "code": "ERR_PREREQ_FAILED", "message": "A stage failed.",
                          "detail": "track needs detect_embed", "hint": "See the cause",
                          "cause": {"stage": "detect_embed", "code": "ERR_VIDEO_UNREADABLE",
                                    "message": "bad video", "detail": "x.mp4"}}))
        sys.exit(7)
    """
    errors: list[ScreenalyzerError] = []
    runner.failed.connect(errors.append)
    with qtbot.waitSignals([runner.started, runner.failed, runner.ended], order="strict", timeout=TIMEOUT_MS):
        runner.start([], command=child(script))
    [error] = errors
    assert isinstance(error, ScreenalyzerError)
    assert error.code == "ERR_PREREQ_FAILED"
    assert error.cause is not None and error.cause.stage == "detect_embed"
    assert error.cause.code == "ERR_VIDEO_UNREADABLE"
    assert runner.outcome.status == "failed" and runner.outcome.exit_code == 7


@pytest.mark.parametrize(("script", "expected"), [
    ("import sys; print('Traceback: boom', file=sys.stderr); sys.exit(1)", "exited with code 1"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "was killed or crashed"),
    ("print('{\"type\": \"log\", \"level\": \"INFO\", \"message\": \"hi\"}')", "without reporting a result"),
])
def test_a_crash_without_an_error_line_is_never_unknown(qtbot, runner: ProcessRunner, script: str,
                                                         expected: str) -> None:
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.start([], command=child(script))
    error = blocker.args[0]
    assert error.code == "ERR_INTERNAL"
    assert expected in error.detail
    assert "unknown" not in (error.message + error.detail).lower()
    if "boom" in script:
        assert "Traceback: boom" in error.detail


def test_an_unknown_error_code_is_reported_with_the_raw_event(qtbot, runner: ProcessRunner) -> None:
    script = "print('{\"type\": \"error\", \"code\": \"ERR_FROM_THE_FUTURE\", \"message\": \"x\"}')"
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.start([], command=child(script))
    assert blocker.args[0].code == "ERR_INTERNAL"
    assert "ERR_FROM_THE_FUTURE" in blocker.args[0].detail


def test_a_missing_program_fails_to_start_with_a_structured_error(qtbot, runner: ProcessRunner) -> None:
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.start([], command=("/nonexistent/screenalyzer-worker", []))
    assert blocker.args[0].code == "ERR_INTERNAL"
    assert "could not start" in blocker.args[0].detail


def test_cancel_asks_the_child_to_stop_cleanly(qtbot, runner: ProcessRunner) -> None:
    script = """
        import json, signal, sys, time
        def stop(*_):
            print(json.dumps({"type": "error", "code": "ERR_CANCELLED", "message": "cancelled",
                              "detail": "by signal", "hint": "run again"}), flush=True)
            sys.exit(130)
        signal.signal(signal.SIGTERM, stop)
        print('{"type": "progress", "stage": "detect_embed", "fraction": 0.1}', flush=True)
        time.sleep(60)
    """
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
        runner.start([], command=child(script))
    with qtbot.waitSignals([runner.failed, runner.ended], order="strict", timeout=TIMEOUT_MS):
        runner.cancel()
    assert runner.outcome.status == "cancelled" and runner.outcome.exit_code == 130
    assert runner.outcome.error.detail == "by signal"


def test_cancel_kills_a_child_that_ignores_terminate(qtbot, runner: ProcessRunner) -> None:
    script = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('{"type": "log", "level": "INFO", "message": "stubborn"}', flush=True)
        time.sleep(60)
    """
    with qtbot.waitSignal(runner.log, timeout=TIMEOUT_MS):
        runner.start([], command=child(script))
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.cancel()
    assert blocker.args[0].code == "ERR_CANCELLED"
    assert runner.outcome.status == "cancelled" and not runner.is_running()
