"""Resources: the lakehouse (every layer's store, for checks and the CLI) and the IO managers."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from dataplatform.defs.io_managers import TableIOManager
from dataplatform.defs.tables import daily_slice, table_for
from dataplatform.settings import Settings

LAYERS = ("landing", "bronze", "silver", "gold")


class Lakehouse(dg.ConfigurableResource):
    """Reads any asset's table from the backend its layer is configured on."""

    data_dir: str
    landing: str
    bronze: str
    silver: str
    gold: str

    def read(
        self,
        key: dg.AssetKey,
        partition_column: str | None = None,
        partition_keys: Sequence[str] = (),
        columns: Sequence[str] | None = None,
    ):
        from dataplatform.storage import open_store

        store = open_store(getattr(self, key.path[0]), self.data_dir)
        where = daily_slice(partition_column, partition_keys) if partition_column else None
        return store.read(table_for(key), columns=columns, where=where)


def build_resources(settings: Settings) -> dict[str, object]:
    data_dir = str(settings.data_dir.resolve())
    backends = {layer: settings.layer_backend(layer) for layer in LAYERS}
    resources: dict[str, object] = {"lakehouse": Lakehouse(data_dir=data_dir, **backends)}
    for layer, backend in backends.items():
        resources[io_manager_key(layer)] = TableIOManager(backend=backend, data_dir=data_dir)
    return resources


def io_manager_key(layer: str) -> str:
    return f"{layer}_io_manager"
