"""Storage: each backend's write and read against the bare library call, and the legacy PostgreSQL path.

What is compared, on one Arrow table of `--rows` rows (default 5,000,000), generated with numpy,
seeded, before any timing, in the column types the platform stores: id int64 (required), qty int32,
price float64, amount decimal128(12,2), name text (short, some non-ASCII, some holding a comma, a
quote or nothing), status text, flag bool, day date32, ts timestamp[us, UTC]; about 1% of every
optional column is null.

For each backend (`--backends`, default all six), in the same run:

* platform write: `store.write(TableName("bench", "storage_<run>", "platform"), table)`,
  replacing the whole table.
* bare write, the call a developer writes by hand: parquet `pq.write_table(table, path)`; delta
  `write_deltalake(path, table, mode="overwrite")`; duckdb `CREATE OR REPLACE TABLE ... AS SELECT *
  FROM` the registered Arrow table, on a connection opened per write as the platform does;
  postgres, in one psycopg transaction, `DELETE` and then `COPY ... FROM STDIN (FORMAT csv)` of CSV
  written by `pyarrow.csv.write_csv` in 100,000-row batches, into a table created by hand with the
  platform's column types. That is the platform's own method, so the PostgreSQL ratio is what the
  platform's wrapping costs. An info row for duckdb runs the platform's SQL without the platform
  (`DELETE` and `INSERT ... BY NAME` in one transaction), telling the SQL from the wrapping.
* platform read: `store.read(table)`, the whole table.
* bare read of the same stored table: parquet `pq.read_table` of its file; delta
  `DeltaTable(path).to_pyarrow_table()`; duckdb a read-only connection, `SELECT *` and
  `.to_arrow_table()`; postgres `COPY (SELECT * ...) TO STDOUT (FORMAT csv)` collected in memory
  and parsed by `pyarrow.csv.read_csv` with explicit column types.

Legacy, on `--legacy-rows` (default 200,000) rows of the same kind: the code being replaced,
pandas `DataFrame.to_sql(name, engine, if_exists="replace", index=False, chunksize=990,
method="multi")`, i.e. one multi-row INSERT per 990 rows, against the platform's PostgreSQL write of
the same rows. STYLE.md notes that `method="multi"` is 4x slower than pandas' default; it is kept
because batches of 990 rows are what the issue describes and what the legacy code did. The
DataFrame is built before timing, which favours pandas. An info row writes the same rows with
psycopg `copy.write_row`, one Python tuple per row.

Setup of a write (not timed) generates the table and writes its first 1,000 rows (creating the
table, opening connections, warming code paths); each timed repetition then replaces the table
with all rows: the first replaces 1,000 rows, later ones a full table, the same on both sides.
Setup of a read counts the table's rows (connections, libraries, metadata). Every read starts with
Arrow's unused memory handed back to the system, as in a fresh process, and is checked against the
input after its time is taken (rows, column types, null counts and sums of every column); the
check is not in the figure. After the writes, what each side stored is read back and checked the
same way. The comparison means something only if both sides did the same work, so the report says
whether they did.

Goals (issue 3): the platform takes at most 1.2x the bare call's time (platform seconds / bare
seconds) for every write and read; its PostgreSQL write is at least 20x faster than the legacy
`to_sql`.

Repetitions: writes run `--repeat` times (default 3). Reads of the file backends and DuckDB take
about a second, where three runs are noisy on a shared 2-core machine: they run `--read-repeat`
times (default 5). Every PostgreSQL contender on `--rows` and the legacy `to_sql` and
`copy.write_row` run `--slow-repeat` times (default 1: a PostgreSQL write of 5M rows or the legacy
write of 200k takes 30-70 s here; one run each keeps the default run near 5 minutes). If the
platform's PostgreSQL read, probed on 10,000 rows, would take longer than `--read-budget` seconds
(default 15) for the whole table, both PostgreSQL reads take only as many rows as fit in the budget
(the same `LIMIT` on both sides), and a bare read of the whole table is shown beside them.

PostgreSQL: `DATAPLATFORM_TEST_POSTGRES_URL`, else postgresql://postgres@127.0.0.1:5432/postgres.
Everything goes to schema `bench_storage_<run>` (a new id each run, so runs at the same time keep
apart), dropped at the end; if the server cannot be reached the PostgreSQL rows are skipped. Files
go to a temporary folder, removed at the end.

Before each contender the disks are synced and PostgreSQL checkpointed (not timed), so none pays
for the writeback of the one before. Timing and memory (peak RSS of a fresh spawned process per
contender): see `_harness.py`. The main process never holds the input or reads a table (see
`aside`), since a spawned process's peak RSS counts its parent's.
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from _harness import Figure, Outcome, Role, Trial, Workload, parse_args, report, run_isolated

SEED = 42
BACKENDS = ("parquet", "delta", "duckdb", "postgres", "iceberg", "ducklake")
# Each run has a domain of its own, so two runs at once (`make bench` and a person, say) never
# replace or drop each other's PostgreSQL tables; spawned contenders inherit it with the environment.
RUN = os.environ.setdefault("BENCH_STORAGE_RUN", uuid.uuid4().hex[:8])
LAYER, DOMAIN = "bench", f"storage_{RUN}"
NAMESPACE = f"{LAYER}_{DOMAIN}"  # the platform's SQL schema for TableName(LAYER, DOMAIN, ...)
PLATFORM, BARE, BARE_SQL = "platform", "bare", "bare_sql"
LEGACY_PLATFORM, LEGACY_PANDAS, LEGACY_WRITE_ROW = "legacy_platform", "legacy_pandas", "legacy_write_row"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WARM_UP_ROWS = 1_000
CSV_BATCH_ROWS = 100_000  # what the platform's PostgreSQL store writes per CSV batch
PROBE_ROWS = 10_000
LEGACY_CHUNK = 990
GOAL_OVERHEAD = 1.2
GOAL_LEGACY_SPEED_UP = 20
NULL_RATE = 0.01
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        ("qty", pa.int32()),
        ("price", pa.float64()),
        ("amount", pa.decimal128(12, 2)),
        ("name", pa.string()),
        ("status", pa.string()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ]
)
POSTGRES_COLUMNS = (
    "id bigint NOT NULL, qty integer, price double precision, amount numeric(12,2), name text, "
    "status text, flag boolean, day date, ts timestamptz"
)
FIRST_NAMES = (
    "Anna Zoë José Łukasz Søren Ana-María Nguyễn 李雷 Mohammed Ingrid Chloé Yusuf Олег Aoife".split()
)
LAST_NAMES = "Müller O'Brien Smith García Kowalski Ødegaard Dubois 山田 Novák Rossi Öztürk Brown".split()
ODD_NAMES = ["Smith, Jr.", 'say "hi"', "", "naïve café", "emoji 🙂"]
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
DAY_ZERO = 18_262  # 2020-01-01 as days since 1970-01-01
TS_ZERO, TS_SPAN = 1_577_836_800_000_000, 7 * 365 * 86_400_000_000  # 2020-01-01 UTC, seven years in µs


# -- the input ---------------------------------------------------------------------------------


def make_input(rows: int) -> pa.Table:
    """`rows` rows of every type the platform stores, vectorised and seeded: the same on every call."""
    rng = np.random.default_rng(SEED)

    def nulls() -> np.ndarray:
        return rng.random(rows) < NULL_RATE

    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES] + ODD_NAMES
    cents = rng.integers(-(10**8), 10**11, rows, dtype=np.int64)
    amount_missing = nulls()
    # decimal128 is 16 bytes per value, little-endian two's complement: low word, then the sign.
    words = np.column_stack([cents, cents >> 63])
    validity = pa.array(~amount_missing).buffers()[1]
    columns = [
        pa.array(np.arange(1, rows + 1, dtype=np.int64)),
        pa.array(rng.integers(-1_000, 100_000, rows, dtype=np.int32), mask=nulls()),
        pa.array(np.round(rng.random(rows) * 1_000, 2), mask=nulls()),
        pa.Array.from_buffers(
            SCHEMA.field("amount").type,
            rows,
            [validity, pa.py_buffer(np.ascontiguousarray(words))],
            null_count=int(amount_missing.sum()),
        ),
        pa.array(names).take(pa.array(rng.integers(0, len(names), rows), mask=nulls())),
        pa.array(STATUSES).take(pa.array(rng.integers(0, len(STATUSES), rows), mask=nulls())),
        pa.array(rng.random(rows) < 0.5, mask=nulls()),
        pa.array(DAY_ZERO + rng.integers(0, 7 * 365, rows, dtype=np.int32)).cast(pa.date32()),
        pa.array(TS_ZERO + rng.integers(0, TS_SPAN, rows), mask=nulls()).cast(SCHEMA.field("ts").type),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def fingerprint(table: pa.Table) -> dict[str, Any]:
    """Rows, null counts and sums of every column: equal tables, in any row order, give equal prints."""
    import pyarrow.compute as pc

    def total(array: pa.Array) -> Any:
        return pc.sum(array).as_py() or 0

    counts: dict[str, Any] = {"rows": table.num_rows}
    counts |= {f"nulls {name}": table.column(name).null_count for name in table.column_names}
    sums: dict[str, Any] = {"price": 0.0, "amount": Decimal(0)}
    for batch in table.select(SCHEMA.names).to_batches():
        micros = batch["ts"].cast(pa.int64())
        seconds = pc.divide(micros, 1_000_000)
        parts = {
            "id": total(batch["id"]),
            "qty": total(batch["qty"]),
            "price": total(batch["price"]),
            "amount": total(batch["amount"]),
            "name bytes": total(pc.binary_length(batch["name"])),
            "status bytes": total(pc.binary_length(batch["status"])),
            "flag true": total(batch["flag"]),
            "day": total(batch["day"].cast(pa.int32())),
            "ts seconds": total(seconds),
            "ts micros": total(pc.subtract(micros, pc.multiply(seconds, 1_000_000))),
        }
        for key, value in parts.items():
            sums[key] = sums.get(key, 0) + value
    return counts | sums


def differences(got: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints (float sums may differ in their last digits)."""
    found = []
    for key, value in expected.items():
        other = got.get(key)
        same = (
            other is not None and math.isclose(other, value, rel_tol=1e-9)
            if isinstance(value, float)
            else other == value
        )
        if not same:
            found.append(f"{key} {other} instead of {value}")
    return found


