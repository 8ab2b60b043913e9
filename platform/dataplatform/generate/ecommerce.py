"""Seeded e-commerce data: customers and products (master), orders and order items (daily).

Clean data is generated first and defects are injected afterwards from their own random
stream, so a change of defect rate never moves a clean value. Orders rebuild the customer
countries and product prices from the same per-column streams as the master tables, which is
what lets any day be generated alone, in any process, with consistent references.
"""

from __future__ import annotations

from datetime import date
from functools import cache, cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.generate.batch import GeneratedBatch
from dataplatform.generate.defects import DefectInjector, DefectLog
from dataplatform.generate.sampling import constant, draw, labels, power_law_ranks
from dataplatform.generate.seeding import SeededGenerator, day_ordinal
from dataplatform.settings import EcommerceVolumes
from dataplatform.transform.currency import COUNTRY_CURRENCY, MAX_PRICE, USD_PER_UNIT

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
        log = DefectLog(partition_date=day)
        orders, items = self.clean_day(day)
        orders = self._inject_order_defects(orders, day, log)
        items = self._inject_item_defects(items, day, log)
        return GeneratedBatch({"orders": orders, "order_items": items}, log.to_table())

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
            }
        )

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
        rng = self._rng("orders", day.isoformat())
        n = int(rng.poisson(self.volumes.orders_per_day * WEEKDAY_FACTOR[day.weekday()]))

        seconds = np.sort(draw(rng, HOURLY_WEIGHTS, n).astype(np.int64) * 3600 + rng.integers(0, 3600, n))
        order_ids = day_ordinal(day) * 10_000_000 + np.arange(1, n + 1, dtype=np.int64)

        buyers = power_law_ranks(rng, self.volumes.customers, n, CUSTOMER_SKEW)
        customer_idx = self._customers_by_activity[buyers]
        customer_ids = customer_idx.astype(np.int64) + 1
        country_idx = self._customer_country_idx[customer_idx]
        to_local = COUNTRY_TO_LOCAL[country_idx]

        item_count = 1 + rng.poisson(self.volumes.items_per_order - 1, n)
        order_idx = np.repeat(np.arange(n), item_count)
        line_number = (
            np.arange(len(order_idx)) - np.repeat(np.cumsum(item_count) - item_count, item_count) + 1
        )
        ranks = power_law_ranks(rng, self.volumes.products, len(order_idx), PRODUCT_SKEW)
        product_idx = self._products_by_popularity[ranks]
        quantity = (1 + draw(rng, QUANTITY_WEIGHTS, len(order_idx))).astype(np.int32)
        discount = DISCOUNTS[draw(rng, DISCOUNT_WEIGHTS, len(order_idx))]
        unit_price = np.round(self._product_prices[product_idx] * to_local[order_idx], 2)
        line_total = np.round(quantity * unit_price * (1 - discount), 2)
        order_total = np.round(np.bincount(order_idx, weights=line_total, minlength=n), 2)

        partition = pa.scalar(day, pa.date32())
        orders = pa.table(
            {
                "order_id": order_ids,
                "customer_id": customer_ids,
                "order_ts": _iso_utc_text(day, seconds),
                "status": labels(STATUSES, draw(rng, STATUS_WEIGHTS, n)),
                "currency": labels(COUNTRY_CURRENCIES, country_idx),
                "channel": labels(CHANNELS, draw(rng, CHANNEL_WEIGHTS, n)),
                "item_count": item_count.astype(np.int32),
                "order_total": order_total,
                "partition_date": constant(partition, n),
            }
        )
        item_order_ids = order_ids[order_idx]
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
                "partition_date": constant(partition, len(order_idx)),
            }
        )
        return orders, items

    # -- defects --------------------------------------------------------------------------

    def _injector(self, table: pa.Table, name: str, key: str, partition: str, log: DefectLog):
        return DefectInjector(
            table,
            name=name,
            key=key,
            rate=self.defect_rate,
            rng=self._rng(name, partition, "defects"),
            log=log,
        )

    def _inject_customer_defects(self, table: pa.Table, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "customers", "customer_id", "master", log)
        inject.set_null("email", 0.2)
        inject.mangle_case(["country"], 0.4)
        inject.duplicate(0.2, near_columns=["email"])
        inject.duplicate(0.2)
        return inject.table

    def _inject_product_defects(self, table: pa.Table, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "products", "product_id", "master", log)
        inject.mangle_case(["category"], 0.4)
        inject.replace_values("price", 0.35, "out_of_range_price", _out_of_range_prices)
        inject.duplicate(0.25)
        return inject.table

    def _inject_order_defects(self, table: pa.Table, day: date, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "orders", "order_id", day.isoformat(), log)
        inject.set_null("customer_id", 0.15)
        inject.replace_values(
            "order_ts",
            0.2,
            "unparseable_timestamp",
            lambda old, rng: BAD_TIMESTAMPS[rng.integers(0, len(BAD_TIMESTAMPS), len(old))],
        )
        inject.mangle_case(["status", "channel"], 0.3)
        inject.duplicate(0.15, near_columns=["status", "channel"])
        inject.duplicate(0.2)
        return inject.table

    def _inject_item_defects(self, table: pa.Table, day: date, log: DefectLog) -> pa.Table:
        inject = self._injector(table, "order_items", "order_item_id", day.isoformat(), log)
        inject.set_null("product_id", 0.25)
        inject.replace_values("quantity", 0.25, "negative_quantity", lambda old, rng: -old.astype(np.int32))
        inject.replace_values("unit_price", 0.25, "out_of_range_price", _out_of_range_prices)
        inject.duplicate(0.25)
        return inject.table

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


def _out_of_range_prices(old: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative, zero, or absurdly high (beyond any valid price): what broken price feeds send."""
    style = rng.integers(0, 3, len(old))
    return np.where(style == 0, -old, np.where(style == 1, 0.0, MAX_PRICE + old * 1000))


def _iso_utc_text(day: date, seconds: np.ndarray) -> pa.Array:
    """ISO 8601 text ('2026-03-10T14:03:22Z'), the way source systems deliver timestamps.

    Every moment falls on `day`, so the text is the day, a time of day looked up by second, and
    'Z': ten times faster than formatting each timestamp.
    """
    return pc.binary_join_element_wise(
        f"{day.isoformat()}T", _times_of_day().take(pa.array(seconds)), "Z", ""
    )


@cache
def _times_of_day() -> pa.Array:
    """'00:00:00' to '23:59:59', indexed by second of the day."""
    moments = pa.array(np.arange(86_400).astype("datetime64[s]"), pa.timestamp("s"))
    return pc.utf8_slice_codeunits(pc.cast(moments, pa.string()), 11, 19)
