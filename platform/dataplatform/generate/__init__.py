"""Synthetic sources: seeded, vectorised generators, found by domain name.

A generator exposes `master()` (unpartitioned master data) and `day(date)` (one daily
partition of facts); both return tables as delivered plus the record of injected defects.
Adding a domain is a new module and one line in `GENERATORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

from dataplatform.generate.batch import GeneratedBatch
from dataplatform.settings import Settings


class DomainGenerator(Protocol):
    name: str
    master_tables: tuple[str, ...]
    daily_tables: tuple[str, ...]

    def master(self) -> GeneratedBatch: ...

    def day(self, day: date) -> GeneratedBatch: ...


def _ecommerce(settings: Settings) -> DomainGenerator:
    from dataplatform.generate.ecommerce import EcommerceGenerator

    return EcommerceGenerator(settings.seed, settings.ecommerce, settings.defect_rate)


GENERATORS: dict[str, Callable[[Settings], DomainGenerator]] = {"ecommerce": _ecommerce}


def generator_for(domain: str, settings: Settings) -> DomainGenerator:
    try:
        return GENERATORS[domain](settings)
    except KeyError:
        raise ValueError(f"unknown domain {domain!r}; known: {', '.join(sorted(GENERATORS))}") from None