def column_types(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(field.name, str(field.type)) for field in schema]


def read_problem(table: pa.Table, expected: dict[str, Any], limit: int | None) -> str | None:
    """Why a read does not return the input (None when it does); a limited read returns some of its rows."""
    import pyarrow.compute as pc

    if column_types(table.schema) != expected["types"]:
        return f"column types {column_types(table.schema)} instead of {expected['types']}"
    rows = expected["fingerprint"]["rows"]
    if limit is None:
        found = differences(fingerprint(table), expected["fingerprint"])
        return "; ".join(found) if found else None
    ids = table.column("id")
    wanted = min(limit, rows)
    if table.num_rows != wanted or pc.count_distinct(ids).as_py() != wanted:
        return (
            f"{table.num_rows:,} rows, {pc.count_distinct(ids).as_py():,} distinct ids, instead of {wanted:,}"
        )
    low, high = pc.min_max(ids).values()
    if low.as_py() < 1 or high.as_py() > rows:
        return f"ids from {low} to {high}, outside the input's 1 to {rows}"
    return None


# -- writes ------------------------------------------------------------------------------------

Writer = Callable[[pa.Table], None]


def prepare_platform_write(backend: str, work: str, url: str | None, rows: int, name: str) -> Workload:
    from dataplatform.storage import TableName, open_store

    data = make_input(rows)
    store = open_store(backend, work, url)
    table = TableName(LAYER, DOMAIN, name)
    store.drop(table)
    return _writes(lambda part: store.write(table, part), data)


