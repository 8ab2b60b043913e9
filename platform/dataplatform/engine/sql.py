"""Run DuckDB SQL over Arrow data: the engine of every transform.

Inputs may be Arrow tables, Arrow datasets or a `storage.contract.SqlScan` (a lazily scanned
slice of a stored table): DuckDB scans each without a copy. The process's DuckDB database has a
memory limit and spills to a temporary folder beyond it, so a transform over a day larger than
memory slows down instead of failing or swapping; `DATAPLATFORM_DUCKDB_MEMORY_LIMIT` sets it
(DuckDB's size syntax, e.g. `4GB`).
"""

from __future__ import annotations

import atexit
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataplatform.engine.identifiers import quote, string_literal
from dataplatform.engine.scans import SqlRows, SqlScan

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from dataplatform.engine.scans import Scannable

MEMORY_LIMIT = "DATAPLATFORM_DUCKDB_MEMORY_LIMIT"
STREAM_BATCH_ROWS = 262_144
BYTES_PER_VALUE = 16  # a value in DuckDB's uncompressed vectors (a string's text comes on top)


def query(sql: str, params: list[object] | None = None, **tables: Scannable) -> pa.Table:
    """Execute `sql` with each keyword table visible under its name; return an Arrow table."""
    with connect(**tables) as con:
        return con.execute(sql, params or []).to_arrow_table()


def connect(**tables: Scannable) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in UTC, memory-limited, with `tables` registered (zero-copy):
    Arrow tables and datasets are scanned where they are, a `SqlScan` becomes a view.

    Every connection is a cursor of one database per process (see `_database`): its own temporary
    tables, views, variables and time zone, but the extensions the database loaded once and its
    memory limit, which caps every transform of the process together."""
    database, _ = _database()
    con = database.cursor()
    con.execute(f"SET memory_limit = '{_memory_limit()}'")
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        register(con, name, table)
    return con


def register(con: duckdb.DuckDBPyConnection, name: str, table: Scannable) -> None:
    """Make `table` visible to `con` as `name`, as `connect` does with its tables."""
    if isinstance(table, SqlScan):
        _, loaded = _database()
        if table.remote and _S3 not in loaded:
            from dataplatform.engine.s3 import duckdb_secret

            duckdb_secret(con)  # the database's one S3 secret, shared by all its connections
            loaded.add(_S3)
        if table.extension and table.extension not in loaded:
            from dataplatform.engine.extensions import load_extension

            load_extension(con, table.extension)
            loaded.add(table.extension)
        con.execute(f"CREATE TEMP VIEW {quote(name)} AS {table.sql}")
    else:
        con.register(name, table)


_DATABASES: dict[int, tuple[duckdb.DuckDBPyConnection, set[str]]] = {}  # by process id
_S3 = "s3"  # in a database's loaded set once httpfs and the lake's S3 secret are there
_DATABASE_LOCK = threading.Lock()


def _database() -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """This process's DuckDB database and the extensions it has loaded. Loading an extension
    costs a database 0.2-0.5 s (`delta` most), which a database per connection paid every time a
    step scanned a Delta table; a forked child makes a database of its own."""
    import duckdb

    with _DATABASE_LOCK:
        pid = os.getpid()
        if pid not in _DATABASES:
            database = duckdb.connect(
                config={
                    "memory_limit": _memory_limit(),
                    "temp_directory": os.path.join(tempfile.gettempdir(), f"dataplatform-duckdb-{pid}"),
                }
            )
            atexit.register(database.close)  # removes the temporary folder
            _DATABASES[pid] = (database, set())
        return _DATABASES[pid]


@dataclass(frozen=True)
class WorkingTables:
    """A transform's working tables: DuckDB's temporary ones, or an attached scratch database."""

    con: duckdb.DuckDBPyConnection
    schema: str  # "temp", or the scratch database's quoted name

    def create(self, name: str, sql: str) -> str:
        """Create table `name` holding the rows of `sql`; return its qualified name."""
        qualified = f"{self.schema}.{quote(name)}"
        temporary = "TEMP " if self.schema == "temp" else ""
        self.con.execute(f"CREATE {temporary}TABLE {qualified} AS {sql}")
        return qualified


@contextmanager
def working_tables(con: duckdb.DuckDBPyConnection, relation: str) -> Iterator[WorkingTables]:
    """Where a transform keeps its working copy of `relation` and the tables derived from it.

    DuckDB spills temporary tables uncompressed, which took a 100M-order day's bronze and silver
    steps past the disk. A table in an attached database file is written in compressed row
    groups instead (a 20M-row table: 0.5 GB against 1.9 GB of spill), at about twice the cost
    of writing it, so only a copy that would spill anyway goes there: one whose estimated size
    exceeds the memory limit. Each such copy gets its own file in the process's temporary
    folder, removed at the end, so concurrent transforms of one process never share one."""
    rows = one_row(con, f"SELECT count(*) FROM {relation}")[0]
    columns = len(con.execute(f"SELECT * FROM {relation} LIMIT 0").description)
    if rows * columns * BYTES_PER_VALUE <= size_in_bytes(_memory_limit()):
        yield WorkingTables(con, "temp")
        return
    folder = one_row(con, "SELECT current_setting('temp_directory')")[0]
    os.makedirs(folder, exist_ok=True)
    name = f"scratch_{uuid.uuid4().hex}"
    path = os.path.join(folder, f"{name}.duckdb")
    con.execute(f"ATTACH {string_literal(path)} AS {quote(name)}")
    try:
        yield WorkingTables(con, quote(name))
    finally:
        con.execute(f"DETACH {quote(name)}")
        for leftover in (path, f"{path}.wal"):
            with suppress(FileNotFoundError):
                os.remove(leftover)


def size_in_bytes(size: str) -> int:
    """A size in DuckDB's syntax (`1GB`, `512 MiB`, as `Settings` validates it) in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)", size.strip())
    if match is None:
        raise ValueError(f"not a size in DuckDB's syntax (e.g. 4GB): {size!r}")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _memory_limit() -> str:
    """`Settings.duckdb_memory_limit`, read again at every connection so a change applies to the
    next transform (as the environment variable did); validated there, so it is a size."""
    from dataplatform.settings import load_settings

    return load_settings().duckdb_memory_limit


def stream(con: duckdb.DuckDBPyConnection, sql: str) -> SqlRows:
    """The rows of `sql`, to be written or read a batch at a time; the query runs only then (see
    `SqlRows`)."""
    schema = con.execute(f"SELECT * FROM ({sql}) LIMIT 0").to_arrow_table().schema
    return SqlRows(con, sql, schema, STREAM_BATCH_ROWS)


def rows_of(data: Scannable) -> int:
    """Rows of an Arrow table, an Arrow dataset or a `SqlScan`."""
    if hasattr(data, "num_rows"):
        return int(data.num_rows)
    if hasattr(data, "count_rows"):
        return int(data.count_rows())
    with connect(t=data) as con:
        return int(one_row(con, "SELECT count(*) FROM t")[0])


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The row of a query that always returns exactly one (an aggregate without GROUP BY, a
    setting, a variable); a query that returned none is a mistake in the caller."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise LookupError(f"no row where one was certain: {sql}")
    return row
