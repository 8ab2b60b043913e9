"""A DuckLake: `metadata.ducklake` (the catalog, a DuckDB file) and Parquet data files under `data/`.

For a local output both are in the output folder. For s3://bucket/prefix the data files go to
`s3://bucket/prefix/data/` through DuckDB's httpfs (the S3 secret of engine.s3), and the
catalog, which DuckDB must update in place, to a local folder (see catalog_place).

Each domain is a schema; a partition is replaced by a delete and an insert in one transaction,
which DuckLake commits as one snapshot.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb

from dataplatform.engine.identifiers import quote
from dataplatform.generate.export import PARTITION_COLUMN
from dataplatform.generate.writers.base import Writer
from dataplatform.generate.writers.catalog_place import catalog_place
from dataplatform.storage import lake

METADATA_FILE = "metadata.ducklake"
DATA_FOLDER = "data"
CATALOG = "lake"


class DuckLakeWriter(Writer):
    def __init__(self, output: str) -> None:
        self.place = catalog_place(output, "ducklake")
        self._connection: duckdb.DuckDBPyConnection | None = None

    def location(self, domain: str, table: str) -> str:
        return self.place.describe(METADATA_FILE, domain, table)

    def connection(self, create: bool):
        """DuckDB with the lake attached; attached only when it exists or a write needs it."""
        import duckdb

        from dataplatform.engine.extensions import load_extension
        from dataplatform.engine.identifiers import string_literal
        from dataplatform.engine.s3 import duckdb_secret

        path = self.place.catalog_dir / METADATA_FILE
        if self._connection is None and (create or path.exists()):
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect()
            load_extension(connection, "ducklake")
            if self.place.remote:
                duckdb_secret(connection)
            connection.execute("SET TimeZone = 'UTC'")
            metadata = string_literal(f"ducklake:{path}")
            data = string_literal(f"{lake.join(self.place.data_root, DATA_FOLDER)}/")
            connection.execute(f"ATTACH {metadata} AS {CATALOG} (DATA_PATH {data})")
            self._connection = connection
        return self._connection

    def _qualified(self, domain: str, table: str) -> str:
        return f"{CATALOG}.{quote(domain)}.{quote(table)}"

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        connection = self.connection(create=False)
        if connection is None or not self._known(connection, domain, table):
            self.place.refuse_unknown_files(METADATA_FILE, DATA_FOLDER, domain, table)
            return None
        return (
            connection.execute(f"SELECT * FROM {self._qualified(domain, table)} LIMIT 0")
            .to_arrow_table()
            .schema
        )

    def write(self, domain: str, table: str, data: pa.Table, day: date | None) -> None:
        connection = self.connection(create=True)
        target = self._qualified(domain, table)
        connection.register("incoming", data)
        try:
            connection.execute("BEGIN")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.{quote(domain)}")
            if not self._known(connection, domain, table):
                connection.execute(f"CREATE TABLE {target} AS SELECT * FROM incoming LIMIT 0")
                if day is not None:
                    connection.execute(
                        f"ALTER TABLE {target} SET PARTITIONED BY ({quote(PARTITION_COLUMN)})"
                    )
            if day is None:
                connection.execute(f"DELETE FROM {target}")
            else:
                connection.execute(
                    f"DELETE FROM {target} WHERE {quote(PARTITION_COLUMN)} = ?", [day]
                )
            connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.unregister("incoming")

    def _known(self, connection, domain: str, table: str) -> bool:
        found = connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [CATALOG, domain, table],
        ).fetchone()
        return bool(found and found[0])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
