"""Delta Lake tables through delta-rs: a slice is replaced by one predicate overwrite commit.

Every write is a new table version committed atomically, so a killed writer leaves the
previous version readable and old versions stay readable by time travel (`history`,
`read_version`) until `vacuum` removes their files; `optimize` compacts small files. Sliced
tables are physically partitioned by their slice column; slice columns are dates or text,
never naive timestamps (see the Delta IO manager trap in STYLE.md).

`write_stream` writes a table or a slice from a stream of batches, one batch in memory at a
time, or from a DuckDB query's rows, whose files DuckDB writes itself (`delta_copy`): how the
medallion layers and the drop folder move days and files larger than memory.

A slice written to a new table, or rows appended to one, first create the table empty (see
`_create`). A writer killed after that leaves the table there with no rows: it exists, is listed
and reads back empty with its schema, and the next write fills it. A writer killed while creating
it leaves a `_delta_log` folder with no version in it (delta-rs makes the folder, then links the
first commit into place): that is no table, and the next write creates it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.engine.identifiers import quote
from dataplatform.engine.scans import SqlRows, SqlScan, as_reader
from dataplatform.storage.contract import (
    Slice,
    TableFolders,
    TableName,
    check_slice_covers,
    missing,
    slice_predicate,
)
from dataplatform.storage.dataset_reads import DatasetReads
from dataplatform.storage.delta_copy import copy_and_commit, copyable
from dataplatform.storage.lake import delete_folder, delta_options, filesystem
from dataplatform.storage.schema import WritePlan, conform, evolve, normalise

if TYPE_CHECKING:
    from deltalake import CommitProperties, DeltaTable, WriterProperties

    from dataplatform.storage.backends import Place, WriteOptions

_VERSION_FILE = re.compile(r"\d{20}\.(json|checkpoint(\.\d+\.\d+)?\.parquet)")


def open_store(place: Place) -> DeltaStore:
    """Delta tables under `<lake>/delta`."""
    return DeltaStore(place.folder("delta"), place.layer, place.options)


class DeltaStore(TableFolders, DatasetReads):
    """Delta tables under a local folder or an s3:// prefix (credentials from AWS_*)."""

    backend = "delta"

    def __init__(
        self, root: Path | str, layer: str | None = None, options: WriteOptions | None = None
    ) -> None:
        super().__init__(root, layer)
        self.options = delta_options(str(self.root))
        # delta-rs's `writer_properties` when an option is set, else nothing (its defaults)
        properties = _writer_properties(options)
        self.writer_properties: dict[str, Any] = {"writer_properties": properties} if properties else {}

    def exists(self, table: TableName) -> bool:
        """Whether a version of the table is committed (see the module's note on killed writers)."""
        import pyarrow.fs as pafs

        fs, log = filesystem(f"{self.uri(table)}/_delta_log")
        listed = fs.get_file_info(pafs.FileSelector(log, allow_not_found=True))
        return any(_VERSION_FILE.fullmatch(info.base_name) for info in listed)

    def schema(self, table: TableName) -> pa.Schema:
        return self.dataset(table).schema

    def write(
        self,
        table: TableName,
        data: pa.Table,
        replace: Slice | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> None:
        """`commit_metadata` is kept in the commit (see `history`): what the write came from."""
        from deltalake import write_deltalake

        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        path = self.uri(table)
        predicate = None
        if replace is not None:
            check_slice_covers(table, plan.data, replace)
            if not exists:
                self._create(table, plan.schema, partition_by=[replace.column])
            predicate = slice_predicate(replace)
        write_deltalake(
            path,
            plan.data,
            mode="overwrite",
            predicate=predicate,
            schema_mode=_schema_mode(bool(plan.added)),
            storage_options=self.options,
            **self.writer_properties,
            commit_properties=_commit_properties(commit_metadata),
        )

    def append(
        self, table: TableName, data: pa.Table, commit_metadata: Mapping[str, str] | None = None
    ) -> None:
        from deltalake import write_deltalake

        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        if not exists:
            self._create(table, plan.schema, partition_by=None)
        write_deltalake(
            self.uri(table),
            plan.data,
            mode="append",
            schema_mode=_schema_mode(bool(plan.added)),
            storage_options=self.options,
            **self.writer_properties,
            commit_properties=_commit_properties(commit_metadata),
        )

    def write_stream(
        self,
        table: TableName,
        batches: pa.RecordBatchReader | SqlRows,
        replace: Slice | None = None,
        append: bool = False,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace the table or the `replace` slice (or append to the table) from a stream of
        batches in one commit, holding one batch at a time; a DuckDB query's rows that fit the
        table as they are, DuckDB writes as the table's files itself (`delta_copy`). An error
        raised by the stream is raised here as it was, and nothing is committed. Returns the
        rows written."""
        exists = self.exists(table)
        existing = self.schema(table) if exists else None
        schema = (
            evolve(table, existing, batches.schema) if existing is not None else normalise(batches.schema)
        )
        if isinstance(batches, SqlRows) and not self.writer_properties:  # DuckDB writes the files
            partition_by = [replace.column] if replace is not None else []
            if exists:
                partition_by = list(self._delta(table).metadata().partition_columns)
            if copyable(batches, schema, partition_by, replace):
                if not exists:
                    self._create(table, schema, partition_by=partition_by or None)
                mode = "append" if append else "overwrite"
                properties = _commit_properties(commit_metadata)
                return copy_and_commit(
                    self.uri(table), self.options, table, batches, schema, replace, mode, properties
                )
        if not exists and (append or replace is not None):
            self._create(table, schema, partition_by=[replace.column] if replace else None)
        return self._write_batches(
            table, as_reader(batches), schema, existing, replace, append, commit_metadata
        )

    def _write_batches(
        self,
        table: TableName,
        batches: pa.RecordBatchReader,
        schema: pa.Schema,
        existing: pa.Schema | None,
        replace: Slice | None,
        append: bool,
        commit_metadata: Mapping[str, str] | None,
    ) -> int:
        import pyarrow as pa
        from deltalake import write_deltalake

        added = existing is not None and any(f.name not in existing.names for f in schema)
        written = [0]
        failure: list[Exception] = []

        def conformed() -> Iterator[pa.RecordBatch]:
            try:
                for batch in batches:
                    written[0] += batch.num_rows
                    data = conform(pa.Table.from_batches([batch]), schema)
                    if replace is not None:
                        check_slice_covers(table, data, replace)
                    yield from data.to_batches()
            except Exception as error:  # kept to be raised as itself, not as delta-rs's wrapper
                failure.append(error)
                raise

        reader = pa.RecordBatchReader.from_batches(schema, conformed())
        commit = _commit_properties(commit_metadata)
        try:
            if append:  # a slice given is checked (`conformed`); only an overwrite replaces one
                write_deltalake(
                    self.uri(table),
                    reader,
                    mode="append",
                    schema_mode=_schema_mode(added),
                    storage_options=self.options,
                    **self.writer_properties,
                    commit_properties=commit,
                )
            else:
                write_deltalake(
                    self.uri(table),
                    reader,
                    mode="overwrite",
                    predicate=slice_predicate(replace) if replace is not None else None,
                    schema_mode=_schema_mode(added),
                    storage_options=self.options,
                    **self.writer_properties,
                    commit_properties=commit,
                )
        except Exception:
            if failure:
                raise failure[0] from None
            raise
        return written[0]

    def scan(
        self, table: TableName, where: Slice | None = None, columns: Sequence[str] | None = None
    ) -> SqlScan:
        """DuckDB's own Delta reader (the `delta` extension): partitions and files are pruned by
        the slice, and the rows stay in DuckDB."""
        from dataplatform.engine.identifiers import string_literal

        if not self.exists(table):
            raise missing(table, str(self.root))
        selected = ", ".join(quote(c) for c in columns) if columns else "*"
        sql = f"SELECT {selected} FROM delta_scan({string_literal(self.uri(table))})"
        return SqlScan(
            sql if where is None else f"{sql} WHERE {slice_predicate(where)}", "delta", self.remote
        )

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        return [table for table in self.table_folders(layer, "_delta_log") if self.exists(table)]

    def drop(self, table: TableName) -> None:
        delete_folder(*filesystem(self.uri(table)))

    # -- Delta's own: history, time travel, maintenance ---------------------------------------

    def history(self, table: TableName) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp, operation and its parameters."""
        return self._delta(table).history()

    def read_version(self, table: TableName, version: int) -> pa.Table:
        """The table as it was at `version` (time travel)."""
        from deltalake import DeltaTable

        self._delta(table)
        return (
            DeltaTable(self.uri(table), version=version, storage_options=self.options)
            .to_pyarrow_dataset()
            .to_table()
        )

    def optimize(self, table: TableName) -> dict[str, Any]:
        """Compact small files into larger ones; returns delta-rs's metrics."""
        return self._delta(table).optimize.compact()

    def vacuum(self, table: TableName, retention_hours: int = 168) -> list[str]:
        """Delete files no version newer than `retention_hours` needs; returns what went."""
        return self._delta(table).vacuum(
            retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False
        )

    def _create(self, table: TableName, schema: pa.Schema, partition_by: list[str] | None) -> None:
        """Create the table empty. Writers of different partitions may race to create it: one
        commit wins, the others find it there. Creating it by writing a partition with a plain
        overwrite would let a late creator erase an early writer's partition."""
        from deltalake import DeltaTable

        try:
            DeltaTable.create(
                self.uri(table),
                schema,
                mode="ignore",
                partition_by=partition_by,
                storage_options=self.options,
            )
        except Exception:
            if not self.exists(table):
                raise

    def _delta(self, table: TableName) -> DeltaTable:
        from deltalake import DeltaTable

        if not self.exists(table):
            raise missing(table, str(self.root))
        return DeltaTable(self.uri(table), storage_options=self.options)

    def dataset(self, table: TableName) -> ds.Dataset:
        return self._delta(table).to_pyarrow_dataset()


def _writer_properties(options: WriteOptions | None) -> WriterProperties | None:
    """delta-rs's Parquet settings for `options`; None (its defaults) when none is set. Rows per
    file cannot be set: delta-rs cuts files by size in bytes."""
    if options is None:
        return None
    options.refuse("delta", "file_rows", "delta-rs cuts its files by size in bytes, not rows")
    if options.compression is None and options.row_group_rows is None:
        return None
    from deltalake import WriterProperties

    codec = options.compression and (
        "UNCOMPRESSED" if options.compression == "none" else options.compression.upper()
    )
    return WriterProperties(
        compression=codec,  # type: ignore[arg-type]  # one of COMPRESSIONS, in delta-rs's spelling
        max_row_group_size=options.row_group_rows,
    )


def _commit_properties(metadata: Mapping[str, str] | None) -> CommitProperties | None:
    if not metadata:
        return None
    from deltalake import CommitProperties

    return CommitProperties(custom_metadata=dict(metadata))


def _schema_mode(columns_added: bool) -> Literal["merge"] | None:
    """New columns are merged into the table's schema; otherwise delta-rs's default (none)."""
    return "merge" if columns_added else None
