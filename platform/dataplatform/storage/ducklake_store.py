"""A DuckLake: the catalog `metadata.ducklake` (a DuckDB file) and Parquet data files under `data/`.

Layout: `<lake>/ducklake/metadata.ducklake` and `<lake>/ducklake/data/<schema>/<table>/`, the
schema being `<layer>_<domain>` (or the domain alone for one layer's folder, as `dataplatform
generate` writes it). For an s3:// lake the data files go to the bucket through DuckDB's httpfs
(the S3 secret of engine.s3) and the catalog, which DuckDB updates in place, stays local (see
`catalogs.py`).

It is the DuckDB backend's SQL against another database: every write is one transaction (a
slice is replaced by DELETE and INSERT) that DuckLake commits as one snapshot, so a killed
writer commits nothing and earlier snapshots stay readable. Tables first written by slice are
partitioned by the slice column. The catalog is a DuckDB file: one process writes it at a time
and the others wait for its lock (`DuckDBStore._connect`), so writers of one lake take turns
as the warehouse's do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.engine.identifiers import quote
from dataplatform.storage import lake
from dataplatform.storage.catalogs import catalog_place
from dataplatform.storage.contract import Slice, StorageError, TableName
from dataplatform.storage.duckdb_store import DuckDBStore

if TYPE_CHECKING:
    import duckdb

    from dataplatform.storage.backends import Place, WriteOptions

METADATA_FILE = "metadata.ducklake"
DATA_FOLDER = "data"
CATALOG = "lake"


def open_store(place: Place) -> DuckLakeStore:
    """A DuckLake under `<lake>/ducklake`."""
    return DuckLakeStore(place.folder("ducklake"), place.data_dir, place.layer, place.options)


class DuckLakeStore(DuckDBStore):
    backend = "ducklake"

    def __init__(
        self, root: str, data_dir: Path, layer: str | None = None, options: WriteOptions | None = None
    ) -> None:
        self.place = catalog_place(root, data_dir)
        self.root, self.remote, self.layer = self.place.data_root, self.place.remote, layer
        self.settings = _lake_options(options)
        super().__init__(self.place.catalog_dir / METADATA_FILE)

    def location(self, table: TableName) -> str:
        return self.place.describe(METADATA_FILE, self._qualified(table))

    def uri(self, table: TableName) -> str:
        """Where the table's data files go: `<root>/data/<schema>/<table>`."""
        return lake.join(self.root, DATA_FOLDER, self._namespace(table), table.name)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """DuckDB in memory with the lake attached as its default catalog."""
        from dataplatform.engine.extensions import connect
        from dataplatform.engine.identifiers import string_literal
        from dataplatform.engine.s3 import duckdb_secret

        connection = connect("ducklake", *(["httpfs"] if self.place.remote else []))
        try:
            if self.place.remote:
                duckdb_secret(connection)
            metadata = string_literal(f"ducklake:{self.path}")
            data = string_literal(f"{lake.join(self.place.data_root, DATA_FOLDER)}/")
            options = f"DATA_PATH {data}" + (", READ_ONLY" if read_only else "")
            connection.execute(f"ATTACH {metadata} AS {CATALOG} ({options})")
            connection.execute(f"USE {CATALOG}")
            if not read_only:  # kept in the catalog: the lake's files are written so from now on
                for name, value in self.settings.items():
                    connection.execute(f"CALL {CATALOG}.set_option(?, ?)", [name, value])
        except BaseException:
            connection.close()
            raise
        return connection

    def _namespace(self, table: TableName) -> str:
        if self.layer is None:
            return table.namespace
        if table.layer != self.layer:
            raise StorageError(f"{table}: {self.place.data_root} holds {self.layer} tables only")
        return table.domain

    def _partition(self, con: duckdb.DuckDBPyConnection, target: str, replace: Slice | None) -> None:
        if replace is not None:
            con.execute(f"ALTER TABLE {target} SET PARTITIONED BY ({quote(replace.column)})")


def _lake_options(options: WriteOptions | None) -> dict[str, str]:
    """DuckLake's options for `options` (DuckDB's Parquet writer rounds row groups up to whole
    vectors of 2,048 rows). Rows per file cannot be set: DuckLake cuts files by size in bytes."""
    if options is None:
        return {}
    options.refuse("ducklake", "file_rows", "DuckLake cuts its files by size in bytes, not rows")
    settings = {}
    if options.compression is not None:
        codec = "uncompressed" if options.compression == "none" else options.compression
        settings["parquet_compression"] = codec
    if options.row_group_rows is not None:
        settings["parquet_row_group_size"] = str(options.row_group_rows)
    return settings
