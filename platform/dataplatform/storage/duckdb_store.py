"""Tables in one DuckDB file, schema `<layer>_<domain>`, Arrow in and out.

A slice is replaced with DELETE and INSERT in one transaction, so a reader sees the old or the
new partition, never both. Values are bound as parameters; identifiers are validated by
`TableName` and quoted. Reads open the file read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableName,
    check_slice_covers,
)


class DuckDBStore:
    backend = "duckdb"

    def __init__(self, path: Path) -> None:
        self.path = path

    def location(self, table: TableName) -> str:
        return f"{self.path.resolve()}::{_qualified(table)}"

    def exists(self, table: TableName) -> bool:
        if not self.path.exists():
            return False
        with self._connect(read_only=True) as con:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [_schema(table), table.name],
            ).fetchone()
        return bool(found and found[0])

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        if replace is not None:
            check_slice_covers(table, data, replace)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = _qualified(table)
        with self._connect(read_only=False) as con:
            con.register("incoming", data)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{_schema(table)}"')
                if replace is None:
                    con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM incoming")
                else:
                    con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM incoming LIMIT 0")
                    marks = ", ".join("?" for _ in replace.values)
                    con.execute(
                        f'DELETE FROM {target} WHERE "{replace.column}" IN ({marks})',
                        list(replace.values),
                    )
                    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
    ) -> pa.Table:
        if not self.exists(table):
            raise StorageError(f"{table}: no such table in {self.path}")
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f"SELECT {selected} FROM {_qualified(table)}"
        params: list = []
        if where is not None:
            sql += f' WHERE "{where.column}" IN ({", ".join("?" for _ in where.values)})'
            params = list(where.values)
        with self._connect(read_only=True) as con:
            return con.execute(sql, params).to_arrow_table()

    def row_count(self, table: TableName) -> int:
        with self._connect(read_only=True) as con:
            return con.execute(f"SELECT count(*) FROM {_qualified(table)}").fetchone()[0]

    def _connect(self, read_only: bool):
        import duckdb

        con = duckdb.connect(str(self.path), read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        return con


def _schema(table: TableName) -> str:
    return f"{table.layer}_{table.domain}"


def _qualified(table: TableName) -> str:
    return f'"{_schema(table)}"."{table.name}"'
