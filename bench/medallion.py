"""One daily partition from landing to gold: the platform's Dagster job against hand-written DuckDB SQL.

Two days are run, each against its own anchor (`--domains` picks them): an e-commerce day of
~`--rows` orders (default 5,000,000) and ~2.5 times as many order items, and a market day of
bars and quotes for `--rows` / 500 symbols (default 10,000: ~4.2M one-minute bars and ~12.6M
quotes, about as many rows and Arrow bytes as the e-commerce day), defects included in both. What is compared, on the same landing Parquet files:

* platform: the `ecommerce_daily` job for 2026-11-20 from its landing files on (bronze, silver,
  gold and every asset check), run with `execute_in_process` on an ephemeral instance,
  `orders_per_day` set so the day holds ~`--rows` orders (the generator scales it by a weekday
  factor, 1.05 on a Friday). Setup, in a process of its own and not part of the subject: the
  `ecommerce_master` job (100,000 customers, 5,000 products) and the job's landing step
  (generating the day and writing it as Parquet, timed for information), so the platform starts
  from the same landing files as the anchor and its peak memory is that of the medallion work.
  The market day is the `market_daily` job (after `market_master` and its landing step) with
  `symbols` set. Every repetition re-runs the same partition in that directory, which replaces
  the partition in each layer (the first run creates the tables, later runs replace the slice
  or the batch). The run's STEP_SUCCESS events give each step's duration, so the table also
  shows the job without the steps that only run asset checks (checks evaluated inside an
  asset's own step, such as declarative table checks, stay in that step).
* anchor: the same transformation written directly in SQL on one DuckDB connection, reading the
  landing Parquet the platform wrote: bronze (every landing column plus `_checksum` = md5 of the
  row as JSON, `_batch_id` = md5 of the checksums' count and sums, `_ingested_at`, `_source`), silver with
  the platform's rules (TRY_CAST to TIMESTAMPTZ and DECIMAL(12,2), trim/lower/upper, the
  `_quality_flags`, drops for unparseable or missing required fields, unknown status or
  currency, non-positive quantity, out-of-range price, and dedup on the key keeping the latest
  row, older copies marked duplicate or superseded), the quarantine of dropped rows as
  delivered (judged by bronze row id and joined back to bronze, as the platform does by position), and gold `daily_sales` replaced for the day. Bronze, silver and quarantine are written as Parquet files, gold to a DuckDB table. The
  anchor keeps bronze and silver in temporary tables between stages, where the platform writes
  them to Delta and reads them back; it runs no checks.
* market anchor: the same bronze, then silver with the platform's OHLCV and QUOTES rules
  (`domains/market/pipeline.py`: symbol and exchange normalised, OHLC order and positive prices
  enforced, a negative volume voided and flagged, crossed quotes dropped, missing sizes flagged,
  dedup on (symbol, ts)), and gold `daily_bars` and `quote_liquidity` replaced for the day.

Both start from the landing files. `rows` counts the landing orders plus order items (what bronze takes in), the same for
both. Afterwards the script checks that both produced the same gold (e-commerce: row count, total
revenue, every row; market: every (symbol, day) row, counts exactly and DOUBLEs within a
relative 1e-9, since parallel float sums depend on the order of addition) and the same silver
(rows kept, and rows dropped per reason), and says so: the comparison only means something if
they agree.

Memory is also set against the size of the day: the `nbytes` of the day's landing tables
(facts and defects) read back as Arrow. The goal is a platform peak RSS within 2x of it; the
report gives peak / Arrow size for both contenders, and (peak - base) / Arrow size for the
platform (base: the interpreter, Dagster and the definitions, before the first run).

Why: the SQL is the floor for this work on this machine (one engine, no orchestration, no
table format); the ratio says what the platform's orchestration, storage and checks cost on
top of it.

The contenders take turns, one repetition each in its own fresh process (platform, SQL,
platform, ...), so a change in the load of the shared machine falls on both alike. Timing and
memory (peak RSS of each spawned process, the largest over the repetitions): see `_harness.py`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from _harness import MIB, Figure, Outcome, Trial, Workload, in_turns, parse_args, report, run_isolated

DAY = date(2026, 11, 20)
PARTITION = DAY.isoformat()
START = date(2026, 11, 1)
SEED = 42
DEFECT_RATE = 0.03
CUSTOMERS = 100_000
PRODUCTS = 5_000
FACTS = ("orders", "order_items")
QUARANTINES = tuple(f"{table}_quarantine" for table in FACTS)
MARKET_FACTS = ("ohlcv", "quotes")
# A listed symbol trades ~415 one-minute bars a day (sessions of 6 to 8.5 hours) with ~3 quotes
# each: ~1,660 bar and quote rows. An order comes with ~2.5 items: ~3.5 rows. --rows / 500
# symbols gives ~3.3 market rows per order, so both days are of one scale (5M orders: 10,000
# symbols, ~16.8M rows and ~1.0 GB as Arrow, against ~17.6M rows and ~1.2 GB). The memory goal
# is a ratio to the day's size, and the platform's fixed base (the interpreter, Dagster,
# DuckDB, delta-rs and pyarrow: ~310 MiB before any data) and DuckDB's memory limit are not:
# on a day a quarter of that size (--symbols 2500) they make the ratio ~5.4x, where the direct
# SQL's is ~10x.
ORDERS_PER_SYMBOL = 500
MARKET_FLOAT_TOLERANCE = 1e-9  # relative; DOUBLE sums in parallel depend on the order of addition


@dataclass(frozen=True)
class DomainBench:
    name: str
    facts: tuple[str, ...]

    @property
    def landing_tables(self) -> tuple[str, ...]:
        return (*self.facts, "defects")


DOMAINS = {"ecommerce": DomainBench("ecommerce", FACTS), "market": DomainBench("market", MARKET_FACTS)}
USD_TOLERANCE = 0  # both sides convert with DECIMAL rates, so USD sums must match exactly
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


# -- the platform --------------------------------------------------------------------------


def _definitions(data_dir: str, domain: str, size: int):
    """The platform's definitions for a fresh data folder; `size` is the e-commerce day's
    orders, or the market's listed symbols."""
    import dagster as dg

    from dataplatform.defs import build_definitions
    from dataplatform.domains.ecommerce.generator import WEEKDAY_FACTOR
    from dataplatform.settings import EcommerceVolumes, MarketVolumes, Settings

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    volumes: dict[str, Any] = {}
    if domain == "ecommerce":
        # The generator scales orders_per_day by a weekday factor; undo it so the day holds ~size.
        volumes["ecommerce"] = EcommerceVolumes(
            orders_per_day=max(1, round(size / WEEKDAY_FACTOR[DAY.weekday()])),
            customers=CUSTOMERS,
            products=PRODUCTS,
        )
    else:
        volumes["market"] = MarketVolumes(symbols=size)
    root = Path(data_dir)
    settings = Settings(
        data_dir=root / "data",
        dagster_home=root / "dagster",
        start_date=START,
        seed=SEED,
        defect_rate=DEFECT_RATE,
        **volumes,
    )
    return build_definitions(settings)


