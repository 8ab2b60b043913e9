"""Delta Lake tables through delta-rs: a slice is replaced by one predicate overwrite commit.

Every write is a new table version committed atomically, so a killed writer leaves the
previous version readable and old versions stay readable by time travel (`history`,
`read_version`) until `vacuum` removes their files; `optimize` compacts small files. Sliced
tables are physically partitioned by their slice column; slice columns are dates or text,
never naive timestamps (see the Delta IO manager trap in STYLE.md).

What a write stored is also kept in memory for a while (`recent.py`): a read that provably
returns the same rows (same table version, and no file outside the written slice can hold a
row of the read's slice, by its partition value or its column statistics) is answered from
there instead of decoding the files again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableFolders,
    TableName,
    check_slice_covers,
    missing,
    slice_value_text,
)
from dataplatform.storage.dataset_reads import DatasetReads
from dataplatform.storage.recent import RECENT, Written
from dataplatform.storage.schema import WritePlan, conform, evolve, normalise


class DeltaStore(TableFolders, DatasetReads):
    backend = "delta"

    def exists(self, table: TableName) -> bool:
        return (self.folder(table) / "_delta_log").is_dir()

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

        location = self.location(table)
        RECENT.forget(location)
        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        options = {"schema_mode": "merge"} if plan.added else {}
        options |= _commit_properties(commit_metadata)
        path = self.folder(table)
        if replace is None:
            before = self._version(table) if exists else -1
            write_deltalake(path, plan.data, mode="overwrite", **options)
            self._remember(table, before, None, plan.data)
            return
        check_slice_covers(table, plan.data, replace)
        if not exists:
            self._create(table, plan.schema, partition_by=[replace.column])
        before = self._version(table)
        literals = ", ".join(f"'{slice_value_text(v)}'" for v in replace.values)
        predicate = f'"{replace.column}" IN ({literals})'
        write_deltalake(path, plan.data, mode="overwrite", predicate=predicate, **options)
        self._remember(table, before, replace, plan.data)

    def append(
        self, table: TableName, data: pa.Table, commit_metadata: Mapping[str, str] | None = None
    ) -> None:
        from deltalake import write_deltalake

        RECENT.forget(self.location(table))
        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        if not exists:
            self._create(table, plan.schema, partition_by=None)
        options = {"schema_mode": "merge"} if plan.added else {}
        options |= _commit_properties(commit_metadata)
        write_deltalake(self.folder(table), plan.data, mode="append", **options)

    def write_stream(
        self,
        table: TableName,
        batches: pa.RecordBatchReader,
        append: bool = False,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> int:
        """Replace (or append to) the table from a stream of batches in one commit, holding one
        batch at a time: how a file of any size is loaded. An error raised by the stream is
        raised here as it was, and nothing is committed. Returns the rows written."""
        import pyarrow as pa
        from deltalake import write_deltalake

        RECENT.forget(self.location(table))
        exists = self.exists(table)
        existing = self.schema(table) if exists else None
        schema = (
            evolve(table, existing, batches.schema) if existing is not None else normalise(batches.schema)
        )
        added = existing is not None and any(f.name not in existing.names for f in schema)
        if append and not exists:
            self._create(table, schema, partition_by=None)
        written, failure = [0], []

        def conformed():
            try:
                for batch in batches:
                    written[0] += batch.num_rows
                    yield from conform(pa.Table.from_batches([batch]), schema).to_batches()
            except Exception as error:  # kept to be raised as itself, not as delta-rs's wrapper
                failure.append(error)
                raise

        options = {"schema_mode": "merge"} if added else {}
        options |= _commit_properties(commit_metadata)
        try:
            write_deltalake(
                self.folder(table),
                pa.RecordBatchReader.from_batches(schema, conformed()),
                mode="append" if append else "overwrite",
                **options,
            )
        except Exception:
            if failure:
                raise failure[0] from None
            raise
        return written[0]

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        if limit is None and self.exists(table):
            found = self._recall(table, columns, where)
            if found is not None:
                return found
        return super().read(table, columns, where, limit)

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        return self.table_folders(layer, "_delta_log")

    def drop(self, table: TableName) -> None:
        import shutil

        RECENT.forget(self.location(table))
        shutil.rmtree(self.folder(table), ignore_errors=True)

    # -- Delta's own: history, time travel, maintenance ---------------------------------------

    def history(self, table: TableName) -> list[dict]:
        """Commits, newest first: version, timestamp, operation and its parameters."""
        return self._delta(table).history()

    def read_version(self, table: TableName, version: int) -> pa.Table:
        """The table as it was at `version` (time travel)."""
        from deltalake import DeltaTable

        self._delta(table)
        return DeltaTable(self.folder(table), version=version).to_pyarrow_dataset().to_table()

    def optimize(self, table: TableName) -> dict:
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
            DeltaTable.create(self.folder(table), schema, mode="ignore", partition_by=partition_by)
        except Exception:
            if not self.exists(table):
                raise

    def _delta(self, table: TableName):
        from deltalake import DeltaTable

        if not self.exists(table):
            raise missing(table, str(self.root))
        return DeltaTable(self.folder(table))

    def dataset(self, table: TableName) -> ds.Dataset:
        return self._delta(table).to_pyarrow_dataset()

    # -- answering reads from the last write ---------------------------------------------------

    def _version(self, table: TableName) -> int:
        return self._delta(table).version()

    def _remember(self, table: TableName, before: int, replace: Slice | None, data: pa.Table) -> None:
        """Keep what was written if the table's next version is this write's (no one else's)."""
        after = self._version(table)
        if after == before + 1:
            RECENT.remember(self.location(table), Written(after, replace, data))

    def _recall(
        self, table: TableName, columns: Sequence[str] | None, where: Slice | None
    ) -> pa.Table | None:
        delta = self._delta(table)
        entry = RECENT.recall(self.location(table), delta.version())
        if entry is None:
            return None
        if entry.replaced is not None and not _only_rows_of(delta, entry.replaced, where):
            return None
        data = entry.data
        if where is not None:
            if where.column not in data.column_names:
                return None
            mask = where.mask(data)
            if mask.null_count or not pc.all(mask).as_py():
                data = data.filter(mask)
        schema = delta.to_pyarrow_dataset().schema
        names = list(columns) if columns else schema.names
        if any(n not in data.column_names or n not in schema.names for n in names):
            return None
        fields = [schema.field(n) for n in names]
        arrays = [
            data.column(f.name)
            if data.schema.field(f.name).type == f.type
            else data.column(f.name).cast(f.type)
            for f in fields
        ]
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _commit_properties(metadata: Mapping[str, str] | None) -> dict:
    if not metadata:
        return {}
    from deltalake import CommitProperties

    return {"commit_properties": CommitProperties(custom_metadata=dict(metadata))}


def _only_rows_of(delta, written: Slice, where: Slice | None) -> bool:
    """Whether every row of the table in `where` (every row, without it) lies in the files of the
    `written` slice: each other file is excluded by its partition value or its statistics."""
    actions = pa.table(delta.get_add_actions(flatten=True)).to_pylist()
    partition = f"partition.{written.column}"
    kept = {slice_value_text(v) for v in written.values}
    wanted = None if where is None else [_text(v) for v in where.values]
    for action in actions:
        if partition not in action:
            return False
        if _text(action[partition]) in kept:
            continue
        if where is None or wanted is None or None in wanted:
            return False
        if where.column == written.column:
            if _text(action[partition]) in wanted:
                return False
            continue
        if action.get(f"null_count.{where.column}") == action.get("num_records") is not None:
            continue  # every value null: matches no slice value
        low, high = action.get(f"min.{where.column}"), action.get(f"max.{where.column}")
        if low is None or high is None:
            return False
        for value in where.values:
            # text statistics may be truncated: only dates and integers are trusted
            if not isinstance(value, (date, int)) or isinstance(value, bool):
                return False
            try:
                if low <= value <= high:
                    return False
            except TypeError:
                return False
    return True


def _text(value) -> str | None:
    if isinstance(value, str):
        return value
    try:
        return slice_value_text(value)
    except StorageError:
        return None
