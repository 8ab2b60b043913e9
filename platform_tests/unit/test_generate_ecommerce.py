"""The e-commerce generator: determinism, realistic invariants, and an honest defect record."""

from __future__ import annotations

import multiprocessing
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.currency import MAX_PRICE
from dataplatform.domains.ecommerce.generator import STATUSES, EcommerceGenerator
from dataplatform.settings import EcommerceVolumes
from platform_tests.conftest import DAY, NEXT_DAY, SMALL


def generator(seed: int = 7, defect_rate: float = 0.03, volumes: EcommerceVolumes = SMALL):
    return EcommerceGenerator(seed, volumes, defect_rate)


def _day_in_fresh_process(day: date) -> dict:
    batch = generator().day(day)
    return {name: table.to_pydict() for name, table in batch.tables.items()}


def test_same_seed_and_partition_give_identical_rows_in_any_order_or_process():
    first = generator().day(DAY)
    generator().day(NEXT_DAY)  # another partition in between changes nothing
    again = generator().day(DAY)
    for name in first.tables:
        assert first.tables[name].equals(again.tables[name])
    assert first.defects.equals(again.defects)

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        elsewhere = pool.apply(_day_in_fresh_process, (DAY,))
    assert elsewhere == {name: t.to_pydict() for name, t in first.tables.items()}


def test_a_day_is_the_same_on_one_thread_or_many():
    many = EcommerceGenerator(7, SMALL, 0.03, threads=4).day(DAY)
    one = EcommerceGenerator(7, SMALL, 0.03, threads=1).day(DAY)
    for name in many.tables:
        assert many.tables[name].equals(one.tables[name])
    assert many.defects.equals(one.defects)


def test_different_partitions_and_seeds_differ():
    a = generator().day(DAY).tables["orders"]
    b = generator().day(NEXT_DAY).tables["orders"]
    c = generator(seed=8).day(DAY).tables["orders"]
    assert a.column("order_id").to_pylist() != b.column("order_id").to_pylist()
    assert a.column("customer_id").to_pylist() != c.column("customer_id").to_pylist()


def test_master_data_is_deterministic_and_partition_independent():
    assert generator().master().tables["customers"].equals(generator().master().tables["customers"])


def test_clean_facts_reference_existing_master_rows_and_totals_add_up():
    gen = generator()
    customers, products = gen.clean_customers(), gen.clean_products()
    orders, items = gen.clean_day(DAY)

    assert set(orders.column("customer_id").to_pylist()) <= set(customers.column("customer_id").to_pylist())
    assert set(items.column("product_id").to_pylist()) <= set(products.column("product_id").to_pylist())
    assert set(items.column("order_id").to_pylist()) == set(orders.column("order_id").to_pylist())

    sums = items.group_by("order_id").aggregate([("line_total", "sum"), ("line_total", "count")])
    joined = orders.join(sums, "order_id")
    assert np.allclose(joined["order_total"].to_numpy(), joined["line_total_sum"].to_numpy(), atol=0.011)
    assert joined["item_count"].to_pylist() == joined["line_total_count"].to_pylist()

    ts = pc.strptime(orders.column("order_ts"), format="%Y-%m-%dT%H:%M:%SZ", unit="s")
    assert pc.all(pc.equal(pc.cast(ts, pa.date32()), pa.scalar(DAY, pa.date32()))).as_py()
    assert set(orders.column("status").to_pylist()) <= set(STATUSES)
    assert pc.min(items.column("quantity")).as_py() >= 1
    assert pc.min(items.column("unit_price")).as_py() > 0
    assert len(set(orders.column("order_id").to_pylist())) == orders.num_rows


def test_order_ids_are_unique_across_days():
    a = generator().day(DAY).tables["orders"].column("order_id").to_pylist()
    b = generator().day(NEXT_DAY).tables["orders"].column("order_id").to_pylist()
    assert not set(a) & set(b)


def test_products_have_plausible_prices_and_costs_below_price():
    products = generator().clean_products()
    assert pc.all(pc.less(products["cost"], products["price"])).as_py()
    assert pc.min(products["price"]).as_py() > 0


