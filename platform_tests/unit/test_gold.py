"""Gold figures on hand-made silver tables, checked against hand-computed answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from dataplatform.domains.ecommerce.pipeline import customer_value, daily_sales, product_performance

DAY = date(2026, 3, 10)


def ts(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


ORDERS = pa.Table.from_pylist(
    [
        {
            "order_id": 1,
            "customer_id": 1,
            "order_ts": ts(10),
            "status": "delivered",
            "currency": "USD",
            "channel": "web",
            "item_count": 2,
            "order_total": Decimal("30.00"),
            "partition_date": DAY,
        },
        {
            "order_id": 2,
            "customer_id": 1,
            "order_ts": ts(10, 18),
            "status": "delivered",
            "currency": "USD",
            "channel": "web",
            "item_count": 1,
            "order_total": Decimal("10.00"),
            "partition_date": DAY,
        },
        {
            "order_id": 3,
            "customer_id": 2,
            "order_ts": ts(8),
            "status": "returned",
            "currency": "EUR",
            "channel": "mobile",
            "item_count": 1,
            "order_total": Decimal("20.00"),
            "partition_date": DAY,
        },
        {
            "order_id": 4,
            "customer_id": 2,
            "order_ts": ts(9),
            "status": "cancelled",
            "currency": "EUR",
            "channel": "mobile",
            "item_count": 1,
            "order_total": Decimal("50.00"),
            "partition_date": DAY,
        },
    ],
    schema=pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("order_ts", pa.timestamp("us", tz="UTC")),
            ("status", pa.string()),
            ("currency", pa.string()),
            ("channel", pa.string()),
            ("item_count", pa.int32()),
            ("order_total", pa.decimal128(12, 2)),
            ("partition_date", pa.date32()),
        ]
    ),
)
ITEMS = pa.Table.from_pylist(
    [
        {"order_item_id": 101, "order_id": 1, "product_id": 1, "quantity": 2, "line_total": Decimal("20.00")},
        {"order_item_id": 102, "order_id": 1, "product_id": 2, "quantity": 1, "line_total": Decimal("10.00")},
        {"order_item_id": 201, "order_id": 2, "product_id": 1, "quantity": 1, "line_total": Decimal("10.00")},
        {"order_item_id": 301, "order_id": 3, "product_id": 2, "quantity": 2, "line_total": Decimal("20.00")},
        {"order_item_id": 401, "order_id": 4, "product_id": 1, "quantity": 5, "line_total": Decimal("50.00")},
    ],
    schema=pa.schema(
        [
            ("order_item_id", pa.int64()),
            ("order_id", pa.int64()),
            ("product_id", pa.int64()),
            ("quantity", pa.int32()),
            ("line_total", pa.decimal128(12, 2)),
        ]
    ),
)
CUSTOMERS = pa.table(
    {
        "customer_id": [1, 2, 3],
        "first_name": ["A", "B", "C"],
        "last_name": ["x", "y", "z"],
        "country": ["US", "DE", "FR"],
    }
)
PRODUCTS = pa.table(
    {
        "product_id": [1, 2, 3],
        "name": ["lamp", "vase", "rake"],
        "category": ["home"] * 3,
        "cost": pa.array([Decimal("4.00"), Decimal("6.00"), Decimal("1.00")], pa.decimal128(12, 2)),
    }
)


# as the reference tables deliver them: rates as plain decimals, countries by ISO code
RATES = pa.table({"currency": ["USD", "EUR"], "usd_per_unit": [1.0, 1.1]})
COUNTRIES = pa.table({"code": ["US", "DE"], "name": ["United States", "Germany"]})


def test_daily_sales_per_day_currency_channel_status():
    rows = {(r["currency"], r["status"]): r for r in daily_sales(ORDERS, ITEMS, RATES).to_pylist()}
    assert set(rows) == {("USD", "delivered"), ("EUR", "returned"), ("EUR", "cancelled")}
    web = rows[("USD", "delivered")]
    assert web["order_date"] == DAY and web["channel"] == "web"
    assert (web["orders"], web["items"]) == (2, 4)
    assert web["revenue"] == Decimal("40.00")
    assert web["average_order_value"] == Decimal("20.00")
    assert web["revenue_usd"] == Decimal("40.00")
    assert rows[("EUR", "returned")]["revenue_usd"] == Decimal("22.00")  # 20 EUR at 1.1


def test_a_currency_without_a_delivered_rate_keeps_its_orders_with_no_usd_revenue():
    rows = daily_sales(ORDERS, ITEMS, RATES.slice(0, 1)).to_pylist()  # no EUR rate
    assert sum(r["orders"] for r in rows) == ORDERS.num_rows
    assert {r["currency"] for r in rows if r["revenue_usd"] is None} == {"EUR"}


def test_customer_value_revenue_excludes_cancelled_and_returned_and_scores_rfm():
    rows = {r["customer_id"]: r for r in customer_value(CUSTOMERS, ORDERS, RATES, COUNTRIES).to_pylist()}
    assert [rows[c]["country_name"] for c in (1, 2, 3)] == ["United States", "Germany", None]
    assert rows[1]["orders"] == 2 and rows[1]["revenue_usd"] == Decimal("40.00")
    assert rows[1]["first_order_at"] == ts(10) and rows[1]["last_order_at"] == ts(10, 18)
    assert rows[2]["orders"] == 2 and rows[2]["revenue_usd"] == Decimal("0.00")
    assert rows[2]["recency_days"] == 1  # last order on the 9th, latest in the data on the 10th
    # Two buyers over five quintiles: customer 1 (more recent, more revenue) ranks above 2.
    assert rows[1]["rfm_score"] > rows[2]["rfm_score"]
    assert rows[3]["orders"] == 0 and rows[3]["rfm_score"] is None and rows[3]["revenue_usd"] == 0


def test_product_performance_units_returns_revenue_and_margin():
    rows = {r["product_id"]: r for r in product_performance(PRODUCTS, ORDERS, ITEMS, RATES).to_pylist()}
    lamp, vase, rake = rows[1], rows[2], rows[3]
    # lamp: 2 + 1 units delivered (order 4 was cancelled and does not count)
    assert (lamp["units_sold"], lamp["units_returned"]) == (3, 0)
    assert lamp["revenue_usd"] == Decimal("30.00")
    assert lamp["margin_usd"] == Decimal("18.00")  # 30 - 3 * 4.00
    assert lamp["return_rate"] == 0
    # vase: 1 delivered, 2 returned -> revenue and cost only on the unit kept
    assert (vase["units_sold"], vase["units_returned"]) == (3, 2)
    assert vase["revenue_usd"] == Decimal("10.00")
    assert vase["margin_usd"] == Decimal("4.00")
    assert vase["return_rate"] == round(2 / 3, 4)
    assert (rake["units_sold"], rake["revenue_usd"], rake["return_rate"]) == (0, 0, None)
