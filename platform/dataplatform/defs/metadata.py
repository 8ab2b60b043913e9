"""Materialisation metadata shared by every asset: what Dagster's UI shows and plots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    # what Dagster takes as a metadata value (a MetadataValue, a TableSchema, a plain value);
    # Dagster does not export the alias
    from dagster._core.definitions.metadata import RawMetadataValue

PREVIEW_ROWS = 5


def table_metadata(
    table, backend: str, location: str, rows: int | None = None, schema=None
) -> dict[str, RawMetadataValue]:
    """Row count, column schema (enables schema-change checks), a preview and the location.
    A streamed write passes its `rows` and `schema`, and `table` holds only its first rows."""
    columns = [dg.TableColumn(field.name, str(field.type)) for field in (schema or table.schema)]
    preview = table.slice(0, PREVIEW_ROWS).to_pandas().to_markdown(index=False)
    return {
        "dagster/row_count": dg.MetadataValue.int(table.num_rows if rows is None else rows),
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "preview": dg.MetadataValue.md(preview),
        "storage_backend": backend,
        "storage_location": dg.MetadataValue.path(location),
    }


def metrics_metadata(metrics: dict[str, float | int]) -> dict[str, RawMetadataValue]:
    """Pipeline metrics as numeric metadata, so the UI plots them across materialisations."""
    return {
        name: dg.MetadataValue.float(float(value))
        if isinstance(value, float)
        else dg.MetadataValue.int(value)
        for name, value in metrics.items()
    }