def test_defect_free_generation_when_rate_is_zero():
    batch = generator(defect_rate=0.0).day(DAY)
    assert batch.defects.num_rows == 0
    orders, items = generator().clean_day(DAY)
    assert batch.tables["orders"].equals(orders)
    assert batch.tables["order_items"].equals(items)


def test_defects_do_not_move_clean_values():
    clean_orders, _ = generator().clean_day(DAY)
    dirty = generator(defect_rate=0.2).day(DAY).tables["orders"]
    # duplicates are appended after the rows they copy; the first copy of each order is its own
    first_copies = dirty.group_by("order_id", use_threads=False).aggregate(
        [("item_count", "first"), ("order_total", "first")]
    )
    assert first_copies.column("order_id").equals(clean_orders.column("order_id"))
    assert first_copies.column("item_count_first").equals(clean_orders.column("item_count"))
    assert first_copies.column("order_total_first").equals(clean_orders.column("order_total"))


@pytest.fixture(scope="module")
def dirty_day():
    gen = generator(defect_rate=0.2)
    return gen.day(DAY), gen.clean_day(DAY)


def _records(batch, table: str, kind: str) -> list[dict]:
    d = batch.defects
    mask = pc.and_(pc.equal(d["table"], table), pc.equal(d["kind"], kind))
    return d.filter(mask).to_pylist()


def _rows_by_key(table: pa.Table, key: str) -> dict:
    rows: dict = {}
    for row in table.to_pylist():
        rows.setdefault(str(row[key]), []).append(row)
    return rows


@pytest.mark.parametrize(
    ("table", "key", "kind", "broken"),
    [
        ("orders", "order_id", "null_required", lambda row, col: row[col] is None),
        ("order_items", "order_item_id", "null_required", lambda row, col: row[col] is None),
        ("order_items", "order_item_id", "negative_quantity", lambda row, col: row[col] < 0),
        (
            "order_items",
            "order_item_id",
            "out_of_range_price",
            lambda row, col: row[col] <= 0 or row[col] >= MAX_PRICE,
        ),
        (
            "orders",
            "order_id",
            "inconsistent_categorical",
            lambda row, col: row[col] != row[col].strip().lower(),
        ),
    ],
)
def test_each_recorded_defect_is_in_the_data(dirty_day, table, key, kind, broken):
    batch, _ = dirty_day
    records = _records(batch, table, kind)
    assert records, f"no {kind} defects injected into {table} at 20%"
    rows = _rows_by_key(batch.tables[table], key)
    for record in records:
        assert any(broken(row, record["column"]) for row in rows[record["key"]]), record


def test_unparseable_timestamps_are_recorded_and_nothing_else_is_unparseable(dirty_day):
    batch, _ = dirty_day
    orders = batch.tables["orders"]
    parsed = pc.strptime(orders["order_ts"], format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    bad_keys = {
        str(k) for k, p in zip(orders["order_id"].to_pylist(), parsed.to_pylist(), strict=True) if p is None
    }
    recorded = {r["key"] for r in _records(batch, "orders", "unparseable_timestamp")}
    assert recorded and bad_keys == recorded


def test_duplicates_are_exactly_the_recorded_extra_rows(dirty_day):
    batch, (clean_orders, _) = dirty_day
    orders = batch.tables["orders"]
    extra = orders.num_rows - clean_orders.num_rows
    recorded = _records(batch, "orders", "exact_duplicate") + _records(batch, "orders", "near_duplicate")
    assert extra == len(recorded) > 0
    counts = _rows_by_key(orders, "order_id")
    for record in recorded:
        assert len(counts[record["key"]]) >= 2


def test_defect_share_follows_the_rate():
    gen = generator(defect_rate=0.05, volumes=EcommerceVolumes(orders_per_day=20_000))
    batch = gen.day(DAY)
    orders_defects = pc.sum(pc.equal(batch.defects["table"], "orders")).as_py()
    share = orders_defects / 20_000
    assert 0.04 < share < 0.06
