"""The sensor generator: cadence, daily cycle, drift, and anomalies that match their records."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplatform.domains.sensors.generator import SensorGenerator
from dataplatform.settings import SensorVolumes

SMALL = SensorVolumes(devices=40, reading_seconds=600)
DAY = date(2026, 3, 10)


def generator(seed: int = 5, rate: float = 0.03, volumes: SensorVolumes = SMALL) -> SensorGenerator:
    return SensorGenerator(seed, volumes, rate)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cadence=st.sampled_from([60, 300, 900, 3600]))
def test_every_installed_device_reports_at_every_tick(seed, cadence):
    gen = generator(seed, volumes=SMALL.model_copy(update={"reading_seconds": cadence}))
    readings = gen.clean_day(DAY)
    devices = gen.devices()
    installed = devices.filter(pc.less_equal(devices["install_date"], pa.scalar(DAY)))
    assert readings.num_rows == installed.num_rows * (86_400 // cadence)
    assert set(readings["device_id"].to_pylist()) == set(installed["device_id"].to_pylist())
    gaps = np.diff(
        readings.filter(pc.equal(readings["device_id"], readings["device_id"][0]))["ts"].to_numpy()
    )
    assert set(gaps.astype("timedelta64[s]").astype(int)) == {cadence}


def test_temperatures_follow_a_daily_cycle_and_drift_slowly():
    gen = generator(volumes=SensorVolumes(devices=300, reading_seconds=3600))
    devices = gen.devices()
    temperature = set(devices.filter(pc.equal(devices["type"], "temperature"))["device_id"].to_pylist())
    readings = gen.clean_day(DAY).to_pandas()
    readings = readings[readings.device_id.isin(temperature)]
    by_hour = readings.groupby(readings.ts.dt.hour)["value"].mean()
    assert by_hour.loc[12:17].mean() - by_hour.loc[[0, 1, 2, 3, 4, 5]].mean() > 3  # warm afternoons
    later = gen.clean_day(DAY + timedelta(days=365)).to_pandas()
    later = later[later.device_id.isin(temperature)]
    drift = (later.groupby("device_id")["value"].mean() - readings.groupby("device_id")["value"].mean()).abs()
    assert 0 < drift.median() < 3  # a slow drift over a year, not a jump


def test_a_day_is_the_same_whatever_was_generated_before():
    first = generator().day(DAY)
    generator().day(DAY + timedelta(days=1))
    again = generator().day(DAY)
    assert first.tables["readings"].equals(again.tables["readings"]) and first.defects.equals(again.defects)


def test_recorded_anomalies_and_defects_are_in_the_data():
    gen = generator(rate=0.1)
    batch, clean = gen.day(DAY), gen.clean_day(DAY)
    readings, d = batch.tables["readings"], batch.defects

    def keys(kind):
        return set(d.filter(pc.equal(d["kind"], kind))["key"].to_pylist())

    def key_of(t):
        return pc.binary_join_element_wise(
            pc.cast(t["device_id"], pa.string()),
            pc.cast(t["ts"].cast(pa.timestamp("us", "UTC")), pa.string()),
            "|",
        ).to_pylist()

    delivered = set(key_of(readings))
    assert keys("gap") and not keys("gap") & delivered
    assert set(key_of(clean)) - delivered == keys("gap")

    frame = readings.to_pandas().drop_duplicates(["device_id", "ts"]).sort_values(["device_id", "ts"])
    frame["key"] = key_of(pa.Table.from_pandas(frame[["device_id", "ts"]], preserve_index=False))
    frame["previous"] = frame.groupby("device_id")["value"].shift()
    stuck = frame[frame.key.isin(keys("stuck_value"))]
    assert len(stuck) and (stuck.value == stuck.previous).all()
    clean_values = dict(zip(key_of(clean), clean["value"].to_pylist(), strict=True))
    spikes = frame[frame.key.isin(keys("spike"))]
    assert len(spikes) and ((spikes.value - spikes.key.map(clean_values)).abs() >= 10).all()
    nulls = set(frame[frame.value.isna()].key)
    assert nulls == keys("null_required")
    assert readings.num_rows - len(frame) == len(keys("exact_duplicate"))