def prepare_bare_write(kind: str, work: str, url: str | None, rows: int, name: str) -> Workload:
    data = make_input(rows)
    return _writes(BARE_WRITERS[kind](Path(work), url, name, data.schema), data)


def _writes(write: Writer, data: pa.Table) -> Workload:
    write(data.slice(0, WARM_UP_ROWS))

    def run() -> Outcome:
        write(data)
        return Outcome(data.num_rows)

    return run


def _bare_parquet(work: Path, name: str) -> Path:
    return work / "bare" / "parquet" / name / "part-0.parquet"


def _bare_delta(work: Path, name: str) -> Path:
    return work / "bare" / "delta" / name


def _bare_duckdb(work: Path) -> Path:
    return work / "bare" / "bare.duckdb"


def _iceberg_catalog(root: Path) -> Any:
    """The SQLite catalog the platform's Iceberg store keeps under `root` (storage/iceberg_store.py)."""
    from pyiceberg.catalog.sql import SqlCatalog

    root.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("dataplatform", uri=f"sqlite:///{root / 'catalog.db'}", warehouse=root.as_uri())


def _ducklake(root: Path, read_only: bool) -> Any:
    """DuckDB with the DuckLake under `root` attached as `lake`, as the platform's store has it."""
    import duckdb

    from dataplatform.engine.extensions import load_extension

    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    load_extension(con, "ducklake")
    con.execute("SET TimeZone = 'UTC'")
    mode = ", READ_ONLY" if read_only else ""
    con.execute(
        f"ATTACH 'ducklake:{root / 'metadata.ducklake'}' AS lake (DATA_PATH '{root / 'data'}/'{mode})"
    )
    return con


