"""One IO manager over the storage contract; a resource key per layer picks its backend.

Partitioned assets write and read exactly their partitions' slice (asset metadata
`partition_column`); a consumer asking for every partition gets the whole table. With
`replace_on`, a write replaces only the batches it carries and keeps every other one, which
is how bronze stays append-only: a re-delivered batch replaces itself, a changed one is added.
Every write records row count, column schema, a preview and where the data is.
"""

from __future__ import annotations

import dagster as dg

from dataplatform.defs.metadata import table_metadata
from dataplatform.defs.tables import (
    PARTITION_COLUMN,
    REPLACE_ON,
    daily_slice,
    table_for,
)
from dataplatform.storage import Slice, open_store


class TableIOManager(dg.ConfigurableIOManager):
    backend: str
    data_dir: str

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        import pyarrow.compute as pc

        store = open_store(self.backend, self.data_dir)
        table = table_for(context.asset_key)
        metadata = context.definition_metadata or {}
        replace = None
        if REPLACE_ON in metadata:
            batches = tuple(pc.unique(obj.column(metadata[REPLACE_ON])).to_pylist())
            if batches:
                replace = Slice(metadata[REPLACE_ON], batches)
            elif store.exists(table):  # an empty delivery adds nothing to history
                context.add_output_metadata(table_metadata(obj, store.backend, store.location(table)))
                return
        elif context.has_asset_partitions:
            replace = daily_slice(metadata[PARTITION_COLUMN], context.asset_partition_keys)
        store.write(table, obj, replace)
        context.add_output_metadata(table_metadata(obj, store.backend, store.location(table)))

    def load_input(self, context: dg.InputContext):
        store = open_store(self.backend, self.data_dir)
        table = table_for(context.asset_key)
        columns = (context.definition_metadata or {}).get("columns")
        where = None
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            # An unpartitioned consumer asks for every partition: that is the whole table.
            if len(keys) < context.asset_partitions_def.get_num_partitions():
                column = context.upstream_output.definition_metadata[PARTITION_COLUMN]
                where = daily_slice(column, keys)
        return store.read(table, columns=columns, where=where)