def _daily(data_dir: str, domain: str, size: int, landing: bool):
    """A run of the `<domain>_daily` job for DAY: only its landing step, or everything but it."""
    import dagster as dg

    defs = _definitions(data_dir, domain, size)
    daily = defs.resolve_job_def(f"{domain}_daily")
    keys = daily.asset_layer.selected_asset_keys
    selected = [k for k in keys if (k.path[0] == "landing") == landing]

    def run() -> dg.ExecuteInProcessResult:
        result = daily.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            partition_key=PARTITION,
            run_config=QUIET,
            asset_selection=selected,
        )
        if not result.success:
            raise RuntimeError(f"{domain}_daily failed in steps {result.get_failed_step_keys()}")
        return result

    return defs, run


def prepare_delivery(data_dir: str, domain: str, size: int) -> Workload:
    """Setup of the platform's side, in a process of its own: the master job, then the landing
    step of DAY (the generator's day written as Parquet), timed for information."""
    import dagster as dg

    defs, run = _daily(data_dir, domain, size, landing=True)
    master = defs.resolve_job_def(f"{domain}_master")
    if not master.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=QUIET).success:
        raise RuntimeError(f"{domain}_master failed")
    landed_keys = {("landing", domain, table) for table in DOMAINS[domain].facts}

    def deliver() -> Outcome:
        result = run()
        landed = sum(
            e.materialization.metadata["dagster/row_count"].value
            for e in result.get_asset_materialization_events()
            if e.asset_key and tuple(e.asset_key.path) in landed_keys
        )
        return Outcome(landed)

    return deliver