def _parquet_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    import pyarrow.parquet as pq

    path = _bare_parquet(work, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return lambda data: pq.write_table(data, path)


def _delta_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    from deltalake import write_deltalake

    path = _bare_delta(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return lambda data: write_deltalake(path, data, mode="overwrite")


def _duckdb_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    import duckdb

    path = _bare_duckdb(work)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(data: pa.Table) -> None:
        with duckdb.connect(str(path)) as con:
            con.register("incoming", data)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")

    return write


def _duckdb_sql_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    """The platform's SQL without the platform: DELETE and INSERT BY NAME in one transaction."""
    import duckdb

    path = _bare_duckdb(work)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.register("incoming", schema.empty_table())
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
        con.execute(f"ALTER TABLE {name} ALTER id SET NOT NULL")

    def write(data: pa.Table) -> None:
        with duckdb.connect(str(path)) as con:
            con.register("incoming", data)
            con.execute("BEGIN TRANSACTION")
            con.execute(f"DELETE FROM {name}")
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM incoming")
            con.execute("COMMIT")

    return write


def _postgres_table(url: str, name: str):
    """A psycopg connection and a table created by hand with the platform's column types."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    target = f"{NAMESPACE}.{name}"
    with conn.transaction():
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {NAMESPACE}")
        conn.execute(f"DROP TABLE IF EXISTS {target}")
        conn.execute(f"CREATE TABLE {target} ({POSTGRES_COLUMNS})")
    return conn, target


def _postgres_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    """COPY of pyarrow-written CSV, the most efficient plain psycopg write (and the platform's method)."""
    import pyarrow.csv as pacsv

    assert url is not None
    conn, target = _postgres_table(url, name)
    options = pacsv.WriteOptions(include_header=False)

    def write(data: pa.Table) -> None:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(f"DELETE FROM {target}")
            with cursor.copy(f"COPY {target} FROM STDIN (FORMAT csv)") as copy:
                for batch in data.to_batches(max_chunksize=CSV_BATCH_ROWS):
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, options)
                    copy.write(buffer.getbuffer())

    return write


def _postgres_row_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    """COPY fed one Python tuple at a time with `copy.write_row`."""
    assert url is not None
    conn, target = _postgres_table(url, name)

    def write(data: pa.Table) -> None:
        columns = [column.to_pylist() for column in data.columns]
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(f"DELETE FROM {target}")
            with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in zip(*columns, strict=True):
                    copy.write_row(row)

    return write


def _iceberg_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    """pyiceberg's overwrite of a table created by hand: one snapshot, as the platform's write."""
    catalog = _iceberg_catalog(work / "bare" / "iceberg")
    catalog.create_namespace_if_not_exists("bare")
    if catalog.table_exists(("bare", name)):
        catalog.purge_table(("bare", name))
    table = catalog.create_table(("bare", name), schema=schema)
    return lambda data: table.overwrite(data)


def _ducklake_writer(work: Path, url: str | None, name: str, schema: pa.Schema) -> Writer:
    """CREATE OR REPLACE TABLE in the lake, on a connection attached per write as the platform does."""

    def write(data: pa.Table) -> None:
        with _ducklake(work / "bare" / "ducklake", read_only=False) as con:
            con.register("incoming", data)
            con.execute(f"CREATE OR REPLACE TABLE lake.{name} AS SELECT * FROM incoming")

    return write


BARE_WRITERS: dict[str, Callable[[Path, str | None, str, pa.Schema], Writer]] = {
    "parquet": _parquet_writer,
    "delta": _delta_writer,
    "iceberg": _iceberg_writer,
    "ducklake": _ducklake_writer,
    "duckdb": _duckdb_writer,
    "duckdb sql": _duckdb_sql_writer,
    "postgres": _postgres_writer,
    "postgres write_row": _postgres_row_writer,
}


def prepare_pandas_to_sql(url: str, rows: int, name: str) -> Workload:
    import sqlalchemy as sa

    frame = make_input(rows).to_pandas()
    engine = sa.create_engine(_sqlalchemy_url(url))

    def write(part) -> None:
        part.to_sql(
            name,
            engine,
            schema=NAMESPACE,
            if_exists="replace",
            index=False,
            chunksize=LEGACY_CHUNK,
            method="multi",
        )

    write(frame.head(WARM_UP_ROWS))

    def run() -> Outcome:
        write(frame)
        return Outcome(len(frame))

    return run


def _sqlalchemy_url(url: str):
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    return (
        parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername in ("postgresql", "postgres")
        else parsed
    )


# -- reads -------------------------------------------------------------------------------------

Reader = tuple[Callable[[], object], Callable[[], pa.Table]]  # (warm up, read)


def prepare_platform_read(
    backend: str, work: str, url: str | None, name: str, expected: dict[str, Any], limit: int | None
) -> Workload:
    from dataplatform.storage import TableName, open_store

    store = open_store(backend, work, url)
    table = TableName(LAYER, DOMAIN, name)
    reader = (lambda: store.row_count(table), lambda: store.read(table, limit=limit))
    return _reads(reader, expected, limit, f"{backend} platform read")


def prepare_bare_read(
    backend: str, work: str, url: str | None, name: str, expected: dict[str, Any], limit: int | None
) -> Workload:
    reader = BARE_READERS[backend](Path(work), url, name, limit)
    return _reads(reader, expected, limit, f"{backend} bare read")


def _reads(reader: Reader, expected: dict[str, Any], limit: int | None, label: str) -> Workload:
    """Warm up (count the rows); time each read, then check it against the input (outside the time).

    Arrow's allocator keeps freed memory for a while, so a read may or may not find its memory
    already mapped, depending on what ran before and when (the same Parquet read took 0.5 s or
    1.1 s). Every read therefore starts from memory handed back to the system, as the one read of
    a table in a fresh process does.
    """
    warm_up, read = reader
    warm_up()
    pool = pa.default_memory_pool()
    pool.release_unused()

    def run() -> Outcome:
        started = time.perf_counter()
        table = read()
        seconds = time.perf_counter() - started
        problem = read_problem(table, expected, limit)
        if problem:
            print(f"!! {label} does not return the input: {problem}", flush=True)
        rows = table.num_rows
        del table
        pool.release_unused()
        return Outcome(rows, {"read": seconds, "agrees": float(problem is None)})

    return run


def _platform_file(work: Path, backend: str, name: str) -> Path:
    """Where the platform keeps a table of the file backends (see the storage modules)."""
    return work / "lake" / backend / LAYER / DOMAIN / name


def _parquet_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    import pyarrow.parquet as pq

    path = _platform_file(work, "parquet", name) / "part-0.parquet"
    return lambda: pq.read_metadata(path), lambda: pq.read_table(path)


def _delta_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    from deltalake import DeltaTable

    path = _platform_file(work, "delta", name)
    return lambda: DeltaTable(path).schema(), lambda: DeltaTable(path).to_pyarrow_table()


def _duckdb_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    import duckdb

    path = str(work / "warehouse.duckdb")
    table = f"{NAMESPACE}.{name}"

    def query(sql: str) -> pa.Table:
        with duckdb.connect(path, read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ comes out in the session's zone
            return con.execute(sql).to_arrow_table()

    return lambda: query(f"SELECT count(*) FROM {table}"), lambda: query(f"SELECT * FROM {table}")


def _postgres_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    import psycopg
    import pyarrow.csv as pacsv

    assert url is not None
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TimeZone = 'UTC'")
    read_options = pacsv.ReadOptions(column_names=SCHEMA.names)
    parse_options = pacsv.ParseOptions(newlines_in_values=True)
    convert_options = pacsv.ConvertOptions(
        column_types={field.name: field.type for field in SCHEMA},
        true_values=["t"],
        false_values=["f"],
        null_values=[""],  # only an unquoted empty field is NULL; "" is an empty text
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )

    def read(rows: int | None) -> pa.Table:
        limited = f" LIMIT {int(rows)}" if rows is not None else ""
        buffer = io.BytesIO()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY (SELECT * FROM {NAMESPACE}.{name}{limited}) TO STDOUT (FORMAT csv)") as copy,
        ):
            for chunk in copy:
                buffer.write(chunk)
        source = pa.BufferReader(pa.py_buffer(buffer.getbuffer()))
        return pacsv.read_csv(source, read_options, parse_options, convert_options)

    def count() -> int:
        return (conn.execute(f"SELECT count(*) FROM {NAMESPACE}.{name}").fetchone() or (0,))[0]

    return count, lambda: read(limit)


def _iceberg_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    """pyiceberg's scan, cast to the input's types (it reads text as large_string)."""

    def load() -> Any:
        return _iceberg_catalog(work / "lake" / "iceberg").load_table((NAMESPACE, name))

    return lambda: load().scan().count(), lambda: load().scan().to_arrow().cast(SCHEMA)


def _ducklake_reader(work: Path, url: str | None, name: str, limit: int | None) -> Reader:
    def query(sql: str) -> pa.Table:
        with _ducklake(work / "lake" / "ducklake", read_only=True) as con:
            return con.execute(sql).to_arrow_table()

    table = f"lake.{NAMESPACE}.{name}"
    return lambda: query(f"SELECT count(*) FROM {table}"), lambda: query(f"SELECT * FROM {table}")


BARE_READERS: dict[str, Callable[[Path, str | None, str, int | None], Reader]] = {
    "parquet": _parquet_reader,
    "delta": _delta_reader,
    "iceberg": _iceberg_reader,
    "ducklake": _ducklake_reader,
    "duckdb": _duckdb_reader,
    "postgres": _postgres_reader,
}


# -- what each side stored ---------------------------------------------------------------------


def aside(function: Callable[..., Any], *args: object) -> Any:
    """`function(*args)` in a fresh process, so that the main process stays small.

    A spawned contender's peak RSS counts its parent's peak too (Linux carries the high-water
    mark of the process it starts from across exec), so the main process must never hold the
    input or read a table itself.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def describe_input(rows: int) -> dict[str, Any]:
    """What every write must store and every read return: column types and the fingerprint."""
    return {"types": column_types(SCHEMA), "fingerprint": fingerprint(make_input(rows))}


def check_writes(
    backend: str, work: str, url: str | None, tables: list[tuple[str, bool, str]], expected: dict[str, Any]
) -> dict[str, Any]:
    """For each (label, written bare?, table name): rows stored, and how it differs from the input."""
    found = {}
    first_types = None
    for label, bare, name in tables:
        fingerprint_, types = stored(backend, Path(work), url, name, bare)
        problems = differences(fingerprint_, expected["fingerprint"])
        if backend == "postgres":  # SQL types: each side must have the platform's
            first_types = first_types or types
            if types != first_types:
                problems.append(f"column types {types} instead of the platform's {first_types}")
        elif types != expected["types"]:
            problems.append(f"column types {types} instead of {expected['types']}")
        found[label] = {"rows": fingerprint_["rows"], "agrees": not problems, "problems": problems}
    return found


def check_legacy(url: str) -> dict[str, Any]:
    counts = {name: _postgres_rows(url, name) for name in (LEGACY_PLATFORM, LEGACY_PANDAS, LEGACY_WRITE_ROW)}
    return {"rows": counts, "pandas_column_types": _postgres_column_types(url, LEGACY_PANDAS)}


def stored(backend: str, work: Path, url: str | None, name: str, bare: bool) -> tuple[dict[str, Any], list]:
    """Fingerprint and column types of a table as stored, read back with the plain library."""
    if backend == "postgres":
        assert url is not None
        return _postgres_fingerprint(url, name)
    if backend == "parquet":
        import pyarrow.parquet as pq

        folder = _bare_parquet(work, name).parent if bare else _platform_file(work, "parquet", name)
        table = pq.read_table(folder / "part-0.parquet")
    elif backend == "delta":
        from deltalake import DeltaTable

        table = DeltaTable(
            _bare_delta(work, name) if bare else _platform_file(work, "delta", name)
        ).to_pyarrow_table()
    elif backend == "iceberg":
        root, namespace = (
            (work / "bare" / "iceberg", "bare") if bare else (work / "lake" / "iceberg", NAMESPACE)
        )
        table = _iceberg_catalog(root).load_table((namespace, name)).scan().to_arrow().cast(SCHEMA)
    elif backend == "ducklake":
        root, qualified = (
            (work / "bare" / "ducklake", name)
            if bare
            else (work / "lake" / "ducklake", f"{NAMESPACE}.{name}")
        )
        with _ducklake(root, read_only=True) as con:
            table = con.execute(f"SELECT * FROM lake.{qualified}").to_arrow_table()
    else:
        import duckdb

        path, qualified = (
            (_bare_duckdb(work), name) if bare else (work / "warehouse.duckdb", f"{NAMESPACE}.{name}")
        )
        with duckdb.connect(str(path), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            table = con.execute(f"SELECT * FROM {qualified}").to_arrow_table()
    return fingerprint(table), column_types(table.schema)


def _postgres_fingerprint(url: str, name: str) -> tuple[dict[str, Any], list]:
    """The fingerprint computed by PostgreSQL itself, and the columns' SQL types."""
    import psycopg

    nulls = ", ".join(f"count(*) - count({column})" for column in SCHEMA.names)
    sql = f"""SELECT count(*), {nulls},
        sum(id), sum(qty), sum(price), sum(amount), sum(octet_length(name)), sum(octet_length(status)),
        count(*) FILTER (WHERE flag), sum(day - DATE '1970-01-01'), sum(floor(extract(epoch FROM ts))),
        sum((extract(epoch FROM ts) * 1000000)::bigint % 1000000)
        FROM {NAMESPACE}.{name}"""
    keys = ["rows", *(f"nulls {c}" for c in SCHEMA.names), "id", "qty", "price", "amount"]
    keys += ["name bytes", "status bytes", "flag true", "day", "ts seconds", "ts micros"]
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone() or ()
        types = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [NAMESPACE, name],
        ).fetchall()
    values: dict[str, Any] = {}
    for key, value in zip(keys, row, strict=True):
        value = value or 0
        values[key] = float(value) if key == "price" else value if key == "amount" else int(value)
    return values, [tuple(t) for t in types]


def _postgres_rows(url: str, name: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return (conn.execute(f"SELECT count(*) FROM {NAMESPACE}.{name}").fetchone() or (0,))[0]


def _postgres_column_types(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [NAMESPACE, name],
        ).fetchall()
    return ", ".join(f"{column} {kind}" for column, kind in rows)


def _postgres_unreachable(url: str) -> str | None:
    """Why the server cannot be used (None when it can); the message never holds the password."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {NAMESPACE} CASCADE")
            conn.execute(f"CREATE SCHEMA {NAMESPACE}")
    except psycopg.Error as error:
        return (str(error).splitlines() or [type(error).__name__])[0]
    return None


def _drop_postgres_schema(url: str) -> None:
    import psycopg

    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {NAMESPACE} CASCADE")


def _shown(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def probe_postgres_read(work: str, url: str, rows: int, budget: float) -> tuple[int | None, float]:
    """Rows both PostgreSQL reads take (None: the whole table), and the platform's probed rows/s."""
    from dataplatform.storage import TableName, open_store

    store = open_store("postgres", work, url)
    table = TableName(LAYER, DOMAIN, PLATFORM)
    store.read(table, limit=WARM_UP_ROWS)
    started = time.perf_counter()
    probed = store.read(table, limit=PROBE_ROWS).num_rows
    per_second = probed / max(time.perf_counter() - started, 1e-9)
    if rows / per_second <= budget:
        return None, per_second
    fits = budget * per_second
    rounded = int(float(f"{fits:.2g}"))  # two significant digits
    return min(rows, max(PROBE_ROWS, rounded)), per_second


# -- running and reporting ---------------------------------------------------------------------


class Run:
    """Runs contenders one by one, each in its own process, and keeps their figures."""

    def __init__(self, postgres_url: str | None) -> None:
        self.figures: list[Figure] = []
        self.trials: dict[str, Trial] = {}
        self.postgres_url = postgres_url

    def settle(self) -> None:
        """Flush what earlier contenders left for the disk, so that no contender pays for another's.

        Without it the contender after a big write runs while the kernel writes that data back
        (and PostgreSQL checkpoints it), which made whoever came second look up to 30% slower.
        """
        os.sync()
        if self.postgres_url:
            import psycopg

            try:
                with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute("CHECKPOINT")
            except psycopg.Error:
                pass  # not allowed to checkpoint: the figures are only a little noisier

    def add(
        self,
        what: str,
        role: Role,
        prepare: Callable[..., Workload],
        *args: object,
        group: str,
        repeat: int,
        read: bool = False,
    ) -> Trial:
        """Run one contender; a read's figure is its self-timed read, without the check that follows."""
        self.settle()
        started = time.perf_counter()
        trial = run_isolated(prepare, *args, repeat=repeat)
        seconds = trial.part("read") if read else trial.seconds
        figure = Figure.of(what, trial, role, seconds=seconds, group=group)
        print(
            f"  {what}: median {figure.median:.3f} s of {repeat} "
            f"({time.perf_counter() - started:.0f} s with setup)",
            flush=True,
        )
        self.figures.append(figure)
        self.trials[what] = trial
        return trial

    def pair(self, group: str) -> tuple[Figure, Figure] | None:
        subject = next((f for f in self.figures if f.group == group and f.role == "subject"), None)
        anchor = next((f for f in self.figures if f.group == group and f.role == "anchor"), None)
        return (subject, anchor) if subject and anchor else None


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


BARE_WRITE_NAMES = {
    "parquet": "pq.write_table",
    "delta": 'write_deltalake(mode="overwrite")',
    "duckdb": "CREATE OR REPLACE TABLE AS SELECT from Arrow",
    "postgres": "psycopg DELETE + COPY of pyarrow CSV",
    "iceberg": "pyiceberg Table.overwrite",
    "ducklake": "CREATE OR REPLACE TABLE in the lake",
}
BARE_READ_NAMES = {
    "parquet": "pq.read_table",
    "delta": "DeltaTable.to_pyarrow_table",
    "duckdb": "SELECT * .to_arrow_table()",
    "postgres": "psycopg COPY TO csv + pyarrow read_csv",
    "iceberg": "pyiceberg scan().to_arrow()",
    "ducklake": "SELECT * .to_arrow_table()",
}


def run_backend(
    run: Run, backend: str, args: argparse.Namespace, work: Path, url: str | None, expected
) -> dict:
    """Writes then reads of one backend; returns what the agreement checks found."""
    repeat = args.slow_repeat if backend == "postgres" else args.repeat
    read_repeat = args.slow_repeat if backend == "postgres" else args.read_repeat
    write, read = f"{backend} write", f"{backend} read"

    def writes(what: str, role: Role, prepare: Callable[..., Workload], kind: str, name: str) -> None:
        run.add(
            f"{write}: {what}",
            role,
            prepare,
            kind,
            str(work),
            url,
            args.rows,
            name,
            group=write,
            repeat=repeat,
        )

    writes("platform store.write", "subject", prepare_platform_write, backend, PLATFORM)
    writes(BARE_WRITE_NAMES[backend], "anchor", prepare_bare_write, backend, BARE)
    tables = [(f"{backend} platform", False, PLATFORM), (f"{backend} bare", True, BARE)]
    if backend == "duckdb":
        writes("same SQL as platform, bare", "info", prepare_bare_write, "duckdb sql", BARE_SQL)
        tables.append(("duckdb same SQL, bare", True, BARE_SQL))
    found: dict[str, Any] = {"writes": aside(check_writes, backend, str(work), url, tables, expected)}

    limit = None
    if backend == "postgres":
        limit, per_second = aside(probe_postgres_read, str(work), url or "", args.rows, args.read_budget)
        found["postgres_read_probe_rows_per_s"] = round(per_second)
        found["postgres_read_limit"] = limit

    def reads(what: str, role: Role, prepare: Callable[..., Workload], rows: int | None) -> None:
        run.add(
            f"{read}: {what}",
            role,
            prepare,
            *(backend, str(work), url, PLATFORM, expected, rows),
            group=read,
            repeat=read_repeat,
            read=True,
        )

    reads("platform store.read", "subject", prepare_platform_read, limit)
    reads(BARE_READ_NAMES[backend], "anchor", prepare_bare_read, limit)
    if limit is not None:
        reads(f"{BARE_READ_NAMES[backend]}, whole table", "info", prepare_bare_read, None)
    return found


def run_legacy(run: Run, args: argparse.Namespace, work: Path, url: str) -> dict:
    group, rows = "legacy", args.legacy_rows
    run.add(
        f"{group}: platform postgres store.write",
        "subject",
        prepare_platform_write,
        *("postgres", str(work), url, rows, LEGACY_PLATFORM),
        group=group,
        repeat=args.repeat,
    )
    run.add(
        f"{group}: pandas to_sql multi, {LEGACY_CHUNK} rows a batch",
        "anchor",
        prepare_pandas_to_sql,
        *(url, rows, LEGACY_PANDAS),
        group=group,
        repeat=args.slow_repeat,
    )
    run.add(
        f"{group}: psycopg copy.write_row per row",
        "info",
        prepare_bare_write,
        *("postgres write_row", str(work), url, rows, LEGACY_WRITE_ROW),
        group=group,
        repeat=args.slow_repeat,
    )
    return aside(check_legacy, url)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, of {', '.join(BACKENDS)} (default all)",
    )
    parser.add_argument(
        "--legacy-rows",
        type=int,
        default=200_000,
        help="rows for the legacy pandas comparison (default 200,000; 0 skips it)",
    )
    parser.add_argument(
        "--read-repeat",
        type=int,
        default=5,
        help="timed repetitions of the reads of parquet, delta and duckdb (default 5)",
    )
    parser.add_argument(
        "--slow-repeat",
        type=int,
        default=1,
        help="timed repetitions of the PostgreSQL contenders on --rows and of the legacy to_sql and "
        "write_row (default 1)",
    )
    parser.add_argument(
        "--read-budget",
        type=float,
        default=15.0,
        help="seconds a PostgreSQL read may take before both sides read fewer rows (default 15)",
    )
    parser.add_argument("--work-dir", type=Path, help="where files go (default: a new temporary folder)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the files (and the PostgreSQL schema) afterwards"
    )


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=5_000_000, add=_options)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        raise SystemExit(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    if args.slow_repeat < 1 or args.read_repeat < 1 or args.legacy_rows < 0:
        raise SystemExit("--slow-repeat and --read-repeat must be at least 1, --legacy-rows at least 0")
    url = os.environ.get("DATAPLATFORM_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-storage-"))
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    postgres = "postgres" in backends
    if postgres:
        reason = _postgres_unreachable(url)
        if reason:
            message = (
                f"PostgreSQL at {_shown(url)} unreachable ({reason}): "
                "its rows and the legacy comparison are skipped"
            )
            print(message)
            notes.append(message)
            backends.remove("postgres")
            postgres = False
    print(
        f"{args.rows:,} rows through {', '.join(backends) or 'no backend'}; {args.repeat} runs of a write, "
        f"{args.read_repeat} of a read, {args.slow_repeat} of the slow PostgreSQL and legacy rows; in {work}"
    )
    expected = aside(describe_input, args.rows)
    run = Run(url if postgres else None)
    found: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for backend in backends:
            backend_url = url if backend == "postgres" else None
            found[backend] = run_backend(run, backend, args, work, backend_url, expected)
        if postgres and args.legacy_rows:
            found["legacy"] = run_legacy(run, args, work, url)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if postgres:
                _drop_postgres_schema(url)
    print(f"all contenders ran in {time.perf_counter() - started:.0f} s")
    goal_notes, overheads, speed_up, goals = _goals(run, backends)
    report(
        "storage",
        run.figures,
        {
            "rows": args.rows,
            "repeat": args.repeat,
            "read_repeat": args.read_repeat,
            "slow_repeat": args.slow_repeat,
            "legacy_rows": args.legacy_rows,
            "backends": backends,
            "read_budget_s": args.read_budget,
        },
        notes + _agreement(run, found, expected, args) + goal_notes,
        overhead_platform_over_bare=overheads,
        legacy_speed_up=speed_up,
        goals_met=goals,
        checks=found,
    )


