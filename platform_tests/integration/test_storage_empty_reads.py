"""Reading a table (or a slice) that holds no rows gives an empty table of its schema, on every backend."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dataplatform.storage import Slice, TableName, open_store

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("tags", pa.list_(pa.string()))])


@pytest.fixture(params=["parquet", "delta", "duckdb", "postgres"])
def store(request, tmp_path):
    url = request.getfixturevalue("postgres_database") if request.param == "postgres" else None
    return open_store(request.param, tmp_path, url)


def test_an_empty_table_reads_back_empty_with_its_schema(store):
    table = TableName("silver", "emptiness", "things")
    store.write(table, SCHEMA.empty_table())
    assert store.read(table).num_rows == 0
    assert sum(b.num_rows for b in store.read_batches(table)) == 0
    store.write(table, pa.table({"id": [1], "name": ["a"], "tags": [["x"]]}, schema=SCHEMA))
    none = store.read(table, where=Slice("id", [2]))
    assert none.num_rows == 0 and none.schema.names == SCHEMA.names
    assert sum(b.num_rows for b in store.read_batches(table, where=Slice("id", [2]))) == 0