def prepare_platform(data_dir: str, domain: str, size: int) -> Workload:
    """The `<domain>_daily` job for DAY from its landing files on (bronze, silver, gold and every
    check), in the data folder `prepare_delivery` filled."""
    _, run = _daily(data_dir, domain, size, landing=False)
    bronze_keys = {("bronze", domain, table) for table in DOMAINS[domain].facts}

    def timed() -> Outcome:
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        # steps of asset checks alone; checks evaluated inside an asset's own step (declarative
        # table checks) count as that asset's time
        check_steps = {
            e.step_key for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        } - {e.step_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
        parts = {"job": seconds, "checks": 0.0}
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS" and event.step_key:
                step_seconds = event.event_specific_data.duration_ms / 1000
                parts[f"step {event.step_key}"] = step_seconds
                if event.step_key in check_steps:
                    parts["checks"] += step_seconds
        parts["outside steps"] = seconds - sum(v for k, v in parts.items() if k.startswith("step "))
        stamped = sum(
            e.materialization.metadata["dagster/row_count"].value
            for e in result.get_asset_materialization_events()
            if e.asset_key and tuple(e.asset_key.path) in bronze_keys
        )
        return Outcome(stamped, parts)

    return timed


# -- the anchor: the same transformation as direct SQL ---------------------------------------

BRONZE_SQL = """
CREATE OR REPLACE TEMP TABLE stamped AS
    SELECT landing.*, md5(to_json(landing)) AS _checksum
    FROM read_parquet({landing}, hive_partitioning = true, hive_types = {{'partition_date': DATE}}) AS landing;
CREATE OR REPLACE TEMP TABLE bronze_{table} AS
    SELECT * EXCLUDE (_checksum),
           (SELECT left(md5(count(*) || ':' || coalesce(sum(md5_number_lower(_checksum)::HUGEINT), 0) || ':'
                            || coalesce(sum(md5_number_upper(_checksum)::HUGEINT), 0)), 16) FROM stamped)
               AS _batch_id,
           now() AS _ingested_at,
           'generator:{domain}/{table}' AS _source,
           _checksum
    FROM stamped;
DROP TABLE stamped;
COPY bronze_{table} TO {bronze} (FORMAT parquet);
"""

# Silver keeps the latest row per key among the rows that pass (ingested last, then batch, then
# checksum as tie-break): older copies from the same batch are 'duplicate', from an earlier batch
# 'superseded'. Rows dropped for a reason keep that reason even when duplicated.
SILVER_ORDERS_SQL = """
CREATE OR REPLACE TEMP TABLE judged_orders AS
WITH cleaned AS (
    SELECT b.order_id,
           b.customer_id,
           TRY_CAST(trim(b.order_ts) AS TIMESTAMPTZ) AS order_ts,
           lower(trim(b.status)) AS status,
           upper(trim(b.currency)) AS currency,
           lower(trim(b.channel)) AS channel,
           b.item_count,
           TRY_CAST(b.order_total AS DECIMAL(12,2)) AS order_total,
           b.partition_date,
           b.order_ts IS NOT NULL AND TRY_CAST(trim(b.order_ts) AS TIMESTAMPTZ) IS NULL AS bad_order_ts,
           list_filter([
               CASE WHEN trim(b.order_ts) IS DISTINCT FROM b.order_ts THEN 'normalised_order_ts' END,
               CASE WHEN lower(trim(b.status)) IS DISTINCT FROM b.status THEN 'normalised_status' END,
               CASE WHEN upper(trim(b.currency)) IS DISTINCT FROM b.currency THEN 'normalised_currency' END,
               CASE WHEN lower(trim(b.channel)) IS DISTINCT FROM b.channel THEN 'normalised_channel' END
           ], f -> f IS NOT NULL) AS _quality_flags,
           b._batch_id, b._ingested_at, b._checksum, b.rowid AS _row
    FROM bronze_orders AS b
), ruled AS (
    SELECT * EXCLUDE (bad_order_ts),
           CASE WHEN bad_order_ts THEN 'unparseable_order_ts'
                WHEN order_id IS NULL THEN 'missing_order_id'
                WHEN customer_id IS NULL THEN 'missing_customer_id'
                WHEN order_ts IS NULL THEN 'missing_order_ts'
                WHEN partition_date IS NULL THEN 'missing_partition_date'
                WHEN NOT coalesce(status IN ({statuses}), false) THEN 'unknown_status'
                WHEN NOT coalesce(currency IN ({currencies}), false) THEN 'unknown_currency'
           END AS reason
    FROM cleaned
)
SELECT * EXCLUDE (reason, rank, latest),
       CASE WHEN NOT latest THEN 'superseded'
            ELSE coalesce(reason, CASE WHEN rank > 1 THEN 'duplicate' END)
       END AS _drop_reason
FROM (
    SELECT *,
           _batch_id IS NOT DISTINCT FROM (
               SELECT _batch_id FROM ruled ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1
           ) AS latest,
           row_number() OVER (PARTITION BY _batch_id, order_id ORDER BY reason IS NOT NULL, _checksum) AS rank
    FROM ruled
);
"""

SILVER_ORDER_ITEMS_SQL = """
CREATE OR REPLACE TEMP TABLE judged_order_items AS
WITH cleaned AS (
    SELECT b.order_item_id,
           b.order_id,
           b.line_number,
           b.product_id,
           b.quantity,
           TRY_CAST(b.unit_price AS DECIMAL(12,2)) AS unit_price,
           TRY_CAST(b.discount AS DECIMAL(5,4)) AS discount,
           TRY_CAST(b.line_total AS DECIMAL(12,2)) AS line_total,
           b.partition_date,
           []::VARCHAR[] AS _quality_flags,
           b._batch_id, b._ingested_at, b._checksum, b.rowid AS _row
    FROM bronze_order_items AS b
), ruled AS (
    SELECT *,
           CASE WHEN order_item_id IS NULL THEN 'missing_order_item_id'
                WHEN order_id IS NULL THEN 'missing_order_id'
                WHEN product_id IS NULL THEN 'missing_product_id'
                WHEN partition_date IS NULL THEN 'missing_partition_date'
                WHEN NOT coalesce(quantity > 0, false) THEN 'negative_quantity'
                WHEN NOT coalesce(unit_price > 0 AND unit_price < {max_price}, false) THEN 'invalid_price'
           END AS reason
    FROM cleaned
)
SELECT * EXCLUDE (reason, rank, latest),
       CASE WHEN NOT latest THEN 'superseded'
            ELSE coalesce(reason, CASE WHEN rank > 1 THEN 'duplicate' END)
       END AS _drop_reason
FROM (
    SELECT *,
           _batch_id IS NOT DISTINCT FROM (
               SELECT _batch_id FROM ruled ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1
           ) AS latest,
           row_number() OVER (PARTITION BY _batch_id, order_item_id ORDER BY reason IS NOT NULL, _checksum) AS rank
    FROM ruled
);
"""

SILVER_WRITE_SQL = """
CREATE OR REPLACE TEMP TABLE silver_{table} AS
    SELECT * EXCLUDE (_checksum, _row, _drop_reason) FROM judged_{table} WHERE _drop_reason IS NULL;
COPY silver_{table} TO {silver} (FORMAT parquet);
COPY (SELECT b.*, j._drop_reason FROM bronze_{table} AS b JOIN judged_{table} AS j ON b.rowid = j._row
      WHERE j._drop_reason IS NOT NULL)
    TO {quarantine} (FORMAT parquet);
DROP TABLE judged_{table};
"""

GOLD_SQL = """
CREATE SCHEMA IF NOT EXISTS gold_ecommerce;
CREATE TABLE IF NOT EXISTS gold_ecommerce.daily_sales (
    order_date DATE, currency VARCHAR, channel VARCHAR, status VARCHAR, orders BIGINT, items BIGINT,
    revenue DECIMAL(14,2), average_order_value DECIMAL(12,2), revenue_usd DECIMAL(14,2)
);
BEGIN TRANSACTION;
DELETE FROM gold_ecommerce.daily_sales WHERE order_date IN (SELECT DISTINCT partition_date FROM silver_orders);
INSERT INTO gold_ecommerce.daily_sales
WITH rates (currency, usd_per_unit) AS (VALUES {rates}),
     units AS (SELECT order_id, sum(quantity) AS items FROM silver_order_items GROUP BY order_id)
SELECT o.partition_date AS order_date, o.currency, o.channel, o.status,
       count(*)::BIGINT AS orders,
       coalesce(sum(u.items), 0)::BIGINT AS items,
       sum(o.order_total)::DECIMAL(14,2) AS revenue,
       round(avg(o.order_total), 2)::DECIMAL(12,2) AS average_order_value,
       round(sum(o.order_total * r.usd_per_unit), 2)::DECIMAL(14,2) AS revenue_usd
FROM silver_orders o
LEFT JOIN units u USING (order_id)
JOIN rates r USING (currency)
GROUP BY ALL
ORDER BY ALL;
COMMIT;
"""


def _literal(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _lake_file(root: Path, layer: str, table: str, domain: str = "ecommerce") -> Path:
    return root / "lake" / layer / domain / table / f"partition_date={PARTITION}" / "part-0.parquet"


def prepare_anchor(landing_dir: str, anchor_dir: str) -> Workload:
    import duckdb

    # Reference data, not logic: the same status list, currency rates and price bound as the platform.
    from dataplatform.currency import MAX_PRICE, USD_PER_UNIT
    from dataplatform.domains.ecommerce.pipeline import ORDER_STATUSES

    root = Path(anchor_dir)
    outputs = [("bronze", t) for t in FACTS] + [("silver", t) for t in (*FACTS, *QUARANTINES)]
    for layer, table in outputs:
        _lake_file(root, layer, table).parent.mkdir(parents=True, exist_ok=True)
    rates = ", ".join(f"({_literal(c)}, '{rate}'::DECIMAL(12,6))" for c, rate in USD_PER_UNIT.items())
    silver_sql = {
        "orders": SILVER_ORDERS_SQL.format(
            statuses=", ".join(map(_literal, ORDER_STATUSES)),
            currencies=", ".join(map(_literal, USD_PER_UNIT)),
        ),
        "order_items": SILVER_ORDER_ITEMS_SQL.format(max_price=MAX_PRICE),
    }

    def run() -> Outcome:
        parts: dict[str, float] = {}
        with duckdb.connect(str(root / "warehouse.duckdb")) as con:
            con.execute("SET TimeZone = 'UTC'")
            started = time.perf_counter()
            for table in FACTS:
                landing = Path(landing_dir) / table / f"partition_date={PARTITION}" / "*.parquet"
                bronze = _lake_file(root, "bronze", table)
                con.execute(
                    BRONZE_SQL.format(
                        landing=_literal(landing), domain="ecommerce", table=table, bronze=_literal(bronze)
                    )
                )
            parts["bronze"] = time.perf_counter() - started
            started = time.perf_counter()
            for table in FACTS:
                con.execute(silver_sql[table])
                con.execute(
                    SILVER_WRITE_SQL.format(
                        table=table,
                        silver=_literal(_lake_file(root, "silver", table)),
                        quarantine=_literal(_lake_file(root, "silver", f"{table}_quarantine")),
                    )
                )
            parts["silver"] = time.perf_counter() - started
            started = time.perf_counter()
            con.execute(GOLD_SQL.format(rates=rates))
            parts["gold"] = time.perf_counter() - started
            (landed,) = con.execute(
                "SELECT (SELECT count(*) FROM bronze_orders) + (SELECT count(*) FROM bronze_order_items)"
            ).fetchone() or (0,)
        return Outcome(int(landed), parts)

    return run


# -- the market anchor ---------------------------------------------------------------------------

# Landing bars and quotes arrive typed (DOUBLE prices, BIGINT sizes, TIMESTAMPTZ), so the only
# text to normalise is the symbol (and the quote's exchange). Rules: every field but volume and
# sizes required; a bar must have low <= min(open, close) <= max(open, close) <= high and a
# positive low, a quote bid < ask and a positive bid, else it is dropped; a negative volume is
# voided and flagged; missing sizes are flagged. Dedup on (symbol, ts) as for e-commerce.
# Both tables keep the latest delivery and, within it, one row per (symbol, ts), a valid copy first.
LATEST_UNIQUE_SQL = """
SELECT * EXCLUDE (reason, rank, latest),
       CASE WHEN NOT latest THEN 'superseded'
            ELSE coalesce(reason, CASE WHEN rank > 1 THEN 'duplicate' END)
       END AS _drop_reason
FROM (
    SELECT *,
           _batch_id IS NOT DISTINCT FROM (
               SELECT _batch_id FROM ruled ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1
           ) AS latest,
           row_number() OVER (PARTITION BY _batch_id, symbol, ts ORDER BY reason IS NOT NULL, _checksum) AS rank
    FROM ruled
);
"""

SILVER_OHLCV_SQL = (
    """
CREATE OR REPLACE TEMP TABLE judged_ohlcv AS
WITH ruled AS (
    SELECT upper(trim(b.symbol)) AS symbol, b.ts, b.open, b.high, b.low, b.close,
           CASE WHEN b.volume IS NULL OR b.volume >= 0 THEN b.volume END AS volume,
           b.partition_date,
           list_filter([
               CASE WHEN upper(trim(b.symbol)) IS DISTINCT FROM b.symbol THEN 'normalised_symbol' END,
               CASE WHEN b.volume < 0 THEN 'negative_volume' END
           ], f -> f IS NOT NULL) AS _quality_flags,
           CASE WHEN b.symbol IS NULL THEN 'missing_symbol'
                WHEN b.ts IS NULL THEN 'missing_ts'
                WHEN b.open IS NULL THEN 'missing_open'
                WHEN b.high IS NULL THEN 'missing_high'
                WHEN b.low IS NULL THEN 'missing_low'
                WHEN b.close IS NULL THEN 'missing_close'
                WHEN b.partition_date IS NULL THEN 'missing_partition_date'
                WHEN NOT (b.low <= least(b.open, b.close) AND greatest(b.open, b.close) <= b.high)
                    THEN 'ohlc_violation'
                WHEN NOT b.low > 0 THEN 'non_positive_price'
           END AS reason,
           b._batch_id, b._ingested_at, b._checksum, b.rowid AS _row
    FROM bronze_ohlcv AS b
)
"""
    + LATEST_UNIQUE_SQL
)

SILVER_QUOTES_SQL = (
    """
CREATE OR REPLACE TEMP TABLE judged_quotes AS
WITH ruled AS (
    SELECT upper(trim(b.symbol)) AS symbol, b.ts, b.bid, b.ask, b.bid_size, b.ask_size,
           upper(trim(b.exchange)) AS exchange, b.partition_date,
           list_filter([
               CASE WHEN upper(trim(b.symbol)) IS DISTINCT FROM b.symbol THEN 'normalised_symbol' END,
               CASE WHEN upper(trim(b.exchange)) IS DISTINCT FROM b.exchange THEN 'normalised_exchange' END,
               CASE WHEN b.bid_size IS NULL THEN 'missing_bid_size' END,
               CASE WHEN b.ask_size IS NULL THEN 'missing_ask_size' END
           ], f -> f IS NOT NULL) AS _quality_flags,
           CASE WHEN b.symbol IS NULL THEN 'missing_symbol'
                WHEN b.ts IS NULL THEN 'missing_ts'
                WHEN b.bid IS NULL THEN 'missing_bid'
                WHEN b.ask IS NULL THEN 'missing_ask'
                WHEN b.partition_date IS NULL THEN 'missing_partition_date'
                WHEN NOT b.bid < b.ask THEN 'crossed_quote'
                WHEN NOT b.bid > 0 THEN 'non_positive_price'
           END AS reason,
           b._batch_id, b._ingested_at, b._checksum, b.rowid AS _row
    FROM bronze_quotes AS b
)
"""
    + LATEST_UNIQUE_SQL
)

MARKET_GOLD_SQL = """
CREATE SCHEMA IF NOT EXISTS gold_market;
CREATE TABLE IF NOT EXISTS gold_market.daily_bars (
    symbol VARCHAR, trade_date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume BIGINT,
    vwap DOUBLE, day_return DOUBLE, realised_volatility DOUBLE, bars BIGINT
);
CREATE TABLE IF NOT EXISTS gold_market.quote_liquidity (
    symbol VARCHAR, trade_date DATE, quotes BIGINT, mean_spread DOUBLE, p95_spread DOUBLE,
    mean_spread_bps DOUBLE, p95_spread_bps DOUBLE, mean_bid_size DOUBLE, mean_ask_size DOUBLE
);
BEGIN TRANSACTION;
DELETE FROM gold_market.daily_bars WHERE trade_date IN (SELECT DISTINCT partition_date FROM silver_ohlcv);
INSERT INTO gold_market.daily_bars
WITH moves AS (
    SELECT *, ln(close / lag(close) OVER (PARTITION BY symbol, partition_date ORDER BY ts)) AS r
    FROM silver_ohlcv
)
SELECT symbol, partition_date,
       arg_min(open, ts), max(high), min(low), arg_max(close, ts),
       coalesce(sum(volume), 0)::BIGINT,
       sum((high + low + close) / 3 * volume) / nullif(sum(volume), 0),
       arg_max(close, ts) / arg_min(open, ts) - 1,
       coalesce(sqrt(sum(r * r)), 0),
       count(*)::BIGINT
FROM moves
GROUP BY symbol, partition_date
ORDER BY symbol;
DELETE FROM gold_market.quote_liquidity WHERE trade_date IN (SELECT DISTINCT partition_date FROM silver_quotes);
INSERT INTO gold_market.quote_liquidity
SELECT symbol, partition_date,
       count(*)::BIGINT,
       avg(ask - bid), quantile_cont(ask - bid, 0.95),
       avg((ask - bid) / ((ask + bid) / 2) * 1e4), quantile_cont((ask - bid) / ((ask + bid) / 2) * 1e4, 0.95),
       avg(bid_size), avg(ask_size)
FROM silver_quotes
GROUP BY symbol, partition_date
ORDER BY symbol;
COMMIT;
"""


def prepare_market_anchor(landing_dir: str, anchor_dir: str) -> Workload:
    import duckdb

    root = Path(anchor_dir)
    quarantines = tuple(f"{t}_quarantine" for t in MARKET_FACTS)
    outputs = [("bronze", t) for t in MARKET_FACTS] + [("silver", t) for t in (*MARKET_FACTS, *quarantines)]
    for layer, table in outputs:
        _lake_file(root, layer, table, "market").parent.mkdir(parents=True, exist_ok=True)
    silver_sql = {"ohlcv": SILVER_OHLCV_SQL, "quotes": SILVER_QUOTES_SQL}

    def run() -> Outcome:
        parts: dict[str, float] = {}
        with duckdb.connect(str(root / "warehouse.duckdb")) as con:
            con.execute("SET TimeZone = 'UTC'")
            started = time.perf_counter()
            for table in MARKET_FACTS:
                landing = Path(landing_dir) / table / f"partition_date={PARTITION}" / "*.parquet"
                bronze = _lake_file(root, "bronze", table, "market")
                con.execute(
                    BRONZE_SQL.format(
                        landing=_literal(landing), domain="market", table=table, bronze=_literal(bronze)
                    )
                )
            parts["bronze"] = time.perf_counter() - started
            started = time.perf_counter()
            for table in MARKET_FACTS:
                con.execute(silver_sql[table])
                con.execute(
                    SILVER_WRITE_SQL.format(
                        table=table,
                        silver=_literal(_lake_file(root, "silver", table, "market")),
                        quarantine=_literal(_lake_file(root, "silver", f"{table}_quarantine", "market")),
                    )
                )
            parts["silver"] = time.perf_counter() - started
            started = time.perf_counter()
            con.execute(MARKET_GOLD_SQL)
            parts["gold"] = time.perf_counter() - started
            (landed,) = con.execute(
                "SELECT (SELECT count(*) FROM bronze_ohlcv) + (SELECT count(*) FROM bronze_quotes)"
            ).fetchone() or (0,)
        return Outcome(int(landed), parts)

    return run


# -- agreement ---------------------------------------------------------------------------------

Pair = tuple[Any, Any]  # (platform, anchor)


@dataclass(frozen=True)
class Agreement:
    """Gold and silver of both contenders side by side, each figure as (platform, anchor)."""

    gold_rows: Pair
    gold_revenue: Pair
    gold_revenue_usd: Pair
    gold_rows_differing: int  # rows in one gold and not the other, on every column but revenue_usd
    gold_revenue_usd_gap: Decimal  # largest |difference| of revenue_usd on one gold row
    silver_kept: dict[str, Pair]
    silver_dropped: dict[str, Pair]  # per table: ({reason: rows}, {reason: rows})

    @property
    def gold_agrees(self) -> bool:
        # revenue_usd is compared by its largest gap per row, reported beside the verdict.
        same = [self.gold_rows, self.gold_revenue]
        return (
            all(p == a for p, a in same)
            and self.gold_rows_differing == 0
            and self.gold_revenue_usd_gap <= USD_TOLERANCE
        )

    @property
    def silver_agrees(self) -> bool:
        return all(p == a for p, a in (*self.silver_kept.values(), *self.silver_dropped.values()))

    def lines(self) -> list[str]:
        (p_rows, a_rows), (p_rev, a_rev), (p_usd, a_usd) = (
            self.gold_rows,
            self.gold_revenue,
            self.gold_revenue_usd,
        )
        lines = [
            f"gold agrees: {_yes(self.gold_agrees)} - rows {p_rows:,} vs {a_rows:,}; total revenue "
            f"{p_rev:,} vs {a_rev:,}; revenue_usd {p_usd:,} vs {a_usd:,}; rows differing on any column "
            f"but revenue_usd: {self.gold_rows_differing}; largest revenue_usd gap on a row: "
            f"{self.gold_revenue_usd_gap} (tolerated: {USD_TOLERANCE})"
        ]
        for table in FACTS:
            (p_kept, a_kept), (p_dropped, a_dropped) = self.silver_kept[table], self.silver_dropped[table]
            lines.append(f"silver {table}: kept {p_kept:,} vs {a_kept:,}; dropped {p_dropped} vs {a_dropped}")
        lines.append(f"silver agrees: {_yes(self.silver_agrees)}")
        return lines

    def to_json(self) -> dict[str, object]:
        return {"gold_agrees": self.gold_agrees, "silver_agrees": self.silver_agrees, **asdict(self)}


def compare(platform_data: Path, anchor_dir: Path) -> Agreement:
    """Read back what both wrote: gold counts, totals and every row; silver rows kept and dropped."""
    import duckdb
    from deltalake import DeltaTable

    gold = "gold_ecommerce.daily_sales"
    columns = "order_date, currency, channel, status, orders, items, revenue, average_order_value"
    where = f"WHERE order_date = DATE '{PARTITION}'"
    delta = platform_data / "lake" / "delta" / "silver" / "ecommerce"
    with duckdb.connect() as con:

        def one(sql: str) -> tuple[Any, ...]:
            row = con.execute(sql).fetchone()
            if row is None:
                raise RuntimeError(f"no result from {sql}")
            return row

        def reasons(relation: str) -> dict[str, int]:
            return dict(
                sorted(con.execute(f"SELECT _drop_reason, count(*) FROM {relation} GROUP BY 1").fetchall())
            )

        con.execute(f"ATTACH {_literal(platform_data / 'warehouse.duckdb')} AS p (READ_ONLY)")
        con.execute(f"ATTACH {_literal(anchor_dir / 'warehouse.duckdb')} AS a (READ_ONLY)")
        p_totals, a_totals = (
            one(f"SELECT count(*), sum(revenue), sum(revenue_usd) FROM {side}.{gold} {where}")
            for side in "pa"
        )
        (differing,) = one(
            f"""SELECT count(*) FROM (
                (SELECT {columns} FROM p.{gold} {where} EXCEPT ALL SELECT {columns} FROM a.{gold} {where})
                UNION ALL
                (SELECT {columns} FROM a.{gold} {where} EXCEPT ALL SELECT {columns} FROM p.{gold} {where}))"""
        )
        (usd_gap,) = one(
            f"""SELECT coalesce(max(abs(p.revenue_usd - a.revenue_usd)), 0)
                FROM p.{gold} p JOIN a.{gold} a USING (order_date, currency, channel, status)
                WHERE order_date = DATE '{PARTITION}'"""
        )
        kept: dict[str, Pair] = {}
        dropped: dict[str, Pair] = {}
        for table in FACTS:
            con.register(
                "quarantined",
                DeltaTable(delta / f"{table}_quarantine").to_pyarrow_table(columns=["_drop_reason"]),
            )
            (anchor_kept,) = one(f"SELECT count(*) FROM {_literal(_lake_file(anchor_dir, 'silver', table))}")
            kept[table] = (DeltaTable(delta / table).to_pyarrow_dataset().count_rows(), anchor_kept)
            dropped[table] = (
                reasons("quarantined"),
                reasons(_literal(_lake_file(anchor_dir, "silver", f"{table}_quarantine"))),
            )
            con.unregister("quarantined")
    return Agreement(
        gold_rows=(p_totals[0], a_totals[0]),
        gold_revenue=(p_totals[1], a_totals[1]),
        gold_revenue_usd=(p_totals[2], a_totals[2]),
        gold_rows_differing=differing,
        gold_revenue_usd_gap=usd_gap,
        silver_kept=kept,
        silver_dropped=dropped,
    )


MARKET_GOLD = {
    "daily_bars": (
        ("volume", "bars"),
        ("open", "high", "low", "close", "vwap", "day_return", "realised_volatility"),
    ),
    "quote_liquidity": (
        ("quotes",),
        ("mean_spread", "p95_spread", "mean_spread_bps", "p95_spread_bps", "mean_bid_size", "mean_ask_size"),
    ),
}


@dataclass(frozen=True)
class MarketAgreement:
    """Market gold and silver of both contenders; gold DOUBLEs compared within a relative tolerance."""

    gold_rows: dict[str, Pair]
    gold_rows_unmatched: dict[str, int]  # (symbol, trade_date) in one gold and not the other
    gold_integers_differing: dict[str, int]  # matched rows whose counts or volume differ
    gold_largest_relative_gap: dict[str, float]  # over every DOUBLE column of matched rows
    silver_kept: dict[str, Pair]
    silver_dropped: dict[str, Pair]

    @property
    def gold_agrees(self) -> bool:
        return (
            all(p == a for p, a in self.gold_rows.values())
            and not any(self.gold_rows_unmatched.values())
            and not any(self.gold_integers_differing.values())
            and all(gap <= MARKET_FLOAT_TOLERANCE for gap in self.gold_largest_relative_gap.values())
        )

    @property
    def silver_agrees(self) -> bool:
        return all(p == a for p, a in (*self.silver_kept.values(), *self.silver_dropped.values()))

    def lines(self) -> list[str]:
        lines = []
        for table, (p_rows, a_rows) in self.gold_rows.items():
            lines.append(
                f"gold market {table}: rows {p_rows:,} vs {a_rows:,}; unmatched keys "
                f"{self.gold_rows_unmatched[table]}; rows with other counts {self.gold_integers_differing[table]}; "
                f"largest relative gap {self.gold_largest_relative_gap[table]:.2e} "
                f"(tolerated: {MARKET_FLOAT_TOLERANCE:.0e})"
            )
        lines.append(f"market gold agrees: {_yes(self.gold_agrees)}")
        for table in MARKET_FACTS:
            (p_kept, a_kept), (p_dropped, a_dropped) = self.silver_kept[table], self.silver_dropped[table]
            lines.append(f"silver {table}: kept {p_kept:,} vs {a_kept:,}; dropped {p_dropped} vs {a_dropped}")
        lines.append(f"market silver agrees: {_yes(self.silver_agrees)}")
        return lines

    def to_json(self) -> dict[str, object]:
        return {"gold_agrees": self.gold_agrees, "silver_agrees": self.silver_agrees, **asdict(self)}


def compare_market(platform_data: Path, anchor_dir: Path) -> MarketAgreement:
    import duckdb
    from deltalake import DeltaTable

    delta = platform_data / "lake" / "delta" / "silver" / "market"
    rows: dict[str, Pair] = {}
    unmatched: dict[str, int] = {}
    integers: dict[str, int] = {}
    gaps: dict[str, float] = {}
    kept: dict[str, Pair] = {}
    dropped: dict[str, Pair] = {}
    with duckdb.connect() as con:

        def one(sql: str) -> tuple[Any, ...]:
            row = con.execute(sql).fetchone()
            if row is None:
                raise RuntimeError(f"no result from {sql}")
            return row

        def reasons(relation: str) -> dict[str, int]:
            return dict(
                sorted(con.execute(f"SELECT _drop_reason, count(*) FROM {relation} GROUP BY 1").fetchall())
            )

        con.execute(f"ATTACH {_literal(platform_data / 'warehouse.duckdb')} AS p (READ_ONLY)")
        con.execute(f"ATTACH {_literal(anchor_dir / 'warehouse.duckdb')} AS a (READ_ONLY)")
        day = f"trade_date = DATE '{PARTITION}'"
        for table, (counts, doubles) in MARKET_GOLD.items():
            p_gold = f"(SELECT * FROM p.gold_market.{table} WHERE {day})"
            a_gold = f"(SELECT * FROM a.gold_market.{table} WHERE {day})"
            rows[table] = (one(f"SELECT count(*) FROM {p_gold}")[0], one(f"SELECT count(*) FROM {a_gold}")[0])
            (unmatched[table],) = one(
                f"SELECT count(*) FROM {p_gold} p FULL JOIN {a_gold} a USING (symbol, trade_date) "
                "WHERE p.symbol IS NULL OR a.symbol IS NULL"
            )
            differ = " OR ".join(f"p.{c} IS DISTINCT FROM a.{c}" for c in counts)
            (integers[table],) = one(
                f"SELECT count(*) FROM {p_gold} p JOIN {a_gold} a USING (symbol, trade_date) WHERE {differ}"
            )
            relative = ", ".join(
                f"coalesce(max(abs(p.{c} - a.{c}) / greatest(abs(a.{c}), 1e-12)), 0)"
                f" + CASE WHEN count(*) FILTER ((p.{c} IS NULL) <> (a.{c} IS NULL)) > 0 THEN 1 ELSE 0 END"
                for c in doubles
            )
            (gaps[table],) = one(
                f"SELECT greatest({relative}) FROM {p_gold} p JOIN {a_gold} a USING (symbol, trade_date)"
            )
        for table in MARKET_FACTS:
            con.register(
                "quarantined",
                DeltaTable(delta / f"{table}_quarantine").to_pyarrow_table(columns=["_drop_reason"]),
            )
            silver_file = _literal(_lake_file(anchor_dir, "silver", table, "market"))
            (anchor_kept,) = one(f"SELECT count(*) FROM {silver_file}")
            kept[table] = (DeltaTable(delta / table).to_pyarrow_dataset().count_rows(), anchor_kept)
            dropped[table] = (
                reasons("quarantined"),
                reasons(_literal(_lake_file(anchor_dir, "silver", f"{table}_quarantine", "market"))),
            )
            con.unregister("quarantined")
    return MarketAgreement(rows, unmatched, integers, gaps, kept, dropped)


def arrow_size(landing_root: Path, domain: str) -> int:
    """Bytes of the day's landing tables (facts and defects) as Arrow tables: `nbytes` of what
    the landing step hands to bronze, read back from the platform's landing Parquet."""
    from dataplatform.storage import Slice, open_store
    from dataplatform.storage.contract import TableName

    store = open_store("parquet", landing_root)
    where = Slice("partition_date", (DAY,))
    return sum(
        store.read(TableName("landing", domain, table), where=where).nbytes
        for table in DOMAINS[domain].landing_tables
    )


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


# -- report --------------------------------------------------------------------------------------


def _minus(trial: Trial, *parts: str) -> tuple[float, ...]:
    """The job's own duration per repetition, less the named self-measured parts."""
    return tuple(
        job - sum(others) for job, *others in zip(trial.part("job"), *map(trial.part, parts), strict=True)
    )


def _medians(trial: Trial, prefix: str = "") -> dict[str, float]:
    names = {name for outcome in trial.outcomes for name in outcome.parts if name.startswith(prefix)}
    return {name.removeprefix(prefix): statistics.median(trial.part(name)) for name in sorted(names)}


def _breakdown(domain: str, platform: Trial, anchor: Trial) -> list[str]:
    steps = _medians(platform, "step ")
    outside = statistics.median(platform.part("outside steps"))
    lines = [f"{domain} platform steps, median s:"]
    lines += [f"  {seconds:8.3f}  {step}" for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1])]
    lines.append(f"  {outside:8.3f}  (job wall time outside every step: starting and finishing the run)")
    stages = ", ".join(f"{stage} {seconds:.3f}" for stage, seconds in _medians(anchor).items())
    lines.append(f"{domain} anchor stages, median s: {stages}")
    return lines


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, help="where data goes (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument(
        "--domains",
        default="ecommerce,market",
        help="which days to run, comma-separated (default: ecommerce,market)",
    )
    parser.add_argument(
        "--symbols",
        type=int,
        help=f"market symbols (default: --rows / {ORDERS_PER_SYMBOL:,}, at least 1)",
    )


