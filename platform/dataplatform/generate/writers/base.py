"""What every writer shares: refusing an output whose tables do not match what is generated."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date

import pyarrow as pa

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError


class Writer(ABC):
    """Writes a domain's tables, one partition (or one whole master table) per call."""

    def check(self, domain: str, schemas: dict[str, pa.Schema], partitioned: set[str]) -> None:
        """Refuse, before anything is written, an output whose tables hold other columns or types."""
        for table, schema in schemas.items():
            existing = self.existing_schema(domain, table, table in partitioned)
            if existing is not None:
                problem = _difference(existing, schema)
                if problem:
                    raise GenerateError(
                        f"{self.location(domain, table)} already holds a table that does not match "
                        f"{domain}.{table}: {problem}; write to another output or remove it"
                    )

    @abstractmethod
    def location(self, domain: str, table: str) -> str:
        """Where the table lives, for messages."""

    @abstractmethod
    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        """The stored table's schema (with its partition column), or None if there is none."""

    @abstractmethod
    def write(self, domain: str, table: str, data: pa.Table, day: date | None) -> None:
        """Replace partition `day` of the table (the whole table if `day` is None) with `data`."""

    def close(self) -> None:  # noqa: B027 - optional: only writers holding connections need it
        """Release connections; called once after the last write."""


def _difference(existing: pa.Schema, wanted: pa.Schema) -> str | None:
    have = {f.name: _canonical(f.type) for f in existing}
    want = {f.name: _canonical(f.type) for f in wanted}
    for name, kind in want.items():
        if name in have and have[name] != kind:
            return f"column {name!r} is {have[name]} there, {kind} here"
    if PARTITION_COLUMN in want and PARTITION_COLUMN not in have:
        return f"it is not partitioned by {PARTITION_COLUMN}"
    missing = [name for name in want if name not in have]
    if missing:
        return f"it has no column {', '.join(map(repr, missing))}"
    extra = sorted(set(have) - set(want))
    return f"it has other columns: {', '.join(extra)}" if extra else None


def _canonical(kind: pa.DataType) -> str:
    """A type as every format reports it back: string flavours, and UTC spelled one way."""
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        kind = pa.string()
    if pa.types.is_timestamp(kind):
        kind = pa.timestamp("us", "UTC" if kind.tz in ("UTC", "+00:00", "Etc/UTC") else kind.tz)
    return str(kind)
