"""Synthetic sources: seeded, vectorised generators, found by domain name.

A generator exposes `master()` (unpartitioned master data) and `day(date)` (one daily
partition of facts); both return tables as delivered plus the record of injected defects.
`day_chunks(date, rows)` gives the same day in chunks of about `rows` rows, generated one at a
time, for days larger than memory.
The registry below names each domain's tables, so the code location can build assets without
importing numpy. Adding a domain is a new module, a volumes model in settings and one
`Domain(...)` line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.synthetic.batch import GeneratedBatch


class DomainGenerator(Protocol):
    def master(self) -> GeneratedBatch: ...

    def day(self, day: date) -> GeneratedBatch: ...

    def day_chunks(self, day: date, chunk_rows: int | None = None) -> Iterator[GeneratedBatch]: ...


@dataclass(frozen=True)
class Domain:
    """A domain's tables and how to build its generator.

    Its volume knobs are the settings field named like the domain; `scaled` names the knobs
    that `--scale` multiplies (counts of things, not cadences or ratios).
    """

    name: str
    master_tables: tuple[str, ...]
    daily_tables: tuple[str, ...]
    build: Callable[[Settings], DomainGenerator]
    scaled: tuple[str, ...]

    def volumes(self, settings: Settings) -> BaseModel:
        return getattr(settings, self.name)


def _ecommerce(settings: Settings) -> DomainGenerator:
    from dataplatform.generate.ecommerce import EcommerceGenerator

    return EcommerceGenerator(settings.seed, settings.ecommerce, settings.defect_rate)


def _market(settings: Settings) -> DomainGenerator:
    from dataplatform.generate.market import MarketGenerator

    return MarketGenerator(settings.seed, settings.market, settings.defect_rate)


def _sensors(settings: Settings) -> DomainGenerator:
    from dataplatform.generate.sensors import SensorGenerator

    return SensorGenerator(settings.seed, settings.sensors, settings.defect_rate)


def _weather(settings: Settings) -> DomainGenerator:
    from dataplatform.generate.weather import WeatherGenerator

    return WeatherGenerator(settings.seed, settings.weather, settings.defect_rate)


GENERATORS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            "ecommerce",
            ("customers", "products"),
            ("orders", "order_items"),
            _ecommerce,
            ("customers", "products", "orders_per_day"),
        ),
        Domain("market", ("symbols",), ("ohlcv", "quotes"), _market, ("symbols",)),
        Domain("sensors", ("devices",), ("readings",), _sensors, ("devices",)),
        Domain("weather", ("stations",), ("observations",), _weather, ("stations",)),
    )
}


def domain(name: str) -> Domain:
    try:
        return GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown domain {name!r}; known: {', '.join(sorted(GENERATORS))}") from None


def generator_for(name: str, settings: Settings) -> DomainGenerator:
    return domain(name).build(settings)
