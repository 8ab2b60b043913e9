"""What a generator hands over: tables as delivered, plus the record of injected defects."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class GeneratedBatch:
    tables: dict[str, pa.Table]
    defects: pa.Table

    @property
    def rows(self) -> int:
        return sum(table.num_rows for table in self.tables.values())
