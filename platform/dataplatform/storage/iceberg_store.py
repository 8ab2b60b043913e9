"""Iceberg tables (pyiceberg) in a SQLite catalog, `catalog.db`, offline.

Layout: the catalog `<lake>/iceberg/catalog.db` and each table's data and metadata files under
`<lake>/iceberg/<namespace>/<name>/`, the namespace being `<layer>_<domain>` (or the domain alone
for one layer's folder, as `dataplatform generate` writes it). For an s3:// lake the files go to
the bucket and the catalog stays local (see `catalogs.py`).

Every write is one Iceberg snapshot, committed by swapping the table's metadata pointer in the
catalog: a slice is replaced by an overwrite filtered to the slice's values, the whole table by
an unfiltered one, and columns added by the write are added in the same transaction. A killed
writer commits nothing (its files stay unreferenced); the previous snapshot stays readable and
is kept for time travel. Two writers committing at once: the catalog lets one win, and the other
starts again on top of it (`_COMMIT_ATTEMPTS`). Tables first written by slice are partitioned by
identity on the slice column.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dataplatform import filelock
from dataplatform.engine.scans import DEFAULT_BATCH_ROWS
from dataplatform.storage import lake
from dataplatform.storage.catalogs import catalog_place
from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableName,
    WholeTables,
    check_slice_covers,
    missing,
    tables_in_namespaces,
)
from dataplatform.storage.schema import WritePlan

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

    from dataplatform.storage.backends import Place, WriteOptions

CATALOG_FILE = "catalog.db"
_COMMIT_ATTEMPTS = 20

# pyiceberg's FileIO properties for the variables lake.delta_options reads from AWS_*; the
# endpoint's own scheme says whether it is plain HTTP
_FILE_IO_PROPERTIES = {
    "AWS_ACCESS_KEY_ID": "s3.access-key-id",
    "AWS_SECRET_ACCESS_KEY": "s3.secret-access-key",
    "AWS_SESSION_TOKEN": "s3.session-token",
    "AWS_REGION": "s3.region",
    "AWS_ENDPOINT_URL": "s3.endpoint",
}


def open_store(place: Place) -> IcebergStore:
    """Iceberg tables under `<lake>/iceberg`."""
    return IcebergStore(place.folder("iceberg"), place.data_dir, place.layer, place.options)


class IcebergStore(WholeTables):
    backend = "iceberg"

    def __init__(
        self, root: str, data_dir: Path, layer: str | None = None, options: WriteOptions | None = None
    ) -> None:
        self.place = catalog_place(root, data_dir)
        self.root, self.remote, self.layer = self.place.data_root, self.place.remote, layer
        self.properties = _table_properties(options)
        self._catalog: SqlCatalog | None = None

    def location(self, table: TableName) -> str:
        namespace, name = self._identifier(table)
        return self.place.describe(CATALOG_FILE, f"{namespace}.{name}")

    def uri(self, table: TableName) -> str:
        """Where the table's data and metadata files go: `<root>/<namespace>/<name>`."""
        return lake.join(self.root, *self._identifier(table))

    def exists(self, table: TableName) -> bool:
        catalog = self._open(create=False)
        return catalog is not None and bool(catalog.table_exists(self._identifier(table)))

    def schema(self, table: TableName) -> pa.Schema:
        return _arrow_schema(self._table(table).schema())

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        self._commit(table, data, replace, append=False)

    def append(self, table: TableName, data: pa.Table) -> None:
        self._commit(table, data, None, append=True)

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        stored = self._table(table)
        schema = _arrow_schema(stored.schema())
        wanted = _selected(schema, columns)
        data = _scan(stored, wanted, where, limit).to_arrow()
        return data.select(wanted.names).cast(wanted)

    def read_batches(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        stored = self._table(table)
        wanted = _selected(_arrow_schema(stored.schema()), columns)
        for batch in _scan(stored, wanted, where, None).to_arrow_batch_reader():
            for start in range(0, batch.num_rows, batch_rows):
                piece = pa.Table.from_batches([batch.slice(start, batch_rows)])
                yield from piece.select(wanted.names).cast(wanted).to_batches()

    def row_count(self, table: TableName) -> int:
        """Counted from the manifests' record counts: no data file is read."""
        return int(self._table(table).scan().count())

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        catalog = self._open(create=False)
        if catalog is None:
            return []
        rows = [
            (identifier[0], identifier[-1])
            for namespace in catalog.list_namespaces()
            for identifier in catalog.list_tables(namespace)
        ]
        return tables_in_namespaces(rows, layer, self.layer)

    def drop(self, table: TableName) -> None:
        """Remove the table from the catalog, then its files."""
        from pyiceberg.exceptions import NoSuchTableError

        catalog = self._open(create=False)
        if catalog is None:
            return
        try:
            folder = catalog.load_table(self._identifier(table)).location()
            catalog.drop_table(self._identifier(table))
        except NoSuchTableError:
            return
        lake.delete_folder(*lake.filesystem(folder.removeprefix("file://")))

    def _commit(self, table: TableName, data: pa.Table, replace: Slice | None, append: bool) -> None:
        """One snapshot: the schema evolved to fit `data`, then the overwrite or the append.
        A commit another writer got in first is started again on the table as it now is."""
        from pyiceberg.exceptions import CommitFailedException

        for attempt in range(_COMMIT_ATTEMPTS):
            stored = self._table(table) if self.exists(table) else None
            plan = WritePlan(table, _arrow_schema(stored.schema()) if stored else None, data)
            if replace is not None:
                check_slice_covers(table, plan.data, replace)
            if stored is None:
                stored = self._create(table, plan.schema, replace.column if replace else None)
            try:
                _write(stored, plan, replace, append, self.properties)
                return
            except CommitFailedException:
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise StorageError(
                        f"{table}: {_COMMIT_ATTEMPTS} commits in a row lost to other writers; try again"
                    ) from None
                time.sleep(0.05 * (attempt + 1))

    def _create(self, table: TableName, schema: pa.Schema, partition_column: str | None) -> Table:
        """Create the table empty (partitioned by `partition_column`), in one commit. Writers
        racing to create it: one wins, the others use the table it made."""
        from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError

        catalog = self._open(create=True)
        assert catalog is not None  # create=True opens or makes it
        identifier = self._identifier(table)
        catalog.create_namespace_if_not_exists(identifier[0])
        try:
            with catalog.create_table_transaction(identifier, schema=schema) as creating:
                if partition_column is not None:
                    with creating.update_spec() as spec:
                        spec.add_identity(partition_column)
        except (TableAlreadyExistsError, CommitFailedException):
            if not catalog.table_exists(identifier):
                raise
        return catalog.load_table(identifier)

    def _table(self, table: TableName) -> Table:
        from pyiceberg.exceptions import NoSuchTableError

        catalog = self._open(create=False)
        if catalog is None:
            raise missing(table, str(self.place.catalog_dir / CATALOG_FILE))
        try:
            return catalog.load_table(self._identifier(table))
        except NoSuchTableError:
            raise missing(table, str(self.place.catalog_dir / CATALOG_FILE)) from None
        except FileNotFoundError:
            raise StorageError(
                f"{self.location(table)} is in the catalog but its metadata is gone: "
                "drop it from the catalog or restore its files"
            ) from None

    def _identifier(self, table: TableName) -> tuple[str, str]:
        if self.layer is None:
            return (table.namespace, table.name)
        if table.layer != self.layer:
            raise StorageError(f"{table}: {self.root} holds {self.layer} tables only")
        return (table.domain, table.name)

    def _open(self, create: bool) -> SqlCatalog | None:
        """The SQLite catalog; opened only when it exists or a write needs it. Opening creates
        the catalog's tables when they are missing, by a check then a CREATE TABLE, so writers
        opening a new catalog at once take turns (one creates, the others find the tables) on
        a lock of the catalog's folder: a lock on the database file itself would be dropped with
        SQLite's own locks when closed."""
        from pyiceberg.catalog.sql import SqlCatalog

        path = self.place.catalog_dir / CATALOG_FILE
        if self._catalog is None and (create or path.exists()):
            path.parent.mkdir(parents=True, exist_ok=True)
            root = self.place.data_root
            warehouse = root if self.remote else Path(root).as_uri()
            with filelock.held(path.parent):
                self._catalog = SqlCatalog(
                    "dataplatform", uri=f"sqlite:///{path}", warehouse=warehouse, **file_io_properties(root)
                )
        return self._catalog


def _write(
    stored: Table, plan: WritePlan, replace: Slice | None, append: bool, properties: dict[str, str]
) -> None:
    with warnings.catch_warnings():  # an overwrite whose filter matches nothing yet is not news
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        with stored.transaction() as transaction:
            if properties:  # the table's write settings, for this write and those after it
                transaction.set_properties(properties)
            if plan.added:
                with transaction.update_schema() as update:
                    update.union_by_name(plan.schema)
            if append:
                transaction.append(plan.data)
            elif replace is None:
                transaction.overwrite(plan.data)
            else:
                transaction.overwrite(plan.data, overwrite_filter=_filter(replace))


def _table_properties(options: WriteOptions | None) -> dict[str, str]:
    """The Iceberg table properties pyiceberg writes its Parquet files by, for `options`. Rows
    per file cannot be set: Iceberg cuts files by size in bytes."""
    if options is None:
        return {}
    options.refuse("iceberg", "file_rows", "Iceberg cuts its files by size in bytes, not rows")
    properties = {}
    if options.compression is not None:
        codec = "uncompressed" if options.compression == "none" else options.compression
        properties["write.parquet.compression-codec"] = codec
    if options.row_group_rows is not None:
        properties["write.parquet.row-group-limit"] = str(options.row_group_rows)
    return properties


def _scan(stored: Table, wanted: pa.Schema, where: Slice | None, limit: int | None) -> Any:
    from pyiceberg.expressions import AlwaysTrue

    return stored.scan(
        row_filter=_filter(where) if where is not None else AlwaysTrue(),
        selected_fields=tuple(wanted.names),
        limit=limit,
    )


def _filter(where: Slice) -> BooleanExpression:
    """The slice as an Iceberg expression: values are bound as literals, never parsed from text."""
    from pyiceberg.expressions import EqualTo, In

    if len(where.values) == 1:
        return EqualTo(term=where.column, value=where.values[0])
    return In(term=where.column, literals=set(where.values))


def _selected(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    return pa.schema([schema.field(name) for name in columns]) if columns else schema


def _arrow_schema(schema: Schema) -> pa.Schema:
    """The table's Arrow schema as the platform writes it: pyiceberg reads strings and lists as
    their large Arrow forms and names list items `element`; every other backend gives `string`
    and `list<item>`, so a table's types never depend on its backend."""
    return pa.schema(
        [pa.field(f.name, _plain(f.type), f.nullable) for f in schema.as_arrow()]  # drops field ids
    )


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_binary(kind):
        return pa.binary()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pa.list_(_plain(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in kind])
    if pa.types.is_map(kind):
        return pa.map_(_plain(kind.key_type), _plain(kind.item_type))
    return kind


def file_io_properties(root: str) -> dict[str, str]:
    """The catalog's FileIO settings for tables under `root`: none on a local disk; on S3,
    pyiceberg's PyArrow FileIO with the AWS_* variables. They stay in this process: pyiceberg
    writes catalog properties neither to the catalog database nor to table metadata."""
    options = lake.delta_options(root)
    if options is None:
        return {}
    return {
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
        **{
            _FILE_IO_PROPERTIES[name]: value for name, value in options.items() if name in _FILE_IO_PROPERTIES
        },
    }
