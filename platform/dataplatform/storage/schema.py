"""Schema evolution, the same for every backend.

A write may add columns (they join the table as nullable) and may leave out nullable columns
(they read back as null). It may not change a column's type or leave out a required
(non-nullable) column: those break readers downstream, so the write is refused before anything
is written, with the table, the column and both types named.
"""

from __future__ import annotations

import pyarrow as pa

from dataplatform.storage.contract import StorageError, TableName


class SchemaMismatch(StorageError):
    """The data does not fit the table's schema in a way evolution allows."""


def evolve(table: TableName, existing: pa.Schema, incoming: pa.Schema) -> pa.Schema:
    """The table's schema once `incoming` is written: existing columns, then new ones."""
    incoming = normalise(incoming)
    for field in incoming:
        if field.name not in existing.names or pa.types.is_null(field.type):
            continue
        old = existing.field(field.name).type
        if old != field.type:
            raise SchemaMismatch(
                f"{table}: column {field.name!r} would change type from {old} to {field.type}; "
                "write it under a new name or drop the table first"
            )
    for field in existing:
        if field.name not in incoming.names and not field.nullable:
            raise SchemaMismatch(
                f"{table}: required column {field.name!r} ({field.type}) is missing from the data"
            )
    added = [f.with_nullable(True) for f in incoming if f.name not in existing.names]
    return pa.schema([*existing, *added])


def conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """`data` with exactly the columns of `schema`, in its order; absent columns as nulls."""
    data = data.cast(normalise(data.schema)) if data.schema != normalise(data.schema) else data
    columns = [
        data.column(f.name).cast(f.type) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def normalise(schema: pa.Schema) -> pa.Schema:
    """Timestamps in microseconds, whatever unit they arrive in: the unit every backend keeps
    (Parquet has no seconds, Delta and PostgreSQL no nanoseconds), so a table's type never
    depends on which backend wrote it last."""
    fields = [
        f.with_type(pa.timestamp("us", f.type.tz))
        if pa.types.is_timestamp(f.type) and f.type.unit != "us"
        else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


class WritePlan:
    """What a backend writes: the data conformed to the table's schema after this write."""

    def __init__(self, table: TableName, existing: pa.Schema | None, data: pa.Table) -> None:
        self.schema = evolve(table, existing, data.schema) if existing is not None else normalise(data.schema)
        self.added = [f for f in self.schema if existing is not None and f.name not in existing.names]
        self.data = conform(data, self.schema)
