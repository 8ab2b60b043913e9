"""Iceberg tables (pyiceberg) in a SQLite catalog named `dataplatform`, `catalog.db`.

For a local output the catalog and the tables share the output folder. For s3://bucket/prefix
the tables (data and metadata files) go to the bucket through pyiceberg's PyArrow FileIO, and
the catalog, which SQLite must update in place, to a local folder (see catalog_place).

Daily tables are partitioned by identity on partition_date; a partition is replaced by an
overwrite filtered to that day, one snapshot, so the table's earlier snapshots stay readable.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.generate.writers.base import Writer
from dataplatform.generate.writers.catalog_place import catalog_place
from dataplatform.storage import lake

CATALOG_FILE = "catalog.db"

# pyiceberg's FileIO properties for the variables lake.delta_options reads from AWS_*; the
# endpoint's own scheme says whether it is plain HTTP
_FILE_IO_PROPERTIES = {
    "AWS_ACCESS_KEY_ID": "s3.access-key-id",
    "AWS_SECRET_ACCESS_KEY": "s3.secret-access-key",
    "AWS_SESSION_TOKEN": "s3.session-token",
    "AWS_REGION": "s3.region",
    "AWS_ENDPOINT_URL": "s3.endpoint",
}


class IcebergWriter(Writer):
    def __init__(self, output: str) -> None:
        self.place = catalog_place(output, "iceberg")
        self._catalog: SqlCatalog | None = None

    def location(self, domain: str, table: str) -> str:
        return self.place.describe(CATALOG_FILE, domain, table)

    def catalog(self, create: bool):
        """The SQLite catalog; opened only when it exists or a write needs it."""
        from pyiceberg.catalog.sql import SqlCatalog

        path = self.place.catalog_dir / CATALOG_FILE
        if self._catalog is None and (create or path.exists()):
            path.parent.mkdir(parents=True, exist_ok=True)
            root = self.place.data_root
            warehouse = root if self.place.remote else Path(root).as_uri()
            self._catalog = SqlCatalog(
                "dataplatform", uri=f"sqlite:///{path}", warehouse=warehouse, **file_io_properties(root)
            )
        return self._catalog

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        catalog = self.catalog(create=False)
        if catalog is None or not catalog.table_exists((domain, table)):
            self.place.refuse_unknown_files(CATALOG_FILE, domain, table)
            return None
        try:
            return catalog.load_table((domain, table)).schema().as_arrow()
        except FileNotFoundError:
            raise GenerateError(
                f"{self.location(domain, table)} is in the catalog but its metadata is gone: "
                "remove the catalog or write to another output"
            ) from None

    def write(self, domain: str, table: str, data: pa.Table, day: date | None) -> None:
        from pyiceberg.expressions import EqualTo

        catalog = self.catalog(create=True)
        if not catalog.table_exists((domain, table)):
            catalog.create_namespace_if_not_exists(domain)
            stored = catalog.create_table((domain, table), schema=data.schema)
            if day is not None:
                with stored.update_spec() as spec:
                    spec.add_identity(PARTITION_COLUMN)
        stored = catalog.load_table((domain, table))
        with warnings.catch_warnings():  # a first write's delete matches nothing: not news
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            if day is None:
                stored.overwrite(data)
            else:
                stored.overwrite(data, overwrite_filter=EqualTo(term=PARTITION_COLUMN, value=day.isoformat()))


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