@dataclass(frozen=True)
class DomainRun:
    """One domain's contenders, their agreement and the day's Arrow size."""

    domain: str
    size: int
    delivery: Trial
    platform: Trial
    anchor: Trial
    agreement: Agreement | MarketAgreement
    arrow_bytes: int

    def figures(self) -> list[Figure]:
        domain, platform, anchor = self.domain, self.platform, self.anchor
        return [
            Figure.of(
                f"{domain}: landing step (setup: generate the day, write Parquet)",
                self.delivery,
                group=domain,
            ),
            Figure.of(
                f"{domain}: platform {domain}_daily from landing on", platform, "subject", group=domain
            ),
            Figure.of(
                f"{domain}: platform, excl. check-only steps",
                platform,
                seconds=_minus(platform, "checks"),
                group=domain,
            ),
            Figure.of(f"{domain}: direct DuckDB SQL, one connection", anchor, "anchor", group=domain),
        ]

    @property
    def ratio(self) -> float:
        """How many times as long the platform takes as the SQL, on the same landing files."""
        return statistics.median(self.platform.seconds) / statistics.median(self.anchor.seconds)

    def memory(self) -> dict[str, float]:
        arrow = self.arrow_bytes
        return {
            "arrow_mib": round(arrow / MIB, 1),
            "platform_peak_mib": round(self.platform.peak_rss / MIB, 1),
            "platform_peak_over_arrow": round(self.platform.peak_rss / arrow, 2),
            "platform_added_over_arrow": round((self.platform.peak_rss - self.platform.base_rss) / arrow, 2),
            "anchor_peak_mib": round(self.anchor.peak_rss / MIB, 1),
            "anchor_peak_over_arrow": round(self.anchor.peak_rss / arrow, 2),
        }

    def lines(self) -> list[str]:
        m = self.memory()
        return [
            *_breakdown(self.domain, self.platform, self.anchor),
            *self.agreement.lines(),
            f"{self.domain}: platform (from landing on) takes {self.ratio:.2f}x as long as the direct SQL "
            f"(goal: 1.3x)",
            f"{self.domain}: the day's landing tables are {m['arrow_mib']:,.0f} MiB as Arrow; platform peak RSS "
            f"{m['platform_peak_mib']:,.0f} MiB = {m['platform_peak_over_arrow']:.2f}x that (goal: 2x; "
            f"added by the runs: {m['platform_added_over_arrow']:.2f}x), direct SQL peak "
            f"{m['anchor_peak_mib']:,.0f} MiB = {m['anchor_peak_over_arrow']:.2f}x",
        ]


