"""Weather cleaning rules and daily station summaries.

An impossible reading (humidity over 100, negative precipitation, a wind direction past 360)
voids that value only: the rest of the observation is good. A temperature far from the station's
other readings that day is taken for a unit error (Fahrenheit sent as Celsius) and voided too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.engine.sql import query
from dataplatform.quality.specs import DistributionDrift, InRange, References
from dataplatform.transform.pipeline import DomainPipeline, GoldTable
from dataplatform.transform.silver import Column, Rule, SilverSpec

if TYPE_CHECKING:
    import pyarrow as pa

# Degree days are counted against 18 °C, the usual base for heating and cooling demand.
DEGREE_DAY_BASE = 18.0
# The largest plausible gap between a reading and the median of the five hours around it:
# weather moves a few degrees in two hours, while Fahrenheit read as Celsius (1.8t + 32) lands
# 0.8t + 32 away, more than 8 °C for any temperature above -30 °C.
UNIT_ERROR_DEGREES = 8.0

STATIONS = SilverSpec(
    key=("station_id",),
    columns={
        "station_id": Column("VARCHAR", "trim"),
        "name": Column("VARCHAR", "trim"),
        "latitude": Column("DOUBLE"),
        "longitude": Column("DOUBLE"),
        "elevation": Column("DOUBLE"),
        "country": Column("VARCHAR", "upper"),
    },
    required=("station_id", "latitude", "longitude"),
    rules=(Rule("invalid_coordinates", "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180"),),
)

OBSERVATIONS = SilverSpec(
    key=("station_id", "ts"),
    columns={
        "station_id": Column("VARCHAR", "trim"),
        "ts": Column("TIMESTAMPTZ"),
        "temperature": Column("DOUBLE"),
        "humidity": Column("DOUBLE"),
        "pressure": Column("DOUBLE"),
        "wind_speed": Column("DOUBLE"),
        "wind_direction": Column("DOUBLE"),
        "precipitation": Column("DOUBLE"),
        "conditions": Column("VARCHAR", "lower"),
        "partition_date": Column("DATE"),
    },
    required=("station_id", "ts", "partition_date"),
    flag_missing=("temperature",),
    rules=(
        Rule("humidity_out_of_range", "humidity IS NULL OR humidity BETWEEN 0 AND 100", nullify="humidity"),
        Rule(
            "negative_precipitation", "precipitation IS NULL OR precipitation >= 0", nullify="precipitation"
        ),
        Rule(
            "wind_direction_out_of_range",
            "wind_direction IS NULL OR wind_direction BETWEEN 0 AND 360",
            nullify="wind_direction",
        ),
        Rule("negative_wind_speed", "wind_speed IS NULL OR wind_speed >= 0", nullify="wind_speed"),
        Rule(
            "temperature_unit_error",
            "temperature IS NULL OR abs(temperature - median(temperature) OVER (PARTITION BY station_id, "
            f"_batch_id ORDER BY ts ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING)) <= {UNIT_ERROR_DEGREES}",
            nullify="temperature",
        ),
    ),
    partition_column="partition_date",
)


def daily_weather(observations: pa.Table) -> pa.Table:
    """Per station and day: min, max and mean temperature, total precipitation, strongest wind,
    and heating and cooling degree days against 18 °C from the day's mean temperature."""
    return query(
        f"""
        SELECT station_id, partition_date AS observation_date,
               count(*)::BIGINT AS observations,
               min(temperature) AS min_temperature,
               max(temperature) AS max_temperature,
               avg(temperature) AS mean_temperature,
               coalesce(sum(precipitation), 0) AS precipitation,
               max(wind_speed) AS max_wind_speed,
               greatest({DEGREE_DAY_BASE} - avg(temperature), 0) AS heating_degree_days,
               greatest(avg(temperature) - {DEGREE_DAY_BASE}, 0) AS cooling_degree_days
        FROM observations
        GROUP BY station_id, partition_date
        ORDER BY station_id
        """,
        observations=observations,
    )


WEATHER = DomainPipeline(
    domain="weather",
    silver={"stations": STATIONS, "observations": OBSERVATIONS},
    gold=(
        GoldTable(
            "daily_weather",
            "Min, max and mean temperature, precipitation, max wind and degree days per station and day.",
            inputs=("observations",),
            build=daily_weather,
            key=("station_id", "observation_date"),
            partition_column="observation_date",
            not_null=("observations", "precipitation"),
        ),
    ),
    checks={
        "stations": (
            InRange(column="latitude", min=-90, max=90),
            InRange(column="longitude", min=-180, max=180),
        ),
        "observations": (
            InRange(column="humidity", min=0, max=100),
            InRange(column="wind_direction", min=0, max=360),
            InRange(column="precipitation", min=0),
            References(column="station_id", target="silver/weather/stations", target_column="station_id"),
            DistributionDrift(column="pressure"),
        ),
    },
)
