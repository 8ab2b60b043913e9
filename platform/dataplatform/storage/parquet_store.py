"""Parquet folders with Hive partitions, written beside the table and renamed into place.

Layout: `<root>/<layer>/<domain>/<name>/` holds `part-*.parquet` files (a whole table) or
`<column>=<value>/part-*.parquet` folders (sliced tables), plus `_common_metadata` with the
full Arrow schema, so the partition column reads back with its real type and files written
before a column was added read it as null.

A replacement (`write`, `write_stream`) is written a batch at a time, never collected first:
one open Parquet writer per unit it replaces (the whole table, or each partition its rows fall
in), each starting a new part file after `part_rows` rows, so memory holds one batch and the
open files' buffers whatever the size of the stream. The files go to a staging area and become
the table's only once the last batch is written, so a stream that raises half way leaves the
previous version and no visible file. On disk the staging area is a hidden folder, swapped in
with two renames. A writer killed between them leaves a hidden `.retired` folder and no table:
the next access renames it back, so a reader always finds the previous version or the new one,
whole. (In object storage the staging area is a new version of each unit; see
`parquet_object_store.py`.)
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from dataplatform.engine.identifiers import quote, string_literal
from dataplatform.engine.scans import SqlRows, SqlScan, as_reader
from dataplatform.storage.contract import (
    Slice,
    SliceValue,
    StorageError,
    TableFolders,
    TableName,
    check_slice_covers,
    missing,
    slice_predicate,
    slice_value_text,
)
from dataplatform.storage.dataset_reads import DatasetReads
from dataplatform.storage.schema import SchemaMismatch, WritePlan, conform, evolve, normalise

if TYPE_CHECKING:
    from dataplatform.storage.backends import Place, WriteOptions

_SCHEMA_FILE = "_common_metadata"
_PARTITION_KEY = b"dataplatform.partition_column"
_RETIRED = ".retired-"
PART_ROWS = 10_000_000  # rows per part file: a 100M-order day's ~250M items make ~25 files


def open_store(place: Place) -> ParquetStore:
    """Parquet tables under `<lake>/parquet`: on disk, or versioned units in object storage.
    `file_rows` bounds the rows of a part file; compression and row groups are the writer's."""
    from dataplatform.storage.lake import is_remote

    root = place.folder("parquet")
    part_rows = place.options.file_rows or PART_ROWS
    if is_remote(root):
        from dataplatform.storage.parquet_object_store import ParquetObjectStore

        return ParquetObjectStore(root, part_rows, place.layer, place.options)
    return ParquetStore(root, part_rows, place.layer, place.options)


