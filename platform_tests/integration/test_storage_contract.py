"""The table contract, one suite run against every backend: Parquet, Delta, Iceberg, DuckLake
and DuckDB files, and a real PostgreSQL server; the lake's backends on a local folder and on a
real S3 server."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from dataplatform.settings import STORAGE_BACKENDS
from dataplatform.storage import Slice, StorageError, TableName, open_store
from dataplatform.storage.schema import SchemaMismatch
from platform_tests.processes import cpu_seconds, wait_until

# every registered backend; those that can keep their data in object storage also on a real S3
# server (`platform_tests/s3.py`)
BACKENDS = [*STORAGE_BACKENDS, *(f"{b.name}-s3" for b in STORAGE_BACKENDS.values() if b.object_storage)]
D1, D2 = date(2026, 3, 10), date(2026, 3, 11)
T1, T2 = (datetime(2026, 3, d, tzinfo=UTC) for d in (10, 11))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(backend, domain, tmp_path, request, monkeypatch):
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    lake = request.getfixturevalue("s3_lake") if backend.endswith("-s3") else None
    store = open_store(backend.removesuffix("-s3"), tmp_path, url, lake)
    yield store
    if backend == "postgres":
        _drop_test_schemas(url, domain)


@pytest.fixture
def domain() -> str:
    """A domain of its own per test, so PostgreSQL tests never see each other's tables."""
    return f"t{uuid.uuid4().hex[:12]}"


def child_env(store) -> dict[str, str]:
    """A child process's environment: this one's (AWS_* included), and the store's lake root."""
    lake = str(store.root).rsplit("/", 1)[0] if getattr(store, "remote", False) else ""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TEST_LAKE": lake}


