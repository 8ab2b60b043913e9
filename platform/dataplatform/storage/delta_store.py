"""Delta Lake tables through delta-rs: a slice is replaced by one predicate overwrite commit.

Every write is a new table version committed atomically, so a killed writer leaves the
previous version readable and old versions stay readable by time travel (`history`,
`read_version`) until `vacuum` removes their files; `optimize` compacts small files. Sliced
tables are physically partitioned by their slice column; slice columns are dates or text,
never naive timestamps (see the Delta IO manager trap in STYLE.md).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.storage.contract import (
    Slice,
    TableFolders,
    TableName,
    check_slice_covers,
    missing,
    slice_value_text,
)
from dataplatform.storage.dataset_reads import DatasetReads
from dataplatform.storage.schema import WritePlan


class DeltaStore(TableFolders, DatasetReads):
    backend = "delta"

    def exists(self, table: TableName) -> bool:
        return (self.folder(table) / "_delta_log").is_dir()

    def schema(self, table: TableName) -> pa.Schema:
        return self.dataset(table).schema

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        from deltalake import write_deltalake

        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        options = {"schema_mode": "merge"} if plan.added else {}
        path = self.folder(table)
        if replace is None:
            write_deltalake(path, plan.data, mode="overwrite", **options)
            return
        check_slice_covers(table, plan.data, replace)
        if not exists:
            self._create(table, plan.schema, partition_by=[replace.column])
        literals = ", ".join(f"'{slice_value_text(v)}'" for v in replace.values)
        predicate = f'"{replace.column}" IN ({literals})'
        write_deltalake(path, plan.data, mode="overwrite", predicate=predicate, **options)

    def append(self, table: TableName, data: pa.Table) -> None:
        from deltalake import write_deltalake

        exists = self.exists(table)
        plan = WritePlan(table, self.schema(table) if exists else None, data)
        if not exists:
            self._create(table, plan.schema, partition_by=None)
        options = {"schema_mode": "merge"} if plan.added else {}
        write_deltalake(self.folder(table), plan.data, mode="append", **options)

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        return self.table_folders(layer, "_delta_log")

    def drop(self, table: TableName) -> None:
        import shutil

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
