"""Generator throughput: the platform's vectorised e-commerce generator against Faker and mimesis.

What is compared: producing one day of the same two tables in every contender, for a catalogue
of 100,000 customers and 5,000 products: `orders` (order_id, customer_id, order_ts ISO-8601 UTC
text, status, currency, channel, item_count, order_total, partition_date) and `order_items`
(order_item_id, order_id, line_number, product_id, quantity, unit_price, discount, line_total,
partition_date), with the invariants that make them the same tables: each order's total is the
sum of its lines, each line's price is its product's list price in the order's currency, the
currency follows the customer's country. Rows per second count orders plus items everywhere.

* platform: `EcommerceGenerator.day()` with `orders_per_day` set so the day holds about
  `--rows` orders. Within the timed call it also injects and records defects (not counted as
  rows); a second row times `clean_day()` to show what defect injection costs.
* Faker and mimesis, written as people use them: a loop building one dict per order and per
  line from weighted `random_element` / `weighted_choice`, then `pa.Table.from_pylist`
  (conversion included). They draw customers and products uniformly instead of with the
  platform's skew, and inject no defects: every simplification favours them.
* DuckDB SQL: the same two tables written as one would in DuckDB, from `range()`, materialised
  to Arrow with `.to_arrow_table()` (schemas asserted equal to the platform's). Its work is
  made comparable to the platform's: every draw is a uniform from `hash()` of one integer made
  of the row, the stream and the seed (seeded and reproducible at any thread count, as the
  platform is, and in DuckDB 1.5 faster than `random()`; `hash(row, seed, stream)` would be
  wrong: DuckDB's combined hashes of two streams of a row correlate up to 0.98); status, channel,
  discount, quantity, the hour of the day and the item count (1 + Poisson) are weighted choices
  with the platform's weights, as CASE ladders over cumulative weights; customers and products
  are drawn with the platform's power-law skew (the same inverse CDF) through a fixed random
  ranking; lines come from `unnest(range(item_count))`; each line is priced by joining its
  product's list price and converting it with the customer's currency; order ids follow time
  order (`row_number() OVER (ORDER BY second)`: the sort the platform also does, and a large
  share of DuckDB's time); `order_ts` is ISO-8601 text from `strftime`; each order's total is
  the sum of its lines (a GROUP BY over the Arrow items, joined back to the orders). Customers
  (country, currency, rate, ranking) and products (the platform's list prices, ranking) are
  built once in setup, untimed, as the platform caches its own. Simplifications, all in
  DuckDB's favour: exactly `--rows` orders (the platform draws a Poisson count), no defects, and
  rows in whatever order DuckDB's threads leave them (the platform's come sorted). Both run on
  all cores by default (the platform generates a day's eight three-hour blocks on a thread
  each); second rows pin each to one thread, the way Faker and mimesis run. Why: the issue's goal is the platform at least at the rate of DuckDB SQL (ratio >= 1).

Faker and mimesis cost the same per row at any size, so they run on `--slow-rows` (default
`--rows`/50) to keep the run short, and the ratio compares rows per second with rows per second.
Why: the generator is meant to be at least 100x faster than Faker (the issue's goal), which is
what makes million-row days cheap enough for tests and benchmarks.

Further rows, one run:

* Every domain (ecommerce, market, sensors, weather): `domain(name).generator_for(settings).day(DAY)`
  with the domain's size knob (orders per day, symbols, devices, stations) set so that a day
  holds about `--rows` rows counting every table and the injected duplicates. The knob is found
  in setup: a guess from a typical rows-per-unit, one probe day, then linear scaling (the rows of
  a day are proportional to the knob); other volumes keep their defaults, and e-commerce keeps
  the catalogue above. Compared, as a reference for what "fast synthetic data" means, with:
* TPC-H dbgen: DuckDB's `CALL dbgen(sf=...)` from the PyPI package `duckdb-extension-tpch`,
  loaded by path (DuckDB cannot download extensions here), into a fresh in-memory database per
  repetition; the scale factor gives about `--rows` rows over all eight tables (8,661,245 rows
  at sf 1), and only the CALL is timed (not connecting or loading the extension). Its tables are
  DuckDB's native storage, not Arrow. Skipped, with a note, when the package is missing.
* Memory flat across the range: the standalone command `dataplatform generate ecommerce <dir>
  --start 2025-01-01 --end ... --writer parquet` over `--memory-days` days (default 3) and ten
  times as many, with `--memory-orders` orders per day (default `--rows`) and the catalogue above
  (passed as DATAPLATFORM_* variables; it runs in a temporary directory). Peak memory is the
  kernel's high-water mark of the command's resident memory, `ru_maxrss` from `wait4()` on that
  one process (the maximum over it and any child it waited for), read by a tiny launcher
  (`python -I -S`, about 10 MiB) that spawns it: `ru_maxrss` also counts what the process had
  before exec, which is then the launcher's few MiB, never this benchmark's hundreds. Time is
  the wall time from spawn to exit (interpreter start and imports included), rows are those of
  the Parquet files it wrote (read from their footers; the note also gives the daily partitions
  alone, since master tables are written once whatever the range), and only the exit code of
  the command is relied on. Goal: ten times the rows for under 1.5 times the peak memory.
  Skipped, with a note, while `dataplatform generate --help` fails.

Timing and memory (peak RSS of a fresh spawned process per contender): see `_harness.py`.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from _harness import MIB, Figure, Outcome, Workload, parse_args, report, run_isolated

DAY = date(2026, 11, 20)
SEED = 42
DEFECT_RATE = 0.03
CUSTOMERS = 100_000
PRODUCTS = 5_000
ITEMS_PER_ORDER = 2.5
WARM_UP_ROWS = 100  # one untimed call first, so lazy imports and first-call setup are not timed
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("order_ts", pa.string()),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("channel", pa.string()),
        ("item_count", pa.int32()),
        ("order_total", pa.float64()),
        ("partition_date", pa.date32()),
    ]
)
ITEMS_SCHEMA = pa.schema(
    [
        ("order_item_id", pa.int64()),
        ("order_id", pa.int64()),
        ("line_number", pa.int32()),
        ("product_id", pa.int64()),
        ("quantity", pa.int32()),
        ("unit_price", pa.float64()),
        ("discount", pa.float64()),
        ("line_total", pa.float64()),
        ("partition_date", pa.date32()),
    ]
)
DISCOUNTS = OrderedDict([(0.0, 0.78), (0.05, 0.08), (0.1, 0.07), (0.15, 0.04), (0.2, 0.03)])
QUANTITIES = OrderedDict((q, 0.65 * 0.35 ** (q - 1)) for q in range(1, 8))


def _volumes(rows: int):
    from dataplatform.domains.ecommerce.generator import WEEKDAY_FACTOR
    from dataplatform.settings import EcommerceVolumes

    # The generator scales orders_per_day by a weekday factor; undo it so the day holds ~rows.
    per_day = max(1, round(rows / WEEKDAY_FACTOR[DAY.weekday()]))
    return EcommerceVolumes(
        customers=CUSTOMERS, products=PRODUCTS, orders_per_day=per_day, items_per_order=ITEMS_PER_ORDER
    )


def prepare_platform(rows: int, threads: int | None = None) -> Workload:
    from dataplatform.domains.ecommerce.generator import EcommerceGenerator

    EcommerceGenerator(SEED, _volumes(WARM_UP_ROWS), DEFECT_RATE).day(DAY)
    generator = EcommerceGenerator(SEED, _volumes(rows), DEFECT_RATE, threads=threads)

    def run() -> Outcome:
        batch = generator.day(DAY)
        orders, items = batch.tables["orders"], batch.tables["order_items"]
        assert orders.schema == ORDERS_SCHEMA, orders.schema
        assert items.schema == ITEMS_SCHEMA, items.schema
        return Outcome(orders.num_rows + items.num_rows, {"defects": batch.defects.num_rows})

    return run


def prepare_platform_clean(rows: int) -> Workload:
    from dataplatform.domains.ecommerce.generator import EcommerceGenerator

    EcommerceGenerator(SEED, _volumes(WARM_UP_ROWS), DEFECT_RATE).clean_day(DAY)
    generator = EcommerceGenerator(SEED, _volumes(rows), DEFECT_RATE)

    def run() -> Outcome:
        orders, items = generator.clean_day(DAY)
        return Outcome(orders.num_rows + items.num_rows)

    return run


class _Weights:
    """The platform's distributions as the plain Python mappings Faker and mimesis take."""

    def __init__(self) -> None:
        from dataplatform.currency import COUNTRY_CURRENCY, USD_PER_UNIT
        from dataplatform.domains.ecommerce.generator import (
            CHANNEL_WEIGHTS,
            CHANNELS,
            COUNTRIES,
            COUNTRY_WEIGHTS,
            STATUS_WEIGHTS,
            STATUSES,
            EcommerceGenerator,
        )

        self.status = OrderedDict(zip(STATUSES.tolist(), STATUS_WEIGHTS.tolist(), strict=True))
        self.channel = OrderedDict(zip(CHANNELS.tolist(), CHANNEL_WEIGHTS.tolist(), strict=True))
        self.country = OrderedDict(zip(COUNTRIES.tolist(), COUNTRY_WEIGHTS.tolist(), strict=True))
        self.currency_of = dict(COUNTRY_CURRENCY)
        self.local_per_usd = {c: 1.0 / rate for c, rate in USD_PER_UNIT.items()}
        products = EcommerceGenerator(SEED, _volumes(1), 0.0).clean_products()
        self.price = dict(zip(products["product_id"].to_pylist(), products["price"].to_pylist(), strict=True))
        # item_count = 1 + Poisson(items_per_order - 1), as in the platform, truncated at 12.
        mean = ITEMS_PER_ORDER - 1
        self.item_count = OrderedDict(
            (1 + k, math.exp(-mean) * mean**k / math.factorial(k)) for k in range(12)
        )


