"""Writing results for people and other tools: CSV, JSON, XLSX (all atomic)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from screenalyzer_desktop.core.atomic import atomic_write_bytes, atomic_write_text
from screenalyzer_desktop.screentime_calc import ScreenTime

FORMATS = ("csv", "json", "xlsx")


def to_json(result: ScreenTime, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "metadata": metadata,
            "people": result.summary.to_dict(orient="records"),
            "timeline": result.timeline.to_dict(orient="records"),
            "coappearance": {p: result.coappearance.loc[p].to_dict() for p in result.coappearance.index}}


def write_exports(result: ScreenTime, metadata: dict[str, Any], out_dir: Path,
                  formats: tuple[str, ...] = FORMATS) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    if "csv" in formats:
        for name, frame in (("screentime.csv", result.summary), ("timeline.csv", result.timeline)):
            atomic_write_text(out_dir / name, frame.to_csv(index=False))
            written.append(out_dir / name)
        atomic_write_text(out_dir / "coappearance.csv", result.coappearance.to_csv())
        written.append(out_dir / "coappearance.csv")
    if "json" in formats:
        atomic_write_text(out_dir / "screentime.json", json.dumps(to_json(result, metadata), indent=2,
                                                                  ensure_ascii=False) + "\n")
        written.append(out_dir / "screentime.json")
    if "xlsx" in formats:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as book:
            result.summary.to_excel(book, sheet_name="Summary", index=False)
            result.timeline.to_excel(book, sheet_name="Timeline", index=False)
            result.coappearance.to_excel(book, sheet_name="Co-appearance")
            pd.DataFrame(sorted(_flat(metadata).items()), columns=["key", "value"]).to_excel(
                book, sheet_name="Metadata", index=False)
        atomic_write_bytes(out_dir / "screentime.xlsx", buffer.getvalue())
        written.append(out_dir / "screentime.xlsx")
    return written


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out
