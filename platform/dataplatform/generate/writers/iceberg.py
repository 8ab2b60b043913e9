"""Iceberg tables (pyiceberg) in a SQLite catalog named `dataplatform`: `<output>/catalog.db`.

Daily tables are partitioned by identity on partition_date; a partition is replaced by an
overwrite filtered to that day, one snapshot, so the table's earlier snapshots stay readable.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import pyarrow as pa

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.generate.writers.base import Writer

CATALOG_FILE = "catalog.db"


class IcebergWriter(Writer):
    def __init__(self, output: str) -> None:
        self.root = Path(output.removeprefix("file://")).resolve()
        if self.root.is_file():
            raise GenerateError(f"{output} is a file; give a folder (it may not exist yet)")
        self._catalog = None

    def location(self, domain: str, table: str) -> str:
        return f"{self.root / CATALOG_FILE} table {domain}.{table}"

    def catalog(self, create: bool):
        """The SQLite catalog; opened only when it exists or a write needs it."""
        from pyiceberg.catalog.sql import SqlCatalog

        if self._catalog is None and (create or (self.root / CATALOG_FILE).exists()):
            self.root.mkdir(parents=True, exist_ok=True)
            self._catalog = SqlCatalog(
                "dataplatform", uri=f"sqlite:///{self.root / CATALOG_FILE}", warehouse=self.root.as_uri()
            )
        return self._catalog

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        catalog = self.catalog(create=False)
        if catalog is None or not catalog.table_exists((domain, table)):
            return None
        return catalog.load_table((domain, table)).schema().as_arrow()

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
                stored.overwrite(data, overwrite_filter=EqualTo(PARTITION_COLUMN, day.isoformat()))