def _goals(run: Run, backends: list[str]) -> tuple[list[str], dict, float | None, dict]:
    """The issue's goals: platform seconds / bare seconds per write and read, and the legacy speed-up."""
    lines, overheads, goals = [], {}, {}
    for group in (f"{b} {op}" for b in backends for op in ("write", "read")):
        pair = run.pair(group)
        if pair is None:
            continue
        subject, anchor = pair
        overhead = subject.median / anchor.median
        overheads[group] = round(overhead, 3)
        goals[group] = overhead <= GOAL_OVERHEAD
        lines.append(
            f"{group}: platform {subject.median:.3f} s, bare {anchor.median:.3f} s on {subject.rows:,} rows: "
            f"the platform takes {overhead:.2f}x the bare call's time (goal at most {GOAL_OVERHEAD}x): "
            f"{'met' if goals[group] else 'NOT met'}"
        )
    legacy = run.pair("legacy")
    if legacy is None:
        return lines, overheads, None, goals
    speed_up = legacy[0].rows_per_s / legacy[1].rows_per_s
    goals["legacy"] = speed_up >= GOAL_LEGACY_SPEED_UP
    lines.append(
        f"legacy: the platform's PostgreSQL write moves {speed_up:,.1f}x the rows per second of pandas "
        f"to_sql (multi, {LEGACY_CHUNK} rows a batch) (goal at least {GOAL_LEGACY_SPEED_UP}x): "
        f"{'met' if goals['legacy'] else 'NOT met'}"
    )
    return lines, overheads, round(speed_up, 2), goals