def _drop_test_schemas(url: str, domain: str) -> None:
    """This test's schemas (every layer of its own domain), and no other's: tests on other
    pytest-xdist workers, or another run of the suite, use the same server at the same time."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for (schema,) in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name ~ %s",
            (f"^[a-z]+_{domain}$",),
        ).fetchall():
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')


def every_type(day: date, ids: list[int]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "small": pa.array([7] * n, pa.int32()),
            "amount": pa.array(
                [Decimal("12.34"), None, Decimal("-0.01")][:n] + [Decimal("1")] * max(0, n - 3),
                pa.decimal128(12, 2),
            ),
            "ratio": pa.array([0.5, None, -1e-9][:n] + [2.0] * max(0, n - 3), pa.float64()),
            "label": pa.array(["Zürich ☕ «ok»", "", None][:n] + ["x"] * max(0, n - 3), pa.string()),
            "flag": pa.array([True, None, False][:n] + [True] * max(0, n - 3), pa.bool_()),
            "at": pa.array(
                [datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), None, T1][:n] + [T2] * max(0, n - 3),
                pa.timestamp("us", tz="UTC"),
            ),
            "flags": pa.array(
                [["normalised_status"], [], None][:n] + [["a", "b"]] * max(0, n - 3), pa.list_(pa.string())
            ),
            "partition_date": pa.array([day] * n, pa.date32()),
        }
    )


def ids(store, table, where=None) -> list[int]:
    return sorted(store.read(table, columns=["id"], where=where).column("id").to_pylist())


def test_round_trip_of_every_type_returns_equal_data(store, domain):
    table = TableName("silver", domain, "orders")
    data = every_type(D1, [1, 2, 3])
    store.write(table, data)
    assert store.read(table).equals(data)
    assert store.schema(table) == data.schema
    assert store.row_count(table) == 3


def test_nan_and_infinity_survive(store, domain):
    table = TableName("gold", domain, "floats")
    store.write(table, pa.table({"x": [math.nan, math.inf, -math.inf, None]}))
    values = store.read(table).column("x").to_pylist()
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, None]


def test_overwrite_replaces_the_whole_table(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D1, [1, 2, 3]))
    store.write(table, every_type(D2, [9]))
    assert ids(store, table) == [9]


@pytest.mark.parametrize(
    ("column", "first", "second"), [("partition_date", D1, D2), ("partition_start", T1, T2)]
)
def test_replacing_a_partition_twice_leaves_one_copy_and_others_untouched(
    store, domain, column, first, second
):
    table = TableName("silver", domain, "events")

    def day(value, keys):
        return pa.table(
            {"id": pa.array(keys, pa.int64()), column: pa.array([value] * len(keys), _type(value))}
        )

    store.write(table, day(first, [1, 2]), Slice(column, (first,)))
    store.write(table, day(second, [3]), Slice(column, (second,)))
    untouched = store.read(table, where=Slice(column, (second,)))
    store.write(table, day(first, [4, 5, 6]), Slice(column, (first,)))
    store.write(table, day(first, [4, 5, 6]), Slice(column, (first,)))

    assert ids(store, table) == [3, 4, 5, 6]
    assert store.read(table, where=Slice(column, (second,))).equals(untouched)
    assert store.schema(table).field(column).type == _type(first)


def _type(value) -> pa.DataType:
    return pa.timestamp("us", tz="UTC") if isinstance(value, datetime) else pa.date32()


def test_naive_timestamp_slices_are_refused():
    with pytest.raises(StorageError, match="must be UTC"):
        Slice("partition_start", (datetime(2026, 3, 10),))


def test_empty_frames(store, domain):
    """An empty write creates the table or empties the slice; an empty append changes nothing."""
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D1, []))
    assert store.exists(table) and store.row_count(table) == 0
    assert store.schema(table) == every_type(D1, []).schema

    sliced = TableName("silver", domain, "sliced")
    store.write(sliced, every_type(D1, [1]), Slice("partition_date", (D1,)))
    store.write(sliced, every_type(D2, [2]), Slice("partition_date", (D2,)))
    store.write(sliced, every_type(D1, []), Slice("partition_date", (D1,)))
    assert ids(store, sliced) == [2]
    store.append(sliced, every_type(D2, []))
    assert ids(store, sliced) == [2]


def test_append_adds_rows(store, domain):
    table = TableName("reference", domain, "rates")
    store.append(table, every_type(D1, [1, 2]))
    store.append(table, every_type(D2, [3]))
    assert ids(store, table) == [1, 2, 3]


def test_columns_rows_and_limit_are_read_selectively(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D1, [1, 2]), Slice("partition_date", (D1,)))
    store.write(table, every_type(D2, [3, 4, 5]), Slice("partition_date", (D2,)))
    picked = store.read(table, columns=["label", "id"], where=Slice("partition_date", (D2,)))
    assert picked.column_names == ["label", "id"] and sorted(picked["id"].to_pylist()) == [3, 4, 5]
    assert store.read(table, limit=2).num_rows == 2


def test_batches_cover_every_row_once(store, domain):
    table = TableName("silver", domain, "big")
    store.write(table, pa.table({"id": pa.array(range(25_000), pa.int64())}))
    batches = list(store.read_batches(table, batch_rows=4_000))
    assert all(b.num_rows <= 4_000 for b in batches)
    seen = sorted(v for b in batches for v in b.column("id").to_pylist())
    assert seen == list(range(25_000))


def test_list_and_drop(store, domain):
    orders, sales = TableName("silver", domain, "orders"), TableName("gold", domain, "sales")
    store.write(orders, every_type(D1, [1]))
    store.write(sales, every_type(D1, [1]))
    assert orders in store.list_tables("silver") and sales not in store.list_tables("silver")
    assert {orders, sales} <= set(store.list_tables())
    store.drop(orders)
    store.drop(orders)  # dropping twice is fine
    assert not store.exists(orders) and store.exists(sales)
    with pytest.raises(StorageError, match=f"silver/{domain}/orders"):
        store.read(orders)


def test_a_new_nullable_column_is_added_and_old_rows_read_null(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, pa.table({"id": [1], "partition_date": [D1]}), Slice("partition_date", (D1,)))
    store.write(
        table, pa.table({"id": [2], "partition_date": [D2], "note": ["new"]}), Slice("partition_date", (D2,))
    )
    rows = {r["id"]: r for r in store.read(table).to_pylist()}
    assert rows[1]["note"] is None and rows[2]["note"] == "new"
    store.write(table, pa.table({"id": [3], "partition_date": [D1]}), Slice("partition_date", (D1,)))
    assert {r["id"]: r["note"] for r in store.read(table).to_pylist()} == {2: "new", 3: None}
    from dataplatform.engine.sql import query

    for where in (Slice("partition_date", (D1,)), None):  # a day written before the column, and all
        scanned = query("SELECT id, note FROM t ORDER BY id", t=store.scan(table, where=where))
        assert (
            scanned.to_pylist()
            == store.read(table, columns=["id", "note"], where=where).sort_by("id").to_pylist()
        )


def test_a_changed_type_is_refused_naming_table_column_and_types(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, pa.table({"id": pa.array([1], pa.int64()), "amount": pa.array([1.5])}))
    with pytest.raises(SchemaMismatch) as error:
        store.write(table, pa.table({"id": pa.array([2], pa.int64()), "amount": pa.array(["1.5"])}))
    message = str(error.value)
    assert f"silver/{domain}/orders" in message and "'amount'" in message
    assert "double" in message and "string" in message
    assert ids(store, table) == [1]


def test_a_missing_required_column_is_refused(store, domain):
    table = TableName("silver", domain, "orders")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("note", pa.string())])
    store.write(table, pa.table({"id": [1], "note": ["x"]}, schema=schema))
    with pytest.raises(SchemaMismatch, match="required column 'id'"):
        store.append(table, pa.table({"note": ["y"]}))
    store.append(table, pa.table({"id": pa.array([2], pa.int64())}))  # leaving out a nullable one is fine
    assert ids(store, table) == [1, 2]


@pytest.mark.parametrize(
    "name", ['orders"; DROP TABLE x; --', "my table", "../escape", "Orders", "a" * 64, ""]
)
def test_unsafe_table_names_are_rejected_before_any_io(name):
    with pytest.raises(StorageError, match="invalid table name"):
        TableName("silver", "ecommerce", name)


def test_sql_keywords_as_table_names_are_quoted_and_work(store, domain):
    table = TableName("select", domain, "order")
    store.write(
        table, pa.table({"id": [1, 2], "partition_date": [D1, D2]}), Slice("partition_date", (D1, D2))
    )
    assert store.read(table, where=Slice("partition_date", (D2,))).column("id").to_pylist() == [2]


def test_odd_column_names_are_quoted_safely(store, domain):
    table = TableName("reference", domain, "odd")
    names = ['say "hi"', "semi;colon", "select", "with space", "ünïcode"]
    data = pa.table({name: [i] for i, name in enumerate(names)})
    store.write(table, data)
    assert store.read(table).equals(data)
    assert store.read(table, columns=['say "hi"']).column(0).to_pylist() == [0]


@pytest.mark.parametrize("value", ["x' OR '1'='1", "../../etc", "a/b", "a b", ".."])
def test_unsafe_slice_values_are_refused_before_reaching_a_predicate_or_path(value):
    with pytest.raises(StorageError, match="unsupported slice value"):
        Slice("key", (value,))


def test_rows_outside_the_slice_are_refused_and_nothing_is_written(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D2, [2]), Slice("partition_date", (D2,)))
    with pytest.raises(StorageError, match="outside"):
        store.write(
            table,
            pa.concat_tables([every_type(D1, [1]), every_type(D2, [3])]),
            Slice("partition_date", (D1,)),
        )
    assert ids(store, table) == [2]


def _reader(*tables: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(tables[0].schema, (b for t in tables for b in t.to_batches()))


def test_a_stream_replaces_its_slice_like_a_write_and_leaves_others(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D2, [9]), Slice("partition_date", (D2,)))
    day = every_type(D1, [1, 2, 3])
    written = store.write_stream(
        table, _reader(day.slice(0, 2), day.slice(2)), Slice("partition_date", (D1,))
    )
    assert written == 3
    assert store.read(table, where=Slice("partition_date", (D1,))).sort_by("id").equals(day)
    store.write_stream(table, _reader(every_type(D1, [4])), Slice("partition_date", (D1,)))
    assert ids(store, table) == [4, 9]


def test_a_stream_with_rows_outside_its_slice_writes_nothing(store, domain):
    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D2, [2]), Slice("partition_date", (D2,)))
    with pytest.raises(StorageError, match="outside"):
        store.write_stream(
            table, _reader(every_type(D1, [1]), every_type(D2, [3])), Slice("partition_date", (D1,))
        )
    assert ids(store, table) == [2]


def _files(store) -> set:
    """Every data file under a folder-based store (nothing for a database)."""
    import pyarrow.fs as pafs

    from dataplatform.storage.lake import filesystem

    root = getattr(store, "root", None)
    if root is None:
        return set()
    fs, base = filesystem(str(root))
    listed = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return {info.path for info in listed if info.base_name.endswith(".parquet")}


@pytest.mark.parametrize("sliced", [True, False])
def test_a_querys_rows_are_written_like_the_same_table(store, domain, sliced):
    """Rows a DuckDB query produces (which Delta lets DuckDB write as its files) read back as the
    table the query returns, and replace only their slice."""
    from dataplatform.engine.sql import connect, stream

    table = TableName("silver", domain, "orders")
    replace = Slice("partition_date", (D1,)) if sliced else None
    store.write(table, every_type(D2, [9]), Slice("partition_date", (D2,)))
    day = every_type(D1, [1, 2, 3])
    with connect(incoming=day) as con:
        assert store.write_stream(table, stream(con, "SELECT * FROM incoming"), replace) == 3
        again = stream(con, "SELECT * FROM incoming WHERE id = 3")
        assert store.write_stream(table, again, replace) == 1
    assert ids(store, table) == ([3, 9] if sliced else [3])
    assert store.read(table, where=Slice("id", (3,))).equals(day.filter(pc.equal(day["id"], 3)))


def test_a_querys_rows_outside_the_slice_or_failing_half_way_leave_nothing(store, domain):
    from dataplatform.engine.sql import connect, stream

    table = TableName("silver", domain, "orders")
    store.write(table, every_type(D1, [1]), Slice("partition_date", (D1,)))
    before = _files(store)
    both_days = pa.concat_tables([every_type(D1, [2]), every_type(D2, [3])])
    many = every_type(D1, list(range(10, 300_010)))
    with connect(two_days=both_days, many=many) as con:
        with pytest.raises(StorageError, match="1 rows have partition_date outside"):
            store.write_stream(table, stream(con, "SELECT * FROM two_days"), Slice("partition_date", (D1,)))
        failing = (
            "SELECT * REPLACE (CASE WHEN id < 300_000 THEN id ELSE error('bad row') END AS id) FROM many"
        )
        with pytest.raises(Exception, match="bad row"):
            store.write_stream(table, stream(con, failing), Slice("partition_date", (D1,)))
    assert ids(store, table) == [1]
    assert _files(store) == before


@pytest.mark.parametrize("sliced", [False, True])
def test_a_scan_holds_the_rows_of_read(store, domain, sliced):
    from dataplatform.engine.sql import query

    table = TableName("silver", domain, "orders")
    if sliced:  # written by partition: Parquet and Delta keep a folder per day
        store.write(table, every_type(D1, [1, 2]), Slice("partition_date", (D1,)))
        store.write(table, every_type(D2, [3]), Slice("partition_date", (D2,)))
    else:
        store.write(table, pa.concat_tables([every_type(D1, [1, 2]), every_type(D2, [3])]))
    for where in (Slice("partition_date", (D1,)), Slice("id", (3,)), None):
        scanned = query("SELECT * FROM t ORDER BY id", t=store.scan(table, where=where))
        assert scanned.equals(store.read(table, where=where).sort_by("id"))
        columns = ["partition_date", "id"]  # a slice of another column, and the partition column
        some = store.scan(table, where, columns)
        scanned = query("SELECT partition_date, id FROM t ORDER BY id", t=some)
        assert scanned.equals(store.read(table, columns=columns, where=where).sort_by("id"))
        if not isinstance(some, ds.Dataset):  # DuckDB projects into a dataset's scan by itself
            assert query("SELECT * FROM t LIMIT 0", t=some).column_names == columns


WRITER = """
import sys, pyarrow as pa
from pathlib import Path
from datetime import date
from dataplatform.storage import open_store, TableName, Slice
import os
backend, root, url, mode, marker = sys.argv[1:6]
store = open_store(backend, root, url or None, os.environ["TEST_LAKE"] or None)
table = TableName("silver", sys.argv[6], "orders")
n = 3_000_000
data = pa.table({"id": pa.array(range(n), pa.int64()), "payload": pa.array(["x" * 40] * n),
                 "partition_date": pa.array([date(2026, 3, 10)] * n, pa.date32())})
