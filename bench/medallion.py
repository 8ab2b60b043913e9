"""One daily partition from landing to gold: the platform's Dagster job against hand-written DuckDB SQL.

What is compared, on the same landing Parquet files (one day of ~`--rows` orders and ~2.5 times
as many order items, defects included):

* platform: the `ecommerce_daily` job for 2026-11-20, run with `execute_in_process` on an
  ephemeral instance, `orders_per_day` set so the day holds ~`--rows` orders (the generator
  scales it by a weekday factor, 1.05 on a Friday). Setup, not timed: the `ecommerce_master`
  job (100,000 customers, 5,000 products) in the same fresh data directory. Every repetition re-runs the same partition in
  that directory, which replaces the partition in each layer (the first run creates the tables,
  later runs overwrite the slice; the files are identical each time because generation is
  seeded). The whole job is timed, and the run's STEP_SUCCESS events give each step's
  duration, so the table also shows the job without the landing step (generating the day and
  writing it as Parquet) and without landing and the blocking asset checks.
* anchor: the same transformation written directly in SQL on one DuckDB connection, reading the
  landing Parquet the platform wrote: bronze (every landing column plus `_checksum` = md5 of the
  row as JSON, `_batch_id` = md5 of the sorted checksums, `_ingested_at`, `_source`), silver with
  the platform's rules (TRY_CAST to TIMESTAMPTZ and DECIMAL(12,2), trim/lower/upper, the
  `_quality_flags`, drops for unparseable or missing required fields, unknown status or
  currency, non-positive quantity, out-of-range price, and dedup on the key keeping the latest
  row, older copies marked duplicate or superseded), the quarantine of dropped rows as delivered, and gold `daily_sales` replaced for the
  day. Bronze, silver and quarantine are written as Parquet files, gold to a DuckDB table. The
  anchor keeps bronze and silver in temporary tables between stages, where the platform writes
  them to Delta and reads them back; it runs no checks.

The subject is the platform without the landing step, since the anchor starts from landing
files. `rows` counts the landing orders plus order items (what bronze takes in), the same for
both. Afterwards the script checks that both produced the same gold (row count, total revenue,
every row) and the same silver (rows kept, and rows dropped per reason), and says so: the
comparison only means something if they agree.

Why: the SQL is the floor for this work on this machine (one engine, no orchestration, no
table format); the ratio says what the platform's orchestration, storage and checks cost on
top of it.

Timing and memory (peak RSS of a fresh spawned process per contender): see `_harness.py`.
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

from _harness import Figure, Outcome, Trial, Workload, parse_args, report, run_isolated

DAY = date(2026, 11, 20)
PARTITION = DAY.isoformat()
START = date(2026, 11, 1)
SEED = 42
DEFECT_RATE = 0.03
CUSTOMERS = 100_000
PRODUCTS = 5_000
FACTS = ("orders", "order_items")
QUARANTINES = tuple(f"{table}_quarantine" for table in FACTS)
LANDING_STEP = "landing_ecommerce_daily"
LANDED = {("landing", "ecommerce", table) for table in FACTS}
USD_TOLERANCE = 0  # both sides convert with DECIMAL rates, so USD sums must match exactly
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


# -- the platform --------------------------------------------------------------------------


def prepare_platform(data_dir: str, rows: int) -> Workload:
    import dagster as dg

    from dataplatform.defs import build_definitions
    from dataplatform.generate.ecommerce import WEEKDAY_FACTOR
    from dataplatform.settings import EcommerceVolumes, Settings

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    # The generator scales orders_per_day by a weekday factor; undo it so the day holds ~rows.
    volumes = EcommerceVolumes(
        orders_per_day=max(1, round(rows / WEEKDAY_FACTOR[DAY.weekday()])),
        customers=CUSTOMERS,
        products=PRODUCTS,
    )
    root = Path(data_dir)
    settings = Settings(
        data_dir=root / "data",
        dagster_home=root / "dagster",
        start_date=START,
        seed=SEED,
        defect_rate=DEFECT_RATE,
        ecommerce=volumes,
    )
    defs = build_definitions(settings)
    master = defs.resolve_job_def("ecommerce_master")
    if not master.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=QUIET).success:
        raise RuntimeError("ecommerce_master failed")
    daily = defs.resolve_job_def("ecommerce_daily")

    def run() -> Outcome:
        started = time.perf_counter()
        result = daily.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), partition_key=PARTITION, run_config=QUIET
        )
        seconds = time.perf_counter() - started
        if not result.success:
            raise RuntimeError(f"ecommerce_daily failed in steps {result.get_failed_step_keys()}")
        check_steps = {
            e.step_key for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }
        parts = {"job": seconds, "checks": 0.0}
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS" and event.step_key:
                step_seconds = event.event_specific_data.duration_ms / 1000
                parts[f"step {event.step_key}"] = step_seconds
                if event.step_key in check_steps:
                    parts["checks"] += step_seconds
        parts["outside steps"] = seconds - sum(v for k, v in parts.items() if k.startswith("step "))
        landed = 0
        for event in result.get_asset_materialization_events():
            if event.asset_key and tuple(event.asset_key.path) in LANDED:
                landed += event.materialization.metadata["dagster/row_count"].value
        return Outcome(landed, parts)

    return run


# -- the anchor: the same transformation as direct SQL ---------------------------------------

BRONZE_SQL = """
CREATE OR REPLACE TEMP TABLE stamped AS
    SELECT landing.*, md5(to_json(landing)) AS _checksum
    FROM read_parquet({landing}, hive_partitioning = true, hive_types = {{'partition_date': DATE}}) AS landing;
