"""Seeded e-commerce data: customers and products (master), orders and order items (daily).

Clean data is generated first and defects are injected afterwards from their own random
stream, so a change of defect rate never moves a clean value. Orders rebuild the customer
countries and product prices from the same per-column streams as the master tables, which is
what lets any day be generated alone, in any process, with consistent references.

A day is made of pieces (see `PIECE_ORDERS`), each with its own random streams and defects,
and handed over in chunks of whole pieces (`day_chunks`): a day larger than memory is generated
one chunk at a time, and its rows are the same in chunks of any size or all at once (`day`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property, lru_cache, partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.currency import COUNTRY_CURRENCY, MAX_PRICE, USD_PER_UNIT
from dataplatform.settings import EcommerceVolumes
from dataplatform.synthetic.batch import GeneratedBatch, in_parallel
from dataplatform.synthetic.defects import DefectInjector, DefectLog
from dataplatform.synthetic.sampling import constant_date, draw, labels, power_law_ranks, small_poisson
from dataplatform.synthetic.seeding import SeededGenerator, day_ordinal

DOMAIN = "ecommerce"

COUNTRIES = np.array(list(COUNTRY_CURRENCY))
COUNTRY_TO_LOCAL = np.array([1.0 / USD_PER_UNIT[COUNTRY_CURRENCY[c]] for c in COUNTRIES])
COUNTRY_CURRENCIES = np.array([COUNTRY_CURRENCY[c] for c in COUNTRIES])
COUNTRY_WEIGHTS = np.array([0.38, 0.12, 0.08, 0.05, 0.04, 0.03, 0.1, 0.05, 0.04, 0.04, 0.04, 0.03])
STATUSES = np.array(["placed", "paid", "shipped", "delivered", "cancelled", "returned"])
STATUS_WEIGHTS = np.array([0.05, 0.08, 0.14, 0.63, 0.06, 0.04])
CHANNELS = np.array(["web", "mobile", "marketplace", "store"])
CHANNEL_WEIGHTS = np.array([0.45, 0.35, 0.15, 0.05])
DISCOUNTS = np.array([0.0, 0.05, 0.1, 0.15, 0.2])
DISCOUNT_WEIGHTS = np.array([0.78, 0.08, 0.07, 0.04, 0.03])
# Units per order line: geometric, 65% single units (1 to 12 units).
QUANTITY_WEIGHTS = 0.65 * 0.35 ** np.arange(12)
CATEGORIES = np.array(
    ["electronics", "home", "garden", "toys", "books", "clothing", "sports", "beauty", "grocery"]
)
CATEGORY_WEIGHTS = np.array([0.12, 0.15, 0.08, 0.1, 0.14, 0.16, 0.1, 0.08, 0.07])
CATEGORY_MEDIAN_PRICE = np.array([180.0, 45.0, 35.0, 25.0, 15.0, 40.0, 55.0, 22.0, 8.0])
# Share of the day's orders placed in each UTC hour: quiet nights, an evening peak.
HOURLY_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.8, 4, 4.2, 4, 3.8, 3.8, 4, 4.5, 5, 5.5, 5.5, 4.5, 3, 2]
)
# How skewed purchases are: with 0.8 the most active fifth of customers place about 70% of
# orders; with 1.1 product sales follow a Zipf-like curve, as in real catalogues.
CUSTOMER_SKEW = 0.8
PRODUCT_SKEW = 1.1
# A day is eight blocks of three hours, each cut evenly into pieces of at most PIECE_ORDERS
# orders; a piece has random streams and defects of its own, and is the least a chunk of the day
# holds (65,536 orders and ~164,000 items: ~15 MB as Arrow). Pieces are generated in parallel.
BLOCK_HOURS = 3
PIECE_ORDERS = 1 << 16
# Order ids are the day's ordinal times this, plus the order's position in the day: room for a
# billion orders a day before one day's ids could reach the next day's.
IDS_PER_DAY = 1_000_000_000
WEEKDAY_FACTOR = np.array([0.95, 0.95, 0.98, 1.0, 1.05, 1.1, 0.97])
FIRST_NAMES = np.array(
    "james mary john patricia robert jennifer michael linda david elizabeth william barbara "
    "richard susan joseph jessica thomas sarah chris karen daniel nancy matthew lisa anthony "
    "betty mark sandra paul ashley steven kim andrew emily joshua donna kenneth michelle "
    "kevin carol brian amanda george melissa timothy deborah lukas sofia mateo yuki priya".split()
)
LAST_NAMES = np.array(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "muller tanaka".split()
)
EMAIL_DOMAINS = np.array(["example.com", "mail.example", "shop.example", "post.example"])
STREETS = np.array("high station church park mill victoria green manor queen kings oak lake".split())
STREET_KINDS = np.array(["Street", "Road", "Lane", "Avenue", "Way"])
ADJECTIVES = np.array(
    "classic compact deluxe eco essential premium smart ultra vintage wireless modern pro".split()
)
# Six product nouns per category, row-aligned with CATEGORIES.
NOUNS = np.array(
    [
        ["headphones", "speaker", "charger", "monitor", "camera", "keyboard"],
        ["lamp", "pillow", "blanket", "vase", "mirror", "clock"],
        ["hose", "planter", "shovel", "rake", "seeds", "lantern"],
        ["puzzle", "robot", "blocks", "doll", "kite", "racer"],
        ["novel", "cookbook", "atlas", "journal", "guide", "anthology"],
        ["jacket", "shirt", "scarf", "sneakers", "hoodie", "dress"],
        ["ball", "racket", "mat", "bottle", "helmet", "gloves"],
        ["serum", "lotion", "palette", "brush", "perfume", "balm"],
        ["coffee", "tea", "granola", "honey", "pasta", "olive-oil"],
    ]
)
BAD_TIMESTAMPS = np.array(["N/A", "", "yesterday", "0000-00-00 00:00:00", "2024-02-30T25:61:00Z"])


class EcommerceGenerator(SeededGenerator):
    """Customers, products, orders and order items for one seed and set of volumes."""

    domain = DOMAIN
    volumes: EcommerceVolumes

    def master(self) -> GeneratedBatch:
        log = DefectLog(partition_date=None)
        customers = self._inject_customer_defects(self.clean_customers(), log)
        products = self._inject_product_defects(self.clean_products(), log)
        return GeneratedBatch({"customers": customers, "products": products}, log.to_table())

    def day(self, day: date) -> GeneratedBatch:
        """The whole day at once: the same rows as its chunks joined, whatever their size."""
        return GeneratedBatch.joined(self.day_chunks(day))

    def day_chunks(self, day: date, chunk_rows: int | None = None) -> Iterator[GeneratedBatch]:
        """The day's orders, items and defect records in consecutive chunks of whole pieces,
        each expected to hold at most `chunk_rows` orders and items together (a chunk holds one
        piece at least; None: the whole day in one chunk). Each chunk is generated when asked
        for, so memory holds one chunk, plus the duplicates of its last piece.

        A piece's duplicates are delivered after the next piece's rows, as a source that sends
        rows again does, so they may arrive in a later chunk than the rows they copy; the defect
        record names them with the piece that made them."""
        groups = _grouped(self._pieces(day), chunk_rows, 1 + self.volumes.items_per_order)
        resent: tuple[pa.Table, pa.Table] | None = None
        for number, group in enumerate(groups, start=1):
            orders, items, defects = [], [], []
            for made in in_parallel(partial(self._piece, day), [(p,) for p in group], self.threads):
                orders.append(made.orders)
                items.append(made.items)
                defects.append(made.defects)
                if resent is not None:
                    orders.append(resent[0])
                    items.append(resent[1])
                resent = made.copies
            if number == len(groups) and resent is not None:  # the last piece's, at the day's end
                orders.append(resent[0])
                items.append(resent[1])
            yield GeneratedBatch(
                {"orders": pa.concat_tables(orders), "order_items": pa.concat_tables(items)},
                pa.concat_tables(defects),
            )

    # -- clean data ---------------------------------------------------------------------

    def clean_customers(self) -> pa.Table:
        n = self.volumes.customers
        rng = self._rng("customers", "attributes")
        first = labels(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
        last = labels(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
        ids = np.arange(1, n + 1, dtype=np.int64)
        email = pc.binary_join_element_wise(
            pa.array(first),
            ".",
            pa.array(last),
            pc.cast(pa.array(ids), pa.string()),
            "@",
            labels(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n)),
            "",
        )
        signup_days = rng.integers(0, 3 * 365, n)
        return pa.table(
            {
                "customer_id": ids,
                "first_name": pc.utf8_capitalize(pa.array(first)),
                "last_name": pc.utf8_capitalize(pa.array(last)),
                "email": email,
                "country": labels(COUNTRIES, self._customer_country_idx),
                "signup_date": pa.array(
                    np.datetime64("2022-01-01") + signup_days.astype("timedelta64[D]"),
                    pa.date32(),
                ),
                "marketing_opt_in": pa.array(rng.random(n) < 0.35),
                **self._contacts(n),
            }
        )

    def _contacts(self, n: int) -> dict[str, pa.Array]:
        """Phone number and street address: personal data silver must mask. From a stream of
        their own, so adding them moved no other column's values."""
        rng = self._rng("customers", "contact")

        def digits(low: int, high: int, width: int) -> pa.Array:
            return pc.utf8_lpad(pc.cast(pa.array(rng.integers(low, high, n)), pa.string()), width, "0")

        phone = pc.binary_join_element_wise(
            "+",
            digits(1, 99, 1),
            " ",
            digits(200, 999, 3),
            " ",
            digits(0, 1000, 3),
            " ",
            digits(0, 10_000, 4),
            "",
        )
        address = pc.binary_join_element_wise(
            pc.cast(pa.array(rng.integers(1, 300, n)), pa.string()),
            pc.utf8_capitalize(labels(STREETS, rng.integers(0, len(STREETS), n))),
            labels(STREET_KINDS, rng.integers(0, len(STREET_KINDS), n)),
            " ",
        )
        return {"phone": phone, "address": address}

    def clean_products(self) -> pa.Table:
        n = self.volumes.products
        rng = self._rng("products", "attributes")
        category_idx = self._product_categories
        noun = labels(NOUNS.ravel(), category_idx * NOUNS.shape[1] + rng.integers(0, NOUNS.shape[1], n))
        price = self._product_prices
        ids = np.arange(1, n + 1, dtype=np.int64)
        return pa.table(
            {
                "product_id": ids,
                "sku": pc.binary_join_element_wise(
                    "SKU-", pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 6, "0"), ""
                ),
                "name": pc.binary_join_element_wise(
                    pc.utf8_capitalize(labels(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n))),
                    pa.array(noun),
                    " ",
                ),
                "category": labels(CATEGORIES, category_idx),
                "price": price,
                "cost": np.round(price * rng.uniform(0.35, 0.8, n), 2),
                "launched_on": pa.array(
                    np.datetime64("2020-01-01") + rng.integers(0, 5 * 365, n).astype("timedelta64[D]"),
                    pa.date32(),
                ),
                "is_active": pa.array(rng.random(n) < 0.92),
            }
        )

    def clean_day(self, day: date) -> tuple[pa.Table, pa.Table]:
        """The day's orders and items before any defect: `day()` without its injections."""
        pieces = [(piece,) for piece in self._pieces(day)]
        orders, items = zip(*in_parallel(partial(self._clean_piece, day), pieces, self.threads), strict=True)
        return pa.concat_tables(orders), pa.concat_tables(items)

    def _pieces(self, day: date) -> list[_Piece]:
        """The day cut into blocks of `BLOCK_HOURS` and each block into pieces, in time order.

        Each block draws its orders per second from a stream of its own and each piece its rows,
        so pieces are generated in parallel, alone or together, and the rows are the same
        whatever the number of threads or chunks; ids still follow time across the day.
        """
        rng = self._rng("orders", day.isoformat())
        n = int(rng.poisson(self.volumes.orders_per_day * WEEKDAY_FACTOR[day.weekday()]))
        per_block = rng.multinomial(
            n, HOURLY_WEIGHTS.reshape(-1, BLOCK_HOURS).sum(axis=1) / HOURLY_WEIGHTS.sum()
        )
        first_ids = day_ordinal(day) * IDS_PER_DAY + 1 + np.cumsum(per_block) - per_block
        pieces = []
        for block, (count, first_id) in enumerate(zip(per_block.tolist(), first_ids.tolist(), strict=True)):
            # orders per second, already in time order: ids follow time without sorting timestamps
            arrivals = self._rng("orders", day.isoformat(), block).multinomial(count, _second_weights(block))
            parts = max(1, -(-count // PIECE_ORDERS))
            sizes = [count // parts + (i < count % parts) for i in range(parts)]
            starts = np.cumsum([0, *sizes[:-1]]).tolist()
            pieces += [
                _Piece(block, i, start, size, first_id + start, arrivals)
                for i, (start, size) in enumerate(zip(starts, sizes, strict=True))
            ]
        return pieces

    def _piece(self, day: date, piece: _Piece) -> _MadePiece:
        """One piece with its defects, which come from streams of the piece's own."""
        orders, items = self._clean_piece(day, piece)
        log = DefectLog(partition_date=day)
        stream = (day.isoformat(), piece.block, piece.index)
        orders, order_copies = self._inject_order_defects(orders, stream, log)
        items, item_copies = self._inject_item_defects(items, stream, log)
        return _MadePiece(orders, items, (order_copies, item_copies), log.to_table())

    def _clean_piece(self, day: date, piece: _Piece) -> tuple[pa.Table, pa.Table]:
        rng = self._rng("orders", day.isoformat(), piece.block, piece.index)
        n = piece.orders
        order_ids = np.arange(piece.first_id, piece.first_id + n, dtype=np.int64)

        buyers = power_law_ranks(rng, self.volumes.customers, n, CUSTOMER_SKEW)
        customer_idx = self._customers_by_activity[buyers]
        country_idx = self._customer_country_idx[customer_idx]

        item_count = 1 + small_poisson(rng, self.volumes.items_per_order - 1, n)
        lines = int(item_count.sum())
        line_number = _line_numbers(item_count, lines)
        ranks = power_law_ranks(rng, self.volumes.products, lines, PRODUCT_SKEW)
        product_idx = self._products_by_popularity[ranks]
        quantity = (1 + draw(rng, QUANTITY_WEIGHTS, lines)).astype(np.int32)
        discount = DISCOUNTS[draw(rng, DISCOUNT_WEIGHTS, lines)]
        unit_price = _cents(
            self._product_prices[product_idx] * np.repeat(COUNTRY_TO_LOCAL[country_idx], item_count)
        )
        line_total = _cents(quantity * unit_price * (1 - discount))
        first_line = np.cumsum(item_count) - item_count
        order_total = _cents(np.add.reduceat(line_total, first_line) if n else np.zeros(0))

        orders = pa.table(
            {
                "order_id": order_ids,
                "customer_id": customer_idx.astype(np.int64) + 1,
                "order_ts": _iso_utc_text(day, piece.block, piece.per_second()),
                "status": labels(STATUSES, draw(rng, STATUS_WEIGHTS, n)),
                "currency": labels(COUNTRY_CURRENCIES, country_idx),
                "channel": labels(CHANNELS, draw(rng, CHANNEL_WEIGHTS, n)),
                "item_count": item_count.astype(np.int32),
                "order_total": order_total,
                "partition_date": constant_date(day, n),
            }
        )
        item_order_ids = np.repeat(order_ids, item_count)
        items = pa.table(
            {
                "order_item_id": item_order_ids * 100 + line_number,
                "order_id": item_order_ids,
                "line_number": line_number.astype(np.int32),
                "product_id": product_idx + 1,
                "quantity": quantity,
                "unit_price": unit_price,
                "discount": discount,
                "line_total": line_total,
                "partition_date": constant_date(day, lines),
            }
        )
        return orders, items

    # -- defects --------------------------------------------------------------------------

    def _injector(self, table: pa.Table, name: str, key: str, stream: Sequence[str | int], log: DefectLog):
        """Defects for `table` from the stream named by `stream` (master, or a piece of a day)."""
        return DefectInjector(
            table,
            name=name,
            key=key,
            rate=self.defect_rate,
            rng=self._rng(name, *stream, "defects"),
            log=log,
        )

    def _inject_customer_defects(self, table: pa.Table, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "customers", "customer_id", ("master",), log)
        inject.set_null("email", 0.2)
        inject.mangle_case(["country"], 0.4)
        inject.duplicate(0.2, near_columns=["email"])
        inject.duplicate(0.2)
        return inject.table

    def _inject_product_defects(self, table: pa.Table, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "products", "product_id", ("master",), log)
        inject.mangle_case(["category"], 0.4)
        inject.replace_values("price", 0.35, "out_of_range_price", _out_of_range_prices)
        inject.duplicate(0.25)
        return inject.table

    def _inject_order_defects(
        self, table: pa.Table, stream: Sequence[str | int], log: DefectLog
    ) -> tuple[pa.Table, pa.Table]:
        """The orders with their defects, and the duplicates to deliver later in the day."""
        inject = self._injector(table, "orders", "order_id", stream, log)
        inject.set_null("customer_id", 0.15)
        inject.replace_values(
            "order_ts",
            0.2,
            "unparseable_timestamp",
            lambda old, rng: BAD_TIMESTAMPS[rng.integers(0, len(BAD_TIMESTAMPS), len(old))],
        )
        inject.mangle_case(["status", "channel"], 0.3)
        near = inject.copies(0.15, near_columns=["status", "channel"])
        return inject.table, pa.concat_tables([near, inject.copies(0.2)])

    def _inject_item_defects(
        self, table: pa.Table, stream: Sequence[str | int], log: DefectLog
    ) -> tuple[pa.Table, pa.Table]:
        """The items with their defects, and the duplicates to deliver later in the day."""
        inject = self._injector(table, "order_items", "order_item_id", stream, log)
        inject.set_null("product_id", 0.25)
        inject.replace_values("quantity", 0.25, "negative_quantity", lambda old, rng: -old.astype(np.int32))
        inject.replace_values("unit_price", 0.25, "out_of_range_price", _out_of_range_prices)
        return inject.table, inject.copies(0.25)

    # -- per-column streams shared by master and daily tables ------------------------------

    @cached_property
    def _customer_country_idx(self) -> np.ndarray:
        rng = self._rng("customers", "country")
        p = COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum()
        return rng.choice(len(COUNTRIES), self.volumes.customers, p=p)

    @cached_property
    def _customers_by_activity(self) -> np.ndarray:
        """Customer positions from most to least active: a fixed random ranking."""
        return self._rng("customers", "activity").permutation(self.volumes.customers)

    @cached_property
    def _product_categories(self) -> np.ndarray:
        rng = self._rng("products", "category")
        return rng.choice(len(CATEGORIES), self.volumes.products, p=CATEGORY_WEIGHTS)

    @cached_property
    def _product_prices(self) -> np.ndarray:
        """List prices in USD: lognormal around each category's median."""
        rng = self._rng("products", "price")
        median = CATEGORY_MEDIAN_PRICE[self._product_categories]
        return np.round(median * rng.lognormal(0.0, 0.5, self.volumes.products), 2).clip(0.5)

    @cached_property
    def _products_by_popularity(self) -> np.ndarray:
        """Product positions from best to worst selling: a fixed random ranking."""
        return self._rng("products", "popularity").permutation(self.volumes.products)


@dataclass(frozen=True)
class _Piece:
    """Orders `start` to `start + orders` of a block (in time order), and the block's orders
    per second (`arrivals`), which its pieces share."""

    block: int
    index: int
    start: int
    orders: int
    first_id: int
    arrivals: np.ndarray

    def per_second(self) -> np.ndarray:
        """This piece's orders in each second of its block."""
        end = self.start + self.orders
        after = np.cumsum(self.arrivals)
        return np.clip(after, self.start, end) - np.clip(after - self.arrivals, self.start, end)


@dataclass(frozen=True)
class _MadePiece:
    """A piece's rows with their defects, the duplicates to deliver after the next piece
    (orders, items), and the record of every defect injected."""

    orders: pa.Table
    items: pa.Table
    copies: tuple[pa.Table, pa.Table]
    defects: pa.Table


def _grouped(pieces: list[_Piece], chunk_rows: int | None, rows_per_order: float) -> list[list[_Piece]]:
    """Consecutive pieces in groups expected to hold at most `chunk_rows` rows, one piece at
    least; None: one group. Expected, because items per order are random: a piece of 65,536
    orders holds its expected rows within about 0.3%."""
    if chunk_rows is None:
        return [pieces]
    groups: list[list[_Piece]] = []
    rows = 0.0
    for piece in pieces:
        expected = piece.orders * rows_per_order
        if not groups or rows + expected > chunk_rows:
            groups.append([])
            rows = 0.0
        groups[-1].append(piece)
        rows += expected
    return groups


def _out_of_range_prices(old: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative, zero, or absurdly high (beyond any valid price): what broken price feeds send."""
    style = rng.integers(0, 3, len(old))
    return np.where(style == 0, -old, np.where(style == 1, 0.0, MAX_PRICE + old * 1000))


def _cents(amounts: np.ndarray) -> np.ndarray:
    """Round to cents in place: what `np.round(x, 2)` computes, without its two temporaries."""
    amounts *= 100
    np.rint(amounts, out=amounts)
    amounts /= 100
    return amounts


def _line_numbers(item_count: np.ndarray, lines: int) -> np.ndarray:
    """1, 2, ... within each order: a running count that drops back at each order's first line."""
    steps = np.ones(lines, dtype=np.int64)
    steps[np.cumsum(item_count[:-1])] = 1 - item_count[:-1]
    return np.cumsum(steps)


@cache
def _second_weights(block: int) -> np.ndarray:
    """The block's hourly shares spread evenly over each hour's seconds."""
    weights = np.repeat(HOURLY_WEIGHTS[block * BLOCK_HOURS : (block + 1) * BLOCK_HOURS], 3600)
    return weights / weights.sum()


ISO_WIDTH = len("2026-03-10T14:03:22Z")


def _iso_utc_text(day: date, block: int, per_second: np.ndarray) -> pa.Array:
    """ISO 8601 text ('2026-03-10T14:03:22Z'), the way source systems deliver timestamps.

    Every value has the same 20 bytes, so the column is the day's 86,400 texts repeated by how
    many orders fall in each second, laid straight into Arrow's buffers: twenty times faster
    than formatting each timestamp.
    """
    first = block * BLOCK_HOURS * 3600
    texts = np.repeat(_day_texts(day)[first : first + len(per_second)], per_second, axis=0)
    offsets = np.arange(0, (len(texts) + 1) * ISO_WIDTH, ISO_WIDTH, dtype=np.int32)
    return pa.StringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(texts))


@lru_cache(maxsize=2)
def _day_texts(day: date) -> np.ndarray:
    """The day's 86,400 timestamps as ISO text, one 20-byte row per second of the day."""
    stamp = np.frombuffer(f"{day.isoformat()}T00:00:00Z".encode(), np.uint8)
    texts = np.tile(stamp, (86_400, 1))
    texts[:, 11:19] = _times_of_day()
    return texts


@cache
def _times_of_day() -> np.ndarray:
    """'00:00:00' to '23:59:59' as 8 bytes per second of the day."""
    seconds = np.arange(86_400)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    digits = np.stack([hh // 10, hh % 10, mm // 10, mm % 10, ss // 10, ss % 10], axis=1) + ord("0")
    texts = np.full((86_400, 8), ord(":"), dtype=np.uint8)
    texts[:, [0, 1, 3, 4, 6, 7]] = digits
    return texts