Path(marker).touch()
while True:
    store.write(table, data, Slice("partition_date", (date(2026, 3, 10),)) if mode == "slice" else None)
"""


@pytest.mark.parametrize("mode", ["table", "slice"])
def test_a_writer_killed_mid_write_leaves_the_previous_version_readable(
    store, domain, tmp_path, request, mode
):
    table = TableName("silver", domain, "orders")
    previous = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "payload": ["a", "b", "c"],
            "partition_date": pa.array([D1] * 3, pa.date32()),
        }
    )
    store.write(table, previous, Slice("partition_date", (D1,)) if mode == "slice" else None)
    url = request.getfixturevalue("postgres_url") if store.backend == "postgres" else ""
    marker = tmp_path / "writing"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store.backend, str(tmp_path), url, mode, str(marker), domain],
        env=child_env(store),
    )
    try:
        wait_until(marker.exists, writer, 120, "the writer built its rows")
        started = cpu_seconds(writer.pid)  # the write is under way once it has worked a while at it
        wait_until(
            lambda: cpu_seconds(writer.pid) - started >= 0.3, writer, 120, "0.3 s of CPU into the write"
        )
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    after = store.read(table)
    assert after.num_rows in (3, 3_000_000)
    if after.num_rows == 3:
        assert after.sort_by("id").equals(previous)
    else:  # a full write committed before the kill: the new version, whole
        assert pc.count_distinct(after["id"]).as_py() == 3_000_000


def test_delta_keeps_history_for_time_travel_and_maintenance(tmp_path):
    store = open_store("delta", tmp_path)
    table = TableName("silver", "ecommerce", "orders")
    store.write(table, every_type(D1, [1, 2]), Slice("partition_date", (D1,)))
    store.write(table, every_type(D1, [3]), Slice("partition_date", (D1,)))
    versions = [h["version"] for h in store.history(table)]
    assert versions == sorted(versions, reverse=True) and len(versions) >= 2
    assert sorted(store.read_version(table, versions[1])["id"].to_pylist()) == [1, 2]
    assert ids(store, table) == [3]
    store.optimize(table)
    store.vacuum(table, retention_hours=0)
    assert ids(store, table) == [3]


def test_delta_bronze_reads_by_day_never_miss_another_batch_of_that_day(tmp_path):
    store = open_store("delta", tmp_path)
    bronze = TableName("bronze", "ecommerce", "orders")

    def batch(day, batch_id, rows):
        return every_type(day, rows).append_column("_batch_id", pa.array([batch_id] * len(rows)))

    store.write(bronze, batch(D1, "a", [1]), Slice("_batch_id", ("a",)))
    store.write(bronze, batch(D2, "b", [2, 3]), Slice("_batch_id", ("b",)))
    day2 = Slice("partition_date", (D2,))
    store.write(bronze, batch(D2, "c", [4]), Slice("_batch_id", ("c",)))
    assert ids(store, bronze, day2) == [2, 3, 4]  # batch b's file holds rows of that day too
    store.write(bronze, batch(D2, "c", [5]), Slice("_batch_id", ("c",)))
    assert ids(store, bronze) == [1, 2, 3, 5]


def test_delta_reads_see_writes_of_other_writers(tmp_path):
    from deltalake import write_deltalake

    store = open_store("delta", tmp_path)
    table = TableName("silver", "ecommerce", "orders")
    store.write(table, every_type(D1, [1, 2]), Slice("partition_date", (D1,)))
    write_deltalake(store.folder(table), store.read(table).slice(0, 1), mode="append")
    assert ids(store, table) == [1, 1, 2]


def test_an_unreachable_postgres_is_retried_then_reported_without_the_password():
    store = open_store("postgres", "", "postgresql://reader:hunter2@127.0.0.1:1/platform")
    started = time.monotonic()
    with pytest.raises(StorageError, match="PostgreSQL unreachable after 3 attempts") as error:
        store.exists(TableName("silver", "ecommerce", "orders"))
    assert time.monotonic() - started >= 1.5  # backed off 0.5 s, then 1 s
    assert "hunter2" not in str(error.value)


def test_timestamps_of_any_unit_are_kept_in_microseconds(store, domain):
    table = TableName("landing", domain, "bars")
    moment = datetime(2026, 3, 10, 14, 31, tzinfo=UTC)
    for unit in ("s", "ms", "s"):
        store.write(table, pa.table({"ts": pa.array([moment], pa.timestamp(unit, tz="UTC"))}))
    assert store.schema(table).field("ts").type == pa.timestamp("us", tz="UTC")
    assert store.read(table)["ts"].to_pylist() == [moment]


RACER = """
import sys, time, pyarrow as pa
from pathlib import Path
from datetime import date
from dataplatform.storage import open_store, TableName, Slice
import os
backend, root, url, domain, day, go = sys.argv[1:7]
store = open_store(backend, root, url or None, os.environ["TEST_LAKE"] or None)
day = date.fromisoformat(day)
data = pa.table({"id": pa.array(range(100_000), pa.int64()), "partition_date": pa.array([day] * 100_000, pa.date32())})
Path(go + "." + sys.argv[5]).touch()  # ready: imported, rows built
while not Path(go).exists():
    time.sleep(0.001)
store.write(TableName("bronze", domain, "racing"), data, Slice("partition_date", (day,)))
"""


def test_writers_of_different_partitions_creating_a_table_at_once_lose_nothing(
    store, domain, tmp_path, request
):
    url = request.getfixturevalue("postgres_url") if store.backend == "postgres" else ""
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                store.backend,
                str(tmp_path),
                url,
                domain,
                day.isoformat(),
                str(go),
            ],
            env=child_env(store),
        )
        for day in (D1, D2)
    ]
    for day, racer in zip((D1, D2), racers, strict=True):
        ready = tmp_path / f"go.{day.isoformat()}"
        wait_until(ready.exists, racer, 120, f"the racer of {day} imported and waiting")
    go.touch()
    assert [racer.wait(timeout=120) for racer in racers] == [0, 0]
    counts = (
        store.read(TableName("bronze", domain, "racing"))
        .group_by("partition_date")
        .aggregate([("id", "count")])
    )
    assert sorted(counts.to_pylist(), key=lambda r: r["partition_date"]) == [
        {"partition_date": D1, "id_count": 100_000},
        {"partition_date": D2, "id_count": 100_000},
    ]
