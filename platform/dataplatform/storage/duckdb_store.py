"""Tables in one DuckDB file, schema `<layer>_<domain>`, Arrow in and out without pandas.

Every write is one transaction: a slice is replaced with DELETE and INSERT, a whole table with
DELETE and INSERT too (so the table keeps its evolved schema), new columns are added with
ALTER TABLE in the same transaction. A killed writer's transaction never commits. Values are
bound as parameters; identifiers are validated by `TableName` and quoted. Reads open the file
read-only. DuckDB allows one writing process per file: Dagster steps writing it share a pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from dataplatform.engine.identifiers import quote
from dataplatform.engine.scans import DEFAULT_BATCH_ROWS
from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableName,
    WholeTables,
    check_slice_covers,
    missing,
    tables_in_namespaces,
)
from dataplatform.storage.schema import WritePlan

if TYPE_CHECKING:
    import duckdb

    from dataplatform.storage.backends import Place

LOCK_WAIT_SECONDS = 300


def open_store(place: Place) -> DuckDBStore:
    """The warehouse: one DuckDB file, `<data_dir>/warehouse.duckdb`."""
    return DuckDBStore(place.data_dir / "warehouse.duckdb")


class DuckDBStore(WholeTables):
    backend = "duckdb"
    layer: str | None = None  # a DuckLake may hold one layer's tables, each schema a domain

    def __init__(self, path: Path) -> None:
        self.path = path

    def location(self, table: TableName) -> str:
        return f"{self.path.resolve()}::{self._qualified(table)}"

    def exists(self, table: TableName) -> bool:
        if not self.path.exists():
            return False
        with self._connect(read_only=True) as con:
            return self._exists(con, table)

    def schema(self, table: TableName) -> pa.Schema:
        with self._connect(read_only=True) as con:
            self._require(con, table)
            return self._schema(con, table)

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        if replace is not None:
            check_slice_covers(table, data, replace)
        with self._transaction(table, data, replace) as (con, target):
            if replace is None:
                con.execute(f"DELETE FROM {target}")
            else:
                marks = ", ".join("?" for _ in replace.values)
                column = quote(replace.column)
                con.execute(f"DELETE FROM {target} WHERE {column} IN ({marks})", list(replace.values))
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")

    def append(self, table: TableName, data: pa.Table) -> None:
        with self._transaction(table, data) as (con, target):
            con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        sql, params = _select(self._qualified(table), columns, where, limit)
        with self._connect(read_only=True) as con:
            self._require(con, table)
            return con.execute(sql, params).to_arrow_table()

    def read_batches(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        sql, params = _select(self._qualified(table), columns, where, None)
        with self._connect(read_only=True) as con:
            self._require(con, table)
            yield from con.execute(sql, params).to_arrow_reader(batch_rows)

    def row_count(self, table: TableName) -> int:
        with self._connect(read_only=True) as con:
            self._require(con, table)
            counted = con.execute(f"SELECT count(*) FROM {self._qualified(table)}").fetchone()
            return int(counted[0]) if counted else 0

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        if not self.path.exists():
            return []
        with self._connect(read_only=True) as con:
            rows = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() ORDER BY ALL"
            ).fetchall()
        return tables_in_namespaces(rows, layer, self.layer)

    def drop(self, table: TableName) -> None:
        if self.path.exists():
            with self._connect(read_only=False) as con:
                con.execute(f"DROP TABLE IF EXISTS {self._qualified(table)}")

    @contextmanager
    def _transaction(
        self, table: TableName, data: pa.Table, replace: Slice | None = None
    ) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
        """One transaction: table created (partitioned by the slice column where the backend
        partitions) or evolved to fit `data` (registered as `incoming`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = self._qualified(table)
        with self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                existing = self._exists(con, table)
                plan = WritePlan(table, self._schema(con, table) if existing else None, data)
                con.register("incoming", plan.data)
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self._namespace(table))}")
                if not existing:
                    columns = ", ".join(
                        f"{quote(field.name)} {_duckdb_type(con, field.name)}"
                        + ("" if field.nullable else " NOT NULL")
                        for field in plan.schema
                    )
                    con.execute(f"CREATE TABLE {target} ({columns})")
                    self._partition(con, target, replace)
                for field in plan.added:
                    column = quote(field.name)
                    con.execute(f"ALTER TABLE {target} ADD COLUMN {column} {_duckdb_type(con, field.name)}")
                yield con, target
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection, waiting while another process holds the file's lock.

        DuckDB lets one process write a file and then no other process open it, even to read.
        Dagster's pool keeps the platform's own writers apart; this wait covers the rest (a
        check reading while a parallel run writes, a CLI summary during a run).
        """
        import duckdb

        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.05
        while True:
            try:
                con = self._open(read_only)
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"{self.path} stayed locked by another process for {LOCK_WAIT_SECONDS} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        con.execute("SET TimeZone = 'UTC'")
        return con

    # -- what a database in another form (a DuckLake) overrides ----------------------------------

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection to the database, its tables in the default catalog."""
        import duckdb

        return duckdb.connect(str(self.path), read_only=read_only)

    def _namespace(self, table: TableName) -> str:
        """The SQL schema holding the table."""
        return table.namespace

    def _partition(self, con: duckdb.DuckDBPyConnection, target: str, replace: Slice | None) -> None:
        """Partition a new table by its slice column: DuckDB tables have no partitions."""

    # -----------------------------------------------------------------------------------------

    def _qualified(self, table: TableName) -> str:
        return f"{quote(self._namespace(table))}.{quote(table.name)}"

    def _require(self, con: duckdb.DuckDBPyConnection, table: TableName) -> None:
        if not self._exists(con, table):
            raise missing(table, str(self.path))

    def _exists(self, con: duckdb.DuckDBPyConnection, table: TableName) -> bool:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [self._namespace(table), table.name],
        ).fetchone()
        return bool(found and found[0])

    def _schema(self, con: duckdb.DuckDBPyConnection, table: TableName) -> pa.Schema:
        """The table's Arrow schema, with NOT NULL columns as non-nullable fields."""
        schema = con.execute(f"SELECT * FROM {self._qualified(table)} LIMIT 0").to_arrow_table().schema
        required = {
            name
            for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
                "AND table_schema = ? AND table_name = ? AND is_nullable = 'NO'",
                [self._namespace(table), table.name],
            ).fetchall()
        }
        return pa.schema([f.with_nullable(f.name not in required) for f in schema])


def _duckdb_type(con: duckdb.DuckDBPyConnection, column: str) -> str:
    """DuckDB's SQL type for a column of the registered `incoming` data."""
    rows = con.execute(f"DESCRIBE SELECT {quote(column)} FROM incoming").fetchall()
    return str(rows[0][1])


def _select(
    qualified: str, columns: Sequence[str] | None, where: Slice | None, limit: int | None
) -> tuple[str, list[object]]:
    selected = ", ".join(quote(c) for c in columns) if columns else "*"
    sql = f"SELECT {selected} FROM {qualified}"
    params: list[object] = []
    if where is not None:
        sql += f" WHERE {quote(where.column)} IN ({', '.join('?' for _ in where.values)})"
        params = list(where.values)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params
