"""Storage: one table contract (`contract.py`) and a module per backend.

Backends are imported only when a store is opened, so code that never touches a backend never
pays for its library.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.storage.contract import Slice, StorageError, TableName, TableStore

if TYPE_CHECKING:
    from dataplatform.settings import Settings

__all__ = ["Slice", "StorageError", "TableName", "TableStore", "open_store", "store_for_layer"]


def open_store(
    backend: str, data_dir: Path | str, postgres_url: str | None = None, lake: str | None = None
) -> TableStore:
    """The store for `backend`: Parquet and Delta tables under the lake root `lake` (a local
    folder or an s3:// URI; default `<data_dir>/lake`), the DuckDB warehouse in `data_dir`, or
    the PostgreSQL server at `postgres_url`."""
    from dataplatform.storage.lake import is_remote, join

    root = Path(data_dir)
    lake_root = str(lake) if lake else str(root / "lake")
    if backend == "parquet":
        if is_remote(lake_root):
            from dataplatform.storage.parquet_object_store import ParquetObjectStore

            return ParquetObjectStore(join(lake_root, "parquet"))
        from dataplatform.storage.parquet_store import ParquetStore

        return ParquetStore(join(lake_root, "parquet"))
    if backend == "delta":
        from dataplatform.storage.delta_store import DeltaStore

        return DeltaStore(join(lake_root, "delta"))
    if backend == "duckdb":
        from dataplatform.storage.duckdb_store import DuckDBStore

        return DuckDBStore(root / "warehouse.duckdb")
    if backend == "postgres":
        if not postgres_url:
            raise StorageError("the postgres backend needs DATAPLATFORM_POSTGRES_URL")
        from dataplatform.storage.postgres_store import PostgresStore

        return PostgresStore(postgres_url)
    raise StorageError(f"unknown storage backend {backend!r}; known: delta, duckdb, parquet, postgres")


def store_for_layer(settings: Settings, layer: str) -> TableStore:
    """The store a layer is configured on."""
    url = settings.postgres_url.get_secret_value() if settings.postgres_url else None
    return open_store(settings.layer_backend(layer), settings.data_dir, url, settings.lake_root)
