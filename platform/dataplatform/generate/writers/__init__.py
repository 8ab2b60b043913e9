"""Where `dataplatform generate` writes, found by name.

A writer stores each table of a domain under `<output>/<domain>/<table>` (or the format's
equivalent: an Iceberg namespace, a DuckLake schema), replacing a partition or a whole master
table per call, so a rerun of a range leaves one copy of every row. Adding a writer is a module
with a `Writer` subclass and one `WriterSpec(...)` line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataplatform.generate.export import GenerateError

if TYPE_CHECKING:
    from dataplatform.generate.writers.base import Writer


@dataclass(frozen=True)
class WriterSpec:
    name: str
    description: str
    remote: bool  # accepts S3-compatible URIs as well as local folders
    build: Callable[[str], Writer]


def _parquet(output: str) -> Writer:
    from dataplatform.generate.writers.parquet import ParquetWriter

    return ParquetWriter(output)


def _delta(output: str) -> Writer:
    from dataplatform.generate.writers.delta import DeltaWriter

    return DeltaWriter(output)


def _iceberg(output: str) -> Writer:
    from dataplatform.generate.writers.iceberg import IcebergWriter

    return IcebergWriter(output)


def _ducklake(output: str) -> Writer:
    from dataplatform.generate.writers.ducklake import DuckLakeWriter

    return DuckLakeWriter(output)


WRITERS: dict[str, WriterSpec] = {
    w.name: w
    for w in (
        WriterSpec("parquet", "Parquet files, Hive-partitioned by partition_date", True, _parquet),
        WriterSpec("delta", "Delta Lake tables partitioned by partition_date", True, _delta),
        WriterSpec("iceberg", "Iceberg tables in a SQLite catalog (catalog.db)", False, _iceberg),
        WriterSpec("ducklake", "a DuckLake (metadata.ducklake plus Parquet data files)", False, _ducklake),
    )
}


def writer_for(name: str, output: str) -> Writer:
    try:
        spec = WRITERS[name]
    except KeyError:
        raise GenerateError(f"unknown writer {name!r}; known: {', '.join(WRITERS)}") from None
    if "://" in output and not output.startswith("file://") and not spec.remote:
        remote = ", ".join(w.name for w in WRITERS.values() if w.remote)
        raise GenerateError(f"the {name} writer writes to a local folder; for object storage use {remote}")
    return spec.build(output)
