"""The IO manager: one thin adapter over the storage contract, for every registered backend.

`TableIOManager(backend=...)` opens the store the backend registry (`storage/backends.py`)
builds for that name, so a backend added to the registry has its IO manager with no code here.

Partitioned assets write and read exactly their partitions' slice (asset metadata
`partition_column`); a consumer asking for every partition gets the whole table. With
`replace_on`, a write replaces only the batches it carries and keeps every other one, which
is how bronze stays append-only: a re-delivered batch replaces itself, a changed one is added.
An asset may hand over an Arrow table, a `pa.RecordBatchReader`, a DuckDB query's `SqlRows`
or a `Streamed`; streams are written a batch at a time, and a query's rows as the store does
best (Delta lets DuckDB write its files). Input metadata `columns` reads only those columns;
`scan` hands the asset the slice as `TableStore.scan` gives it (DuckDB's own Delta or Parquet
reader where the backend allows), so a DuckDB transform reads it without the whole table ever
being in memory. Every write records row count, column schema, a preview and where the data is
(never a credential). A gold write through a file-based store then publishes the table's
read-only snapshot (`storage/snapshots.py`), which the REST API serves without ever opening the
warehouse; gold in PostgreSQL is read from PostgreSQL itself.
"""

from __future__ import annotations

import dagster as dg

from dataplatform.defs.metadata import PREVIEW_ROWS, table_metadata
from dataplatform.defs.tables import PARTITION_COLUMN, REPLACE_ON, SCAN, Streamed, daily_slice, table_for
from dataplatform.engine.scans import SqlRows, as_reader
from dataplatform.settings import STORAGE_BACKENDS
from dataplatform.storage import Slice, TableStore, open_store


class TableIOManager(dg.ConfigurableIOManager):
    """Tables in the store of `backend`: a file backend's under the lake (`lake`, a local
    folder or an s3:// URI; default `<data_dir>/lake`) or in `data_dir`, PostgreSQL's at `url`
    (given as `EnvVar("DATAPLATFORM_POSTGRES_URL")`, so it is never shown). Gold written to a
    file backend publishes its read-only snapshot under `data_dir`."""

    backend: str
    data_dir: str = ""
    lake: str | None = None
    url: str | None = None

    def store(self) -> TableStore:
        return open_store(self.backend, self.data_dir, self.url, self.lake)

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        store = self.store()
        table = table_for(context.asset_key)
        metadata = context.definition_metadata or {}
        if isinstance(obj, (pa.RecordBatchReader, SqlRows)):
            obj = Streamed(obj)
        replace = None
        if REPLACE_ON in metadata:
            if isinstance(obj, Streamed):
                batches = obj.batches
            else:
                batches = tuple(pc.unique(obj.column(metadata[REPLACE_ON])).to_pylist())
            if batches:
                replace = Slice(metadata[REPLACE_ON], batches)
            elif store.exists(table):  # an empty delivery adds nothing to history
                empty = as_reader(obj.reader).read_all() if isinstance(obj, Streamed) else obj
                context.add_output_metadata(table_metadata(empty, store.backend, store.location(table)))
                return
        elif context.has_asset_partitions:
            replace = daily_slice(metadata[PARTITION_COLUMN], context.asset_partition_keys)
        if isinstance(obj, Streamed):
            rows, preview = _write_streamed(store, table, obj.reader, replace)
            context.add_output_metadata(
                table_metadata(preview, store.backend, store.location(table), rows=rows)
            )
        else:
            store.write(table, obj, replace)
            context.add_output_metadata(table_metadata(obj, store.backend, store.location(table)))
        if table.layer == "gold" and STORAGE_BACKENDS[self.backend].in_files:
            from dataplatform.storage.snapshots import publish, snapshot_root

            publish(store, table, snapshot_root(self.data_dir))

    def load_input(self, context: dg.InputContext):
        store = self.store()
        table = table_for(context.asset_key)
        metadata = context.definition_metadata or {}
        where = None
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            # An unpartitioned consumer asks for every partition: that is the whole table.
            if len(keys) < context.asset_partitions_def.get_num_partitions():
                upstream = context.upstream_output
                assert upstream is not None  # an asset's input always has its upstream output
                column = upstream.definition_metadata[PARTITION_COLUMN]
                where = daily_slice(column, keys)
        if metadata.get(SCAN):
            return store.scan(table, where=where)
        return store.read(table, columns=metadata.get("columns"), where=where)


def _write_streamed(store: TableStore, table, rows, replace: Slice | None):
    """Write a stream or a query's rows; returns the rows written and a preview of the first."""
    if isinstance(rows, SqlRows):
        preview = rows.head(PREVIEW_ROWS)  # DuckDB stops once it has them
        return store.write_stream(table, rows, replace), preview
    reader, head = _first_rows(rows, PREVIEW_ROWS)
    written = store.write_stream(table, reader, replace)
    return written, head[0] if head else reader.schema.empty_table()


def _first_rows(reader, rows: int):
    """The stream again, and a list that holds a copy of its first `rows` rows once they passed:
    the preview of a streamed write, without reading the table back (a few rows of a Delta
    table through Arrow's scanner read whole files ahead, 1.4 GB at 12M rows)."""
    import pyarrow as pa

    head: list[pa.Table] = []

    def batches():
        for batch in reader:
            if not head and batch.num_rows:
                head.append(pa.Table.from_pylist(batch.slice(0, rows).to_pylist(), batch.schema))  # a copy
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches()), head
