"""The error catalogue: its shape, the structured form of an error, and that every code is tested.

This file deliberately names no code literally: the catalogue-coverage check below counts the
codes named in the *other* test files, where each is produced through real code paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screenalyzer_desktop.core.errors import (
    CATALOGUE,
    ErrorCause,
    ScreenalyzerError,
    internal_error,
    prereq_failed,
)

TESTS_DIR = Path(__file__).resolve().parent
# README: 0 ok, 1 internal, 2 settings, 3 video, 4 models, 5 workspace/disk, 6 busy, 7 prerequisite,
# 8 missing results, 130 cancelled.
EXIT_CLASSES = {1, 2, 3, 4, 5, 6, 7, 8, 130}


def test_every_code_has_a_message_a_hint_and_an_exit_class() -> None:
    assert len(CATALOGUE) >= 20
    for code, spec in CATALOGUE.items():
        assert re.fullmatch(r"ERR_[A-Z_]+", code), code
        assert spec.message.strip() and spec.message[0].isupper() and spec.message.endswith("."), code
        assert spec.hint.strip() and "Unknown error" not in spec.message, code
        assert spec.exit_code in EXIT_CLASSES, code
    assert len({spec.message for spec in CATALOGUE.values()}) == len(CATALOGUE), "two codes share a message"


def test_exit_codes_are_distinct_by_class() -> None:
    by_exit: dict[int, set[str]] = {}
    for code, spec in CATALOGUE.items():
        by_exit.setdefault(spec.exit_code, set()).add(code)
    assert set(by_exit) == EXIT_CLASSES, "every class in the README has at least one code"
    video = {c for c in CATALOGUE if c.startswith("ERR_VIDEO") or c.endswith("NO_FRAMES")}
    models = {c for c in CATALOGUE if c.startswith("ERR_MODEL")}
    assert {CATALOGUE[c].exit_code for c in video} == {3}
    assert {CATALOGUE[c].exit_code for c in models} == {4}
    assert len(by_exit[1]) == 1 and len(by_exit[130]) == 1 and len(by_exit[6]) == 1 and len(by_exit[7]) == 1


def test_error_fills_message_and_hint_from_the_catalogue() -> None:
    code = sorted(CATALOGUE)[0]
    error = ScreenalyzerError(code, detail="the detail")
    assert error.message == CATALOGUE[code].message and error.hint == CATALOGUE[code].hint
    assert error.exit_code == CATALOGUE[code].exit_code
    assert str(error).startswith(code) and "Unknown" not in str(error)
    assert error.to_dict() == {"code": code, "message": error.message, "detail": "the detail", "hint": error.hint}


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the catalogue"):
        ScreenalyzerError("ERR_NO_SUCH_THING")


def test_prerequisite_cause_is_structured_and_survives_json() -> None:
    failed_code = next(c for c, s in CATALOGUE.items() if s.exit_code == 3)
    inner = ScreenalyzerError(failed_code, detail="/x.mp4")
    outer = prereq_failed("screentime", "ingest", inner)
    assert outer.exit_code == 7
    assert outer.cause == ErrorCause(stage="ingest", code=failed_code, message=inner.message, detail="/x.mp4")
    data = outer.to_dict()
    assert data["cause"] == {"stage": "ingest", "code": failed_code, "message": inner.message, "detail": "/x.mp4"}
    again = ScreenalyzerError.from_dict(data)
    assert again.cause == outer.cause and again.code == outer.code and again.hint == outer.hint


def test_internal_error_keeps_type_text_and_traceback() -> None:
    try:
        {}["missing-key"]
    except KeyError as exc:
        error = internal_error(exc)
    assert error.exit_code == 1
    assert error.detail.startswith("KeyError: 'missing-key'") and "Traceback" in error.detail
    assert error.message == CATALOGUE[error.code].message


def _tested_codes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {code: [] for code in CATALOGUE}
    for path in sorted(TESTS_DIR.rglob("*.py")):
        if path.name in {"test_errors.py", "conftest.py"}:
            continue
        text = path.read_text(encoding="utf-8")
        for code in CATALOGUE:
            if re.search(rf"[\"']{code}[\"']", text):
                found[code].append(path.name)
    return found


def test_every_catalogue_code_appears_in_some_test() -> None:
    """New codes cannot ship untested: each must be named (as a string) in a test that produces it."""
    untested = sorted(code for code, files in _tested_codes().items() if not files)
    assert not untested, f"codes no test checks: {untested}"
