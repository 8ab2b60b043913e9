"""Parquet tables in S3-compatible object storage: all-or-nothing without renames.

Object storage has no rename, but a single PUT is atomic: an object appears whole or not at
all. So each replaceable unit (a whole table, or one partition of a sliced table) holds
versions side by side and a small `_current` object naming the one readers follow:

    <table>/_common_metadata                  the schema and partition column, as on disk
    <table>/_current                          a whole table: "v-<token>"
    <table>/v-<token>/part-<n>.parquet
    <table>/<column>=<value>/_current         a sliced table: one pointer per partition
    <table>/<column>=<value>/v-<token>/part-<n>.parquet

A write (`write` or `write_stream`, a batch at a time) puts every file of the new versions
first, then the schema, then switches each unit's `_current` with one PUT and deletes the
versions it replaced. A write that fails before the switches deletes its files; a writer killed
before them leaves the previous version current (its unfinished files are deleted by the next
write of that unit); killed after a switch, that unit's new version is whole. Appending puts
one more file into the current version, itself one PUT. Partitions are still Hive folders (`<column>=<value>`), so the folder between
a partition and its files is ignored by Arrow's and DuckDB's partition parsing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dataplatform.storage.contract import Slice, TableName, slice_value_text
from dataplatform.storage.lake import S3, delete_folder, filesystem
from dataplatform.storage.parquet_store import (
    _PARTITION_KEY,
    _SCHEMA_FILE,
    PART_ROWS,
    ParquetStore,
    _equals,
    _partition_column,
    partition_folder,
    write_file,
)
from dataplatform.storage.schema import WritePlan

if TYPE_CHECKING:
    from dataplatform.storage.backends import WriteOptions

_CURRENT = "_current"
_VERSION = "v-"


class ParquetObjectStore(ParquetStore):
    """The Parquet backend on an s3:// lake root; readers see the same tables as on disk."""

    def __init__(
        self,
        root: Path | str,
        part_rows: int = PART_ROWS,
        layer: str | None = None,
        options: WriteOptions | None = None,
    ) -> None:
        super().__init__(root, part_rows, layer, options)
        self.fs, self.base = filesystem(str(self.root))

    def exists(self, table: TableName) -> bool:
        return bool(
            self.fs.get_file_info(f"{self._table_path(table)}/{_SCHEMA_FILE}").type == pafs.FileType.File
        )

    def append(self, table: TableName, data: pa.Table) -> None:
        if not self.exists(table):
            self.write(table, data)
            return
        path = self._table_path(table)
        existing = self._stored_schema(table)
        plan = WritePlan(table, existing.remove_metadata(), data)
        column = _partition_column(existing)
        self._write_schema(path, plan.schema, column)
        if column is None:
            self._append_to_unit(path, plan.data, keep={_SCHEMA_FILE})
            return
        for value in pc.unique(plan.data.column(column)).to_pylist():
            rows = plan.data.filter(_equals(plan.data, column, value))
            if rows.num_rows:
                unit = f"{path}/{column}={slice_value_text(value)}"
                self._append_to_unit(unit, rows.drop_columns([column]), keep=set())

    def drop(self, table: TableName) -> None:
        """The schema object goes first: from then on the table does not exist for anyone."""
        path = self._table_path(table)
        if self.exists(table):
            self.fs.delete_file(f"{path}/{_SCHEMA_FILE}")
        delete_folder(self.fs, path)

    # -- the hooks `ParquetStore` reads and writes through ---------------------------------------

    def _staged(self, table: TableName, replace: Slice | None) -> _StagedVersions:
        return _StagedVersions(self, self._table_path(table), replace)

    def _stored_schema(self, table: TableName) -> pa.Schema:
        return pq.read_schema(f"{self._table_path(table)}/{_SCHEMA_FILE}", filesystem=self.fs)

    def _data_files(self, table: TableName, column: str | None, where: Slice | None) -> list[str]:
        path = self._table_path(table)
        if column is None:
            units = [path]
        elif where is not None and where.column == column:
            units = [f"{path}/{column}={slice_value_text(v)}" for v in where.values]
        else:
            listed = self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
            units = sorted(i.path for i in listed if i.type == pafs.FileType.Directory and "=" in i.base_name)
        return [file for unit in units for file in self._current_files(unit)]

    def _footer(self, file: str) -> pa.Schema:
        return pq.read_schema(file, filesystem=self.fs)

    def _table_path(self, table: TableName) -> str:
        return "/".join([self.base, *self.parts(table)])

    def _filesystem(self) -> pafs.FileSystem:
        return self.fs

    def _duckdb_path(self, file: str) -> str:
        return S3 + file

    # -- versions and the pointer ----------------------------------------------------------------

    def _current_files(self, unit: str) -> list[str]:
        version = self._current(unit)
        if version is None:
            return []
        listed = self.fs.get_file_info(pafs.FileSelector(f"{unit}/{version}", allow_not_found=True))
        return sorted(
            i.path for i in listed if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
        )

    def _current(self, unit: str) -> str | None:
        try:
            with self.fs.open_input_stream(f"{unit}/{_CURRENT}") as stream:
                return str(stream.read().decode())
        except FileNotFoundError:
            return None

    def _replace_unit(self, unit: str, data: pa.Table, keep: set[str]) -> None:
        """Put `data` as a new version of `unit` and switch to it."""
        version = _new_version()
        write_file(data, f"{unit}/{version}/part-0.parquet", self.fs, self.options)
        self._switch(unit, version, keep)

    def _switch(self, unit: str, version: str, keep: set[str]) -> None:
        """Make `version` the unit's current one, then remove everything else in the unit but
        `keep` (earlier versions, a killed writer's files, old partitions)."""
        self._put(f"{unit}/{_CURRENT}", version.encode())
        self._remove_all_but(unit, keep | {_CURRENT, version})

    def _append_to_unit(self, unit: str, data: pa.Table, keep: set[str]) -> None:
        version = self._current(unit)
        if version is None:
            self._replace_unit(unit, data, keep)
            return
        write_file(data, f"{unit}/{version}/part-{uuid.uuid4().hex}.parquet", self.fs, self.options)

    def _delete_unit(self, unit: str) -> None:
        """Empty a partition: its pointer goes first, so readers never see half of it."""
        if self._current(unit) is not None:
            self.fs.delete_file(f"{unit}/{_CURRENT}")
        delete_folder(self.fs, unit)

    def _remove_all_but(self, unit: str, keep: set[str]) -> None:
        for info in self.fs.get_file_info(pafs.FileSelector(unit, allow_not_found=True)):
            if info.base_name in keep:
                continue
            if info.type == pafs.FileType.Directory:
                self.fs.delete_dir(info.path)
            else:
                self.fs.delete_file(info.path)

    def _write_schema(self, path: str, schema: pa.Schema, partition_column: str | None) -> None:
        metadata = schema.with_metadata({_PARTITION_KEY: (partition_column or "").encode()})
        pq.write_metadata(metadata, f"{path}/{_SCHEMA_FILE}", filesystem=self.fs)

    def _put(self, key: str, body: bytes) -> None:
        with self.fs.open_output_stream(key) as stream:
            stream.write(body)


