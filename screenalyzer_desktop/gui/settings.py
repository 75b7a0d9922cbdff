"""The app's settings: one typed schema with a version, stored in QSettings, migrated on load.

Engine settings reach runs only as ``--workspace`` and ``--set key=value``: the engine validates them
with the same `core.config` rules the Preferences dialog uses, and `configs/default.yaml` stays the one
source of every default.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from screenalyzer_desktop.core.config import Config, load_config, load_defaults_raw
from screenalyzer_desktop.core.paths import default_workspace

SETTINGS_VERSION = 2
PROVIDER_AUTO = "auto"
# Settings with their own widget in Preferences; every other default is in the thresholds table.
DEDICATED_KEYS = ("schema_version", "engine", "engines.insightface.pack_dir", "engines.insightface.providers",
                  "detect.sample_fps")


@functools.cache
def _flat_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(load_defaults_raw(), "")
    return out


def flat_defaults() -> dict[str, Any]:
    """Every setting of configs/default.yaml as dotted key -> default value (parsed once: YAML is slow)."""
    return copy.deepcopy(_flat_defaults())


def cli_value(value: Any) -> str:
    """A value as `--set` text that core.config coerces back to its type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class AppSettings:
    workspace: str = ""  # empty: the default workspace
    engine: str = "auto"
    pack_dir: str = ""
    provider: str = PROVIDER_AUTO  # auto, or the onnxruntime provider to prefer
    sample_fps: float | None = None  # None: the default from configs
    overrides: dict[str, Any] = field(default_factory=dict)  # other settings, dotted key -> value
    cast_dir: str = ""  # the show's cast folder, matched in every episode imported (empty: none)
    show: str = ""  # the show's name for its face bank (empty: the cast folder's name)

    def workspace_path(self) -> Path:
        return Path(self.workspace).expanduser() if self.workspace else default_workspace()

    def config_overrides(self) -> dict[str, Any]:
        """Dotted-key overrides of the defaults, only where they differ from them."""
        wanted: dict[str, Any] = dict(self.overrides)
        wanted["engine"] = self.engine
        wanted["engines.insightface.pack_dir"] = self.pack_dir
        if self.sample_fps is not None:
            wanted["detect.sample_fps"] = self.sample_fps
        if self.provider != PROVIDER_AUTO:
            wanted["engines.insightface.providers"] = list(dict.fromkeys([self.provider, "CPUExecutionProvider"]))
        defaults = flat_defaults()
        return {key: value for key, value in wanted.items() if defaults.get(key) != value}

    def config(self) -> Config:
        """The settings a run will use; raises ScreenalyzerError(ERR_CONFIG_INVALID) on a bad value."""
        return load_config(overrides=self.config_overrides())

    def engine_args(self) -> list[str]:
        args = ["--workspace", str(self.workspace_path())]
        for key, value in sorted(self.config_overrides().items()):
            args += ["--set", f"{key}={cli_value(value)}"]
        return args

    def import_args(self) -> list[str]:
        """Arguments of an import: the engine's, and the show's cast when one is set."""
        cast = ["--cast", str(Path(self.cast_dir).expanduser())] if self.cast_dir else []
        return self.engine_args() + cast + (["--show", self.show] if cast and self.show else [])

    def with_changes(self, **changes: Any) -> AppSettings:
        return replace(self, **changes)


def _from_v1(values: dict[str, Any]) -> dict[str, Any]:
    """v1 (first previews) kept each threshold as its own `thresholds/<key>` entry; v2 keeps one map."""
    overrides = {key.removeprefix("thresholds/"): value for key, value in values.items()
                 if key.startswith("thresholds/")}
    out = {key: value for key, value in values.items() if not key.startswith("thresholds/")}
    out["overrides"] = json.dumps(overrides)
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_v1}


def load_settings(store: QSettings) -> AppSettings:
    """Read and migrate stored settings; a value that cannot be read falls back to its default."""
    values = {key: store.value(key) for key in store.allKeys()}
    version = _int(values.pop("schema_version", None)) or SETTINGS_VERSION
    while version < SETTINGS_VERSION and version in MIGRATIONS:
        values = MIGRATIONS[version](values)
        version += 1
    try:
        overrides = json.loads(values.get("overrides") or "{}")
    except (TypeError, json.JSONDecodeError):
        overrides = {}
    fps = values.get("sample_fps")
    return AppSettings(
        workspace=str(values.get("workspace") or ""),
        engine=str(values.get("engine") or "auto"),
        pack_dir=str(values.get("pack_dir") or ""),
        provider=str(values.get("provider") or PROVIDER_AUTO),
        sample_fps=_float(fps) if fps not in (None, "") else None,
        overrides=overrides if isinstance(overrides, dict) else {},
        cast_dir=str(values.get("cast_dir") or ""),
        show=str(values.get("show") or ""),
    )


def save_settings(store: QSettings, settings: AppSettings) -> None:
    store.clear()
    store.setValue("schema_version", SETTINGS_VERSION)
    store.setValue("workspace", settings.workspace)
    store.setValue("engine", settings.engine)
    store.setValue("pack_dir", settings.pack_dir)
    store.setValue("provider", settings.provider)
    store.setValue("sample_fps", "" if settings.sample_fps is None else repr(settings.sample_fps))
    store.setValue("overrides", json.dumps(settings.overrides, sort_keys=True))
    store.setValue("cast_dir", settings.cast_dir)
    store.setValue("show", settings.show)
    store.sync()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
