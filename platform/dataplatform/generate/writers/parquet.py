"""Parquet files through fsspec: a local folder or an S3-compatible URI.

A partition is one file, `<table>/partition_date=<day>/part-0.parquet` (Hive style: the
partition column lives in the folder name, not the file). It is written under a temporary name
and renamed into place, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import uuid
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from dataplatform.generate.export import PARTITION_COLUMN, GenerateError
from dataplatform.generate.writers.base import Writer

FILE = "part-0.parquet"


class ParquetWriter(Writer):
    def __init__(self, output: str) -> None:
        import fsspec

        self.output = output
        try:
            self.fs, self.root = fsspec.core.url_to_fs(output)
        except ImportError:
            raise GenerateError(f"{output} needs s3fs: pip install 'dataplatform[s3]'") from None
        except ValueError as error:  # a protocol fsspec does not know
            raise GenerateError(f"{output}: {error}") from None
        if self.fs.isfile(self.root):
            raise GenerateError(f"{output} is a file; give a folder (it may not exist yet)")

    def location(self, domain: str, table: str) -> str:
        return f"{self.output.rstrip('/')}/{domain}/{table}"

    def _folder(self, domain: str, table: str) -> str:
        return f"{self.root.rstrip('/')}/{domain}/{table}"

    def existing_schema(self, domain: str, table: str, partitioned: bool) -> pa.Schema | None:
        folder = self._folder(domain, table)
        if not self.fs.exists(folder):
            return None
        files = sorted(path for path in self.fs.find(folder) if path.endswith(f"/{FILE}"))
        if not files:
            if self.fs.ls(folder):
                raise GenerateError(f"{self.location(domain, table)} exists and holds no {FILE}: not ours")
            return None
        hive = any(f"/{PARTITION_COLUMN}=" in path for path in files)
        with self.fs.open(files[0], "rb") as file:
            schema = pq.read_schema(file)
        return schema.append(pa.field(PARTITION_COLUMN, pa.date32())) if hive else schema

    def write(self, domain: str, table: str, data: pa.Table, day: date | None) -> None:
        folder = self._folder(domain, table)
        if day is not None:
            folder = f"{folder}/{PARTITION_COLUMN}={day.isoformat()}"
            data = data.drop_columns([PARTITION_COLUMN])
        self.fs.makedirs(folder, exist_ok=True)
        staged = f"{folder}/.{FILE}.{uuid.uuid4().hex}.tmp"  # no reader's *.parquet glob matches it
        try:
            with self.fs.open(staged, "wb") as file:
                pq.write_table(data, file, compression="zstd")
            self.fs.mv(staged, f"{folder}/{FILE}")
        finally:
            if self.fs.exists(staged):
                self.fs.rm(staged)
