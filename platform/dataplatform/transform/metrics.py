"""The platform's own pipeline metrics as a table: one row per materialisation of any asset.

Dagster keeps each materialisation's metadata (rows in and out, drops by reason, duration,
rows/s, batch id); this gathers them so people can query trends across assets and runs with
SQL instead of clicking through the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

FIGURES = ("rows_in", "rows_out", "rows_dropped", "duration_s", "rows_per_s")


@dataclass(frozen=True)
class Materialisation:
    """What the Dagster layer hands over for one materialisation event."""

    asset: tuple[str, ...]
    run_id: str
    timestamp: float
    partition: str | None
    metadata: dict[str, object] = field(default_factory=dict)


def pipeline_runs(events: list[Materialisation]) -> pa.Table:
    import pyarrow as pa

    def figure(event: Materialisation, name: str) -> float | None:
        value = event.metadata.get(name)
        return float(value) if isinstance(value, int | float) else None

    rows = []
    for event in events:
        layer, domain, table = (*event.asset, None, None, None)[:3]
        dropped = {
            name.removeprefix("dropped_"): int(value)
            for name, value in event.metadata.items()
            if name.startswith("dropped_") and isinstance(value, int | float)
        }
        rows.append(
            {
                "asset": "/".join(event.asset),
                "layer": layer,
                "domain": domain,
                "table": table,
                "partition": event.partition,
                "run_id": event.run_id,
                "materialized_at": datetime.fromtimestamp(event.timestamp, UTC),
                **{name: figure(event, name) for name in FIGURES},
                "row_count": figure(event, "dagster/row_count"),
                "dropped_by_reason": json.dumps(dropped, sort_keys=True) if dropped else None,
                "batch_id": event.metadata.get("batch_id")
                if isinstance(event.metadata.get("batch_id"), str)
                else None,
            }
        )
    schema = pa.schema(
        [
            ("asset", pa.string()),
            ("layer", pa.string()),
            ("domain", pa.string()),
            ("table", pa.string()),
            ("partition", pa.string()),
            ("run_id", pa.string()),
            ("materialized_at", pa.timestamp("us", "UTC")),
            *((name, pa.float64()) for name in FIGURES),
            ("row_count", pa.float64()),
            ("dropped_by_reason", pa.string()),
            ("batch_id", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    return table.sort_by([("materialized_at", "ascending"), ("asset", "ascending")])
