"""Each silver rule on a small hand-made bronze table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from dataplatform.domains.ecommerce.pipeline import ORDER_ITEMS, ORDERS, PRODUCTS
from dataplatform.engine import sql
from dataplatform.transform.silver import Column, Rule, SilverSpec, clean

EARLY = datetime(2026, 3, 10, 1, tzinfo=UTC)
LATE = datetime(2026, 3, 11, 1, tzinfo=UTC)


def bronze(rows: list[dict], **defaults) -> pa.Table:
    base = {"_batch_id": "b1", "_ingested_at": EARLY, "_source": "test", "_checksum": None}
    full = [{**base, **defaults, **row} for row in rows]
    for i, row in enumerate(full):
        row["_checksum"] = row["_checksum"] or f"c{i}"
    table = pa.Table.from_pylist(full)
    return table.set_column(
        table.schema.get_field_index("_ingested_at"),
        "_ingested_at",
        table["_ingested_at"].cast(pa.timestamp("us", tz="UTC")),
    )


def order(order_id, **overrides):
    row = {
        "order_id": order_id,
        "customer_id": 10,
        "order_ts": "2026-03-10T10:00:00Z",
        "status": "paid",
        "currency": "EUR",
        "channel": "web",
        "item_count": 1,
        "order_total": 9.99,
        "partition_date": date(2026, 3, 10),
    }
    row.update(overrides)
    return row


def by_id(table: pa.Table, key: str = "order_id") -> dict:
    return {row[key]: row for row in table.to_pylist()}


def test_types_are_cast_and_money_is_decimal():
    result = clean(bronze([order(1)]), ORDERS)
    row = result.table.to_pylist()[0]
    assert row["order_ts"] == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert row["order_total"] == Decimal("9.99")
    assert result.table.schema.field("order_total").type == pa.decimal128(12, 2)
    assert row["_quality_flags"] == []


def test_categoricals_are_trimmed_and_cased_and_the_repair_is_flagged():
    result = clean(bronze([order(1, status=" PAID ", channel="Web"), order(2)]), ORDERS)
    rows = by_id(result.table)
    assert (rows[1]["status"], rows[1]["channel"]) == ("paid", "web")
    assert sorted(rows[1]["_quality_flags"]) == ["normalised_channel", "normalised_status"]
    assert rows[2]["_quality_flags"] == []


def test_a_later_batch_supersedes_the_earlier_record():
    rows = [
        order(1, status="paid", _ingested_at=EARLY, _batch_id="b1"),
        order(1, status="shipped", _ingested_at=LATE, _batch_id="b2"),
    ]
    result = clean(bronze(rows), ORDERS)
    assert by_id(result.table)[1]["status"] == "shipped"
    assert result.dropped == {"superseded": 1}
    assert result.quarantine.to_pylist()[0]["status"] == "paid"


def test_an_invalid_latest_record_quarantines_the_key_instead_of_reviving_an_older_one():
    rows = [
        order(1, customer_id=10, _ingested_at=EARLY, _batch_id="b1"),
        order(1, customer_id=None, _ingested_at=LATE, _batch_id="b2"),
    ]
    result = clean(bronze(rows), ORDERS)
    assert result.table.num_rows == 0
    assert result.dropped == {"missing_customer_id": 1, "superseded": 1}


def test_keys_missing_from_the_latest_delivery_are_superseded_with_it():
    rows = [
        order(1, _ingested_at=EARLY, _batch_id="b1"),
        order(2, _ingested_at=EARLY, _batch_id="b1"),
        order(1, status="shipped", _ingested_at=LATE, _batch_id="b2"),
    ]
    result = clean(bronze(rows), ORDERS)
    assert list(by_id(result.table)) == [1]
    assert result.dropped == {"superseded": 2}


def test_within_a_batch_a_valid_copy_wins_over_an_invalid_one():
    result = clean(bronze([order(1, order_ts="N/A"), order(1)]), ORDERS)
    assert result.table.num_rows == 1
    assert result.dropped == {"unparseable_order_ts": 1}


def test_copies_within_one_batch_are_duplicates():
    result = clean(bronze([order(1), order(1), order(1)]), ORDERS)
    assert result.table.num_rows == 1
    assert result.dropped == {"duplicate": 2}


def test_near_duplicates_collapse_after_normalisation():
    rows = [order(1, status="Paid  "), order(1, status="paid")]
    result = clean(bronze(rows), ORDERS)
    assert result.table.num_rows == 1
    assert result.dropped == {"duplicate": 1}


def test_the_quarantine_holds_dropped_copies_as_delivered_and_in_delivery_order():
    rows = [order(2, status="Paid  ", _checksum="c9"), order(1, customer_id=None), order(2), order(3)]
    result = clean(bronze(rows), ORDERS)
    assert sorted(by_id(result.table)) == [2, 3]
    assert result.quarantine.column_names == [*bronze(rows).column_names, "_drop_reason"]
    quarantined = result.quarantine.to_pylist()
    assert [(r["order_id"], r["_drop_reason"]) for r in quarantined] == [
        (2, "duplicate"),
        (1, "missing_customer_id"),
    ]
    assert quarantined[0]["status"] == "Paid  "  # the losing copy (larger checksum), untouched


def test_missing_required_and_unparseable_values_are_quarantined_with_reasons():
    rows = [order(1, customer_id=None), order(2, order_ts="N/A"), order(3, order_ts=None), order(4)]
    result = clean(bronze(rows), ORDERS)
    assert list(by_id(result.table)) == [4]
    quarantined = by_id(result.quarantine)
    reasons = {order_id: row["_drop_reason"] for order_id, row in quarantined.items()}
    assert reasons == {1: "missing_customer_id", 2: "unparseable_order_ts", 3: "missing_order_ts"}
    assert quarantined[2]["order_ts"] == "N/A"  # the row as delivered


def test_rule_violations_drop_rows_and_nullify_rules_keep_them_flagged():
    items = [
        {
            "order_item_id": 1,
            "order_id": 1,
            "line_number": 1,
            "product_id": 5,
            "quantity": -2,
            "unit_price": 3.0,
            "discount": 0.0,
            "line_total": -6.0,
            "partition_date": date(2026, 3, 10),
        },
        {
            "order_item_id": 2,
            "order_id": 1,
            "line_number": 2,
            "product_id": 5,
            "quantity": 1,
            "unit_price": 0.0,
            "discount": 0.0,
            "line_total": 0.0,
            "partition_date": date(2026, 3, 10),
        },
        {
            "order_item_id": 3,
            "order_id": 1,
            "line_number": 3,
            "product_id": 5,
            "quantity": 1,
            "unit_price": 3.0,
            "discount": 0.0,
            "line_total": 3.0,
            "partition_date": date(2026, 3, 10),
        },
    ]
    result = clean(bronze(items), ORDER_ITEMS)
    assert [r["order_item_id"] for r in result.table.to_pylist()] == [3]
    assert result.dropped == {"negative_quantity": 1, "invalid_price": 1}

    product = {
        "product_id": 1,
        "sku": "sku-1",
        "name": " Lamp ",
        "category": "Home ",
        "price": -4.0,
        "cost": 2.0,
        "launched_on": date(2024, 1, 1),
        "is_active": True,
    }
    kept = clean(bronze([product]), PRODUCTS).table.to_pylist()[0]
    assert kept["price"] is None
    assert (kept["sku"], kept["name"], kept["category"]) == ("SKU-1", "Lamp", "home")
    assert "invalid_price" in kept["_quality_flags"]


def test_optional_nulls_are_kept_and_flagged():
    spec = SilverSpec(
        key=("id",),
        columns={"id": Column("BIGINT"), "country": Column("VARCHAR", "upper")},
        required=("id",),
        flag_missing=("country",),
    )
    result = clean(bronze([{"id": 1, "country": None}, {"id": 2, "country": "de"}]), spec)
    rows = by_id(result.table, "id")
    assert rows[1]["_quality_flags"] == ["missing_country"]
    assert rows[2]["country"] == "DE"


def test_silver_plus_quarantine_account_for_every_bronze_row():
    rows = [order(1), order(1), order(2, customer_id=None), order(3, status="??"), order(4)]
    result = clean(bronze(rows), ORDERS)
    assert result.table.num_rows + result.quarantine.num_rows == len(rows)
    assert result.metrics["rows_in"] == 5
    assert result.metrics["rows_out"] == 2
    assert result.metrics["dropped_unknown_status"] == 1


def test_a_rule_condition_that_is_null_counts_as_a_violation():
    spec = SilverSpec(
        key=("id",),
        columns={"id": Column("BIGINT"), "x": Column("INTEGER")},
        rules=(Rule("x_positive", "x > 0"),),
    )
    result = clean(bronze([{"id": 1, "x": None}, {"id": 2, "x": 1}]), spec)
    assert result.dropped == {"x_positive": 1}


def test_a_delivery_judged_in_a_scratch_file_gives_what_memory_gives(monkeypatch):
    """Past the memory limit silver's working tables move to a compressed file: same rows, same
    quarantine in delivered order, same counts."""
    rows = [order(i, status=" PAID " if i % 3 else "paid") for i in range(3000)]
    rows += [order(5, order_total=1.0), order(7, _batch_id="b0"), order(11, customer_id=None)]
    delivery = bronze(rows)
    in_memory = clean(delivery, ORDERS)
    monkeypatch.setattr(sql, "BYTES_PER_VALUE", 10**9)  # estimates any delivery over the limit
    schemas, create = [], sql.WorkingTables.create
    monkeypatch.setattr(sql.WorkingTables, "create", lambda w, *a: schemas.append(w.schema) or create(w, *a))
    in_scratch = clean(delivery, ORDERS)
    assert schemas and "temp" not in schemas
    assert in_memory.dropped and in_memory.quarantine.num_rows == sum(in_memory.dropped.values())
    for result in (in_memory, in_scratch):
        assert result.rows_in == len(rows)
    assert in_scratch.table.equals(in_memory.table) and in_scratch.quarantine.equals(in_memory.quarantine)
    assert in_scratch.dropped == in_memory.dropped
