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

Faker and mimesis cost the same per row at any size, so they run on `--slow-rows` (default
`--rows`/50) to keep the run short, and the ratio compares rows per second with rows per second.
Why: the generator is meant to be at least 100x faster than Faker (the issue's goal), which is
what makes million-row days cheap enough for tests and benchmarks.

Timing and memory (peak RSS of a fresh spawned process per contender): see `_harness.py`.
"""

from __future__ import annotations

import argparse
import math
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from _harness import Figure, Outcome, Workload, parse_args, report, run_isolated

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
    from dataplatform.generate.ecommerce import WEEKDAY_FACTOR
    from dataplatform.settings import EcommerceVolumes

    # The generator scales orders_per_day by a weekday factor; undo it so the day holds ~rows.
    per_day = max(1, round(rows / WEEKDAY_FACTOR[DAY.weekday()]))
    return EcommerceVolumes(
        customers=CUSTOMERS, products=PRODUCTS, orders_per_day=per_day, items_per_order=ITEMS_PER_ORDER
    )


def prepare_platform(rows: int) -> Workload:
    from dataplatform.generate.ecommerce import EcommerceGenerator

    EcommerceGenerator(SEED, _volumes(WARM_UP_ROWS), DEFECT_RATE).day(DAY)
    generator = EcommerceGenerator(SEED, _volumes(rows), DEFECT_RATE)

    def run() -> Outcome:
        batch = generator.day(DAY)
        orders, items = batch.tables["orders"], batch.tables["order_items"]
        assert orders.schema == ORDERS_SCHEMA, orders.schema
        assert items.schema == ITEMS_SCHEMA, items.schema
        return Outcome(orders.num_rows + items.num_rows, {"defects": batch.defects.num_rows})

    return run


def prepare_platform_clean(rows: int) -> Workload:
    from dataplatform.generate.ecommerce import EcommerceGenerator

    EcommerceGenerator(SEED, _volumes(WARM_UP_ROWS), DEFECT_RATE).clean_day(DAY)
    generator = EcommerceGenerator(SEED, _volumes(rows), DEFECT_RATE)

    def run() -> Outcome:
        orders, items = generator.clean_day(DAY)
        return Outcome(orders.num_rows + items.num_rows)

    return run


class _Weights:
    """The platform's distributions as the plain Python mappings Faker and mimesis take."""

    def __init__(self) -> None:
        from dataplatform.generate.ecommerce import (
            CHANNEL_WEIGHTS,
            CHANNELS,
            COUNTRIES,
            COUNTRY_WEIGHTS,
            STATUS_WEIGHTS,
            STATUSES,
            EcommerceGenerator,
        )
        from dataplatform.transform.currency import COUNTRY_CURRENCY, USD_PER_UNIT

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


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--slow-rows", type=int, default=None, help="orders for Faker and mimesis (default: --rows / 50)"
    )


def main() -> None:
    # Sub-second runs on a shared 2-core machine are noisy: seven repetitions steady the median.
    args = parse_args(__doc__ or "", default_rows=200_000, add=_options, default_repeat=7)
    slow_rows = args.slow_rows or max(1, args.rows // 50)
    repeat = args.repeat
    print(
        f"one day of orders and their items; platform ~{args.rows:,} orders, Faker and mimesis {slow_rows:,}; {repeat} runs"
    )

    platform = run_isolated(prepare_platform, args.rows, repeat=repeat)
    clean = run_isolated(prepare_platform_clean, args.rows, repeat=repeat)
    faker = run_isolated(prepare_faker, slow_rows, repeat=repeat)
    mimesis = run_isolated(prepare_mimesis, slow_rows, repeat=repeat)

    defects = int(platform.part("defects")[-1])
    figures = [
        Figure.of("platform day(): orders+items", platform, "subject"),
        Figure.of("platform clean_day(): no defects", clean),
        Figure.of("Faker row by row: orders+items", faker, "anchor"),
        Figure.of("mimesis row by row: orders+items", mimesis, "anchor"),
    ]
    speed = figures[0].rows_per_s
    versus_faker = speed / figures[2].rows_per_s
    notes = [
        f"in the same calls the platform also injected and recorded {defects:,} defects",
        f"platform/Faker {versus_faker:,.0f}x, platform/mimesis {speed / figures[3].rows_per_s:,.0f}x "
        f"rows per second; goal at least 100x Faker: {'met' if versus_faker >= 100 else 'NOT met'}",
    ]
    report(
        "generate",
        figures,
        {"rows": args.rows, "slow_rows": slow_rows, "repeat": repeat, "customers": CUSTOMERS, "day": DAY},
        notes,
        platform_defects=defects,
        goal_100x_faker_met=versus_faker >= 100,
    )


if __name__ == "__main__":
    main()
