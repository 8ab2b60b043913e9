"""Parquet folders with Hive partitions, written beside the table and renamed into place.

Layout: `<root>/<layer>/<domain>/<name>/` holds `part-*.parquet` files (a whole table) or
`<column>=<value>/part-*.parquet` folders (sliced tables), plus `_common_metadata` with the
full Arrow schema, so the partition column reads back with its real type and files written
before a column was added read it as null.

A replacement is built in a hidden staging folder, then swapped in with two renames. A writer
killed between them leaves a hidden `.retired` folder and no table: the next access renames it
back, so a reader always finds the previous version or the new one, whole.
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
    SqlScan,
    StorageError,
    TableFolders,
    TableName,
    WholeTables,
    check_slice_covers,
    missing,
    quote_identifier,
    slice_predicate,
    slice_value_text,
)
from dataplatform.storage.dataset_reads import DatasetReads
from dataplatform.storage.duckdb_extensions import string_literal
from dataplatform.storage.schema import WritePlan

_SCHEMA_FILE = "_common_metadata"
_PARTITION_KEY = b"dataplatform.partition_column"
_RETIRED = ".retired-"


class ParquetStore(TableFolders, DatasetReads, WholeTables):
    backend = "parquet"

    def exists(self, table: TableName) -> bool:
        _recover(self.folder(table))
        return (self.folder(table) / _SCHEMA_FILE).exists()

    def schema(self, table: TableName) -> pa.Schema:
        self._require(table)
        return self._stored_schema(table).remove_metadata()

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        target = self.folder(table)
        existing = _read_schema(target) if self.exists(table) else None
        plan = WritePlan(table, existing and existing.remove_metadata(), data)
        if replace is None:
            with _staging(target.parent, table.name) as staging:
                pq.write_table(plan.data, staging / "part-0.parquet")
                _write_schema(staging, plan.schema, None)
                _swap(staging, target)
            return
        check_slice_covers(table, plan.data, replace)
        column = _partition_column(existing)
        if existing is not None and column != replace.column:
            raise StorageError(f"{table}: partitioned by {column!r}, not {replace.column!r}")
        target.mkdir(parents=True, exist_ok=True)
        with _staging(target, "slices") as staging:
            for value in replace.values:
                folder = f"{replace.column}={slice_value_text(value)}"
                rows = plan.data.filter(_equals(plan.data, replace.column, value))
                if rows.num_rows:
                    (staging / folder).mkdir()
                    pq.write_table(rows.drop_columns([replace.column]), staging / folder / "part-0.parquet")
                    _swap(staging / folder, target / folder)
                elif (target / folder).exists():
                    _swap(None, target / folder)
        _write_schema(target, plan.schema, replace.column)

    def append(self, table: TableName, data: pa.Table) -> None:
        if not self.exists(table):
            self.write(table, data)
            return
        target = self.folder(table)
        existing = _read_schema(target)
        plan = WritePlan(table, existing.remove_metadata(), data)
        column = _partition_column(existing)
        groups = [(target, plan.data)]
        if column:
            groups = [
                (
                    target / f"{column}={slice_value_text(value)}",
                    plan.data.filter(_equals(plan.data, column, value)),
                )
                for value in pc.unique(plan.data.column(column)).to_pylist()
            ]
        _write_schema(target, plan.schema, column)
        for folder, rows in groups:
            if not rows.num_rows:
                continue
            folder.mkdir(exist_ok=True)
            name = f"part-{uuid.uuid4().hex}.parquet"
            staged = folder / f".{name}"
            pq.write_table(rows.drop_columns([column]) if column else rows, staged)
            os.rename(staged, folder / name)  # a file appears whole or not at all

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        return self.table_folders(layer, _SCHEMA_FILE)

    def drop(self, table: TableName) -> None:
        if self.folder(table).exists():
            _swap(None, self.folder(table))

    def scan(
        self, table: TableName, where: Slice | None = None, columns: Sequence[str] | None = None
    ) -> SqlScan | ds.Dataset:
        """DuckDB's own Parquet reader over the slice's files when every file holds every column
        (else the Arrow dataset, which fills columns added later with nulls): DuckDB reads in
        parallel within its memory limit, where an Arrow scan reads ahead outside it."""
        self._require(table)
        stored_schema = self._stored_schema(table)
        schema = stored_schema.remove_metadata()
        column = _partition_column(stored_schema)
        files = self._data_files(table, column, where)
        stored = [f for f in schema.names if f != column]
        hive_type = _DUCKDB_TYPES.get(str(schema.field(column).type)) if column else None
        if not files or (column and hive_type is None) or any(self._footer(f).names != stored for f in files):
            return super().scan(table, where, columns)
        options = (
            f", hive_partitioning = true, hive_types = {{{string_literal(column)}: {hive_type}}}"
            if column
            else ""
        )
        listed = ", ".join(string_literal(self._duckdb_path(f)) for f in files)
        selected = ", ".join(quote_identifier(n) for n in (columns or schema.names))
        sql = f"SELECT {selected} FROM read_parquet([{listed}]{options})"
        return SqlScan(
            sql if where is None or where.column == column else f"{sql} WHERE {slice_predicate(where)}",
            remote=self.remote,
        )

    def dataset(self, table: TableName) -> ds.Dataset:
        self._require(table)
        schema = self._stored_schema(table)
        column = _partition_column(schema)
        partitioning = ds.partitioning(pa.schema([schema.field(column)]), flavor="hive") if column else None
        return ds.dataset(
            self._data_files(table, column, None),
            format="parquet",
            schema=schema.remove_metadata(),
            partitioning=partitioning,
            partition_base_dir=self._table_path(table),
            filesystem=self._filesystem(),
        )

    # -- where the files are: overridden for object storage (`parquet_object_store.py`) ----------

    def _stored_schema(self, table: TableName) -> pa.Schema:
        """The table's schema with the platform's metadata (its partition column)."""
        return _read_schema(self.folder(table))

    def _data_files(self, table: TableName, column: str | None, where: Slice | None) -> list[str]:
        """The table's data files, only the slice's partitions when `where` is on `column`."""
        folder = self.folder(table)
        folders = (
            [folder / f"{column}={slice_value_text(v)}" for v in where.values]
            if where is not None and where.column == column
            else [folder]
        )
        return [str(f) for d in folders for f in _files(d, folder)]

    def _footer(self, file: str) -> pa.Schema:
        return pq.read_schema(file)

    def _table_path(self, table: TableName) -> str:
        return str(self.folder(table))

    def _filesystem(self):
        return None  # the local file system

    def _duckdb_path(self, file: str) -> str:
        return file

    def _require(self, table: TableName) -> None:
        if not self.exists(table):
            raise missing(table, str(self.root))


def _equals(data: pa.Table, column: str, value) -> pa.ChunkedArray:
    return pc.equal(data.column(column), pa.scalar(value, data.schema.field(column).type))


def _files(folder: Path, table_folder: Path) -> list[Path]:
    """The table's data files under `folder`, in a stable order."""
    return sorted(p for p in folder.glob("**/*.parquet") if not _hidden(p.relative_to(table_folder)))


