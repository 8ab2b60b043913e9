"""The domains, one package each, found by looking in this folder: no list of domains to keep.

A domain package (`domains/<name>/`) holds its generator (`generator.py`), its pipeline spec
(`pipeline.py`) and, in its `__init__.py`, one `Domain` declaration named `DOMAIN`: its tables,
the settings field of its volumes, the knobs `--scale` multiplies, and how to build its generator
and pipeline. The code location, the generate command and the API read the domains from here,
so a new domain is a new package (and its volumes model in `settings.py`, where every default
lives) and nothing else.

A package's `__init__.py` is imported to discover it, by every process that asks for a domain
(the code location's every step, `generate --list`), so it stays cheap: the generator (numpy,
pyarrow) and the pipeline spec (DuckDB SQL) are imported only when built. The domains sit above
`synthetic` and `transform`, whose machinery their generators and pipelines use.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dataplatform.synthetic.batch import GeneratedBatch
    from dataplatform.transform.pipeline import DomainPipeline


class DomainGenerator(Protocol):
    """A domain's source: `master()` (unpartitioned master data) and `day(date)` (one daily
    partition of facts) return tables as delivered plus the record of injected defects;
    `day_chunks(date, rows)` gives the same day in chunks of about `rows` rows, generated one at
    a time, for days larger than memory."""

    def master(self) -> GeneratedBatch: ...

    def day(self, day: date) -> GeneratedBatch: ...

    def day_chunks(self, day: date, chunk_rows: int | None = None) -> Iterator[GeneratedBatch]: ...


@dataclass(frozen=True, kw_only=True)
class Domain:
    """A domain declared once: its tables, its volume knobs and how to build its parts.

    `volumes_field` names the settings field holding its knobs; `scaled` names the knobs
    `--scale` multiplies (counts of things, not cadences or ratios). A domain without a generator
    (insights) has no tables of its own: its pipeline builds gold from other domains' silver; one
    without a pipeline gets landing assets only. The factories import the generator and the
    pipeline when called, so declaring a domain costs nothing.
    """

    name: str
    generator: Callable[[Settings], DomainGenerator] | None = None
    pipeline: Callable[[], DomainPipeline] | None = None
    master_tables: tuple[str, ...] = ()
    daily_tables: tuple[str, ...] = ()
    volumes_field: str | None = None
    scaled: tuple[str, ...] = ()

    def volumes(self, settings: Settings) -> BaseModel:
        """This domain's volume knobs as `settings` sets them."""
        volumes: BaseModel = getattr(settings, self._volumes_field())
        return volumes

    def with_volumes(self, settings: Settings, volumes: BaseModel) -> Settings:
        """`settings` with this domain's volume knobs replaced by `volumes`."""
        return settings.model_copy(update={self._volumes_field(): volumes})

    def generator_for(self, settings: Settings) -> DomainGenerator:
        if self.generator is None:
            raise ValueError(f"{self.name} has no generator")
        return self.generator(settings)

    def _volumes_field(self) -> str:
        if self.volumes_field is None:
            raise ValueError(f"{self.name} generates nothing: it has no volume knobs")
        return self.volumes_field


@cache
def domains() -> dict[str, Domain]:
    """Every domain by name: those with a generator first, then those reading other domains'
    silver, each group in the order of the package names. A package's `DOMAIN` must carry the
    package's name: the name is the asset keys' domain and the generate command's argument."""
    found: list[Domain] = []
    for module in _packages():
        declared: Domain = module.DOMAIN
        if declared.name != module.__name__.rpartition(".")[2]:
            raise ValueError(
                f"{module.__name__} declares the domain {declared.name!r}: name it as its package"
            )
        found.append(declared)
    return {d.name: d for d in sorted(found, key=lambda d: d.generator is None)}


def generated() -> dict[str, Domain]:
    """The domains with a generator: those that land tables of their own."""
    return {name: d for name, d in domains().items() if d.generator is not None}


def domain(name: str) -> Domain:
    """The generated domain called `name`; an unknown name is an error that lists the known ones."""
    known = generated()
    try:
        return known[name]
    except KeyError:
        raise ValueError(f"unknown domain {name!r}; known: {', '.join(sorted(known))}") from None


def pipelines() -> dict[str, DomainPipeline]:
    """Every domain's pipeline spec by domain name: the code location builds bronze, silver and
    gold from them and the API lists gold tables from them."""
    return {name: d.pipeline() for name, d in domains().items() if d.pipeline is not None}


def _packages() -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            yield importlib.import_module(f"{__name__}.{info.name}")
