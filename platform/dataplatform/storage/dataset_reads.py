"""Reading for stores whose tables are pyarrow datasets (Parquet folders, Delta tables)."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from dataplatform.engine.scans import DEFAULT_BATCH_ROWS
from dataplatform.storage.contract import Slice, TableName

# Scanners of Arrow datasets (Delta tables above all) can leave threads that outlive Python's
# shutdown and abort the process ("terminate called without an active exception", exit 134)
# after all work succeeded; collecting them while Arrow is still alive prevents it (seen here
# once in a reader process; known upstream, delta-io/delta-rs#2184).
atexit.register(gc.collect)


class DatasetReads:
    """`read`, `scan`, `read_batches` and `row_count` over the dataset a subclass's `dataset` opens."""

    def dataset(self, table: TableName) -> ds.Dataset:
        raise NotImplementedError

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        dataset = self.dataset(table)
        selected, filter_ = list(columns) if columns else None, slice_filter(dataset.schema, where)
        if limit is not None:
            return dataset.head(limit, columns=selected, filter=filter_)
        return dataset.to_table(columns=selected, filter=filter_)

    def scan(
        self, table: TableName, where: Slice | None = None, columns: Sequence[str] | None = None
    ) -> ds.Dataset:
        """The dataset whole: DuckDB pushes its projection into a dataset's scan itself."""
        dataset = self.dataset(table)
        return dataset if where is None else dataset.filter(slice_filter(dataset.schema, where))

    def read_batches(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        dataset = self.dataset(table)
        selected = list(columns) if columns else None
        yield from dataset.to_batches(
            columns=selected, filter=slice_filter(dataset.schema, where), batch_size=batch_rows
        )

    def row_count(self, table: TableName) -> int:
        return int(self.dataset(table).count_rows())


def slice_filter(schema: pa.Schema, where: Slice | None) -> ds.Expression | None:
    if where is None:
        return None
    column_type = schema.field(where.column).type
    if len(where.values) == 1:  # an equality prunes and skips row groups by statistics more often than isin
        return ds.field(where.column) == pa.scalar(where.values[0], column_type)
    return ds.field(where.column).isin(pa.array(where.values, column_type))
