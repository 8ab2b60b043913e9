"""E-commerce cleaning rules and business aggregates.

Money is DECIMAL(12,2) from silver on. Gold reports revenue both in the order currency (per
currency rows of daily_sales) and in USD, at the rates of the `reference/currency_rates` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.currency import COUNTRY_CURRENCY, MAX_PRICE, USD_PER_UNIT
from dataplatform.engine.sql import query
from dataplatform.quality.checks import CheckOutcome, totals_match
from dataplatform.quality.specs import (
    AcceptedValues,
    ColumnsMatch,
    DistributionDrift,
    Freshness,
    InRange,
    References,
    RowCountAnomaly,
)
from dataplatform.transform.pii import Drop, Partial
from dataplatform.transform.pipeline import CrossCheck, DomainPipeline, GoldTable
from dataplatform.transform.silver import Column, Rule, SilverSpec

if TYPE_CHECKING:
    import pyarrow as pa

EMAIL = r"[^@\s]+@[^@\s]+\.[a-z]+"
ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
MONEY = "DECIMAL(12,2)"

# Personal data is masked in silver by rules that need no secret (names and e-mail keep their
# first character, the phone its last four digits; the address is dropped), so the platform
# runs on a fresh machine without one. `pii=Pseudonymise()` keys a column instead, joinable
# across tables and days, and then DATAPLATFORM_PII_SECRET is required (README, "Personal data").
CUSTOMERS = SilverSpec(
    key=("customer_id",),
    columns={
        "customer_id": Column("BIGINT"),
        "first_name": Column("VARCHAR", "trim", pii=Partial(keep_start=1)),
        "last_name": Column("VARCHAR", "trim", pii=Partial(keep_start=1)),
        "email": Column("VARCHAR", "lower", pii=Partial(keep_start=1)),
        "country": Column("VARCHAR", "upper"),
        "signup_date": Column("DATE"),
        "marketing_opt_in": Column("BOOLEAN"),
        "phone": Column("VARCHAR", "trim", pii=Partial(keep_start=0, keep_end=4)),
        "address": Column("VARCHAR", pii=Drop()),
    },
    required=("customer_id", "email"),
    flag_missing=("country",),
    # checked on the address in clear, before it is masked
    rules=(Rule("invalid_email", f"regexp_full_match(email, '{EMAIL}')"),),
)

PRODUCTS = SilverSpec(
    key=("product_id",),
    columns={
        "product_id": Column("BIGINT"),
        "sku": Column("VARCHAR", "upper"),
        "name": Column("VARCHAR", "trim"),
        "category": Column("VARCHAR", "lower"),
        "price": Column(MONEY),
        "cost": Column(MONEY),
        "launched_on": Column("DATE"),
        "is_active": Column("BOOLEAN"),
    },
    required=("product_id",),
    rules=(Rule("invalid_price", f"price > 0 AND price < {MAX_PRICE}", nullify="price"),),
)

ORDERS = SilverSpec(
    key=("order_id",),
    columns={
        "order_id": Column("BIGINT"),
        "customer_id": Column("BIGINT"),
        "order_ts": Column("TIMESTAMPTZ", "trim"),
        "status": Column("VARCHAR", "lower"),
        "currency": Column("VARCHAR", "upper"),
        "channel": Column("VARCHAR", "lower"),
        "item_count": Column("INTEGER"),
        "order_total": Column(MONEY),
        "partition_date": Column("DATE"),
    },
    required=("order_id", "customer_id", "order_ts", "partition_date"),
    rules=(
        Rule("unknown_status", "status IN (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")"),
        Rule("unknown_currency", "currency IN (" + ", ".join(f"'{c}'" for c in USD_PER_UNIT) + ")"),
    ),
    partition_column="partition_date",
)

ORDER_ITEMS = SilverSpec(
    key=("order_item_id",),
    columns={
        "order_item_id": Column("BIGINT"),
        "order_id": Column("BIGINT"),
        "line_number": Column("INTEGER"),
        "product_id": Column("BIGINT"),
        "quantity": Column("INTEGER"),
        "unit_price": Column(MONEY),
        "discount": Column("DECIMAL(5,4)"),
        "line_total": Column(MONEY),
        "partition_date": Column("DATE"),
    },
    required=("order_item_id", "order_id", "product_id", "partition_date"),
    rules=(
        Rule("negative_quantity", "quantity > 0"),
        Rule("invalid_price", f"unit_price > 0 AND unit_price < {MAX_PRICE}"),
    ),
    partition_column="partition_date",
)


# Rates as DECIMAL: money times a float rate, summed in parallel, could differ by a cent from
# one run to the next depending on row order; decimal sums are exact.
RATES = "WITH rates AS (SELECT currency, usd_per_unit::DECIMAL(12, 6) AS usd_per_unit FROM currency_rates)"


def daily_sales(orders: pa.Table, order_items: pa.Table, currency_rates: pa.Table) -> pa.Table:
    """Per day, currency, channel and status: orders, items, revenue and average order value,
    and revenue in USD at the delivered rates (null where a currency has no rate: the not-null
    check then stops the table rather than dropping those orders)."""
    return query(
        RATES
        + """, units AS (SELECT order_id, sum(quantity) AS items FROM order_items GROUP BY order_id)
        SELECT o.partition_date AS order_date, o.currency, o.channel, o.status,
               count(*)::BIGINT AS orders,
               coalesce(sum(u.items), 0)::BIGINT AS items,
               sum(o.order_total)::DECIMAL(14,2) AS revenue,
               round(avg(o.order_total), 2)::DECIMAL(12,2) AS average_order_value,
               round(sum(o.order_total * r.usd_per_unit), 2)::DECIMAL(14,2) AS revenue_usd
        FROM orders o
        LEFT JOIN units u USING (order_id)
        LEFT JOIN rates r USING (currency)
        GROUP BY ALL
        ORDER BY ALL
        """,
        orders=orders,
        order_items=order_items,
        currency_rates=currency_rates,
    )


def customer_value(
    customers: pa.Table, orders: pa.Table, currency_rates: pa.Table, country_codes: pa.Table
) -> pa.Table:
    """Per customer: country name, orders, revenue in USD (cancelled and returned excluded),
    first and last order, and an RFM score: recency, frequency and monetary quintiles (5 best)
    among buyers, as a three-digit number (555 is a top customer); null for customers who never
    ordered."""
    return query(
        RATES
        + """, per_customer AS (
            SELECT o.customer_id, count(*)::BIGINT AS orders,
                   coalesce(sum(o.order_total * r.usd_per_unit)
                       FILTER (WHERE o.status NOT IN ('cancelled', 'returned')), 0) AS revenue,
                   min(o.order_ts) AS first_order_at, max(o.order_ts) AS last_order_at
            FROM orders o LEFT JOIN rates r USING (currency)
            GROUP BY o.customer_id
        ), scored AS (
            SELECT *,
                   date_diff('day', last_order_at, max(last_order_at) OVER ()) AS recency_days,
                   ntile(5) OVER (ORDER BY last_order_at, customer_id) AS r,
                   ntile(5) OVER (ORDER BY orders, customer_id) AS f,
                   ntile(5) OVER (ORDER BY revenue, customer_id) AS m
            FROM per_customer
        )
        SELECT c.customer_id, c.first_name, c.last_name, c.country, n.name AS country_name,
               coalesce(s.orders, 0)::BIGINT AS orders,
               round(coalesce(s.revenue, 0), 2)::DECIMAL(14,2) AS revenue_usd,
               s.first_order_at, s.last_order_at, s.recency_days,
               (s.r * 100 + s.f * 10 + s.m)::INTEGER AS rfm_score
        FROM customers c
        LEFT JOIN scored s USING (customer_id)
        LEFT JOIN country_codes n ON n.code = c.country
        ORDER BY c.customer_id
        """,
        customers=customers,
        orders=orders,
        currency_rates=currency_rates,
        country_codes=country_codes,
    )


def product_performance(
    products: pa.Table, orders: pa.Table, order_items: pa.Table, currency_rates: pa.Table
) -> pa.Table:
    """Per product, over orders that were not cancelled: units sold, units returned, return
    rate, and revenue and margin in USD on the units kept (returned units earn nothing)."""
    return query(
        RATES
        + """, lines AS (
            SELECT i.product_id, i.quantity, o.status = 'returned' AS returned,
                   i.line_total * r.usd_per_unit AS revenue_usd
            FROM order_items i
            JOIN orders o USING (order_id)
            LEFT JOIN rates r ON r.currency = o.currency
            WHERE o.status <> 'cancelled'
        ), per_product AS (
            SELECT product_id, sum(quantity) AS units_sold,
                   coalesce(sum(quantity) FILTER (WHERE returned), 0) AS units_returned,
                   coalesce(sum(revenue_usd) FILTER (WHERE NOT returned), 0) AS revenue_usd
            FROM lines GROUP BY product_id
        )
        SELECT p.product_id, p.name, p.category,
               coalesce(s.units_sold, 0)::BIGINT AS units_sold,
               coalesce(s.units_returned, 0)::BIGINT AS units_returned,
               round(coalesce(s.revenue_usd, 0), 2)::DECIMAL(14,2) AS revenue_usd,
               round(coalesce(s.revenue_usd, 0)
                     - coalesce(s.units_sold - s.units_returned, 0) * p.cost, 2)::DECIMAL(14,2)
                   AS margin_usd,
               round(s.units_returned / nullif(s.units_sold, 0), 4)::DOUBLE AS return_rate
        FROM products p LEFT JOIN per_product s USING (product_id)
        ORDER BY p.product_id
        """,
        products=products,
        orders=orders,
        order_items=order_items,
        currency_rates=currency_rates,
    )


def _order_totals(orders: pa.Table, order_items: pa.Table) -> CheckOutcome:
    return totals_match(
        parents=orders,
        children=order_items,
        key="order_id",
        total="order_total",
        count="item_count",
        amount="line_total",
        tolerance=0.01,
    )


ECOMMERCE = DomainPipeline(
    domain="ecommerce",
    silver={
        "customers": CUSTOMERS,
        "products": PRODUCTS,
        "orders": ORDERS,
        "order_items": ORDER_ITEMS,
    },
    gold=(
        GoldTable(
            "daily_sales",
            "Orders, items, revenue and average order value per day, currency, channel, status.",
            inputs=("orders", "order_items", "reference/currency_rates"),
            build=daily_sales,
            key=("order_date", "currency", "channel", "status"),
            partition_column="order_date",
            not_null=("orders", "revenue", "revenue_usd"),
        ),
        GoldTable(
            "customer_value",
            "Lifetime orders, USD revenue, first and last order and RFM score per customer.",
            inputs=("customers", "orders", "reference/currency_rates", "reference/country_codes"),
            build=customer_value,
            key=("customer_id",),
            not_null=("orders", "revenue_usd"),
        ),
        GoldTable(
            "product_performance",
            "Units sold and returned, return rate, USD revenue and margin per product.",
            inputs=("products", "orders", "order_items", "reference/currency_rates"),
            build=product_performance,
            key=("product_id",),
            not_null=("units_sold", "revenue_usd"),
        ),
    ),
    cross_checks=(
        CrossCheck(
            "order_totals_match_items",
            "Each order whose items all reached silver has order_total equal to the sum of its "
            "line totals (within 0.01).",
            table="orders",
            inputs=("orders", "order_items"),
            evaluate=_order_totals,
        ),
    ),
    checks={
        "customers": (AcceptedValues(column="country", values=tuple(COUNTRY_CURRENCY), severity="WARN"),),
        "products": (InRange(column="price", min=0.01, max=MAX_PRICE),),
        "orders": (
            ColumnsMatch(
                columns={
                    "order_id": "int64",
                    "customer_id": "int64",
                    "order_ts": "timestamp[us, tz=UTC]",
                    "status": "string",
                    "currency": "string",
                    "channel": "string",
                    "item_count": "int32",
                    "order_total": "decimal128(12, 2)",
                    "partition_date": "date32[day]",
                    "_quality_flags": "list<l: string>",
                    "_batch_id": "string",
                    "_ingested_at": "timestamp[us, tz=UTC]",
                    "_checksum": "string",
                }
            ),
            AcceptedValues(column="status", values=ORDER_STATUSES),
            AcceptedValues(column="currency", values=tuple(USD_PER_UNIT)),
            InRange(column="order_total", min=0, max=MAX_PRICE * 100),
            References(
                column="customer_id",
                target="silver/ecommerce/customers",
                target_column="customer_id",
                severity="WARN",
            ),
            RowCountAnomaly(),
            DistributionDrift(column="order_total"),
            Freshness(column="order_ts", max_age_hours=6),
        ),
        "order_items": (
            InRange(column="quantity", min=1),
            References(
                column="product_id",
                target="silver/ecommerce/products",
                target_column="product_id",
                severity="WARN",
            ),
            RowCountAnomaly(),
        ),
        "daily_sales": (
            InRange(column="revenue_usd", min=0),
            AcceptedValues(column="currency", values=tuple(USD_PER_UNIT)),
        ),
    },
)