def _new_version() -> str:
    return f"{_VERSION}{uuid.uuid4().hex}"


class _StagedVersions:
    """A replacement written as a new version of each unit it replaces (the whole table, or each
    partition of `replace`), made current by `commit`; versions never made current are deleted."""

    def __init__(self, store: ParquetObjectStore, path: str, replace: Slice | None) -> None:
        self.store, self.path, self.replace = store, path, replace
        self.filesystem = store.fs
        self.version = _new_version()
        self.pending: set[str] = set()  # units with files of this version, not yet current

    def folder(self, unit: str | None) -> str:
        unit_path = f"{self.path}/{unit}" if unit else self.path
        self.pending.add(unit_path)
        return f"{unit_path}/{self.version}"

    def commit(self, schema: pa.Schema) -> None:
        column = self.replace.column if self.replace else None
        self.store._write_schema(self.path, schema, column)
        if self.replace is None:
            self.store._switch(self.path, self.version, keep={_SCHEMA_FILE})
            self.pending.discard(self.path)
            return
        for value in self.replace.values:
            unit = f"{self.path}/{partition_folder(self.replace.column, value)}"
            if unit in self.pending:
                self.store._switch(unit, self.version, keep=set())
                self.pending.discard(unit)
            else:
                self.store._delete_unit(unit)

    def __enter__(self) -> _StagedVersions:
        return self

    def __exit__(self, *exc: object) -> None:
        for unit in self.pending:
            delete_folder(self.filesystem, f"{unit}/{self.version}")