CREATE OR REPLACE TEMP TABLE bronze_{table} AS
    SELECT * EXCLUDE (_checksum),
           (SELECT left(md5(coalesce(string_agg(_checksum, '' ORDER BY _checksum), '')), 16) FROM stamped)
               AS _batch_id,
           now() AS _ingested_at,
           'generator:ecommerce/{table}' AS _source,
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
           b._batch_id, b._ingested_at, b._checksum, b AS _raw
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
           b._batch_id, b._ingested_at, b._checksum, b AS _raw
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
    SELECT * EXCLUDE (_checksum, _raw, _drop_reason) FROM judged_{table} WHERE _drop_reason IS NULL;
COPY silver_{table} TO {silver} (FORMAT parquet);
COPY (SELECT unnest(_raw), _drop_reason FROM judged_{table} WHERE _drop_reason IS NOT NULL)
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


def _lake_file(root: Path, layer: str, table: str) -> Path:
    return root / "lake" / layer / "ecommerce" / table / f"partition_date={PARTITION}" / "part-0.parquet"


def prepare_anchor(landing_dir: str, anchor_dir: str) -> Workload:
    import duckdb

    # Reference data, not logic: the same status list, currency rates and price bound as the platform.
    from dataplatform.transform.currency import MAX_PRICE, USD_PER_UNIT
    from dataplatform.transform.ecommerce import ORDER_STATUSES

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
                    BRONZE_SQL.format(landing=_literal(landing), table=table, bronze=_literal(bronze))
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


def _breakdown(platform: Trial, anchor: Trial) -> list[str]:
    steps = _medians(platform, "step ")
    outside = statistics.median(platform.part("outside steps"))
    lines = ["platform steps, median s:"]
    lines += [f"  {seconds:8.3f}  {step}" for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1])]
    lines.append(f"  {outside:8.3f}  (job wall time outside every step: starting and finishing the run)")
    stages = ", ".join(f"{stage} {seconds:.3f}" for stage, seconds in _medians(anchor).items())
    lines.append(f"anchor stages, median s: {stages}")
    return lines


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, help="where data goes (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")


def main() -> None:
    args = parse_args(__doc__ or "", default_rows=1_000_000, add=_options)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-medallion-"))
    work.mkdir(parents=True, exist_ok=True)
    platform_dir, anchor_dir = work / "platform", work / "anchor"
    landing = platform_dir / "data" / "lake" / "parquet" / "landing" / "ecommerce"
    print(f"one day ({PARTITION}) of ~{args.rows:,} orders, landing to gold; {args.repeat} runs; in {work}")
    try:
        platform = run_isolated(prepare_platform, str(platform_dir), args.rows, repeat=args.repeat)
        anchor = run_isolated(prepare_anchor, str(landing), str(anchor_dir), repeat=args.repeat)
        agreement = compare(platform_dir / "data", anchor_dir)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if platform.rows != anchor.rows:
        raise SystemExit(f"the contenders read different inputs: {platform.rows} vs {anchor.rows} rows")

    figures = [
        Figure.of("platform ecommerce_daily, whole job", platform, seconds=platform.part("job")),
        Figure.of(
            "platform, excl. landing generation",
            platform,
            "subject",
            seconds=_minus(platform, f"step {LANDING_STEP}"),
        ),
        Figure.of(
            "platform, excl. landing and checks",
            platform,
            seconds=_minus(platform, f"step {LANDING_STEP}", "checks"),
        ),
        Figure.of("direct DuckDB SQL, one connection", anchor, "anchor"),
    ]
    ratio = figures[1].rows_per_s / figures[3].rows_per_s
    report(
        "medallion",
        figures,
        {
            "rows": args.rows,
            "repeat": args.repeat,
            "day": PARTITION,
            "customers": CUSTOMERS,
            "products": PRODUCTS,
        },
        [
            *_breakdown(platform, anchor),
            *agreement.lines(),
            f"platform (excl. landing) / direct SQL: {ratio:.2f}x the rows per second; the platform takes "
            f"{1 / ratio:.1f}x as long as the hand-written SQL",
        ],
        platform_steps_median_s={k: round(v, 4) for k, v in _medians(platform, "step ").items()},
        anchor_stages_median_s={k: round(v, 4) for k, v in _medians(anchor).items()},
        agreement=agreement.to_json(),
    )


if __name__ == "__main__":
    main()
