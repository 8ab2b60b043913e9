"""Seeded weather: a station master and hourly observations (daily).

The domain declared for the registry (`dataplatform.domains`); its generator and pipeline
spec are imported when built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.domains import Domain, DomainGenerator
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def _generator(settings: Settings) -> DomainGenerator:
    from dataplatform.domains.weather.generator import WeatherGenerator

    return WeatherGenerator(settings.seed, settings.weather, settings.defect_rate)


def _pipeline() -> DomainPipeline:
    from dataplatform.domains.weather.pipeline import WEATHER

    return WEATHER


DOMAIN = Domain(
    name="weather",
    generator=_generator,
    pipeline=_pipeline,
    master_tables=("stations",),
    daily_tables=("observations",),
    volumes_field="weather",
    scaled=("stations",),
)
