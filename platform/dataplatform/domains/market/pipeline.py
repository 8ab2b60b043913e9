"""Market cleaning rules and daily aggregates of intraday bars and quotes.

A bar that breaks `low <= min(open, close) <= max(open, close) <= high`, or a quote with
`bid >= ask`, cannot be repaired with confidence (which side is wrong?), so silver drops it to
quarantine; a negative volume only voids the volume, and the bar's prices are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.engine.sql import query
from dataplatform.quality.specs import DistributionDrift, InRange, References, RowCountAnomaly
from dataplatform.transform.pipeline import DomainPipeline, GoldTable
from dataplatform.transform.silver import Column, Rule, SilverSpec

if TYPE_CHECKING:
    import pyarrow as pa

PRICE = "DOUBLE"

SYMBOLS = SilverSpec(
    key=("symbol",),
    columns={
        "symbol": Column("VARCHAR", "upper"),
        "name": Column("VARCHAR", "trim"),
        "exchange": Column("VARCHAR", "upper"),
        "sector": Column("VARCHAR", "lower"),
        "currency": Column("VARCHAR", "upper"),
        "listing_date": Column("DATE"),
    },
    required=("symbol", "exchange"),
)

OHLCV = SilverSpec(
    key=("symbol", "ts"),
    columns={
        "symbol": Column("VARCHAR", "upper"),
        "ts": Column("TIMESTAMPTZ"),
        "open": Column(PRICE),
        "high": Column(PRICE),
        "low": Column(PRICE),
        "close": Column(PRICE),
        "volume": Column("BIGINT"),
        "partition_date": Column("DATE"),
    },
    required=("symbol", "ts", "open", "high", "low", "close", "partition_date"),
    rules=(
        Rule("ohlc_violation", "low <= least(open, close) AND greatest(open, close) <= high"),
        Rule("non_positive_price", "low > 0"),
        Rule("negative_volume", "volume IS NULL OR volume >= 0", nullify="volume"),
    ),
    partition_column="partition_date",
)

QUOTES = SilverSpec(
    key=("symbol", "ts"),
    columns={
        "symbol": Column("VARCHAR", "upper"),
        "ts": Column("TIMESTAMPTZ"),
        "bid": Column(PRICE),
        "ask": Column(PRICE),
        "bid_size": Column("BIGINT"),
        "ask_size": Column("BIGINT"),
        "exchange": Column("VARCHAR", "upper"),
        "partition_date": Column("DATE"),
    },
    required=("symbol", "ts", "bid", "ask", "partition_date"),
    flag_missing=("bid_size", "ask_size"),
    rules=(
        Rule("crossed_quote", "bid < ask"),
        Rule("non_positive_price", "bid > 0"),
    ),
    partition_column="partition_date",
)


def daily_bars(ohlcv: pa.Table) -> pa.Table:
    """Per symbol and day, from its intraday bars: open, high, low, close, volume, VWAP (of
    each bar's typical price, (high + low + close) / 3, weighted by its volume), the day's
    return (close over open) and realised volatility (root of the summed squared log returns
    from bar to bar, not annualised)."""
    return query(
        """
        WITH moves AS (
            SELECT *, ln(close / lag(close) OVER (PARTITION BY symbol, partition_date ORDER BY ts)) AS r
            FROM ohlcv
        )
        SELECT symbol, partition_date AS trade_date,
               arg_min(open, ts) AS open, max(high) AS high, min(low) AS low, arg_max(close, ts) AS close,
               coalesce(sum(volume), 0)::BIGINT AS volume,
               sum((high + low + close) / 3 * volume) / nullif(sum(volume), 0) AS vwap,
               arg_max(close, ts) / arg_min(open, ts) - 1 AS day_return,
               coalesce(sqrt(sum(r * r)), 0) AS realised_volatility,
               count(*)::BIGINT AS bars
        FROM moves
        GROUP BY symbol, partition_date
        ORDER BY symbol
        """,
        ohlcv=ohlcv,
    )


def quote_liquidity(quotes: pa.Table) -> pa.Table:
    """Per symbol and day: quote count, mean and 95th-percentile spread (in price and in basis
    points of the mid), and mean displayed size on each side."""
    return query(
        """
        SELECT symbol, partition_date AS trade_date,
               count(*)::BIGINT AS quotes,
               avg(ask - bid) AS mean_spread,
               quantile_cont(ask - bid, 0.95) AS p95_spread,
               avg((ask - bid) / ((ask + bid) / 2) * 1e4) AS mean_spread_bps,
               quantile_cont((ask - bid) / ((ask + bid) / 2) * 1e4, 0.95) AS p95_spread_bps,
               avg(bid_size) AS mean_bid_size,
               avg(ask_size) AS mean_ask_size
        FROM quotes
        GROUP BY symbol, partition_date
        ORDER BY symbol
        """,
        quotes=quotes,
    )


MARKET = DomainPipeline(
    domain="market",
    silver={"symbols": SYMBOLS, "ohlcv": OHLCV, "quotes": QUOTES},
    gold=(
        GoldTable(
            "daily_bars",
            "Daily OHLC, volume, VWAP, return and realised volatility per symbol, from intraday bars.",
            inputs=("ohlcv",),
            build=daily_bars,
            key=("symbol", "trade_date"),
            partition_column="trade_date",
            not_null=("open", "high", "low", "close", "volume"),
        ),
        GoldTable(
            "quote_liquidity",
            "Quote count, mean and p95 spread (price and bps) and mean sizes per symbol and day.",
            inputs=("quotes",),
            build=quote_liquidity,
            key=("symbol", "trade_date"),
            partition_column="trade_date",
            not_null=("quotes", "mean_spread"),
        ),
    ),
    checks={
        "ohlcv": (
            InRange(column="low", min=0.000001),
            InRange(column="volume", min=0),
            References(column="symbol", target="silver/market/symbols", target_column="symbol"),
            RowCountAnomaly(),
        ),
        "quotes": (
            InRange(column="bid", min=0.000001),
            References(column="symbol", target="silver/market/symbols", target_column="symbol"),
            RowCountAnomaly(),
        ),
        "daily_bars": (DistributionDrift(column="day_return"),),
    },
)
