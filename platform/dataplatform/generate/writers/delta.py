"""Delta Lake tables (delta-rs): a local folder or an S3-compatible URI.

A partition is replaced by a predicate overwrite, one commit: readers see the old partition or
the new one, and the table's history keeps every earlier version.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.generate.writers.base import Writer


class DeltaWriter(Writer):
    def __init__(self, output: str) -> None:
        self.root = output.rstrip("/") if "://" in output else str(Path(output).resolve())
        if "://" not in output and Path(self.root).is_file():
            raise GenerateError(f"{output} is a file; give a folder (it may not exist yet)")
        self.existing: set[tuple[str, str]] = set()

    def location(self, domain: str, table: str) -> str:
        return f"{self.root}/{domain}/{table}"

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        uri = self.location(domain, table)
        try:
            stored = DeltaTable(uri)
        except TableNotFoundError:
            local = Path(uri)
            if "://" not in uri and local.is_dir() and any(local.iterdir()):
                raise GenerateError(f"{uri} exists and is not a Delta table") from None
            return None
        self.existing.add((domain, table))
        return pa.schema(stored.schema().to_arrow())

    def write(self, domain: str, table: str, data: pa.Table, day: date | None) -> None:
        from deltalake import write_deltalake

        uri = self.location(domain, table)
        if day is None or (domain, table) not in self.existing:
            partition_by = [PARTITION_COLUMN] if day is not None else None
            write_deltalake(uri, data, mode="overwrite", partition_by=partition_by)
            self.existing.add((domain, table))
        else:
            # `day` is a date, so its ISO text is the only thing that can reach the predicate
            predicate = f"{PARTITION_COLUMN} = '{day.isoformat()}'"
            write_deltalake(uri, data, mode="overwrite", predicate=predicate)
