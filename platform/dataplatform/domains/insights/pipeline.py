"""Gold that joins domains: what a business user asks once each domain is clean on its own.

`sales_weather` sets each country's daily sales beside the weather its stations observed that
day, the table behind "do rainy days sell more online?".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.currency import usd_rates
from dataplatform.engine.sql import query
from dataplatform.transform.pipeline import DomainPipeline, GoldTable

if TYPE_CHECKING:
    import pyarrow as pa


def sales_weather(
    orders: pa.Table, customers: pa.Table, observations: pa.Table, stations: pa.Table
) -> pa.Table:
    """Per day and customer country: orders, USD revenue (cancelled orders excluded), and the
    mean temperature, mean daily precipitation per station and share of wet hours over the
    country's stations. Countries without a station keep their sales with null weather."""
    return query(
        """
        WITH sales AS (
            SELECT o.partition_date AS day, c.country,
                   count(*)::BIGINT AS orders,
                   round(coalesce(sum(o.order_total * r.usd_per_unit)
                       FILTER (WHERE o.status <> 'cancelled'), 0), 2)::DECIMAL(14,2) AS revenue_usd
            FROM orders o
            JOIN customers c USING (customer_id)
            JOIN rates r ON r.currency = o.currency
            WHERE c.country IS NOT NULL
            GROUP BY ALL
        ), weather AS (
            SELECT b.partition_date AS day, s.country,
                   count(DISTINCT b.station_id)::BIGINT AS stations,
                   avg(b.temperature) AS mean_temperature,
                   sum(b.precipitation) / count(DISTINCT b.station_id) AS precipitation_per_station,
                   avg(CASE WHEN b.precipitation > 0 THEN 1.0 ELSE 0.0 END) AS wet_hour_share
            FROM observations b JOIN stations s USING (station_id)
            GROUP BY ALL
        )
        SELECT sales.day, sales.country, sales.orders, sales.revenue_usd,
               coalesce(weather.stations, 0)::BIGINT AS stations,
               weather.mean_temperature, weather.precipitation_per_station, weather.wet_hour_share
        FROM sales LEFT JOIN weather USING (day, country)
        ORDER BY sales.day, sales.country
        """,
        orders=orders,
        customers=customers,
        observations=observations,
        stations=stations,
        rates=usd_rates(),
    )


INSIGHTS = DomainPipeline(
    domain="insights",
    silver={},
    gold=(
        GoldTable(
            "sales_weather",
            "Daily orders and USD revenue per customer country beside that country's observed weather.",
            inputs=("ecommerce/orders", "ecommerce/customers", "weather/observations", "weather/stations"),
            build=sales_weather,
            key=("day", "country"),
            partition_column="day",
            not_null=("orders", "revenue_usd", "stations"),
        ),
    ),
)
