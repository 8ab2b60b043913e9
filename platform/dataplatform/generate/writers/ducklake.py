"""A DuckLake: `<output>/metadata.ducklake` (the catalog, a DuckDB file) and Parquet data files.

Each domain is a schema; a partition is replaced by a delete and an insert in one transaction,
which DuckLake commits as one snapshot.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.generate.writers.base import Writer
from dataplatform.storage.contract import quote_identifier

METADATA_FILE = "metadata.ducklake"
CATALOG = "lake"


class DuckLakeWriter(Writer):
    def __init__(self, output: str) -> None:
        self.root = Path(output.removeprefix("file://")).resolve()
        if self.root.is_file():
            raise GenerateError(f"{output} is a file; give a folder (it may not exist yet)")
        self._connection = None

    def location(self, domain: str, table: str) -> str:
        return f"{self.root / METADATA_FILE} table {domain}.{table}"

    def connection(self, create: bool):
        """DuckDB with the lake attached; attached only when it exists or a write needs it."""
        import duckdb

        from dataplatform.storage.duckdb_extensions import load_extension, string_literal

        if self._connection is None and (create or (self.root / METADATA_FILE).exists()):
            self.root.mkdir(parents=True, exist_ok=True)
            connection = duckdb.connect()
            load_extension(connection, "ducklake")
            connection.execute("SET TimeZone = 'UTC'")
            metadata = string_literal(f"ducklake:{self.root / METADATA_FILE}")
            data = string_literal(f"{self.root / 'data'}/")
            connection.execute(f"ATTACH {metadata} AS {CATALOG} (DATA_PATH {data})")
            self._connection = connection
        return self._connection

    def _qualified(self, domain: str, table: str) -> str:
        return f"{CATALOG}.{quote_identifier(domain)}.{quote_identifier(table)}"

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        connection = self.connection(create=False)
        if connection is None:
            return None
        found = connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [CATALOG, domain, table],
        ).fetchone()
        if not found or not found[0]:
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
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.{quote_identifier(domain)}")
            if self.existing_schema(domain, table, day is not None) is None:
                connection.execute(f"CREATE TABLE {target} AS SELECT * FROM incoming LIMIT 0")
                if day is not None:
                    connection.execute(
                        f"ALTER TABLE {target} SET PARTITIONED BY ({quote_identifier(PARTITION_COLUMN)})"
                    )
            if day is None:
                connection.execute(f"DELETE FROM {target}")
            else:
                connection.execute(
                    f"DELETE FROM {target} WHERE {quote_identifier(PARTITION_COLUMN)} = ?", [day]
                )
            connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM incoming")
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.unregister("incoming")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
