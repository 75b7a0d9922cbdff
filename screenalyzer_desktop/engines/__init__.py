"""Face engines behind one interface; `auto` picks insightface when a valid pack is present."""

from __future__ import annotations

import logging
from pathlib import Path

from screenalyzer_desktop.core.config import Config
from screenalyzer_desktop.engines.base import Face, FaceEngine, l2_normalize

__all__ = ["Face", "FaceEngine", "l2_normalize", "pack_folder", "resolve_engine_name", "load_engine"]

log = logging.getLogger("screenalyzer.engines")
_loaded: dict[tuple[str, str], FaceEngine] = {}


def pack_folder(config: Config, models_dir: Path) -> Path:
    from screenalyzer_desktop.engines.model_pack import pack_folder as folder_from_settings

    return folder_from_settings(config.section("engines.insightface"), models_dir)


def resolve_engine_name(config: Config, models_dir: Path) -> str:
    choice = config.get("engine")
    if choice != "auto":
        return choice
    from screenalyzer_desktop.engines.insightface_engine import pack_available

    folder = pack_folder(config, models_dir)
    if pack_available(folder):
        log.info("Engine auto: using insightface (model pack found in %s)", folder)
        return "insightface"
    log.info("Engine auto: using dlib (no insightface model pack in %s)", folder)
    return "dlib"


def load_engine(name: str, config: Config, models_dir: Path) -> FaceEngine:
    """Load an engine once per process: models are expensive to load, cheap to reuse."""
    key = (name, config.hash_of(f"engines.{name}"))
    if key not in _loaded:
        if name == "dlib":
            from screenalyzer_desktop.engines.dlib_engine import DlibEngine

            _loaded[key] = DlibEngine(config.section("engines.dlib"))
        else:
            from screenalyzer_desktop.engines.insightface_engine import InsightFaceEngine

            _loaded[key] = InsightFaceEngine(pack_folder(config, models_dir),
                                             config.section("engines.insightface"))
    return _loaded[key]