# partition columns' Arrow types as DuckDB reads their folder names
_DUCKDB_TYPES = {"date32[day]": "DATE", "string": "VARCHAR", "int64": "BIGINT", "int32": "INTEGER"}


def _hidden(relative: Path) -> bool:
    """Staging, retired and in-flight files start with a dot and are never part of the table."""
    return any(part.startswith(".") for part in relative.parts)


def _read_schema(folder: Path) -> pa.Schema:
    return pq.read_schema(folder / _SCHEMA_FILE)


def _partition_column(schema: pa.Schema | None) -> str | None:
    metadata = (schema.metadata or {}) if schema is not None else {}
    return metadata.get(_PARTITION_KEY, b"").decode() or None


def _write_schema(folder: Path, schema: pa.Schema, partition_column: str | None) -> None:
    staged = folder / f".{_SCHEMA_FILE}.{uuid.uuid4().hex}"
    pq.write_metadata(schema.with_metadata({_PARTITION_KEY: (partition_column or "").encode()}), staged)
    os.replace(staged, folder / _SCHEMA_FILE)


class _staging:
    """A hidden folder beside the target for building a replacement; removed afterwards."""

    def __init__(self, parent: Path, name: str) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.path = parent / f".{name}.staging-{uuid.uuid4().hex}"

    def __enter__(self) -> Path:
        self.path.mkdir()
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _swap(new: Path | None, target: Path) -> None:
    """Put `new` where `target` was (or just remove `target`); see `_recover` for crashes."""
    retired = target.parent / f".{target.name}{_RETIRED}{os.getpid()}-{uuid.uuid4().hex}"
    if target.exists():
        os.rename(target, retired)
    if new is not None:
        os.rename(new, target)
    shutil.rmtree(retired, ignore_errors=True)


def _recover(folder: Path) -> None:
    """Finish what a killed writer left: restore a retired version whose successor never
    arrived, delete retired versions that were replaced. Applies to the table folder and to
    each of its partition folders, and only to writers that are gone (their process id is in
    the name), never to a live writer between its two renames."""
    for parent in (folder.parent, folder):
        if not parent.is_dir():
            continue
        for retired in parent.glob(f".*{_RETIRED}*"):
            name, _, owner = retired.name[1:].partition(_RETIRED)
            if _alive(int(owner.split("-")[0])):
                continue
            original = parent / name
            if original.exists():
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.rename(retired, original)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