class _Picks:
    """What differs between Faker and mimesis: how one value of each kind is drawn."""

    def __init__(
        self,
        integer: Callable[[int, int], int],
        weighted: Callable[[OrderedDict], object],
        moment: Callable[[], datetime],
    ) -> None:
        self.integer, self.weighted, self.moment = integer, weighted, moment


def _row_by_row(rows: int, pick: _Picks, weights: _Weights) -> Outcome:
    """The loop both anchors share: a dict per order and per line, then two Arrow tables."""
    currencies: dict[int, str] = {}  # customer -> currency, drawn on first sight
    orders: list[dict[str, object]] = []
    items: list[dict[str, object]] = []
    for order_id in range(1, rows + 1):
        customer = pick.integer(1, CUSTOMERS)
        if customer not in currencies:
            currencies[customer] = weights.currency_of[pick.weighted(weights.country)]
        currency = currencies[customer]
        count = pick.weighted(weights.item_count)
        total = 0.0
        for line in range(1, count + 1):
            product = pick.integer(1, PRODUCTS)
            quantity = pick.weighted(QUANTITIES)
            price = round(weights.price[product] * weights.local_per_usd[currency], 2)
            discount = pick.weighted(DISCOUNTS)
            line_total = round(quantity * price * (1 - discount), 2)
            total += line_total
            items.append(
                {
                    "order_item_id": order_id * 100 + line,
                    "order_id": order_id,
                    "line_number": line,
                    "product_id": product,
                    "quantity": quantity,
                    "unit_price": price,
                    "discount": discount,
                    "line_total": line_total,
                    "partition_date": DAY,
                }
            )
        orders.append(
            {
                "order_id": order_id,
                "customer_id": customer,
                "order_ts": pick.moment().strftime(TS_FORMAT),
                "status": pick.weighted(weights.status),
                "currency": currency,
                "channel": pick.weighted(weights.channel),
                "item_count": count,
                "order_total": round(total, 2),
                "partition_date": DAY,
            }
        )
    order_table = pa.Table.from_pylist(orders, schema=ORDERS_SCHEMA)
    item_table = pa.Table.from_pylist(items, schema=ITEMS_SCHEMA)
    return Outcome(order_table.num_rows + item_table.num_rows)


