"""Sensor cleaning rules, hourly aggregates and anomaly windows.

Silver keeps every reading it can key (a missing value is flagged, not dropped): spikes, stuck
values and gaps are facts about the device, found in gold as windows with a start, an end and
a kind, which is what an operator acts on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.engine.sql import query
from dataplatform.quality.specs import References, RowCountAnomaly
from dataplatform.transform.pipeline import DomainPipeline, GoldTable
from dataplatform.transform.silver import Column, SilverSpec

if TYPE_CHECKING:
    import pyarrow as pa

# A spike is a reading further from the median of its seven neighbours than this many times
# the device's typical step between readings that day (its median absolute change).
SPIKE_STEPS = 10.0
# A value repeated exactly this many times or more in a row is a stuck sensor: noise makes two
# equal consecutive readings rare and four practically impossible.
STUCK_READINGS = 4
# A device drifts when the trend of its daily median over at least DRIFT_MIN_DAYS days is
# statistically clear (t above DRIFT_MIN_T) and moves it more than DRIFT_SHARE_PER_YEAR of its
# level a year: slow drift is invisible within one day, so this is a whole-history summary.
DRIFT_MIN_DAYS = 7
DRIFT_MIN_T = 4.0
DRIFT_SHARE_PER_YEAR = 0.02

DEVICES = SilverSpec(
    key=("device_id",),
    columns={
        "device_id": Column("VARCHAR", "lower"),
        "type": Column("VARCHAR", "lower"),
        "site": Column("VARCHAR", "lower"),
        "install_date": Column("DATE"),
        "unit": Column("VARCHAR", "trim"),
    },
    required=("device_id", "type"),
)

READINGS = SilverSpec(
    key=("device_id", "ts"),
    columns={
        "device_id": Column("VARCHAR", "lower"),
        "ts": Column("TIMESTAMPTZ"),
        "value": Column("DOUBLE"),
        "partition_date": Column("DATE"),
    },
    required=("device_id", "ts", "partition_date"),
    flag_missing=("value",),
    partition_column="partition_date",
    passes_on=("spike", "stuck_value", "gap"),
)

# The device's cadence that day: its most common interval between readings, in seconds.
_CADENCE = """
    cadence AS (
        SELECT device_id, mode(step) AS seconds
        FROM (SELECT device_id, epoch(ts - lag(ts) OVER (PARTITION BY device_id ORDER BY ts)) AS step
              FROM readings)
        WHERE step IS NOT NULL GROUP BY device_id
    )
