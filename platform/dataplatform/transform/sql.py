"""Run DuckDB SQL over in-memory Arrow tables: the engine of every transform."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def query(sql: str, params: list | None = None, **tables: pa.Table) -> pa.Table:
    """Execute `sql` with each keyword table visible under its name; return an Arrow table."""
    with connect(**tables) as con:
        return con.execute(sql, params or []).to_arrow_table()


def connect(**tables: pa.Table):
    """An in-memory DuckDB connection in UTC with `tables` registered (zero-copy)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    return con


def quote(identifier: str) -> str:
    """A DuckDB identifier, quoted so names from specs or files can never become SQL."""
    return '"' + identifier.replace('"', '""') + '"'
