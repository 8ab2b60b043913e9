"""Resources: the lakehouse (every layer's store, for checks and the CLI) and the IO managers.

The PostgreSQL URL reaches them only as `EnvVar("DATAPLATFORM_POSTGRES_URL")`: Dagster resolves
it when a run starts and never shows it in the UI, a log or metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from dataplatform.defs.io_managers import TableIOManager
from dataplatform.defs.tables import daily_slice, table_for
from dataplatform.settings import LAYERS, Settings
from dataplatform.transform.pii import SECRET_VARIABLE

if TYPE_CHECKING:
    from dataplatform.ingest.dropzone import DropZone

POSTGRES_URL = "DATAPLATFORM_POSTGRES_URL"


class Lakehouse(dg.ConfigurableResource):
    """Reads any asset's table from the backend its layer is configured on."""

    data_dir: str
    lake: str | None = None  # the lake root: a folder or an s3:// URI; default <data_dir>/lake
    landing: str
    bronze: str
    silver: str
    gold: str
    reference: str = "delta"  # drop-folder tables keep their Delta history: it is their backup
    postgres_url: str | None = None

    def read(
        self,
        key: dg.AssetKey,
        partition_column: str | None = None,
        partition_keys: Sequence[str] = (),
        columns: Sequence[str] | None = None,
    ):
        where = daily_slice(partition_column, partition_keys) if partition_column else None
        return self._store(key).read(table_for(key), columns=columns, where=where)

    def scan(
        self,
        key: dg.AssetKey,
        partition_column: str | None = None,
        partition_keys: Sequence[str] = (),
        columns: Sequence[str] | None = None,
    ):
        """The rows `read` gives, scanned lazily where the backend allows (see `TableStore.scan`)."""
        where = daily_slice(partition_column, partition_keys) if partition_column else None
        return self._store(key).scan(table_for(key), where=where, columns=columns)

    def table_schema(self, key: dg.AssetKey):  # `schema` is pydantic's (BaseModel.schema)
        return self._store(key).schema(table_for(key))

    def _store(self, key: dg.AssetKey):
        from dataplatform.storage import open_store

        return open_store(getattr(self, key.path[0]), self.data_dir, self.postgres_url, self.lake)


class PiiSecret(dg.ConfigurableResource):
    """The key of personal columns' pseudonyms, from `EnvVar("DATAPLATFORM_PII_SECRET")`: resolved
    when a run starts, never shown in the UI, a log or metadata."""

    secret: str


class DropZoneResource(dg.ConfigurableResource):
    """Where partners drop reference files. The sensor and the reference assets reach files only
    through `zone()`, so they run unchanged whichever subclass the deployment gives them."""

    def zone(self) -> DropZone:
        raise NotImplementedError(f"{type(self).__name__} must say where its drop folder is")


class LocalDropZone(DropZoneResource):
    """The drop folder on a local (or mounted) file system."""

    root: str

    def zone(self) -> DropZone:
        from dataplatform.ingest.dropzone import DropZone

        return DropZone(Path(self.root))


class S3DropZone(DropZoneResource):
    """The drop folder on a bucket prefix, `s3://bucket/prefix`; credentials come from the
    AWS_* variables of the process (never from here, so nothing secret is in the UI)."""

    uri: str

    def zone(self) -> DropZone:
        from dataplatform.ingest.s3_dropzone import bucket_zone

        return bucket_zone(self.uri)


def build_resources(settings: Settings) -> dict[str, object]:
    data_dir = str(settings.data_dir.resolve())
    files = {"data_dir": data_dir, "lake": settings.lake_root}
    backends = {layer: settings.layer_backend(layer) for layer in LAYERS}
    url = dg.EnvVar(POSTGRES_URL) if "postgres" in backends.values() else None
    resources: dict[str, object] = {"lakehouse": Lakehouse(postgres_url=url, **files, **backends)}
    for layer, backend in backends.items():
        resources[io_manager_key(layer)] = TableIOManager(backend=backend, url=url, **files)
    resources[io_manager_key("reference")] = TableIOManager(
        backend=settings.layer_backend("reference"), **files
    )
    resources["dropzone"] = dropzone_resource(settings.dropzone_root)
    if settings.pii_secret is not None:
        resources["pii"] = PiiSecret(secret=dg.EnvVar(SECRET_VARIABLE))
    return resources


def dropzone_resource(root: str) -> DropZoneResource:
    """The drop folder's resource for `root`: a bucket prefix (s3://) or a local folder."""
    from dataplatform.storage.lake import is_remote

    return S3DropZone(uri=root) if is_remote(root) else LocalDropZone(root=root)


def io_manager_key(layer: str) -> str:
    return f"{layer}_io_manager"