class ParquetStore(TableFolders, DatasetReads):
    backend = "parquet"

    def __init__(
        self,
        root: Path | str,
        part_rows: int = PART_ROWS,
        layer: str | None = None,
        options: WriteOptions | None = None,
    ) -> None:
        from dataplatform.storage.backends import WriteOptions

        super().__init__(root, layer)
        self.part_rows = part_rows
        self.options = options or WriteOptions()

    def exists(self, table: TableName) -> bool:
        _recover(self.folder(table))
        return (self.folder(table) / _SCHEMA_FILE).exists()

    def schema(self, table: TableName) -> pa.Schema:
        self._require(table)
        return self._stored_schema(table).remove_metadata()

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        self._replace(table, data.schema, [data], replace)

    def write_stream(
        self, table: TableName, batches: pa.RecordBatchReader | SqlRows, replace: Slice | None = None
    ) -> int:
        """`write` a batch at a time (see the module's note): a landing day of any size needs
        the memory of one batch. Returns the rows written."""
        reader = as_reader(batches)
        return self._replace(table, reader.schema, (pa.Table.from_batches([b]) for b in reader), replace)

    def _replace(
        self, table: TableName, declared: pa.Schema, pieces: Iterable[pa.Table], replace: Slice | None
    ) -> int:
        """Replace the table, or the partitions of `replace`, by the rows of `pieces` (declared
        to have the schema `declared`); returns the rows written. Everything that can be refused
        before a row is read is; what a piece reveals (rows outside the slice, columns that do not
        fit) stops the write with nothing of it visible."""
        existing = self._stored_schema(table) if self.exists(table) else None
        schema = (
            normalise(declared) if existing is None else evolve(table, existing.remove_metadata(), declared)
        )
        if replace is not None:
            _check_partitioning(table, existing, schema, replace)
        files_schema = schema.remove(schema.get_field_index(replace.column)) if replace else schema
        written = 0
        with self._staged(table, replace) as staged:
            with _PartFiles(staged, files_schema, self.part_rows, self.options) as parts:
                if replace is None:
                    parts.start(None)  # an empty stream still makes the table, with its schema
                for piece in pieces:
                    data = _conformed(table, piece, declared, schema)
                    written += data.num_rows
                    if replace is None:
                        parts.write(None, data)
                        continue
                    check_slice_covers(table, data, replace)
                    for folder, rows in _partitions(data, replace):
                        parts.write(folder, rows)
            staged.commit(schema)
        return written

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
            write_file(rows.drop_columns([column]) if column else rows, str(staged), None, self.options)
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
        selected = ", ".join(quote(n) for n in (columns or schema.names))
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

    def _staged(self, table: TableName, replace: Slice | None) -> Staged:
        """Where a replacement of the table (or of the partitions of `replace`) is written."""
        return _StagedFolder(self.folder(table), replace)

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

    def _filesystem(self) -> pafs.FileSystem | None:
        return None  # the local file system

    def _duckdb_path(self, file: str) -> str:
        return file

    def _require(self, table: TableName) -> None:
        if not self.exists(table):
            raise missing(table, str(self.root))


def write_file(data: pa.Table, path: str, fs: pafs.FileSystem | None, options: WriteOptions) -> None:
    """One Parquet file of `data`, compressed and cut into row groups as `options` say."""
    pq.write_table(data, path, filesystem=fs, row_group_size=options.row_group_rows, **compression(options))


def compression(options: WriteOptions) -> dict[str, str]:
    """pyarrow's `compression` argument for `options`; its default (snappy) when unset."""
    return {"compression": options.compression} if options.compression else {}


def _equals(data: pa.Table, column: str, value: SliceValue) -> pa.ChunkedArray:
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


def partition_folder(column: str, value: SliceValue) -> str:
    """The Hive folder of a partition: `<column>=<value>`."""
    return f"{column}={slice_value_text(value)}"


def _check_partitioning(
    table: TableName, existing: pa.Schema | None, schema: pa.Schema, replace: Slice
) -> None:
    column = _partition_column(existing)
    if existing is not None and column != replace.column:
        raise StorageError(f"{table}: partitioned by {column!r}, not {replace.column!r}")
    if replace.column not in schema.names:
        raise StorageError(f"{table}: slice column {replace.column!r} is not in the data")


def _conformed(table: TableName, piece: pa.Table, declared: pa.Schema, schema: pa.Schema) -> pa.Table:
    """`piece` with the table's columns after this write. Nothing makes a stream's batches hold
    the schema the stream declared, so one that differs is checked on its own: a column the
    stream never declared, a changed type or a missing required column is refused before its
    rows reach a file."""
    if piece.schema != declared:
        undeclared = [name for name in piece.column_names if name not in schema.names]
        if undeclared:
            raise SchemaMismatch(
                f"{table}: a batch holds columns {undeclared} that the stream's schema does not declare"
            )
        evolve(table, schema, piece.schema)
    return conform(piece, schema)