def prepare_faker(rows: int) -> Workload:
    from faker import Faker

    fake = Faker()
    Faker.seed(SEED)
    weights = _Weights()
    midnight = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    last_second = midnight + timedelta(days=1) - timedelta(seconds=1)
    pick = _Picks(
        integer=fake.random_int,
        weighted=fake.random_element,
        moment=lambda: fake.date_time_between(start_date=midnight, end_date=last_second, tzinfo=UTC),
    )
    _row_by_row(WARM_UP_ROWS, pick, weights)
    return lambda: _row_by_row(rows, pick, weights)


def prepare_mimesis(rows: int) -> Workload:
    from mimesis import Datetime, Numeric

    numeric = Numeric(seed=SEED)
    clock = Datetime(seed=SEED + 1)
    weights = _Weights()
    pick = _Picks(
        integer=numeric.integer_number,
        weighted=numeric.random.weighted_choice,
        moment=lambda: datetime.combine(DAY, clock.time(), tzinfo=UTC),
    )
    _row_by_row(WARM_UP_ROWS, pick, weights)
    return lambda: _row_by_row(rows, pick, weights)


# -- DuckDB SQL: the same orders and order_items ------------------------------------------------

UNIT = "18446744073709551616.0"  # 2**64: hash() / UNIT is a uniform in [0, 1)


STREAMS = 64  # independent draws per row; the seed sits above every key * STREAMS + stream


