"""Seeded weather: a station master and hourly observations with seasonal and daily cycles.

Stations sit near real cities (so latitude, elevation and country agree). An observation's
temperature follows the station's latitude, the season of its hemisphere, the hour of its solar
day and its elevation; humidity moves against temperature; pressure follows elevation and a
weather system that changes day to day; wind is Weibull; rain is zero-inflated; the conditions
label follows from the rest. Defects are recorded like every generator's.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.settings import WeatherVolumes
from dataplatform.synthetic.batch import GeneratedBatch
from dataplatform.synthetic.defects import DefectInjector, DefectLog
from dataplatform.synthetic.sampling import constant_date
from dataplatform.synthetic.seeding import SeededGenerator

DOMAIN = "weather"
# city, country, latitude, longitude, elevation in metres
CITIES = [
    ("Oslo", "NO", 59.9, 10.8, 23),
    ("Berlin", "DE", 52.5, 13.4, 34),
    ("Paris", "FR", 48.9, 2.4, 35),
    ("Madrid", "ES", 40.4, -3.7, 667),
    ("Rome", "IT", 41.9, 12.5, 21),
    ("London", "GB", 51.5, -0.1, 11),
    ("Reykjavik", "IS", 64.1, -21.9, 40),
    ("Cairo", "EG", 30.0, 31.2, 23),
    ("Nairobi", "KE", -1.3, 36.8, 1795),
    ("Cape Town", "ZA", -33.9, 18.4, 42),
    ("Mumbai", "IN", 19.1, 72.9, 14),
    ("Delhi", "IN", 28.6, 77.2, 216),
    ("Singapore", "SG", 1.4, 103.8, 15),
    ("Tokyo", "JP", 35.7, 139.7, 40),
    ("Sydney", "AU", -33.9, 151.2, 39),
    ("Perth", "AU", -31.9, 115.9, 31),
    ("Auckland", "NZ", -36.8, 174.8, 196),
    ("Denver", "US", 39.7, -105.0, 1609),
    ("Chicago", "US", 41.9, -87.6, 181),
    ("Miami", "US", 25.8, -80.2, 2),
    ("Seattle", "US", 47.6, -122.3, 56),
    ("Toronto", "CA", 43.7, -79.4, 76),
    ("Mexico City", "MX", 19.4, -99.1, 2240),
    ("Lima", "PE", -12.0, -77.0, 154),
    ("Sao Paulo", "BR", -23.6, -46.6, 760),
    ("Buenos Aires", "AR", -34.6, -58.4, 25),
    ("Anchorage", "US", 61.2, -149.9, 31),
    ("Dubai", "AE", 25.3, 55.3, 5),
    ("Moscow", "RU", 55.8, 37.6, 156),
    ("Helsinki", "FI", 60.2, 24.9, 17),
]
SUFFIXES = np.array(["Airport", "Central", "North", "Harbour", "Observatory"])
CONDITIONS = np.array(["clear", "cloudy", "fog", "rain", "storm", "snow"])
LAPSE_RATE = 6.5 / 1000  # degrees cooler per metre of elevation


class WeatherGenerator(SeededGenerator):
    """Stations and hourly observations for one seed and set of volumes."""

    domain = DOMAIN
    volumes: WeatherVolumes

    def master(self) -> GeneratedBatch:
        return GeneratedBatch({"stations": self.stations()}, DefectLog(partition_date=None).to_table())

    def day(self, day: date) -> GeneratedBatch:
        log = DefectLog(partition_date=day)
        inject = DefectInjector(
            self.clean_day(day),
            name="observations",
            key=("station_id", "ts"),
            rate=self.defect_rate,
            rng=self._rng("observations", day.isoformat(), "defects"),
            log=log,
        )
        inject.replace_values(
            "humidity", 0.2, "out_of_range", lambda old, rng: old + 100 + rng.random(len(old)) * 20
        )
        inject.replace_values(
            "precipitation", 0.15, "out_of_range", lambda old, rng: -(old + 0.1 + rng.random(len(old)))
        )
        inject.replace_values(
            "wind_direction", 0.15, "out_of_range", lambda old, rng: old + 360 + rng.random(len(old)) * 10
        )
        inject.replace_values(
            "temperature", 0.15, "unit_error", lambda old, rng: np.round(old * 9 / 5 + 32, 1)
        )
        inject.set_null("temperature", 0.15)
        inject.duplicate(0.2)
        return GeneratedBatch({"observations": inject.table}, log.to_table())

    def stations(self) -> pa.Table:
        n = self.volumes.stations
        rng = self._rng("stations", "attributes")
        city = self._city_idx
        names = pc.binary_join_element_wise(
            pa.array([CITIES[c][0] for c in city]), pa.array(SUFFIXES[rng.integers(0, len(SUFFIXES), n)]), " "
        )
        return pa.table(
            {
                "station_id": pc.binary_join_element_wise(
                    "ST", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 5, "0"), ""
                ),
                "name": names,
                "latitude": np.round(self._latitude, 4),
                "longitude": np.round(self._longitude, 4),
                "elevation": np.round(self._elevation, 1),
                "country": pa.array([CITIES[c][1] for c in city], pa.string()),
            }
        )

    def clean_day(self, day: date) -> pa.Table:
        n = self.volumes.stations
        rng = self._rng("observations", day.isoformat())
        hours = np.arange(24)
        lat = self._latitude[:, None]
        season = np.cos(2 * np.pi * (day.timetuple().tm_yday - 200) / 365.25) * np.sign(
            lat
        )  # 1 in local summer
        solar_hour = (hours[None, :] + self._longitude[:, None] / 15) % 24
        mean = 28 - 0.45 * np.abs(lat) - LAPSE_RATE * self._elevation[:, None]
        swing = 2 + 0.25 * np.abs(lat)  # seasons matter more far from the equator
        weather = rng.normal(0, 3, (n, 1))  # today's warm or cold spell
        temperature = mean + swing * season + 4 * np.cos(2 * np.pi * (solar_hour - 15) / 24) + weather
        temperature += rng.normal(0, 0.6, (n, 24))
        humidity = np.clip(70 - 1.8 * (temperature - mean) + rng.normal(0, 8, (n, 24)) - 5 * weather, 5, 100)
        pressure = (
            1013.25 * np.exp(-self._elevation[:, None] / 8400)
            + rng.normal(0, 8, (n, 1))
            + rng.normal(0, 0.7, (n, 24))
        )
        wind = 4.5 * rng.weibull(2.0, (n, 24))
        direction = (self._prevailing[:, None] + rng.normal(0, 60, (n, 24))) % 360
        raining = rng.random((n, 24)) < np.clip((humidity - 55) / 200, 0.01, 0.4)
        precipitation = np.where(
            raining, np.maximum(rng.gamma(0.8, 1.6, (n, 24)), 0.1), 0.0
        )  # rain measures >= 0.1 mm
        condition = np.select(
            [
                raining & (temperature < 0),
                raining & (precipitation > 4),
                raining,
                humidity > 96,
                humidity > 75,
            ],
            [5, 4, 3, 2, 1],
            0,
        )
        ts = np.datetime64(day, "s") + (hours * 3600).astype("timedelta64[s]")
        return pa.table(
            {
                "station_id": self._station_ids.take(pa.array(np.repeat(np.arange(n), 24))),
                "ts": pa.array(np.tile(ts, n), pa.timestamp("s", tz="UTC")),
                "temperature": np.round(temperature, 1).ravel(),
                "humidity": np.round(humidity, 1).ravel(),
                "pressure": np.round(pressure, 1).ravel(),
                "wind_speed": np.round(wind, 1).ravel(),
                "wind_direction": np.round(direction, 0).ravel(),
                "precipitation": np.round(precipitation, 1).ravel(),
                "conditions": pa.array(CONDITIONS).take(pa.array(condition.ravel())),
                "partition_date": constant_date(day, n * 24),
            }
        )

    # -- per-station streams ------------------------------------------------------------------

    @cached_property
    def _city_idx(self) -> np.ndarray:
        return self._rng("stations", "city").integers(0, len(CITIES), self.volumes.stations)

    @cached_property
    def _latitude(self) -> np.ndarray:
        base = np.array([CITIES[c][2] for c in self._city_idx])
        return np.clip(base + self._rng("stations", "lat").normal(0, 0.3, len(base)), -89.9, 89.9)

    @cached_property
    def _longitude(self) -> np.ndarray:
        base = np.array([CITIES[c][3] for c in self._city_idx])
        return (base + self._rng("stations", "lon").normal(0, 0.3, len(base)) + 180) % 360 - 180

    @cached_property
    def _elevation(self) -> np.ndarray:
        base = np.array([CITIES[c][4] for c in self._city_idx], dtype=float)
        return np.maximum(base + self._rng("stations", "elevation").normal(0, 40, len(base)), 0)

    @cached_property
    def _prevailing(self) -> np.ndarray:
        return self._rng("stations", "wind").uniform(0, 360, self.volumes.stations)

    @cached_property
    def _station_ids(self) -> pa.Array:
        return self.stations().column("station_id").combine_chunks()
