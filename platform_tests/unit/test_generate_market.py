"""The market generator: bar and quote invariants on many seeds, determinism, defect records."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplatform.domains.market.generator import MarketGenerator
from dataplatform.settings import MarketVolumes

SMALL = MarketVolumes(symbols=12, bar_minutes=5, quotes_per_bar=2.0)
TUESDAY = date(2026, 3, 10)


def generator(seed: int = 3, rate: float = 0.03, volumes: MarketVolumes = SMALL) -> MarketGenerator:
    return MarketGenerator(seed, volumes, rate)


# every symbol lists between 1990 and the end of 2024: from 2025 on, each weekday has all of them
# (an earlier day may have none listed yet, seen with seed 54165 on 2001-01-01)
weekdays = st.dates(date(2025, 1, 1), date(2030, 12, 31)).filter(lambda d: d.weekday() < 5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=weekdays, minutes=st.sampled_from([1, 5, 15, 60]))
def test_bars_always_satisfy_ohlc_order_positive_prices_and_volume(seed, day, minutes):
    bars, _ = generator(seed, volumes=SMALL.model_copy(update={"bar_minutes": minutes})).clean_day(day)
    assert bars.num_rows > 0
    low_ok = pc.less_equal(bars["low"], pc.min_element_wise(bars["open"], bars["close"]))
    high_ok = pc.less_equal(pc.max_element_wise(bars["open"], bars["close"]), bars["high"])
    assert pc.all(pc.and_(low_ok, high_ok)).as_py()
    assert pc.min(bars["low"]).as_py() > 0
    assert pc.min(bars["volume"]).as_py() >= 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=weekdays)
def test_quotes_are_uncrossed_and_their_mid_lies_inside_the_bar(seed, day):
    bars, quotes = generator(seed).clean_day(day)
    assert pc.all(pc.less(quotes["bid"], quotes["ask"])).as_py()
    assert pc.min(quotes["bid"]).as_py() > 0
    # each quote falls in the bar of its symbol that started at or before it
    bar_start = pc.cast(
        pc.floor_temporal(quotes["ts"], multiple=SMALL.bar_minutes, unit="minute"), bars["ts"].type
    )
    keyed = quotes.append_column("bar_ts", bar_start)
    joined = keyed.join(
        bars.select(["symbol", "ts", "low", "high"]).rename_columns(["symbol", "bar_ts", "low", "high"]),
        ["symbol", "bar_ts"],
    )
    assert joined.num_rows == quotes.num_rows
    mid = pc.divide(pc.add(joined["bid"], joined["ask"]), 2)
    assert pc.all(
        pc.and_(
            pc.greater_equal(mid, pc.subtract(joined["low"], 1e-9)),
            pc.less_equal(mid, pc.add(joined["high"], 1e-9)),
        )
    ).as_py()


def test_bars_cover_each_exchange_session_at_the_interval():
    bars, _ = generator().clean_day(TUESDAY)
    symbols = generator().symbols()
    nasdaq = symbols.filter(pc.equal(symbols["exchange"], "NASDAQ"))["symbol"][0].as_py()
    times = bars.filter(pc.equal(bars["symbol"], nasdaq))["ts"].to_pylist()
    assert (times[0].hour, times[0].minute, times[-1].hour, times[-1].minute) == (14, 30, 20, 55)
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(times))


def test_weekends_have_no_trading_and_unlisted_symbols_do_not_trade():
    saturday = TUESDAY + timedelta(days=4)
    assert all(t.num_rows == 0 for t in generator().day(saturday).tables.values())
    symbols = generator().symbols()
    bars, _ = generator().clean_day(date(1991, 3, 5))
    listed = set(
        symbols.filter(pc.less_equal(symbols["listing_date"], pa.scalar(date(1991, 3, 5))))[
            "symbol"
        ].to_pylist()
    )
    assert set(bars["symbol"].to_pylist()) <= listed


def test_symbols_are_unique_and_facts_reference_them():
    symbols = generator(volumes=MarketVolumes(symbols=500)).symbols()
    assert pc.count_distinct(symbols["symbol"]).as_py() == 500
    bars, quotes = generator().clean_day(TUESDAY)
    known = set(generator().symbols()["symbol"].to_pylist())
    assert set(bars["symbol"].to_pylist()) <= known and set(quotes["symbol"].to_pylist()) <= known


def test_a_day_is_the_same_alone_or_after_others_and_prices_continue_across_days():
    first = generator().day(TUESDAY)
    generator().day(TUESDAY - timedelta(days=1))
    again = generator().day(TUESDAY)
    for name in first.tables:
        assert first.tables[name].equals(again.tables[name])
    closes, opens = [], []
    for day in (date(2026, 12, 31), date(2027, 1, 4)):
        bars, _ = generator().clean_day(day)
        first_symbol = bars.filter(pc.equal(bars["symbol"], bars["symbol"][0]))
        opens.append(first_symbol["open"][0].as_py())
        closes.append(first_symbol["close"][-1].as_py())
    assert 0.5 < opens[1] / closes[0] < 2  # across a year end the price moves, it does not jump


def test_recorded_defects_are_in_the_data():
    batch = generator(rate=0.2).day(TUESDAY)
    bars, quotes = batch.tables["ohlcv"], batch.tables["quotes"]
    d = batch.defects

    def keys(table, kind):
        m = pc.and_(pc.equal(d["table"], table), pc.equal(d["kind"], kind))
        return set(d.filter(m)["key"].to_pylist())

    def key_of(t):
        return pc.binary_join_element_wise(
            t["symbol"], pc.cast(t["ts"].cast(pa.timestamp("us", "UTC")), pa.string()), "|"
        )

    violated = bars.filter(pc.less(bars["high"], bars["low"]))
    assert set(key_of(violated).to_pylist()) == keys("ohlcv", "ohlc_violation") != set()
    crossed = quotes.filter(pc.greater(quotes["bid"], quotes["ask"]))
    assert set(key_of(crossed).to_pylist()) <= keys("quotes", "crossed_quote")
    assert len(keys("quotes", "crossed_quote")) > 0
    negative = bars.filter(pc.less(bars["volume"], 0))
    assert set(key_of(negative).to_pylist()) == keys("ohlcv", "negative_volume")
    null_close = bars.filter(pc.is_null(bars["close"]))
    assert set(key_of(null_close).to_pylist()) == keys("ohlcv", "null_required")
    assert np.isclose(d.num_rows / (bars.num_rows + quotes.num_rows), 0.2, atol=0.03)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), day=weekdays)
def test_symbol_and_timestamp_identify_every_bar_and_quote(seed, day):
    """Silver deduplicates on this key, so two genuine quotes must never share it."""
    bars, quotes = generator(seed).clean_day(day)
    for table in (bars, quotes):
        assert table.group_by(["symbol", "ts"]).aggregate([]).num_rows == table.num_rows
