"""The content hash of a dataset version: SHA-256 over its splits' rows as stored, in stored order.

Why the rows and not the split files: a Parquet file's bytes depend on who wrote it (pyarrow or
DuckDB, its row groups cut by the machine's core count, the library's version in its footer),
and the PostgreSQL store has no files at all; the same data must give the same hash on every
machine and in both stores. Why stored order and not a sorted one: `load` returns rows in that
order and a seeded model depends on it, so two orders are two versions; sorting would also cost
a sort of every split.

What is hashed, per split (in name order) and per column: its name and type, the positions of
its empty values, and its values as Arrow holds them (fixed-width values as their bytes, text
and binary as their lengths and their bytes). Each part is its own SHA-256 stream, so how
DuckDB cuts the rows into batches changes nothing. The columns of a batch are hashed side by
side on threads (hashlib and Arrow release the GIL).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from _hashlib import HASH  # what hashlib.sha256() returns

BATCH_ROWS = 256 * 1024
# Arrow's spellings of text and binary, by what they hold: a column's type is named by this.
TEXT_TYPES = {
    pa.string(): "string",
    pa.large_string(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
}
TEXT_KINDS = {"string": "", "binary": b""}  # and what an empty value is hashed as


class _ColumnHash:
    """One column's streams; each sees the column's rows in order, however they were batched."""

    def __init__(self, field: pa.Field) -> None:
        value_type = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        self.header = f"{field.name}\0{TEXT_TYPES.get(value_type, str(value_type))}\0"
        self.rows = 0
        self.nulls: HASH = hashlib.sha256()
        self.lengths: HASH = hashlib.sha256()
        self.values: HASH = hashlib.sha256()

    def update(self, values: pa.Array) -> None:
        if not len(values):
            return
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        kind = _kind(values.type)
        empty = values.is_null() if values.null_count else None
        if empty is not None:
            positions = pc.indices_nonzero(empty).to_numpy() + self.rows
            self.nulls.update(positions.astype("<u8").tobytes())
            if kind in TEXT_KINDS:  # what an empty slot holds must not reach the hash
                values = values.fill_null(TEXT_KINDS[kind])
        self.rows += len(values)
        if kind in TEXT_KINDS:
            self.lengths.update(pc.binary_length(values).to_numpy().astype("<u8").tobytes())
            wide = values.type in (pa.large_string(), pa.large_binary())
            offsets = np.frombuffer(values.buffers()[1], "<i8" if wide else "<i4")
            start, end = offsets[values.offset], offsets[values.offset + len(values)]
            if end > start:
                self.values.update(memoryview(values.buffers()[2])[start:end])
        elif kind == "boolean":
            self.values.update(values.fill_null(False).cast(pa.uint8()).to_numpy().tobytes())
        elif kind == "fixed":
            width = values.type.bit_width // 8
            data = np.frombuffer(
                values.buffers()[1], np.uint8, count=len(values) * width, offset=values.offset * width
            )
            if empty is not None:
                data = data.reshape(len(values), width).copy()
                data[empty.to_numpy(zero_copy_only=False)] = 0
            self.values.update(data.data)  # the array's bytes (as a memoryview)
        else:  # nested or unusual values (lists, structs from JSON): each as JSON text, one a line
            for value in values.to_pylist():
                self.values.update(json.dumps(value, default=str, sort_keys=True).encode() + b"\n")

    def digest(self) -> bytes:
        whole = hashlib.sha256(f"{self.header}{self.rows}\0".encode())
        for part in (self.nulls, self.lengths, self.values):
            whole.update(part.digest())
        return whole.digest()


def content_hash(con: duckdb.DuckDBPyConnection, splits: dict[str, str]) -> str:
    """The hash of the splits (split name -> SQL reference in `con`), as 64 hexadecimal digits."""
    whole = hashlib.sha256()
    with ThreadPoolExecutor() as pool:
        for split in sorted(splits):
            whole.update(f"{split}\0".encode())
            reader = con.execute(f"SELECT * FROM {splits[split]}").to_arrow_reader(BATCH_ROWS)
            columns = [_ColumnHash(field) for field in reader.schema]
            for batch in reader:
                list(pool.map(_ColumnHash.update, columns, batch.columns))
            for column in columns:
                whole.update(column.digest())
    return whole.hexdigest()


def _kind(data_type: pa.DataType) -> str:
    """How a type's values are hashed: string or binary (lengths and bytes), boolean (bits), fixed
    (bytes of a fixed width) or other."""
    if data_type in TEXT_TYPES:
        return TEXT_TYPES[data_type]
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "fixed"
    if pa.types.is_date(data_type) or pa.types.is_time(data_type) or pa.types.is_timestamp(data_type):
        return "fixed"
    if pa.types.is_duration(data_type) or pa.types.is_fixed_size_binary(data_type):
        return "fixed"
    return "other"