def _hashed(key: str, stream: int) -> str:
    """DuckDB's hash of one BIGINT per row and stream. One integer, not `hash(key, seed, stream)`:
    DuckDB's combination of several arguments' hashes leaves two streams of one row correlated
    (measured up to 0.98: customers' countries came out tied to their activity ranking, 80% of
    orders in USD), while one integer goes through the whole mix of its hash."""
    return f"hash(({key}) * {STREAMS} + {stream + (SEED << 52)})"


def _uniform(key: str, stream: int) -> str:
    """A seeded uniform in [0, 1) for one row and one stream, reproducible at any thread count."""
    return f"({_hashed(key, stream)} / {UNIT})"


LINE_KEY = "order_id * 16 + line"  # one integer per order line (at most 12 lines an order)


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, float):
        return f"{value!r}::DOUBLE"
    return str(value)


def _weighted(u: str, values: Sequence[object], weights: Sequence[float]) -> str:
    """A weighted choice as a CASE ladder over the cumulative weights."""
    total = float(sum(weights))
    bounds = [c / total for c in itertools.accumulate(weights)]
    steps = " ".join(
        f"WHEN {u} < {bound!r} THEN {_literal(v)}" for bound, v in zip(bounds[:-1], values[:-1], strict=True)
    )
    return f"CASE {steps} ELSE {_literal(values[-1])} END"


def _power_law_rank(u: str, size: int, exponent: float) -> str:
    """The platform's `power_law_ranks`: the continuous power law's inverse CDF, in SQL."""
    a = 1.0 - exponent
    return f"least(floor(pow(1 + {u} * {(size + 1.0) ** a - 1.0!r}, {1.0 / a!r}))::BIGINT - 1, {size - 1})"


def _duckdb_sql(orders: int) -> tuple[str, str, str]:
    """The three timed statements: draw the orders, their lines (to Arrow), the orders with totals."""
    from dataplatform.domains.ecommerce.generator import (
        CHANNEL_WEIGHTS,
        CHANNELS,
        CUSTOMER_SKEW,
        DISCOUNT_WEIGHTS,
        DISCOUNTS,
        HOURLY_WEIGHTS,
        PRODUCT_SKEW,
        QUANTITY_WEIGHTS,
        STATUS_WEIGHTS,
        STATUSES,
    )
    from dataplatform.synthetic.seeding import day_ordinal

    mean = ITEMS_PER_ORDER - 1  # item_count = 1 + Poisson(items_per_order - 1), truncated at 12
    counts = [1 + k for k in range(12)]
    count_weights = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(12)]
    # Each uniform is a column of its own CTE: inlined into a CASE, DuckDB hashes it once per WHEN.
    draw_orders = f"""
        CREATE OR REPLACE TEMP TABLE o AS
        WITH draws AS (
            SELECT {", ".join(f"{_uniform('i', k)} AS u{k}" for k in range(1, 7))}
            FROM range({orders}) r(i)
        ), picks AS (
            SELECT
                {_weighted("u1", range(24), HOURLY_WEIGHTS.tolist())} * 3600
                    + floor(u2 * 3600)::BIGINT AS second,
                {_power_law_rank("u3", CUSTOMERS, CUSTOMER_SKEW)} AS customer_rank,
                {_weighted("u4", STATUSES.tolist(), STATUS_WEIGHTS.tolist())} AS status,
                {_weighted("u5", CHANNELS.tolist(), CHANNEL_WEIGHTS.tolist())} AS channel,
                {_weighted("u6", counts, count_weights)} AS item_count
            FROM draws
        )
        SELECT
            {day_ordinal(DAY)}::BIGINT * 10000000 + row_number() OVER (ORDER BY second) AS order_id,
            c.customer_id, second, status, c.currency, c.to_local, channel, item_count
        FROM picks JOIN customers c ON c.activity_rank = picks.customer_rank
    """
    lines = f"""
        WITH lines AS (
            SELECT order_id, to_local, unnest(range(1, item_count + 1)) AS line FROM o
        ), draws AS (
            SELECT order_id, line, to_local, {", ".join(f"{_uniform(LINE_KEY, k)} AS u{k}" for k in (7, 8, 9))}
            FROM lines
        ), picks AS (
            SELECT
                order_id, line, to_local,
                {_power_law_rank("u7", PRODUCTS, PRODUCT_SKEW)} AS product_rank,
                {_weighted("u8", list(range(1, 13)), QUANTITY_WEIGHTS.tolist())} AS quantity,
                {_weighted("u9", DISCOUNTS.tolist(), DISCOUNT_WEIGHTS.tolist())} AS discount
            FROM draws
        ), priced AS (
            SELECT picks.*, p.product_id, round(p.price * to_local, 2) AS unit_price
            FROM picks JOIN products p ON p.popularity_rank = picks.product_rank
        )
        SELECT
            order_id * 100 + line AS order_item_id, order_id, line::INTEGER AS line_number, product_id,
            quantity, unit_price, discount, round(quantity * unit_price * (1 - discount), 2) AS line_total,
            DATE '{DAY}' AS partition_date
        FROM priced
    """
    totals = f"""
        SELECT
            o.order_id, o.customer_id,
            strftime(TIMESTAMP '{DAY}' + to_seconds(o.second), '{TS_FORMAT}') AS order_ts,
            o.status, o.currency, o.channel, o.item_count::INTEGER AS item_count,
            round(t.total, 2) AS order_total, DATE '{DAY}' AS partition_date
        FROM o JOIN (SELECT order_id, sum(line_total) AS total FROM items GROUP BY order_id) t
            ON t.order_id = o.order_id
    """
    return draw_orders, lines, totals


