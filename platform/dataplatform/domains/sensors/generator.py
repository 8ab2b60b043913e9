"""Seeded IoT data: a device master and readings at a fixed cadence.

A reading is the device's baseline, a daily cycle, a slow drift since installation and
noise; each day is computed from the device's own parameters, so any day stands alone. On top
come the anomalies a monitoring pipeline must find, injected and recorded like every defect:
spikes, stuck values (a run of readings frozen at one value) and gaps (readings missing), plus
null values and duplicate deliveries.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.settings import SensorVolumes
from dataplatform.synthetic.batch import GeneratedBatch
from dataplatform.synthetic.defects import DefectInjector, DefectLog, key_text
from dataplatform.synthetic.sampling import constant_date, draw, labels
from dataplatform.synthetic.seeding import SeededGenerator

DOMAIN = "sensors"
# type, unit, baseline mean and spread across devices, daily amplitude, noise, drift per year
TYPES = [
    ("temperature", "degC", 21.0, 3.0, 2.5, 0.15, 0.8),
    ("humidity", "percent", 45.0, 10.0, 8.0, 0.8, 3.0),
    ("pressure", "hPa", 1013.0, 5.0, 1.2, 0.3, 1.5),
    ("vibration", "mm/s", 2.0, 0.8, 0.6, 0.1, 0.5),
    ("power", "kW", 5.0, 3.0, 2.0, 0.2, 0.4),
]
TYPE_WEIGHTS = np.array([0.35, 0.2, 0.15, 0.15, 0.15])
SITES = 20
STUCK_READINGS = (12, 48)  # a stuck run lasts one to four hours at the default cadence
GAP_READINGS = (6, 36)


class SensorGenerator(SeededGenerator):
    """Devices and their readings for one seed and set of volumes."""

    domain = DOMAIN
    volumes: SensorVolumes

    def master(self) -> GeneratedBatch:
        return GeneratedBatch({"devices": self.devices()}, DefectLog(partition_date=None).to_table())

    def day(self, day: date) -> GeneratedBatch:
        log = DefectLog(partition_date=day)
        readings, anomalous = self._inject_anomalies(self.clean_day(day), day, log)
        inject = DefectInjector(
            readings,
            name="readings",
            key=("device_id", "ts"),
            rate=self.defect_rate,
            rng=self._rng("readings", day.isoformat(), "defects"),
            log=log,
            taken=anomalous,
        )
        inject.set_null("value", 0.3)
        inject.duplicate(0.3)
        return GeneratedBatch({"readings": inject.table}, log.to_table())

    def devices(self) -> pa.Table:
        n = self.volumes.devices
        rng = self._rng("devices", "attributes")
        ids = pc.binary_join_element_wise(
            "dev-", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 6, "0"), ""
        )
        sites = pc.binary_join_element_wise(
            "site-", pc.utf8_lpad(pc.cast(pa.array(rng.integers(1, SITES + 1, n)), pa.string()), 2, "0"), ""
        )
        return pa.table(
            {
                "device_id": ids,
                "type": labels(np.array([t[0] for t in TYPES]), self._type_idx),
                "site": sites,
                "install_date": pa.array(self._install_dates, pa.date32()),
                "unit": labels(np.array([t[1] for t in TYPES]), self._type_idx),
            }
        )

    def clean_day(self, day: date) -> pa.Table:
        """Readings of every installed device at each tick of the cadence on `day`."""
        installed = np.flatnonzero(self._install_dates <= np.datetime64(day))
        per_day = 86_400 // self.volumes.reading_seconds
        seconds = np.arange(per_day) * self.volumes.reading_seconds
        rng = self._rng("readings", day.isoformat())
        n = len(installed)
        kind = self._type_idx[installed]
        amplitude, noise, drift = (np.array([t[i] for t in TYPES])[kind] for i in (4, 5, 6))
        years_installed = (np.datetime64(day) - self._install_dates[installed]).astype(int) / 365.25
        level = self._baseline[installed] + drift * self._drift_sign[installed] * years_installed
        cycle = np.sin(2 * np.pi * (seconds[None, :] / 86_400 - self._phase[installed][:, None]))
        values = (
            level[:, None] + amplitude[:, None] * cycle + rng.standard_normal((n, per_day)) * noise[:, None]
        )
        ts = np.datetime64(day, "s") + seconds.astype("timedelta64[s]")
        return pa.table(
            {
                "device_id": self._device_ids.take(pa.array(np.repeat(installed, per_day))),
                "ts": pa.array(np.tile(ts, n), pa.timestamp("s", tz="UTC")),
                "value": np.round(values, 3).ravel(),
                "partition_date": constant_date(day, n * per_day),
            }
        )

    def _inject_anomalies(self, readings: pa.Table, day: date, log: DefectLog) -> tuple[pa.Table, np.ndarray]:
        """Stuck runs, then gaps, then spikes, each reading given at most one anomaly; returns
        the readings left and which of them carry an anomaly."""
        per_day = 86_400 // self.volumes.reading_seconds
        devices = readings.num_rows // per_day
        if not devices:
            return readings, np.zeros(0, dtype=bool)
        rng = self._rng("readings", day.isoformat(), "anomalies")
        values = readings.column("value").to_numpy().reshape(devices, per_day).copy()
        expected = self.defect_rate * readings.num_rows / 3  # a third of the defect rate each
        used = np.zeros((devices, per_day), dtype=bool)

        stuck = np.zeros_like(used)
        for d, s, n in _windows(rng, expected, STUCK_READINGS, devices, per_day):
            values[d, s : s + n] = values[d, s]
            stuck[d, s + 1 : s + n] = True  # the run's first reading is still a true one
            used[d, s : s + n] = True
        gaps = np.zeros_like(used)
        for d, s, n in _windows(rng, expected, GAP_READINGS, devices, per_day):
            gaps[d, s : s + n] = True
        gaps &= ~used
        used |= gaps
        free = np.flatnonzero(~used.ravel())
        spikes = np.sort(rng.choice(free, min(int(rng.poisson(expected)), len(free)), replace=False))
        flat = values.ravel()
        jump = (10 + 20 * rng.random(len(spikes))) * np.maximum(np.abs(flat[spikes]) * 0.2, 1)
        flat[spikes] += np.where(rng.random(len(spikes)) < 0.5, -jump, jump)

        for kind, rows in (
            ("stuck_value", np.flatnonzero(stuck.ravel())),
            ("gap", np.flatnonzero(gaps.ravel())),
            ("spike", spikes),
        ):
            log.record(
                "readings", kind, key_text(readings.take(pa.array(rows)), ("device_id", "ts")), "value"
            )
        table = readings.set_column(readings.schema.get_field_index("value"), "value", pa.array(flat))
        anomalous = (stuck | gaps).ravel()
        anomalous[spikes] = True
        kept = ~gaps.ravel()
        return table.filter(pa.array(kept)), anomalous[kept]

    # -- per-device streams -------------------------------------------------------------------

    @cached_property
    def _device_ids(self) -> pa.Array:
        return self.devices().column("device_id").combine_chunks()

    @cached_property
    def _type_idx(self) -> np.ndarray:
        return draw(self._rng("devices", "type"), TYPE_WEIGHTS, self.volumes.devices)

    @cached_property
    def _install_dates(self) -> np.ndarray:
        days = self._rng("devices", "installed").integers(0, 6 * 365, self.volumes.devices)
        return np.datetime64("2020-01-01") + days.astype("timedelta64[D]")

    @cached_property
    def _baseline(self) -> np.ndarray:
        mean, spread = (np.array([t[i] for t in TYPES])[self._type_idx] for i in (2, 3))
        return mean + spread * self._rng("devices", "baseline").standard_normal(self.volumes.devices)

    @cached_property
    def _phase(self) -> np.ndarray:
        return self._rng("devices", "phase").normal(0.375, 0.05, self.volumes.devices)  # peaks mid-afternoon

    @cached_property
    def _drift_sign(self) -> np.ndarray:
        return self._rng("devices", "drift").choice([-1.0, 1.0], self.volumes.devices)


def _windows(rng: np.random.Generator, readings: float, lengths: tuple[int, int], devices: int, per_day: int):
    """(device, first reading, length) of windows covering about `readings` readings in all."""
    count = int(rng.poisson(readings / (sum(lengths) / 2)))
    length = np.minimum(rng.integers(lengths[0], lengths[1] + 1, count), per_day)
    start = rng.integers(0, per_day - length + 1)
    return zip(rng.integers(0, devices, count), start, length, strict=True)
