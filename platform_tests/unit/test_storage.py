"""The table contract, run against every embedded backend with real files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.storage import Slice, StorageError, TableName, open_store

BACKENDS = ["parquet", "delta", "duckdb"]
D1, D2 = date(2026, 3, 10), date(2026, 3, 11)
ORDERS = TableName("silver", "ecommerce", "orders")


def sample(day: date, ids: list[int]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array([Decimal("12.34")] * n, pa.decimal128(12, 2)),
            "ratio": pa.array([0.5] * n, pa.float64()),
            "label": pa.array(["Zürich ☕"] * (n - 1) + [None], pa.string())
            if n
            else pa.array([], pa.string()),
            "flag": pa.array([True] * n, pa.bool_()),
            "at": pa.array([datetime(2026, 3, 1, 12, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            "partition_date": pa.array([day] * n, pa.date32()),
        }
    )


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    return open_store(request.param, tmp_path)


def test_whole_table_round_trip_keeps_every_type(store):
    data = sample(D1, [1, 2, 3])
    store.write(ORDERS, data)
    assert store.read(ORDERS).equals(data)
    assert store.row_count(ORDERS) == 3


def test_overwrite_replaces_the_whole_table(store):
    store.write(ORDERS, sample(D1, [1, 2, 3]))
    store.write(ORDERS, sample(D2, [9]))
    assert store.read(ORDERS, columns=["id"]).column("id").to_pylist() == [9]


def test_replacing_a_partition_twice_leaves_one_copy_and_other_partitions_untouched(store):
    store.write(ORDERS, sample(D1, [1, 2]), Slice("partition_date", (D1,)))
    store.write(ORDERS, sample(D2, [3]), Slice("partition_date", (D2,)))
    store.write(ORDERS, sample(D1, [4, 5, 6]), Slice("partition_date", (D1,)))
    store.write(ORDERS, sample(D1, [4, 5, 6]), Slice("partition_date", (D1,)))

    ids = sorted(store.read(ORDERS, columns=["id"]).column("id").to_pylist())
    assert ids == [3, 4, 5, 6]
    only_d2 = store.read(ORDERS, where=Slice("partition_date", (D2,)))
    assert only_d2.column("id").to_pylist() == [3]
    assert only_d2.column("partition_date").type == pa.date32()


def test_empty_slice_write_removes_that_partition_only(store):
    store.write(ORDERS, sample(D1, [1]), Slice("partition_date", (D1,)))
    store.write(ORDERS, sample(D2, [2]), Slice("partition_date", (D2,)))
    store.write(ORDERS, sample(D1, []), Slice("partition_date", (D1,)))
    assert store.read(ORDERS, columns=["id"]).column("id").to_pylist() == [2]


def test_rows_outside_the_slice_are_refused_and_nothing_is_written(store):
    store.write(ORDERS, sample(D2, [2]), Slice("partition_date", (D2,)))
    mixed = pa.concat_tables([sample(D1, [1]), sample(D2, [3])])
    with pytest.raises(StorageError, match="outside"):
        store.write(ORDERS, mixed, Slice("partition_date", (D1,)))
    assert store.read(ORDERS, columns=["id"]).column("id").to_pylist() == [2]


def test_text_slices_replace_batches(store):
    def batch(batch_id: str, ids: list[int]) -> pa.Table:
        return pa.table({"id": ids, "_batch_id": [batch_id] * len(ids)})

    bronze = TableName("bronze", "ecommerce", "customers")
    store.write(bronze, batch("a1", [1, 2]), Slice("_batch_id", ("a1",)))
    store.write(bronze, batch("b2", [1, 2, 3]), Slice("_batch_id", ("b2",)))
    store.write(bronze, batch("a1", [1, 2]), Slice("_batch_id", ("a1",)))
    result = store.read(bronze)
    assert result.num_rows == 5
    assert sorted(pc.unique(result["_batch_id"]).to_pylist()) == ["a1", "b2"]


def test_reading_a_missing_table_says_which(store):
    with pytest.raises(StorageError, match="silver/ecommerce/orders"):
        store.read(ORDERS)
    assert not store.exists(ORDERS)


@pytest.mark.parametrize(
    "name",
    ['orders"; DROP TABLE x; --', "my table", "../escape", "Orders", "a" * 64, ""],
)
def test_unsafe_table_names_are_rejected_before_any_io(name):
    with pytest.raises(StorageError, match="invalid table name"):
        TableName("silver", "ecommerce", name)


def test_sql_keywords_as_names_are_quoted_and_work(store):
    table = TableName("select", "from", "order")
    data = pa.table({"id": [1, 2], "partition_date": [D1, D2]})
    store.write(table, data, Slice("partition_date", (D1, D2)))
    assert store.read(table, where=Slice("partition_date", (D2,))).column("id").to_pylist() == [2]


@pytest.mark.parametrize("value", ["x' OR '1'='1", "../../etc", "a/b", "a b", ".."])
def test_unsafe_slice_values_are_refused_before_reaching_a_predicate_or_path(value):
    with pytest.raises(StorageError, match="unsupported slice value"):
        Slice("key", (value,))


def test_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="unknown storage backend 'mysql'"):
        open_store("mysql", tmp_path)
