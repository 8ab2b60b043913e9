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
    remote: bool  # accepts s3://bucket/prefix as well as local folders (`--list` shows it)
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
        WriterSpec("iceberg", "Iceberg tables in a SQLite catalog (catalog.db)", True, _iceberg),
        WriterSpec("ducklake", "a DuckLake (metadata.ducklake plus Parquet data files)", True, _ducklake),
    )
}


def writer_for(name: str, output: str) -> Writer:
    try:
        spec = WRITERS[name]
    except KeyError:
        raise GenerateError(f"unknown writer {name!r}; known: {', '.join(WRITERS)}") from None
    return spec.build(s3_output(output) if output.startswith("s3://") else output)


def s3_output(output: str) -> str:
    """`s3://bucket/prefix` checked and normalised by the rule of DATAPLATFORM_LAKE_URI (a valid
    bucket; no credentials, query or fragment), validated through that settings field so both
    refuse the same URIs. The message never repeats the URI: a refused one may hold credentials."""
    from pydantic import ValidationError

    from dataplatform.settings import Settings

    try:
        checked = Settings.model_validate({"lake_uri": output}).lake_uri
    except ValidationError as error:
        problem = error.errors()[0]
        raise GenerateError(f"bad S3 output: {problem.get('ctx', {}).get('error', problem['msg'])}") from None
    assert checked is not None  # given a URI, the field's validator returns it or raises
    return checked
