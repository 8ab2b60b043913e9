"""Rows DuckDB reads by itself and rows it produces when they are consumed: how tables pass
between storage, transforms and checks without going through Python's memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

DEFAULT_BATCH_ROWS = 100_000
STREAMING_MEMORY_LIMIT = "256MB"  # what DuckDB keeps while another writer consumes its rows


@dataclass(frozen=True)
class SqlScan:
    """Rows DuckDB reads by itself: `sql` is a SELECT over a table function of the DuckDB
    `extension` (such as `delta_scan`), so the rows never pass through Python or Arrow's memory
    and DuckDB reads them in parallel within its own memory limit. Paths and slice values reach
    `sql` as validated literals only."""

    sql: str
    extension: str | None = None  # None: DuckDB reads it with what it has built in
    remote: bool = False  # reads s3:// paths: DuckDB needs httpfs and the lake's secret


if TYPE_CHECKING:
    # what a transform or a check reads, scanned by DuckDB where it is (`engine.sql.connect`);
    # pyarrow has no type information, so to mypy this documents more than it checks
    Scannable: TypeAlias = pa.Table | ds.Dataset | SqlScan


@dataclass(frozen=True)
class SqlRows:
    """Rows a query on an open DuckDB connection produces when it runs: the write side of
    `SqlScan`. The Delta backend lets DuckDB write its Parquet files itself (`COPY`, in parallel,
    the rows never passing through Python); the others read them as a stream of Arrow batches
    (`reader`). Nothing runs before the rows are read or written, so several
    can be prepared on one connection and written one after the other (a DuckDB connection
    holds one open result at a time)."""

    connection: Any  # a duckdb.DuckDBPyConnection, kept open by whoever made the rows
    sql: str
    schema: pa.Schema
    batch_rows: int = DEFAULT_BATCH_ROWS

    def reader(self) -> pa.RecordBatchReader:
        """The rows as Arrow batches. Reading them first lowers DuckDB's memory limit (until the
        next connection sets it again): DuckDB writes what it holds beyond it to its temporary
        folder, so the consumer (delta-rs, with buffers of its own) does not need memory on top
        of everything DuckDB kept."""
        import pyarrow as pa

        def batches() -> Iterator[pa.RecordBatch]:
            self.connection.execute(f"SET memory_limit = '{STREAMING_MEMORY_LIMIT}'")
            yield from self.connection.execute(self.sql).to_arrow_reader(self.batch_rows)

        return pa.RecordBatchReader.from_batches(self.schema, batches())

    def read_all(self) -> pa.Table:
        return self.connection.execute(self.sql).to_arrow_table()

    def head(self, rows: int) -> pa.Table:
        """The first `rows` rows (a preview): DuckDB stops the query once it has them."""
        return self.connection.execute(f"SELECT * FROM ({self.sql}) LIMIT {int(rows)}").to_arrow_table()


def as_reader(rows: pa.RecordBatchReader | SqlRows) -> pa.RecordBatchReader:
    return rows.reader() if isinstance(rows, SqlRows) else rows
