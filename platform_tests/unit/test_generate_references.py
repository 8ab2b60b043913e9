"""Referential integrity for every domain: each fact names a master row that exists.

Checked on many seeds and days with defects switched on: a defect may blank a reference (that
is recorded) but never invents one that points nowhere.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplatform.generate.export import GenerateRequest, parts
from dataplatform.settings import Settings

# fact table, reference column -> master table, key column
REFERENCES = {
    "ecommerce": [
        ("orders", "customer_id", "customers", "customer_id"),
        ("order_items", "product_id", "products", "product_id"),
    ],
    "market": [("ohlcv", "symbol", "symbols", "symbol"), ("quotes", "symbol", "symbols", "symbol")],
    "sensors": [("readings", "device_id", "devices", "device_id")],
    "weather": [("observations", "station_id", "stations", "station_id")],
}
SMALL = {
    "ecommerce": {"customers": 50, "products": 10, "orders_per_day": 80},
    "market": {"symbols": 3, "bar_minutes": 60},
    "sensors": {"devices": 4, "reading_seconds": 7200},
    "weather": {"stations": 3},
}


@settings(max_examples=25, deadline=None)
@given(
    domain=st.sampled_from(sorted(REFERENCES)),
    seed=st.integers(0, 2**31),
    day=st.dates(date(2000, 1, 1), date(2035, 12, 31)),
)
def test_every_fact_references_an_existing_master_row(domain, seed, day):
    request = GenerateRequest(domain=domain, start=day, end=day, seed=seed, knobs=SMALL[domain])
    tables = {part.table: part.data for part in parts(request, Settings(defect_rate=0.1))}
    for fact, column, master, key in REFERENCES[domain]:
        refs = pc.drop_null(tables[fact].column(column))
        known = pc.is_in(refs, value_set=pa.chunked_array(tables[master].column(key)).combine_chunks())
        assert pc.all(known).as_py() in (True, None), f"{domain}.{fact}.{column} points outside {master}"
