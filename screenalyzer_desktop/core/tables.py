"""Parquet artifacts with a schema version, and embedding columns as fixed-size lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from screenalyzer_desktop.core import faults
from screenalyzer_desktop.core.atomic import atomic_write_parquet
from screenalyzer_desktop.core.errors import ScreenalyzerError

TABLE_SCHEMA_VERSION = 1
_META_KEY = b"screenalyzer"


def write_table(path: Path, frame: pd.DataFrame, kind: str, vectors: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``frame`` (plus fixed-size float32 vector columns) with kind and schema version."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name, matrix in (vectors or {}).items():
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        width = matrix.shape[1] if matrix.ndim == 2 else 0
        column = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), width)
        table = table.append_column(name, column)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = f"{kind}:{TABLE_SCHEMA_VERSION}".encode()
    atomic_write_parquet(path, table.replace_schema_metadata(meta))
    return Path(path)


def read_arrow(path: Path, kind: str, missing_code: str) -> pa.Table:
    """Read a table this module wrote; missing → ``missing_code``, damaged → ERR_ARTIFACT_CORRUPT."""
    faults.point(f"read:{Path(path).name}")
    if not Path(path).is_file():
        raise ScreenalyzerError(missing_code, detail=f"{path} does not exist")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail=f"{path}: {exc}") from exc
    found = (table.schema.metadata or {}).get(_META_KEY, b"").decode()
    if found != f"{kind}:{TABLE_SCHEMA_VERSION}":
        raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT",
                                detail=f"{path}: expected {kind}:{TABLE_SCHEMA_VERSION}, found {found!r}")
    return table


def read_table(path: Path, kind: str, missing_code: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The scalar columns as a DataFrame and each vector column as an (n, d) float32 matrix."""
    table = read_arrow(path, kind, missing_code)
    vectors: dict[str, np.ndarray] = {}
    scalars = []
    for field in table.schema:
        if pa.types.is_fixed_size_list(field.type):
            column = table.column(field.name).combine_chunks()
            flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
            vectors[field.name] = flat.reshape(len(column), field.type.list_size)
        else:
            scalars.append(field.name)
    return table.select(scalars).to_pandas(), vectors