def _duckdb_dimensions(con) -> None:
    """Untimed setup: customers (country, currency, rate, activity ranking) and products (the
    platform's list prices, popularity ranking), as the platform caches its own."""
    from dataplatform.currency import COUNTRY_CURRENCY, USD_PER_UNIT
    from dataplatform.domains.ecommerce.generator import COUNTRIES, COUNTRY_WEIGHTS, EcommerceGenerator

    countries = COUNTRIES.tolist()
    u = _uniform("i", 10)
    currency = _weighted(u, [COUNTRY_CURRENCY[c] for c in countries], COUNTRY_WEIGHTS.tolist())
    to_local = _weighted(
        u, [1.0 / USD_PER_UNIT[COUNTRY_CURRENCY[c]] for c in countries], COUNTRY_WEIGHTS.tolist()
    )
    con.execute(f"""
        CREATE TABLE customers AS
        SELECT
            row_number() OVER (ORDER BY {_hashed("i", 11)}) - 1 AS activity_rank,
            i + 1 AS customer_id, {currency} AS currency, {to_local} AS to_local
        FROM range({CUSTOMERS}) r(i)
    """)
    catalogue = EcommerceGenerator(SEED, _volumes(1), 0.0).clean_products().select(["product_id", "price"])
    con.register("catalogue", catalogue)
    con.execute(f"""
        CREATE TABLE products AS
        SELECT row_number() OVER (ORDER BY {_hashed("product_id", 12)}) - 1 AS popularity_rank, product_id, price
        FROM catalogue
    """)
    con.unregister("catalogue")


def prepare_duckdb_sql(rows: int, threads: int | None) -> Workload:
    import duckdb

    con = duckdb.connect()
    if threads is not None:
        con.execute(f"SET threads = {threads}")
    _duckdb_dimensions(con)

    def day(orders: int) -> Outcome:
        draw_orders, lines, totals = _duckdb_sql(orders)
        con.execute(draw_orders)
        items = con.sql(lines).to_arrow_table()
        con.register("items", items)
        orders_table = con.sql(totals).to_arrow_table()
        con.unregister("items")
        con.execute("DROP TABLE o")
        assert orders_table.schema == ORDERS_SCHEMA, orders_table.schema
        assert items.schema == ITEMS_SCHEMA, items.schema
        return Outcome(orders_table.num_rows + items.num_rows, {"threads": threads_used})

    threads_used = float(con.sql("SELECT current_setting('threads')").fetchone()[0])

    day(WARM_UP_ROWS)
    _duckdb_sql(rows)  # build the SQL text once untimed (imports); each run rebuilds it, in microseconds
    return lambda: day(rows)


# -- every domain of the platform ------------------------------------------------------------

# domain -> (size knob, typical rows per unit of the knob, the knob's upper limit)
KNOBS: dict[str, tuple[str, float, int | None]] = {
    "ecommerce": ("orders_per_day", 3.6, None),
    "market": ("symbols", 1_500.0, 100_000),
    "sensors": ("devices", 288.0, 1_000_000),
    "weather": ("stations", 24.0, 100_000),
}
FIXED_VOLUMES = {
    "ecommerce": {"customers": CUSTOMERS, "products": PRODUCTS, "items_per_order": ITEMS_PER_ORDER}
}


def _domain_settings(name: str, knob: int):
    from dataplatform.settings import Settings

    field, _, _ = KNOBS[name]
    volumes = {**FIXED_VOLUMES.get(name, {}), field: knob}
    return Settings(**{"seed": SEED, "defect_rate": DEFECT_RATE, name: volumes})