def _agreement(
    run: Run, found: dict[str, Any], expected: dict[str, Any], args: argparse.Namespace
) -> list[str]:
    """Whether both sides stored and read back the input, in words."""
    lines = []
    rows = expected["fingerprint"]["rows"]
    for backend, checks in found.items():
        if backend == "legacy":
            counts = checks["rows"]
            lines.append(
                "legacy tables hold "
                + ", ".join(f"{name} {count:,}" for name, count in counts.items())
                + f" rows of {args.legacy_rows:,}: {_yes(set(counts.values()) == {args.legacy_rows})}; "
                f"to_sql made the columns {checks['pandas_column_types']}"
            )
            continue
        stored_ = ", ".join(f"{label} {c['rows']:,} rows" for label, c in checks["writes"].items())
        agrees = all(c["agrees"] for c in checks["writes"].values())
        lines.append(
            f"{backend} writes agree with the {rows:,}-row input (null counts, sums and types of every "
            f"column): {_yes(agrees)} - {stored_}"
        )
        lines += [
            f"  {label}: {'; '.join(c['problems'])}" for label, c in checks["writes"].items() if c["problems"]
        ]
        limit = checks.get("postgres_read_limit")
        if backend == "postgres" and limit is not None:
            per_second = checks["postgres_read_probe_rows_per_s"]
            lines.append(
                f"postgres read: the platform's read ran at {per_second:,} rows/s on a {PROBE_ROWS:,}-row "
                f"probe, so the whole table would take ~{rows / per_second:,.0f} s a run, more than the "
                f"{args.read_budget:g} s budget (--read-budget): both sides read only the first {limit:,} "
                f"rows the server returns (LIMIT {limit:,})"
            )
    read_checks = {
        what: all(trial.part("agrees"))
        for what, trial in run.trials.items()
        if "agrees" in trial.outcomes[0].parts
    }
    if read_checks:
        lines.append(
            "every read returned the input (all rows or, when limited, that many distinct input ids; "
            f"types, null counts and sums of every column): {_yes(all(read_checks.values()))}"
            + "".join(f"; NOT {what}" for what, ok in read_checks.items() if not ok)
        )
    return lines


if __name__ == "__main__":
    main()
