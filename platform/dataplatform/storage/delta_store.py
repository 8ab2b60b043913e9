"""Delta Lake tables through delta-rs: a slice is replaced by one predicate overwrite commit.

Every write is a new table version, so the previous state stays readable by time travel.
Sliced tables are physically partitioned by their slice column; slice columns are dates or
text, never naive timestamps (see the Delta IO manager trap in STYLE.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableFolders,
    TableName,
    check_slice_covers,
    slice_value_text,
)


class DeltaStore(TableFolders):
    backend = "delta"

    def exists(self, table: TableName) -> bool:
        return (self.folder(table) / "_delta_log").is_dir()

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        from deltalake import write_deltalake

        path = self.folder(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        if replace is None:
            write_deltalake(path, data, mode="overwrite")
            return
        check_slice_covers(table, data, replace)
        if not self.exists(table):
            write_deltalake(path, data, mode="overwrite", partition_by=[replace.column])
            return
        literals = ", ".join(f"'{slice_value_text(v)}'" for v in replace.values)
        predicate = f'"{replace.column}" IN ({literals})'
        write_deltalake(path, data, mode="overwrite", predicate=predicate)

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
    ) -> pa.Table:
        from deltalake import DeltaTable

        if not self.exists(table):
            raise StorageError(f"{table}: no such table at {self.folder(table)}")
        dataset = DeltaTable(self.folder(table)).to_pyarrow_dataset()
        filter_ = None
        if where is not None:
            values = pa.array(where.values, dataset.schema.field(where.column).type)
            filter_ = ds.field(where.column).isin(values)
        return dataset.to_table(columns=list(columns) if columns else None, filter=filter_)

    def row_count(self, table: TableName) -> int:
        from deltalake import DeltaTable

        return DeltaTable(self.folder(table)).to_pyarrow_dataset().count_rows()
