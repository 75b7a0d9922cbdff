"""Settings: defaults are the one source of truth, limits hold, and every bad value gets ERR_CONFIG_INVALID."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support import expect_error

from screenalyzer_desktop.core.config import load_config, load_defaults_raw
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import configs_dir


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and not set(value) <= {"min", "max", "choices"} or (
                isinstance(value, dict) and not value):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _invalid(**overrides: object) -> ScreenalyzerError:
    with pytest.raises(ScreenalyzerError) as info:
        load_config(overrides=overrides)
    assert info.value.code == "ERR_CONFIG_INVALID"
    return info.value


def test_defaults_load_and_respect_their_own_limits() -> None:
    defaults = _flat(load_defaults_raw())
    limits = _flat(yaml.safe_load((configs_dir() / "limits.yaml").read_text()))
    assert set(limits) <= set(defaults), f"limits for unknown keys: {set(limits) - set(defaults)}"
    for key, rule in limits.items():
        value = defaults[key]
        if "choices" in rule:
            assert value in rule["choices"], key
        if "min" in rule:
            assert value >= rule["min"], key
        if "max" in rule:
            assert value <= rule["max"], key
    load_config()  # and the whole file validates as a user file would


def test_every_numeric_default_has_a_range() -> None:
    """A threshold without limits could be set to anything from the command line."""
    defaults = _flat(load_defaults_raw())
    limits = _flat(yaml.safe_load((configs_dir() / "limits.yaml").read_text()))
    unbounded = sorted(k for k, v in defaults.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in limits)
    assert not unbounded, f"numeric settings without limits: {unbounded}"


def test_overrides_are_coerced_from_text() -> None:
    config = load_config(overrides={"detect.sample_fps": "3", "engines.dlib.upsample": "0",
                                    "detect.refine_bounds": "no", "engine": "dlib",
                                    "detect.cut_thumb_size": "32, 18",
                                    "engines.insightface.providers": "CPUExecutionProvider"})
    assert config.get("detect.sample_fps") == 3.0 and isinstance(config.get("detect.sample_fps"), float)
    assert config.get("engines.dlib.upsample") == 0
    assert config.get("detect.refine_bounds") is False
    assert config.get("detect.cut_thumb_size") == [32, 18]
    assert config.get("engines.insightface.providers") == ["CPUExecutionProvider"]
    nested = load_config(overrides={"screentime": {"merge_gap_s": 1.5}})
    assert nested.get("screentime.merge_gap_s") == 1.5
    assert nested.get("screentime.min_interval_s") == load_config().get("screentime.min_interval_s")


@pytest.mark.parametrize(("key", "value", "why"), [
    ("detect.sample_fps", "0", "at least"),
    ("detect.sample_fps", "1e9", "at most"),
    ("detect.sample_fps", "nan", "number"),
    ("detect.sample_fps", "inf", "at most"),
    ("detect.sample_fps", "fast", "number"),
    ("engines.dlib.upsample", "1.5", "whole number"),
    ("engines.dlib.upsample", "true", "whole number"),
    ("engines.dlib.upsample", True, "whole number"),
    ("engines.dlib.upsample", 7, "at most"),
    ("detect.refine_bounds", "maybe", "true or false"),
    ("detect.refine_bounds", 1, "true or false"),
    ("engine", "opencv", "one of"),
    ("engine", 3, "text"),
    ("detect.cut_thumb_size", "64", "2 numbers"),
    ("detect.cut_thumb_size", "a,b", "whole number"),
    ("engines.insightface.providers", [1, 2], "text"),
    ("screentime.merge_gap_s", -1, "at least"),
])
def test_out_of_range_and_mistyped_values_are_refused(key: str, value: object, why: str) -> None:
    error = _invalid(**{key: value})
    assert why in error.detail and key.split(".")[0] in error.detail
    assert error.extra.get("key", "").startswith(key)


@pytest.mark.parametrize("key", ["detect.no_such_key", "nosuch", "detect", "engines.dlib", "engines.openvino.x"])
def test_unknown_keys_are_refused(key: str) -> None:
    error = _invalid(**{key: "1"})
    assert "unknown setting" in error.detail or "expected" in error.detail


def test_user_file_is_validated_like_overrides(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("detect:\n  sample_fps: 5\nscreentime:\n  merge_gap_s: 0.25\n")
    config = load_config(good)
    assert config.get("detect.sample_fps") == 5.0 and config.get("screentime.merge_gap_s") == 0.25
    for text in ("detect:\n  sample_fps: -1\n", "detect: [1, 2]\n", "- a list\n", "detect: {sample_fps: [}\n",
                 "surprise: 1\n"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ScreenalyzerError) as info:
            load_config(bad)
        assert info.value.code == "ERR_CONFIG_INVALID", text
    with pytest.raises(ScreenalyzerError) as info:
        load_config(tmp_path / "absent.yaml")
    assert info.value.code == "ERR_CONFIG_INVALID"


def test_hash_of_changes_only_with_the_named_settings() -> None:
    base = load_config()
    other = load_config(overrides={"screentime.merge_gap_s": 2.0})
    assert base.hash_of("cluster") == other.hash_of("cluster")
    assert base.hash_of("screentime") != other.hash_of("screentime")
    assert base.hash_of("screentime", "cluster") == base.hash_of("cluster", "screentime")
    assert base.to_dict() == load_config().to_dict(), "configs are values: building one changes nothing"


def test_config_is_read_only_from_outside() -> None:
    config = load_config()
    section = config.section("detect")
    section["sample_fps"] = 99.0
    assert config.get("detect.sample_fps") != 99.0


@pytest.mark.parametrize("args", [
    ("--set", "detect.sample_fps=0"),
    ("--set", "detect.sample_fps=lots"),
    ("--set", "no.such.key=1"),
    ("--set", "detect.sample_fps"),
    ("--sample-fps", "100"),
    ("--set", "engines.dlib.upsample=2.5"),
])
def test_cli_set_errors_are_err_config_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    error = expect_error(capsys, monkeypatch, "ERR_CONFIG_INVALID", "run-stage", "whatever", "ingest",
                         "--workspace", tmp_path, *args)
    assert error["detail"]


def test_cli_bad_config_file_is_err_config_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "settings.yaml"
    bad.write_text("track:\n  iou_link: 3\n")
    error = expect_error(capsys, monkeypatch, "ERR_CONFIG_INVALID", "status", "--workspace", tmp_path,
                         "--config", bad)
    assert "iou_link" in error["detail"]