def _size_domain(name: str, rows: int) -> int:
    """The knob whose day holds about `rows` rows: a guess, one probe day, then linear scaling."""
    from dataplatform.domains import domain

    _, per_unit, limit = KNOBS[name]

    def clamp(value: float) -> int:
        return max(1, min(round(value), limit or sys.maxsize))

    guess = clamp(rows / per_unit)
    probed = domain(name).generator_for(_domain_settings(name, guess)).day(DAY).rows
    return clamp(guess * rows / max(probed, 1))


def prepare_domain(name: str, rows: int) -> Workload:
    from dataplatform.domains import domain

    knob = _size_domain(name, rows)  # its probe day is also the untimed warm-up
    generator = domain(name).generator_for(_domain_settings(name, knob))

    def run() -> Outcome:
        return Outcome(generator.day(DAY).rows, {"knob": knob})

    return run


# -- TPC-H dbgen -------------------------------------------------------------------------------

TPCH_ROWS_PER_SF = 8_661_245  # all eight tables at scale factor 1
TPCH_MIN_SF = 0.001  # below this dbgen leaves tables empty


def _tpch_extension() -> Path | None:
    """The tpch extension of the installed DuckDB, shipped by the PyPI package duckdb-extension-tpch."""
    import duckdb

    spec = importlib.util.find_spec("duckdb_extension_tpch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / "tpch.duckdb_extension"
    return path if path.is_file() else None


def _tpch_scale(rows: int) -> float:
    return max(TPCH_MIN_SF, float(f"{rows / TPCH_ROWS_PER_SF:.2g}"))


def prepare_dbgen(sf: float) -> Workload:
    import duckdb

    extension = _tpch_extension()
    assert extension is not None

    def generate(scale: float) -> Outcome:
        with duckdb.connect() as con:
            con.execute(f"LOAD '{extension}'")
            started = time.perf_counter()
            con.execute(f"CALL dbgen(sf={scale})")
            seconds = time.perf_counter() - started
            tables = [name for (name,) in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()]
            rows = sum(con.sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
        return Outcome(rows, {"dbgen": seconds})

    generate(TPCH_MIN_SF)
    return lambda: generate(sf)


# -- memory across the range of the standalone command -------------------------------------------

CLI = Path(sys.prefix) / "bin" / "dataplatform"
MEMORY_START = date(2025, 1, 1)
# Spawns the command, waits for it, prints its exit code, wall time and ru_maxrss (KiB) as JSON.
# Runs as `python -I -S` so that what the command inherits at exec is this launcher's few MiB.
LAUNCHER = """
import json, os, sys, time
argv = json.loads(sys.argv[1])
log = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
    (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - started,
                  "max_rss_kib": usage.ru_maxrss}))
"""


def _cli_missing() -> str | None:
    """Why the command cannot be measured, or None when `dataplatform generate --help` works."""
    if not CLI.is_file():
        return f"{CLI} not found"
    done = subprocess.run([str(CLI), "generate", "--help"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        return f"`dataplatform generate --help` exits {done.returncode}" + (
            f" ({' '.join(line.strip(' │╭╰─') for line in last[-3:]).strip()})" if last else ""
        )
    return None


def _run_cli(days: int, orders_per_day: int) -> dict[str, float] | str:
    """One run of the command over `days` days in a temporary directory: rows written, wall
    seconds and peak RSS in bytes, or why it failed."""
    end = MEMORY_START + timedelta(days=days - 1)
    env = {
        **os.environ,
        "DATAPLATFORM_SEED": str(SEED),
        "DATAPLATFORM_DEFECT_RATE": str(DEFECT_RATE),
        "DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY": str(orders_per_day),
        "DATAPLATFORM_ECOMMERCE__CUSTOMERS": str(CUSTOMERS),
        "DATAPLATFORM_ECOMMERCE__PRODUCTS": str(PRODUCTS),
        "DATAPLATFORM_ECOMMERCE__ITEMS_PER_ORDER": str(ITEMS_PER_ORDER),
    }
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        out, log = Path(tmp) / "out", Path(tmp) / "command.log"
        argv = [str(CLI), "generate", "ecommerce", str(out), "--start", MEMORY_START.isoformat()]
        argv += ["--end", end.isoformat(), "--writer", "parquet"]
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(argv), str(log)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"the launcher failed: {done.stderr.strip()[-300:]}"
        measured = json.loads(done.stdout)
        if measured["exit"] != 0:
            tail = log.read_text(errors="replace").strip()[-300:]
            return f"`{' '.join(argv[1:3])} ... --end {end}` exited {measured['exit']}: {tail}"
        import pyarrow.parquet as pq

        files = {f: pq.read_metadata(f).num_rows for f in out.rglob("*.parquet")}
    # Daily partitions are the rows that grow with the range; master tables are written once.
    daily = sum(n for f, n in files.items() if any(part.startswith("partition_date=") for part in f.parts))
    peak = measured["max_rss_kib"] * (1 if sys.platform == "darwin" else 1024)
    return {
        "rows": sum(files.values()),
        "daily_rows": daily,
        "seconds": measured["seconds"],
        "peak_rss": peak,
    }


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--slow-rows", type=int, default=None, help="orders for Faker and mimesis (default: --rows / 50)"
    )
    parser.add_argument(
        "--memory-days",
        type=int,
        default=3,
        help="days of the shorter `dataplatform generate` run; the longer one is ten times as many (default 3)",
    )
    parser.add_argument(
        "--memory-orders",
        type=int,
        default=None,
        help="orders per day of the `dataplatform generate` runs (default: --rows)",
    )


def _memory_figures(days: int, orders_per_day: int) -> tuple[list[Figure], list[str], dict[str, object]]:
    """Peak RSS of `dataplatform generate` over `days` and 10 x `days` days, or why it was skipped."""
    why = _cli_missing()
    runs: dict[int, dict[str, float]] = {}
    for n in (days, 10 * days):
        if why is None:
            outcome = _run_cli(n, orders_per_day)
            if isinstance(outcome, str):
                why = outcome
            else:
                runs[n] = outcome
    if why is not None:
        note = f"memory across the range: row skipped, {why}"
        return [], [note], {"skipped": why}
    short, long = runs[days], runs[10 * days]
    figures = [
        Figure(
            f"dataplatform generate, {n} days (CLI, wall)",
            int(run["rows"]),
            (run["seconds"],),
            None,
            int(run["peak_rss"]),
            group="memory",
        )
        for n, run in runs.items()
    ]
    memory_ratio = long["peak_rss"] / short["peak_rss"]
    rows_ratio = long["rows"] / short["rows"] if short["rows"] else float("nan")
    daily_ratio = long["daily_rows"] / short["daily_rows"] if short["daily_rows"] else float("nan")
    met = memory_ratio < 1.5
    note = (
        f"memory across the range: `dataplatform generate ecommerce` ({orders_per_day:,} orders a day), "
        f"{days} days peak {short['peak_rss'] / MIB:,.0f} MiB, {10 * days} days peak "
        f"{long['peak_rss'] / MIB:,.0f} MiB: {daily_ratio:,.1f}x the daily rows ({rows_ratio:,.1f}x all rows "
        f"written, with the master tables and defect logs) for {memory_ratio:.2f}x the peak memory; "
        f"goal under 1.5x: {'met' if met else 'NOT met'}"
    )
    summary = {
        "days": [days, 10 * days],
        "orders_per_day": orders_per_day,
        "rows": [short["rows"], long["rows"]],
        "daily_rows": [short["daily_rows"], long["daily_rows"]],
        "peak_rss_mib": [round(short["peak_rss"] / MIB, 1), round(long["peak_rss"] / MIB, 1)],
        "daily_rows_ratio": round(daily_ratio, 3),
        "rows_ratio": round(rows_ratio, 3),
        "peak_rss_ratio": round(memory_ratio, 3),
        "goal_under_1_5x_met": met,
    }
    return figures, [note], summary


def main() -> None:
    # Sub-second runs on a shared 2-core machine are noisy: seven repetitions steady the median.
    args = parse_args(__doc__ or "", default_rows=200_000, add=_options, default_repeat=7)
    if args.memory_days < 1:
        raise SystemExit("--memory-days must be at least 1")
    slow_rows = args.slow_rows or max(1, args.rows // 50)
    memory_orders = args.memory_orders or args.rows
    repeat = args.repeat
    sf = _tpch_scale(args.rows)
    print(
        f"one day of orders and their items; platform and DuckDB SQL ~{args.rows:,} orders, Faker and "
        f"mimesis {slow_rows:,}; every domain and TPC-H dbgen (sf {sf:g}) ~{args.rows:,} rows; "
        f"`dataplatform generate` {args.memory_days} and {10 * args.memory_days} days of "
        f"{memory_orders:,} orders; {repeat} runs"
    )

    platform = run_isolated(prepare_platform, args.rows, repeat=repeat)
    platform_one = run_isolated(prepare_platform, args.rows, 1, repeat=repeat)
    clean = run_isolated(prepare_platform_clean, args.rows, repeat=repeat)
    faker = run_isolated(prepare_faker, slow_rows, repeat=repeat)
    mimesis = run_isolated(prepare_mimesis, slow_rows, repeat=repeat)
    duck = run_isolated(prepare_duckdb_sql, args.rows, None, repeat=repeat)
    duck_one = run_isolated(prepare_duckdb_sql, args.rows, 1, repeat=repeat)
    domains = {name: run_isolated(prepare_domain, name, args.rows, repeat=repeat) for name in KNOBS}
    dbgen = run_isolated(prepare_dbgen, sf, repeat=repeat) if _tpch_extension() is not None else None

    defects = int(platform.part("defects")[-1])
    figures = [
        Figure.of("platform day(): orders+items", platform, "subject"),
        Figure.of("platform clean_day(): no defects", clean),
        Figure.of("platform day() on 1 thread", platform_one),
        Figure.of("Faker row by row: orders+items", faker, "anchor"),
        Figure.of("mimesis row by row: orders+items", mimesis, "anchor"),
        Figure.of(f"DuckDB SQL, {int(duck.part('threads')[-1])} threads: orders+items", duck, "anchor"),
        Figure.of("DuckDB SQL, 1 thread: orders+items", duck_one, "anchor"),
    ]
    speed = figures[0].rows_per_s
    versus_faker = speed / figures[3].rows_per_s
    versus_duckdb = speed / figures[5].rows_per_s
    notes = [
        f"in the same calls the platform also injected and recorded {defects:,} defects",
        f"platform/Faker {versus_faker:,.0f}x, platform/mimesis {speed / figures[4].rows_per_s:,.0f}x "
        f"rows per second; goal at least 100x Faker: {'met' if versus_faker >= 100 else 'NOT met'} "
        f"(the platform on one thread, as Faker runs: {figures[2].rows_per_s / figures[3].rows_per_s:,.0f}x)",
        f"platform/DuckDB SQL {versus_duckdb:.2f}x rows per second (DuckDB on 1 thread: "
        f"{speed / figures[6].rows_per_s:.2f}x); goal at least 1x: {'met' if versus_duckdb >= 1 else 'NOT met'}",
    ]

    labels = {
        "orders_per_day": "orders/day",
        "symbols": "symbols",
        "devices": "devices",
        "stations": "stations",
    }
    domain_figures = [
        Figure.of(
            f"platform {name} day(): {int(trial.part('knob')[-1]):,} {labels[KNOBS[name][0]]}",
            trial,
            "subject" if name == "ecommerce" else "info",
            group="domains",
        )
        for name, trial in domains.items()
    ]
    figures += domain_figures
    per_domain = {name: round(f.rows_per_s, 1) for name, f in zip(domains, domain_figures, strict=True)}
    dbgen_summary: dict[str, object]
    if dbgen is not None:
        dbgen_figure = Figure.of(
            f"TPC-H dbgen sf={sf:g}: 8 tables", dbgen, "anchor", seconds=dbgen.part("dbgen"), group="domains"
        )
        figures.append(dbgen_figure)
        versus_dbgen = {name: rate / dbgen_figure.rows_per_s for name, rate in per_domain.items()}
        notes.append(
            "rows per second per domain for a day of ~{:,} rows, / TPC-H dbgen: {}".format(
                args.rows,
                ", ".join(
                    f"{name} {per_domain[name]:,.0f} ({versus_dbgen[name]:,.1f}x)" for name in per_domain
                ),
            )
        )
        dbgen_summary = {
            "sf": sf,
            "rows_per_s": round(dbgen_figure.rows_per_s, 1),
            "platform_per_domain_vs_dbgen": {k: round(v, 3) for k, v in versus_dbgen.items()},
        }
    else:
        notes.append("TPC-H dbgen: row skipped, the package duckdb-extension-tpch is not installed")
        dbgen_summary = {"skipped": "duckdb-extension-tpch not installed"}

    memory_figures, memory_notes, memory_summary = _memory_figures(args.memory_days, memory_orders)
    figures += memory_figures
    notes += memory_notes

    report(
        "generate",
        figures,
        {
            "rows": args.rows,
            "slow_rows": slow_rows,
            "repeat": repeat,
            "customers": CUSTOMERS,
            "day": DAY,
            "tpch_sf": sf,
            "memory_days": args.memory_days,
            "memory_orders": memory_orders,
        },
        notes,
        platform_defects=defects,
        goal_100x_faker_met=versus_faker >= 100,
        platform_vs_duckdb_sql=round(versus_duckdb, 3),
        goal_duckdb_sql_met=versus_duckdb >= 1,
        rows_per_s_per_domain=per_domain,
        tpch_dbgen=dbgen_summary,
        memory_across_range=memory_summary,
    )


if __name__ == "__main__":
    main()
