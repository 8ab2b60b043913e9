"""Silver rules and gold figures of market, sensors and weather on hand-made inputs, checked
against answers computed by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from dataplatform.domains.market.pipeline import OHLCV, QUOTES, daily_bars, quote_liquidity
from dataplatform.domains.sensors.pipeline import READINGS, anomaly_windows, hourly_readings
from dataplatform.domains.weather.pipeline import OBSERVATIONS, daily_weather
from dataplatform.transform.silver import clean
from platform_tests.unit.test_silver import bronze

DAY = date(2026, 3, 10)
OPEN = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


def minute(n: int) -> datetime:
    return OPEN + timedelta(minutes=n)


def bar(n, o, h, low, c, v, symbol="AAA"):
    return {
        "symbol": symbol,
        "ts": minute(n),
        "open": o,
        "high": h,
        "low": low,
        "close": c,
        "volume": v,
        "partition_date": DAY,
    }


def rows_by(table: pa.Table, *key: str) -> dict:
    return {tuple(row[k] for k in key) if len(key) > 1 else row[key[0]]: row for row in table.to_pylist()}


# -- market ---------------------------------------------------------------------------------------


def test_ohlcv_drops_broken_bars_voids_negative_volume_and_normalises_symbols():
    result = clean(
        bronze(
            [
                bar(0, 10, 11, 9.5, 10.5, 100),
                bar(1, 10, 9.5, 11, 10.5, 100),  # high and low swapped
                bar(2, 10, 11, 9.5, 10.5, -100),
                bar(3, 10, 11, 9.5, None, 100),
                bar(4, 10, 11, 9.5, 10.5, 100, symbol=" aaa "),
                bar(5, -1, 11, -2, 10.5, 100),
            ]
        ),
        OHLCV,
    )
    kept = rows_by(result.table, "ts")
    assert set(kept) == {minute(0), minute(2), minute(4)}
    assert kept[minute(2)]["volume"] is None and kept[minute(2)]["_quality_flags"] == ["negative_volume"]
    assert kept[minute(4)]["symbol"] == "AAA" and kept[minute(4)]["_quality_flags"] == ["normalised_symbol"]
    assert result.dropped == {"ohlc_violation": 1, "missing_close": 1, "non_positive_price": 1}


def test_quotes_drop_crossed_ones_and_flag_missing_sizes():
    quote = {
        "symbol": "AAA",
        "bid": 10.0,
        "ask": 10.02,
        "bid_size": 100,
        "ask_size": 200,
        "exchange": "NYSE",
        "partition_date": DAY,
    }
    result = clean(
        bronze(
            [
                {**quote, "ts": minute(0)},
                {**quote, "ts": minute(1), "bid": 10.03},
                {**quote, "ts": minute(2), "bid_size": None},
            ]
        ),
        QUOTES,
    )
    kept = rows_by(result.table, "ts")
    assert set(kept) == {minute(0), minute(2)}
    assert kept[minute(2)]["_quality_flags"] == ["missing_bid_size"]
    assert result.dropped == {"crossed_quote": 1}


def test_daily_bars_aggregate_intraday_bars():
    bars = clean(
        bronze(
            [bar(0, 10, 11, 9.5, 10.5, 100), bar(1, 10.5, 12, 10, 11, 200), bar(2, 11, 11.5, 10.8, 11.2, 100)]
        ),
        OHLCV,
    ).table
    [day] = daily_bars(bars).to_pylist()
    assert (day["open"], day["high"], day["low"], day["close"], day["volume"]) == (10, 12, 9.5, 11.2, 400)
    # typical prices 31/3, 33/3 and 33.5/3 weighted by 100, 200 and 100
    assert day["vwap"] == pytest.approx((31 / 3 * 100 + 11 * 200 + 33.5 / 3 * 100) / 400)
    assert day["vwap"] == pytest.approx(10.875)
    assert day["day_return"] == pytest.approx(0.12)
    assert day["realised_volatility"] == pytest.approx(math.hypot(math.log(11 / 10.5), math.log(11.2 / 11)))
    assert (day["trade_date"], day["bars"]) == (DAY, 3)


def test_quote_liquidity_spreads_and_sizes():
    quotes = pa.Table.from_pylist(
        [
            {
                "symbol": "AAA",
                "ts": minute(i),
                "bid": bid,
                "ask": ask,
                "bid_size": 100 * (i + 1),
                "ask_size": 100,
                "partition_date": DAY,
            }
            for i, (bid, ask) in enumerate([(10.0, 10.02), (10.0, 10.04), (10.1, 10.12)])
        ]
    )
    [day] = quote_liquidity(quotes).to_pylist()
    assert day["quotes"] == 3
    assert day["mean_spread"] == pytest.approx(0.08 / 3)
    assert day["p95_spread"] == pytest.approx(0.02 + 0.9 * 0.02)  # between the 2nd and 3rd smallest
    assert day["mean_spread_bps"] == pytest.approx((0.02 / 10.01 + 0.04 / 10.02 + 0.02 / 10.11) / 3 * 1e4)
    assert (day["mean_bid_size"], day["mean_ask_size"]) == (200, 100)


# -- sensors --------------------------------------------------------------------------------------

# One device, a reading a minute from 14:30: a spike at minute 4, a value stuck for minutes
# 7 to 10, no readings at minutes 12 to 14 (a gap), and a reading without a value at 16.
SERIES = {
    0: 1.0,
    1: 1.1,
    2: 1.0,
    3: 1.1,
    4: 50.0,
    5: 1.0,
    6: 1.1,
    7: 2.0,
    8: 2.0,
    9: 2.0,
    10: 2.0,
    11: 2.1,
    15: 2.0,
    16: None,
    17: 2.1,
}


def readings() -> pa.Table:
    return clean(
        bronze(
            [
                {"device_id": "dev-1", "ts": minute(m), "value": v, "partition_date": DAY}
                for m, v in SERIES.items()
            ]
        ),
        READINGS,
    ).table


def test_readings_keep_rows_without_a_value_and_flag_them():
    table = readings()
    assert table.num_rows == len(SERIES)
    flagged = [r for r in table.to_pylist() if r["_quality_flags"]]
    assert [(r["ts"], r["_quality_flags"]) for r in flagged] == [(minute(16), ["missing_value"])]


def test_anomaly_windows_find_the_spike_the_stuck_run_and_the_gap():
    windows = [
        (w["kind"], w["start_ts"], w["end_ts"], w["readings"])
        for w in anomaly_windows(readings()).to_pylist()
    ]
    assert windows == [
        ("spike", minute(4), minute(4), 1),
        ("stuck_value", minute(7), minute(10), 4),
        ("gap", minute(12), minute(14), 3),
    ]


def test_hourly_readings_count_values_missing_values_and_missing_readings():
    [hour] = hourly_readings(readings()).to_pylist()
    values = [v for v in SERIES.values() if v is not None]
    assert hour["hour"] == datetime(2026, 3, 10, 14, tzinfo=UTC)
    assert (hour["readings"], hour["missing_values"]) == (15, 1)
    assert hour["gaps"] == 60 - 15  # one a minute expected
    assert (hour["min_value"], hour["max_value"]) == (1.0, 50.0)
    assert hour["mean_value"] == pytest.approx(sum(values) / len(values))


# -- weather --------------------------------------------------------------------------------------


def observation(hour: int, **values):
    row = {
        "station_id": "ST-1",
        "ts": datetime(2026, 3, 10, hour, tzinfo=UTC),
        "temperature": 10.0 + hour % 3,
        "humidity": 60.0,
        "pressure": 1012.0,
        "wind_speed": 3.0,
        "wind_direction": 180.0,
        "precipitation": 0.0,
        "conditions": "Clear",
        "partition_date": DAY,
    }
    return {**row, **values}


def test_observations_void_impossible_values_and_keep_the_rest():
    result = clean(
        bronze(
            [
                observation(0),
                observation(1, humidity=120.0),
                observation(2, precipitation=-0.4),
                observation(3, wind_direction=365.0),
                observation(4, temperature=53.6),  # 12 °C sent in Fahrenheit
                observation(5, temperature=None),
                observation(6),
                observation(7),
            ]
        ),
        OBSERVATIONS,
    )
    assert result.dropped == {}
    rows = rows_by(result.table, "ts")

    def at(hour):
        return rows[datetime(2026, 3, 10, hour, tzinfo=UTC)]

    assert (at(1)["humidity"], at(1)["_quality_flags"]) == (
        None,
        ["normalised_conditions", "humidity_out_of_range"],
    )
    assert at(2)["precipitation"] is None and "negative_precipitation" in at(2)["_quality_flags"]
    assert at(3)["wind_direction"] is None and "wind_direction_out_of_range" in at(3)["_quality_flags"]
    assert at(4)["temperature"] is None and "temperature_unit_error" in at(4)["_quality_flags"]
    assert at(5)["_quality_flags"] == ["normalised_conditions", "missing_temperature"]
    assert at(0)["temperature"] == 10.0 and at(0)["conditions"] == "clear"


def test_daily_weather_summarises_a_station_day_with_degree_days():
    obs = pa.Table.from_pylist(
        [
            observation(0, temperature=10.0, precipitation=1.0, wind_speed=4.0),
            observation(12, temperature=20.0, precipitation=2.0, wind_speed=9.5),
            observation(18, temperature=None, precipitation=None, wind_speed=None),
        ]
    )
    [day] = daily_weather(obs).to_pylist()
    assert (day["min_temperature"], day["max_temperature"], day["mean_temperature"]) == (10, 20, 15)
    assert (day["precipitation"], day["max_wind_speed"], day["observations"]) == (3, 9.5, 3)
    assert (day["heating_degree_days"], day["cooling_degree_days"]) == (3, 0)


# -- insights: across domains ------------------------------------------------------------------


def test_sales_weather_sets_country_sales_beside_its_weather():
    from decimal import Decimal

    from dataplatform.domains.insights.pipeline import sales_weather

    orders = pa.Table.from_pylist(
        [
            {
                "order_id": 1,
                "customer_id": 1,
                "currency": "EUR",
                "status": "paid",
                "order_total": Decimal("10.00"),
                "partition_date": DAY,
            },
            {
                "order_id": 2,
                "customer_id": 1,
                "currency": "EUR",
                "status": "cancelled",
                "order_total": Decimal("99.00"),
                "partition_date": DAY,
            },
            {
                "order_id": 3,
                "customer_id": 2,
                "currency": "USD",
                "status": "paid",
                "order_total": Decimal("5.00"),
                "partition_date": DAY,
            },
        ]
    )
    customers = pa.Table.from_pylist(
        [{"customer_id": 1, "country": "DE"}, {"customer_id": 2, "country": "US"}]
    )
    stations = pa.Table.from_pylist(
        [{"station_id": "B1", "country": "DE"}, {"station_id": "B2", "country": "DE"}]
    )
    observations = pa.Table.from_pylist(
        [
            {"station_id": s, "temperature": t, "precipitation": p, "partition_date": DAY}
            for s, t, p in [("B1", 10.0, 0.0), ("B1", 12.0, 2.0), ("B2", 14.0, 0.0), ("B2", 16.0, 1.0)]
        ]
    )
    rows = {r["country"]: r for r in sales_weather(orders, customers, observations, stations).to_pylist()}
    de, us = rows["DE"], rows["US"]
    assert (de["orders"], de["revenue_usd"], de["stations"]) == (2, Decimal("10.80"), 2)  # 10 EUR at 1.08
    assert (
        de["mean_temperature"] == 13.0
        and de["precipitation_per_station"] == 1.5
        and de["wet_hour_share"] == 0.5
    )
    assert (us["orders"], us["revenue_usd"], us["stations"], us["mean_temperature"]) == (
        1,
        Decimal("5.00"),
        0,
        None,
    )


def test_device_drift_flags_a_clear_trend_over_enough_days_only():
    from dataplatform.domains.sensors.pipeline import device_drift

    def days(device, count, level, per_day, wobble=0.0):
        return [
            {
                "device_id": device,
                "ts": datetime(2026, 3, 1 + d, h, tzinfo=UTC),
                "value": level + per_day * d + (wobble if d % 2 else -wobble) + 0.01 * h,
                "partition_date": date(2026, 3, 1 + d),
            }
            for d in range(count)
            for h in range(3)
        ]

    readings = pa.Table.from_pylist(
        days("rising", 10, 10.0, 0.1, wobble=0.01)
        + days("flat", 10, 10.0, 0.0, wobble=0.05)
        + days("short", 3, 10.0, 0.5)
    )
    rows = {r["device_id"]: r for r in device_drift(readings).to_pylist()}
    assert rows["rising"]["drift_per_year"] == pytest.approx(36.525, rel=0.01) and rows["rising"]["drifting"]
    assert (rows["rising"]["days"], rows["rising"]["first_day"]) == (10, date(2026, 3, 1))
    assert not rows["flat"]["drifting"] and abs(rows["flat"]["drift_t"]) < 4
    assert not rows["short"]["drifting"]  # a steep trend, but three days prove nothing
