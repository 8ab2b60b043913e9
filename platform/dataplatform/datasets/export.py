"""Writing a registered dataset out as files: CSV, Parquet or JSON lines, optionally compressed, plus its metadata.

DuckDB's COPY writes each table straight from the store, so exporting a million rows never
builds a frame. Every export also writes the spec (`<name>.yaml`) and the statistics
(`<name>.stats.json`) beside the tables, so the files explain themselves; `metadata_only`
writes just those two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.spec import DatasetSpec
from dataplatform.datasets.sql import qualified
from dataplatform.datasets.store import DatasetStore, archived_name

# format -> (file extension, COPY options, {compression name -> (COPY value, extra extension)})
FORMATS: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "csv": (".csv", "FORMAT csv, HEADER true", {"gzip": ("gzip", ".gz"), "zstd": ("zstd", ".zst")}),
    "json": (".jsonl", "FORMAT json", {"gzip": ("gzip", ".gz"), "zstd": ("zstd", ".zst")}),
    "parquet": (
        ".parquet",
        "FORMAT parquet",
        {"snappy": ("snappy", ""), "zstd": ("zstd", ""), "gzip": ("gzip", "")},
    ),
}


def export_dataset(
    store: DatasetStore,
    spec: DatasetSpec,
    destination: Path,
    fmt: str = "parquet",
    compression: str | None = None,
    tables: list[str] | None = None,
    metadata_only: bool = False,
    archived: int | None = None,
) -> list[Path]:
    """Write the dataset's tables (all of them, or `tables`) into `destination/<name>/`; the paths
    written. `spec` is the version's spec; `archived` is the number of an earlier version (see
    `store.archived_name`), None for the current one."""
    if fmt not in FORMATS:
        raise DatasetError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")
    extension, options, compressions = FORMATS[fmt]
    if compression is not None and compression not in compressions:
        raise DatasetError(
            f"compression {compression!r} is not available for {fmt}; choose one of {', '.join(compressions)}"
        )
    stored = store.tables(spec.name, archived)
    chosen = list(stored) if tables is None else tables
    unknown = [t for t in chosen if t not in stored]
    if unknown:
        raise DatasetError(
            f"dataset '{spec.name}' has no table {', '.join(unknown)} (tables: {', '.join(stored)})"
        )
    folder = Path(destination) / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    written = _write_metadata(store, spec, folder, archived)
    if metadata_only:
        return written
    if compression is not None:
        value, suffix = compressions[compression]
        options += f", COMPRESSION {value}"  # from the fixed table above, never the caller's text
        extension += suffix
    with store.reading() as con:
        for table in chosen:
            path = folder / f"{table}{extension}"
            source = qualified(spec.name, archived_name(table, archived))
            con.execute(f"COPY (SELECT * FROM {source}) TO ? ({options})", [str(path)])
            written.append(path)
    return written


def _write_metadata(store: DatasetStore, spec: DatasetSpec, folder: Path, archived: int | None) -> list[Path]:
    spec_path = folder / f"{spec.name}.yaml"
    spec_path.write_text(
        yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    stats: Any = store.meta(spec.name, "stats", archived)
    stats_path = folder / f"{spec.name}.stats.json"
    stats_path.write_text(json.dumps(stats, indent=2, default=str), encoding="utf-8")
    return [spec_path, stats_path]