def _partitions(data: pa.Table, replace: Slice) -> Iterator[tuple[str, pa.Table]]:
    """The rows of each of the slice's values (checked to cover them all), as the partition's
    folder and its rows without the slice column, which the folder's name holds."""
    if len(replace.values) == 1:  # every row holds the one value: no filtering, no copy
        yield partition_folder(replace.column, replace.values[0]), data.drop_columns([replace.column])
        return
    for value in replace.values:
        rows = data.filter(_equals(data, replace.column, value))
        if rows.num_rows:
            yield partition_folder(replace.column, value), rows.drop_columns([replace.column])


class Staged(Protocol):
    """Where a replacement's files are written before they are the table's (the whole table, or
    the partitions of `replace`): on disk a hidden folder, in object storage new versions."""

    filesystem: pafs.FileSystem | None  # None: the local file system

    def folder(self, unit: str | None) -> str:
        """Where the files of `unit` go: None for the whole table, else a partition's folder."""

    def commit(self, schema: pa.Schema) -> None:
        """Make the files written the table's (with `schema`); a replaced partition that got no
        rows is emptied."""

    def __enter__(self) -> Staged: ...

    def __exit__(self, *exc: object) -> None:
        """Remove whatever was written and not committed."""


class _PartFiles:
    """One open Parquet writer per unit that got rows, each starting a new part file once it
    holds `part_rows` rows. Each `write` goes to the file as row groups at once, so only the
    open files' buffers stay in memory."""

    def __init__(self, staged: Staged, schema: pa.Schema, part_rows: int, options: WriteOptions) -> None:
        self.staged, self.schema, self.part_rows, self.options = staged, schema, part_rows, options
        self.writers: dict[str | None, pq.ParquetWriter] = {}
        self.held: dict[str | None, int] = {}  # rows in each unit's open file
        self.started: dict[str | None, int] = {}  # files each unit has started

    def start(self, unit: str | None) -> None:
        """Open the unit's next part file, closing the one before."""
        if unit in self.writers:
            self.writers.pop(unit).close()
        number = self.started.get(unit, 0)
        path = f"{self.staged.folder(unit)}/part-{number}.parquet"
        self.writers[unit] = pq.ParquetWriter(
            path, self.schema, filesystem=self.staged.filesystem, **compression(self.options)
        )
        self.started[unit], self.held[unit] = number + 1, 0

    def write(self, unit: str | None, rows: pa.Table) -> None:
        offset = 0
        while offset < rows.num_rows:
            if unit not in self.writers or self.held[unit] >= self.part_rows:
                self.start(unit)
            taken = min(self.part_rows - self.held[unit], rows.num_rows - offset)
            self.writers[unit].write_table(rows.slice(offset, taken), self.options.row_group_rows)
            self.held[unit] += taken
            offset += taken

    def __enter__(self) -> _PartFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()


class _StagedFolder:
    """A replacement built in a hidden staging folder: beside the table folder for the whole
    table, inside it for partitions; swapped in by `_swap`, a partition at a time."""

    filesystem = None

    def __init__(self, target: Path, replace: Slice | None) -> None:
        self.target, self.replace = target, replace
        parent = target.parent if replace is None else target
        parent.mkdir(parents=True, exist_ok=True)
        name = target.name if replace is None else "slices"
        self.path = parent / f".{name}.staging-{uuid.uuid4().hex}"

    def folder(self, unit: str | None) -> str:
        folder = self.path / unit if unit else self.path
        folder.mkdir(exist_ok=True)
        return str(folder)

    def commit(self, schema: pa.Schema) -> None:
        if self.replace is None:
            _write_schema(self.path, schema, None)
            _swap(self.path, self.target)
            return
        for value in self.replace.values:
            name = partition_folder(self.replace.column, value)
            if (self.path / name).exists():
                _swap(self.path / name, self.target / name)
            elif (self.target / name).exists():
                _swap(None, self.target / name)
        _write_schema(self.target, schema, self.replace.column)

    def __enter__(self) -> _StagedFolder:
        self.path.mkdir()
        return self

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
