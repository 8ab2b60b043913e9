"""Parquet folders with Hive partitions, written beside the table and renamed into place.

Layout: `<root>/<layer>/<domain>/<name>/` holds either `part-0.parquet` (a whole table) or
`<column>=<value>/part-0.parquet` folders (sliced tables), plus `_common_metadata` with the
full Arrow schema so the partition column reads back with its real type.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableFolders,
    TableName,
    check_slice_covers,
    slice_value_text,
)

_SCHEMA_FILE = "_common_metadata"
_PARTITION_KEY = b"dataplatform.partition_column"


class ParquetStore(TableFolders):
    backend = "parquet"

    def exists(self, table: TableName) -> bool:
        return (self.folder(table) / _SCHEMA_FILE).exists()

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        target = self.folder(table)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{table.name}.staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            if replace is None:
                pq.write_table(data, staging / "part-0.parquet")
                _write_schema(staging, data.schema, None)
                _swap(staging, target)
                return
            check_slice_covers(table, data, replace)
            if self.exists(table) and _partition_column(target) != replace.column:
                raise StorageError(
                    f"{table}: partitioned by {_partition_column(target)!r}, not {replace.column!r}"
                )
            target.mkdir(exist_ok=True)
            column = data.column(replace.column)
            for value in replace.values:
                folder = f"{replace.column}={slice_value_text(value)}"
                rows = data.filter(pc.equal(column, pa.scalar(value, column.type)))
                if rows.num_rows:
                    (staging / folder).mkdir()
                    pq.write_table(rows.drop_columns([replace.column]), staging / folder / "part-0.parquet")
                    _swap(staging / folder, target / folder)
                elif (target / folder).exists():
                    _swap(None, target / folder)
            _write_schema(target, data.schema, replace.column)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
    ) -> pa.Table:
        folder = self.folder(table)
        if not self.exists(table):
            raise StorageError(f"{table}: no such table at {folder}")
        schema = pq.read_schema(folder / _SCHEMA_FILE)
        partition_column = _partition_column(folder)
        partitioning = None
        if partition_column:
            field = schema.field(partition_column)
            partitioning = ds.partitioning(pa.schema([field]), flavor="hive")
        dataset = _dataset(folder, schema, partitioning)
        filter_ = None
        if where is not None:
            values = pa.array(where.values, schema.field(where.column).type)
            filter_ = ds.field(where.column).isin(values)
        return dataset.to_table(columns=list(columns) if columns else None, filter=filter_)

    def row_count(self, table: TableName) -> int:
        return _dataset(self.folder(table)).count_rows()


def _dataset(folder: Path, schema: pa.Schema | None = None, partitioning=None) -> ds.Dataset:
    """The table's data files, listed explicitly: pyarrow's discovery would skip folders
    starting with `_`, such as `_batch_id=...` slices."""
    files = sorted(str(p) for p in folder.glob("**/*.parquet") if not _hidden(p.relative_to(folder)))
    return ds.dataset(
        files,
        format="parquet",
        schema=schema,
        partitioning=partitioning,
        partition_base_dir=str(folder),
    )


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _write_schema(folder: Path, schema: pa.Schema, partition_column: str | None) -> None:
    metadata = {_PARTITION_KEY: (partition_column or "").encode()}
    staged = folder / f".{_SCHEMA_FILE}.{uuid.uuid4().hex}"
    pq.write_metadata(schema.with_metadata(metadata), staged)
    os.replace(staged, folder / _SCHEMA_FILE)


def _partition_column(folder: Path) -> str | None:
    metadata = pq.read_schema(folder / _SCHEMA_FILE).metadata or {}
    return metadata.get(_PARTITION_KEY, b"").decode() or None


def _swap(new: Path | None, target: Path) -> None:
    """Put `new` where `target` was (or just remove `target`): readers see old or new, whole."""
    retired = target.parent / f".{target.name}.retired-{uuid.uuid4().hex}"
    if target.exists():
        os.rename(target, retired)
    if new is not None:
        os.rename(new, target)
    shutil.rmtree(retired, ignore_errors=True)
