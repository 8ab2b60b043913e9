"""The weather generator: physical ranges, seasons by hemisphere, daily cycles, defect records."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplatform.domains.weather.generator import WeatherGenerator
from dataplatform.settings import WeatherVolumes

SMALL = WeatherVolumes(stations=60)


def generator(seed: int = 9, rate: float = 0.03) -> WeatherGenerator:
    return WeatherGenerator(seed, SMALL, rate)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), day=st.dates(date(2000, 1, 1), date(2035, 12, 31)))
def test_clean_observations_stay_in_physical_ranges(seed, day):
    obs = generator(seed).clean_day(day)
    assert obs.num_rows == SMALL.stations * 24
    for column, low, high in [
        ("humidity", 0, 100),
        ("wind_direction", 0, 360),
        ("temperature", -60, 60),
        ("pressure", 700, 1100),
    ]:
        assert low <= pc.min(obs[column]).as_py() and pc.max(obs[column]).as_py() <= high, column
    assert pc.min(obs["precipitation"]).as_py() >= 0 and pc.min(obs["wind_speed"]).as_py() >= 0
    rain = pc.greater(obs["precipitation"], 0)
    wet = pc.is_in(obs["conditions"], value_set=pa.array(["rain", "storm", "snow"]))
    assert pc.all(pc.equal(rain, wet)).as_py()


def _mean_temperature(obs: pa.Table, stations: pa.Table, north: bool) -> float:
    side = stations.filter(
        pc.greater(stations["latitude"], 20) if north else pc.less(stations["latitude"], -20)
    )
    return pc.mean(obs.filter(pc.is_in(obs["station_id"], side["station_id"]))["temperature"]).as_py()


def test_seasons_are_opposite_in_the_two_hemispheres():
    gen = generator()
    stations, july, january = (
        gen.stations(),
        gen.clean_day(date(2026, 7, 15)),
        gen.clean_day(date(2026, 1, 15)),
    )
    assert (
        _mean_temperature(july, stations, north=True) - _mean_temperature(january, stations, north=True) > 8
    )
    assert (
        _mean_temperature(january, stations, north=False) - _mean_temperature(july, stations, north=False) > 5
    )


def test_afternoons_are_warmer_than_nights_in_solar_time():
    frame = generator().clean_day(date(2026, 4, 1)).to_pandas()
    stations = generator().stations().to_pandas().set_index("station_id")
    solar = (frame.ts.dt.hour + frame.station_id.map(stations.longitude) / 15) % 24
    assert frame[solar.between(13, 17)].temperature.mean() - frame[solar.between(1, 5)].temperature.mean() > 4


def test_a_day_is_reproducible_and_stations_are_real_places():
    assert (
        generator()
        .day(date(2026, 3, 10))
        .tables["observations"]
        .equals(generator().day(date(2026, 3, 10)).tables["observations"])
    )
    stations = generator().stations()
    assert pc.count_distinct(stations["station_id"]).as_py() == SMALL.stations
    assert pc.all(pc.less_equal(pc.abs(stations["latitude"]), 90)).as_py()


def test_recorded_defects_are_in_the_data():
    gen = generator(rate=0.2)
    day = date(2026, 3, 10)
    batch, clean = gen.day(day), gen.clean_day(day)
    obs, d = batch.tables["observations"], batch.defects

    def key_of(t):
        return pc.binary_join_element_wise(
            t["station_id"], pc.cast(t["ts"].cast(pa.timestamp("us", "UTC")), pa.string()), "|"
        )

    def recorded(kind, column):
        m = pc.and_(pc.equal(d["kind"], kind), pc.equal(d["column"], column))
        return set(d.filter(m)["key"].to_pylist())

    def keys_where(mask):
        return set(key_of(obs.filter(mask)).to_pylist())

    assert keys_where(pc.greater(obs["humidity"], 100)) == recorded("out_of_range", "humidity") != set()
    assert keys_where(pc.less(obs["precipitation"], 0)) == recorded("out_of_range", "precipitation") != set()
    assert (
        keys_where(pc.greater(obs["wind_direction"], 360))
        == recorded("out_of_range", "wind_direction")
        != set()
    )
    assert keys_where(pc.is_null(obs["temperature"])) == recorded("null_required", "temperature") != set()
    original = dict(zip(key_of(clean).to_pylist(), clean["temperature"].to_pylist(), strict=True))
    for key, value in zip(key_of(obs).to_pylist(), obs["temperature"].to_pylist(), strict=True):
        if key in recorded("unit_error", "temperature"):
            assert value == round(original[key] * 9 / 5 + 32, 1)
