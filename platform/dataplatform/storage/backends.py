"""The backend registry: a store opened by name, from the one list in `settings.STORAGE_BACKENDS`.

Every backend module defines `open_store(place)`; `Place` says where a deployment keeps its
data. The lake's layers (`store_for_layer`), the Dagster IO managers and `dataplatform generate`
all open their stores here, so adding a backend is its module and its line in the registry.
A backend's module is imported only when its store is opened: code that never touches a backend
never pays for its library.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dataplatform.settings import STORAGE_BACKENDS, StorageBackend
from dataplatform.storage.contract import StorageError, TableStore

if TYPE_CHECKING:
    from dataplatform.settings import Settings


COMPRESSIONS = ("zstd", "snappy", "gzip", "none")


@dataclass(frozen=True)
class WriteOptions:
    """How a store writes its data files where the format lets a user choose (the options of
    `dataplatform generate`); None keeps the backend's own default. A backend refuses, with a
    StorageError, an option its format cannot honour rather than ignoring it."""

    compression: str | None = None  # one of COMPRESSIONS
    row_group_rows: int | None = None  # rows per Parquet row group
    file_rows: int | None = None  # rows per data file

    def __post_init__(self) -> None:
        if self.compression is not None and self.compression not in COMPRESSIONS:
            raise StorageError(f"unknown compression {self.compression!r}; known: {', '.join(COMPRESSIONS)}")
        for name in ("row_group_rows", "file_rows"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise StorageError(f"{name} must be a whole number of rows, 1 or more; got {value!r}")

    def refuse(self, backend: str, option: str, why: str) -> None:
        """Refuse `option` if it is set: `backend` cannot honour it, for the reason `why`."""
        if getattr(self, option) is not None:
            raise StorageError(f"the {backend} backend cannot set {option}: {why}")


@dataclass(frozen=True)
class Place:
    """Where a store keeps its tables.

    `lake` is the lake root (a folder or an s3:// URI); file backends keep their tables under
    `<lake>/<backend>/`, except for a place given a `layer`, where `lake` itself is the
    backend's folder and holds that layer's tables only, as `<domain>/<table>` (the output
    folder `dataplatform generate` writes). Catalogs that must be updated in place (DuckDB, SQLite) stay under
    `data_dir` when the lake is in object storage.
    """

    data_dir: Path
    lake: str
    postgres_url: str | None = None
    layer: str | None = None
    options: WriteOptions = WriteOptions()

    def folder(self, backend: str) -> str:
        """The backend's root: `<lake>/<backend>`, or the lake itself for one layer's place."""
        from dataplatform.storage.lake import join

        return self.lake if self.layer else join(self.lake, backend)


def backend(name: str) -> StorageBackend:
    """The registered backend called `name`, or a StorageError listing the known ones."""
    try:
        return STORAGE_BACKENDS[name]
    except KeyError:
        raise StorageError(
            f"unknown storage backend {name!r}; known: {', '.join(STORAGE_BACKENDS)}"
        ) from None


def open_place(name: str, place: Place) -> TableStore:
    """The store of backend `name` at `place`."""
    module = importlib.import_module(f"dataplatform.storage.{backend(name).module}")
    return cast("TableStore", module.open_store(place))


def open_store(
    name: str, data_dir: Path | str, postgres_url: str | None = None, lake: str | None = None
) -> TableStore:
    """The store of backend `name` for a deployment: file backends under the lake root `lake`
    (a local folder or an s3:// URI; default `<data_dir>/lake`), DuckDB in `data_dir`,
    PostgreSQL at `postgres_url`."""
    root = Path(data_dir)
    lake_root = str(lake) if lake else str(root / "lake")
    return open_place(name, Place(root, lake_root, postgres_url))


def store_for_layer(settings: Settings, layer: str) -> TableStore:
    """The store a layer is configured on."""
    url = settings.postgres_url.get_secret_value() if settings.postgres_url else None
    return open_store(settings.layer_backend(layer), settings.data_dir, url, settings.lake_root)
