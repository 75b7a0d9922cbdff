"""Settings: `configs/default.yaml` is the one source of truth for every threshold.

`configs/limits.yaml` gives the allowed range or choices of a setting; types come from the
defaults. User files and command-line overrides may only set keys that exist in the defaults.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.paths import configs_dir


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"{path} must hold a mapping")
    return data


def _coerce(key: str, value: Any, default: Any, limits: Mapping[str, Any]) -> Any:
    def bad(why: str) -> ScreenalyzerError:
        return ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"{key}={value!r}: {why}",
                                 extra={"key": key})

    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
            value = value.lower() in {"true", "1", "yes"}
        if not isinstance(value, bool):
            raise bad("expected true or false")
    elif isinstance(default, int):
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError as exc:
                raise bad("expected a whole number") from exc
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("expected a whole number")
    elif isinstance(default, float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError as exc:
                raise bad("expected a number") from exc
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise bad("expected a number")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("expected text")
    elif isinstance(default, list):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise bad("expected a list")
        if default and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in default):
            # A list of numbers in the defaults is a fixed-size vector (a size, a range): same length, numbers.
            if len(value) != len(default):
                raise bad(f"expected {len(default)} numbers")
            value = [_coerce(f"{key}[{i}]", item, default[i], {}) for i, item in enumerate(value)]
        elif default and any(not isinstance(item, str) for item in value):
            raise bad("expected a list of text")
    rule = limits.get(key)
    if rule:
        if "choices" in rule and value not in rule["choices"]:
            raise bad(f"must be one of {rule['choices']}")
        if "min" in rule and value < rule["min"]:
            raise bad(f"must be at least {rule['min']}")
        if "max" in rule and value > rule["max"]:
            raise bad(f"must be at most {rule['max']}")
    return value


class Config:
    """Validated, read-only settings with dotted-key access and per-section hashes."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def get(self, dotted: str) -> Any:
        node: Any = self._data
        for part in dotted.split("."):
            node = node[part]
        return copy.deepcopy(node)

    def section(self, name: str) -> dict[str, Any]:
        return self.get(name)

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    def hash_of(self, *keys: str) -> str:
        """A stable hash of the named sections or keys: what a stage's output depends on."""
        chosen = {key: self.get(key) for key in sorted(keys)}
        blob = json.dumps(chosen, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        return Config(_apply(self._data, overrides))


def _apply(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    defaults_flat = _flatten(load_defaults_raw())
    limits = _flatten_limits(_read_yaml(configs_dir() / "limits.yaml"))
    data = copy.deepcopy(base)
    for key, value in _flatten(overrides).items():
        if key not in defaults_flat:
            raise ScreenalyzerError("ERR_CONFIG_INVALID", detail=f"unknown setting {key!r}",
                                    extra={"key": key})
        value = _coerce(key, value, defaults_flat[key], limits)
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return data


def _flatten_limits(raw: Mapping[str, Any]) -> dict[str, Any]:
    """limits.yaml nests like the defaults; a mapping with min/max/choices is a rule."""
    out: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, Mapping) and set(value) <= {"min", "max", "choices"}:
                out[dotted] = value
            elif isinstance(value, Mapping):
                walk(value, dotted + ".")

    walk(raw, "")
    return out


def load_defaults_raw() -> dict[str, Any]:
    return _read_yaml(configs_dir() / "default.yaml")


def load_config(user_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Defaults, then a user YAML file, then explicit overrides (dotted keys or nested)."""
    data = load_defaults_raw()
    if user_file is not None:
        data = _apply(data, _read_yaml(Path(user_file)))
    if overrides:
        data = _apply(data, overrides)
    return Config(data)
