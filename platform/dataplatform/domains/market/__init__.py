"""Seeded market data: a symbol master, intraday OHLCV bars and top-of-book quotes (daily).

The domain declared for the registry (`dataplatform.domains`); its generator and pipeline
spec are imported when built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplatform.domains import Domain, DomainGenerator
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.transform.pipeline import DomainPipeline


def _generator(settings: Settings) -> DomainGenerator:
    from dataplatform.domains.market.generator import MarketGenerator

    return MarketGenerator(settings.seed, settings.market, settings.defect_rate)


def _pipeline() -> DomainPipeline:
    from dataplatform.domains.market.pipeline import MARKET

    return MARKET


DOMAIN = Domain(
    name="market",
    generator=_generator,
    pipeline=_pipeline,
    master_tables=("symbols",),
    daily_tables=("ohlcv", "quotes"),
    volumes_field="market",
    scaled=("symbols",),
)