def run_domain(domain: str, size: int, work: Path, repeat: int) -> DomainRun:
    platform_dir, anchor_dir = work / domain / "platform", work / domain / "anchor"
    lake = platform_dir / "data" / "lake" / "parquet"
    landing = lake / "landing" / domain
    delivery = run_isolated(prepare_delivery, str(platform_dir), domain, size, repeat=1)
    prepare = prepare_anchor if domain == "ecommerce" else prepare_market_anchor
    platform, anchor = in_turns(
        ((prepare_platform, (str(platform_dir), domain, size)), (prepare, (str(landing), str(anchor_dir)))),
        repeat,
    )
    if domain == "ecommerce":
        agreement: Agreement | MarketAgreement = compare(platform_dir / "data", anchor_dir)
    else:
        agreement = compare_market(platform_dir / "data", anchor_dir)
    if platform.rows != anchor.rows:
        raise SystemExit(
            f"{domain}: the contenders read different inputs: {platform.rows} vs {anchor.rows} rows"
        )
    return DomainRun(
        domain, size, delivery, platform, anchor, agreement, arrow_size(platform_dir / "data", domain)
    )


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=5_000_000, add=_options)
    domains = [d.strip() for d in args.domains.split(",") if d.strip()]
    unknown = set(domains) - set(DOMAINS)
    if unknown or not domains:
        raise SystemExit(f"--domains: unknown {sorted(unknown)}; known: {', '.join(DOMAINS)}")
    symbols = args.symbols or max(1, args.rows // ORDERS_PER_SYMBOL)
    sizes = {"ecommerce": args.rows, "market": symbols}
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-medallion-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"one day ({PARTITION}) landing to gold: ~{args.rows:,} orders (ecommerce), {symbols:,} symbols' bars "
        f"and quotes (market); {', '.join(domains)}; {args.repeat} runs; in {work}"
    )
    try:
        runs = [run_domain(d, sizes[d], work, args.repeat) for d in domains]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(
        "medallion",
        [f for run in runs for f in run.figures()],
        {
            "rows": args.rows,
            "symbols": symbols,
            "domains": domains,
            "repeat": args.repeat,
            "day": PARTITION,
            "customers": CUSTOMERS,
            "products": PRODUCTS,
        },
        [line for run in runs for line in run.lines()],
        domains={
            run.domain: {
                "platform_over_sql": round(run.ratio, 3),
                "memory": run.memory(),
                "platform_steps_median_s": {
                    k: round(v, 4) for k, v in _medians(run.platform, "step ").items()
                },
                "anchor_stages_median_s": {k: round(v, 4) for k, v in _medians(run.anchor).items()},
                "agreement": run.agreement.to_json(),
            }
            for run in runs
        },
    )


if __name__ == "__main__":
    main()