"""


def hourly_readings(readings: pa.Table) -> pa.Table:
    """Per device and hour: min, max and mean value, readings received, readings without a
    value, and readings missing (the hour's expected count at the device's cadence, less those
    received)."""
    return query(
        f"""
        WITH {_CADENCE}
        SELECT r.device_id, date_trunc('hour', r.ts) AS hour, r.partition_date,
               min(r.value) AS min_value, max(r.value) AS max_value, avg(r.value) AS mean_value,
               count(*)::BIGINT AS readings,
               count(*) FILTER (WHERE r.value IS NULL)::BIGINT AS missing_values,
               greatest(coalesce(3600 // any_value(c.seconds), count(*)) - count(*), 0)::BIGINT AS gaps
        FROM readings r LEFT JOIN cadence c USING (device_id)
        GROUP BY r.device_id, date_trunc('hour', r.ts), r.partition_date
        ORDER BY r.device_id, hour
        """,
        readings=readings,
    )


def anomaly_windows(readings: pa.Table) -> pa.Table:
    """Spikes, stuck runs and gaps per device: kind, first and last moment, readings involved.

    A gap's window is the missing stretch (from one cadence after the last reading before it to
    one cadence before the next); its `readings` is how many are missing.
    """
    return query(
        f"""
        WITH {_CADENCE},
        ordered AS (
            SELECT device_id, ts, value, partition_date,
                   value - lag(value) OVER w AS change,
                   median(value) OVER (w ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING) AS local_median
            FROM readings WHERE value IS NOT NULL
            WINDOW w AS (PARTITION BY device_id ORDER BY ts)
        ), scaled AS (
            SELECT *, median(abs(change)) OVER (PARTITION BY device_id) AS step FROM ordered
        ), spikes AS (
            SELECT device_id, 'spike' AS kind, ts AS start_ts, ts AS end_ts, 1::BIGINT AS readings, partition_date
            FROM scaled
            WHERE abs(value - local_median) > {SPIKE_STEPS} * greatest(step, 1e-6)
        ), runs AS (
            SELECT *, sum(CASE WHEN change = 0 THEN 0 ELSE 1 END)
                          OVER (PARTITION BY device_id ORDER BY ts) AS run
            FROM ordered
        ), stuck AS (
            SELECT device_id, 'stuck_value' AS kind, min(ts) AS start_ts, max(ts) AS end_ts,
                   count(*)::BIGINT AS readings, any_value(partition_date) AS partition_date
            FROM runs GROUP BY device_id, run HAVING count(*) >= {STUCK_READINGS}
        ), received AS (  -- a reading without a value still arrived: it is no gap
            SELECT device_id, ts, partition_date, lead(ts) OVER (PARTITION BY device_id ORDER BY ts) AS next_ts
            FROM readings
        ), gaps AS (
            SELECT r.device_id, 'gap' AS kind,
                   r.ts + to_seconds(c.seconds) AS start_ts, r.next_ts - to_seconds(c.seconds) AS end_ts,
                   (epoch(r.next_ts - r.ts) // c.seconds - 1)::BIGINT AS readings, r.partition_date
            FROM received r JOIN cadence c USING (device_id)
            WHERE epoch(r.next_ts - r.ts) > 1.5 * c.seconds
        )
        SELECT * FROM (SELECT * FROM spikes UNION ALL SELECT * FROM stuck UNION ALL SELECT * FROM gaps)
        ORDER BY device_id, start_ts, kind
        """,
        readings=readings,
    )


def device_drift(readings: pa.Table) -> pa.Table:
    """Per device over its whole history: days observed, first and last day, the trend of its
    daily median value (per year, fitted by least squares), its t statistic, and whether that
    is drift beyond the threshold, with the window (first and last day) it spans."""
    return query(
        f"""
        WITH daily AS (
            SELECT device_id, partition_date AS day, median(value) AS level
            FROM readings WHERE value IS NOT NULL GROUP BY ALL
        ), fitted AS (
            SELECT device_id, count(*)::BIGINT AS days, min(day) AS first_day, max(day) AS last_day,
                   avg(level) AS mean_level,
                   regr_slope(level, epoch(day::TIMESTAMP) / 86400) AS per_day,
                   regr_sxx(level, epoch(day::TIMESTAMP) / 86400) AS sxx,
                   regr_syy(level, epoch(day::TIMESTAMP) / 86400) * (1 - coalesce(
                       regr_r2(level, epoch(day::TIMESTAMP) / 86400), 0)) AS sse
            FROM daily GROUP BY device_id
        ), tested AS (
            SELECT *, per_day / nullif(sqrt(sse / nullif(days - 2, 0) / nullif(sxx, 0)), 0) AS t
            FROM fitted
        )
        SELECT device_id, days, first_day, last_day, mean_level,
               per_day * 365.25 AS drift_per_year, t AS drift_t,
               coalesce(days >= {DRIFT_MIN_DAYS} AND abs(t) > {DRIFT_MIN_T}
                        AND abs(per_day * 365.25) > {DRIFT_SHARE_PER_YEAR} * abs(mean_level), false) AS drifting
        FROM tested
        ORDER BY device_id
        """,
        readings=readings,
    )


SENSORS = DomainPipeline(
    domain="sensors",
    silver={"devices": DEVICES, "readings": READINGS},
    gold=(
        GoldTable(
            "hourly_readings",
            "Min, max, mean, readings received, values missing and readings missing per device and hour.",
            inputs=("readings",),
            build=hourly_readings,
            key=("device_id", "hour"),
            partition_column="partition_date",
            not_null=("readings", "gaps"),
        ),
        GoldTable(
            "anomaly_windows",
            "Spikes, stuck values and gaps per device, each with its kind, start, end and readings involved.",
            inputs=("readings",),
            build=anomaly_windows,
            key=("device_id", "kind", "start_ts"),
            partition_column="partition_date",
            not_null=("start_ts", "end_ts", "readings"),
        ),
        GoldTable(
            "device_drift",
            "Per device over all history: the trend of its daily median per year and whether it drifts beyond the threshold.",
            inputs=("readings",),
            build=device_drift,
            key=("device_id",),
            not_null=("days", "drifting"),
        ),
    ),
    checks={
        "readings": (
            References(column="device_id", target="silver/sensors/devices", target_column="device_id"),
            RowCountAnomaly(),
        ),
    },
)
