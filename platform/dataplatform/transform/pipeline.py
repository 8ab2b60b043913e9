"""A domain's medallion pipeline as data: what the Dagster factory turns into assets.

A domain lists its silver specs and gold tables; `defs/medallion.py` builds landing, bronze,
silver and gold assets and their checks from this, so no domain copies asset code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataplatform import assetkeys
from dataplatform.assetkeys import KeyPath
from dataplatform.transform.silver import SilverSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.quality.specs import CheckSpec


@dataclass(frozen=True)
class GoldTable:
    """A business aggregate built by `build(**inputs)` from the named tables.

    An input is a silver table of the pipeline's own domain, `domain/table` for another
    domain's, or `reference/table` for a drop-folder reference table (passed to `build` under
    its table name). With `partition_column`, the table is daily-partitioned like its inputs
    and built one day at a time; without it, it is rebuilt from the whole history of its inputs.
    """

    name: str
    description: str
    inputs: tuple[str, ...]
    build: Callable[..., pa.Table]
    key: tuple[str, ...]
    partition_column: str | None = None
    not_null: tuple[str, ...] = ()
    # text columns that may look like an e-mail address or a phone number without being one
    safe: tuple[str, ...] = ()

    def sources(self, domain: str) -> dict[str, KeyPath]:
        """Each input's name for `build` and the asset key path of the table it reads."""
        found: dict[str, KeyPath] = {}
        for name in self.inputs:
            scope, _, table = name.rpartition(assetkeys.SEPARATOR)
            found[table] = (
                assetkeys.reference(table)
                if scope == assetkeys.REFERENCE
                else assetkeys.medallion(assetkeys.SILVER, scope or domain, table)
            )
        return found


@dataclass(frozen=True)
class CrossCheck:
    """A check on one silver table that needs others too, e.g. order totals against items.

    `evaluate(**tables)` returns a `quality.checks.CheckOutcome`.
    """

    name: str
    description: str
    table: str
    inputs: tuple[str, ...]
    evaluate: Callable[..., object]


@dataclass(frozen=True)
class DomainPipeline:
    """A domain's silver specs, gold tables, cross-table checks, and declarative checks by
    table name (silver or gold) on top of the key and required-column checks every table gets."""

    domain: str
    silver: dict[str, SilverSpec]
    gold: tuple[GoldTable, ...]
    cross_checks: tuple[CrossCheck, ...] = ()
    checks: dict[str, tuple[CheckSpec, ...]] = field(default_factory=dict)

    def checks_for(self, table: str) -> tuple[CheckSpec, ...]:
        """Every declarative check of a silver or gold table, the key and required ones first,
        and on every table the check that no personal data is in clear where none is declared."""
        from dataplatform.quality.specs import NoPersonalData, NotNull, TableChecks, Unique

        if table in self.silver:
            spec = self.silver[table]
            key, required = spec.key, spec.required
            personal = NoPersonalData(columns=spec.personal_data_unchecked())
        else:
            gold = next(g for g in self.gold if g.name == table)
            key, required = gold.key, gold.key + gold.not_null
            personal = NoPersonalData(safe=gold.safe)
        base = (Unique(columns=key), NotNull(columns=tuple(dict.fromkeys(required))))
        return TableChecks((*base, *self.checks.get(table, ()), personal)).checks
