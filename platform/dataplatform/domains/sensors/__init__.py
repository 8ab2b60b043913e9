"""Seeded IoT data: a device master and readings at a fixed cadence (daily).

The domain declared for the registry (`dataplatform.domains`); its generator and pipeline
spec are imported when built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.domains import Domain, DomainGenerator
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def _generator(settings: Settings) -> DomainGenerator:
    from dataplatform.domains.sensors.generator import SensorGenerator

    return SensorGenerator(settings.seed, settings.sensors, settings.defect_rate)


def _pipeline() -> DomainPipeline:
    from dataplatform.domains.sensors.pipeline import SENSORS

    return SENSORS


DOMAIN = Domain(
    name="sensors",
    generator=_generator,
    pipeline=_pipeline,
    master_tables=("devices",),
    daily_tables=("readings",),
    volumes_field="sensors",
    scaled=("devices",),
)
