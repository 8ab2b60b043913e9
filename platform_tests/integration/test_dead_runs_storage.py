"""A writer killed during a table's first write (SIGKILL, no cleanup): the Delta store creates the
table empty before it writes the first slice, so a kill after that leaves a table with no rows,
there for every reader and filled by the next write; a kill while creating it leaves no table."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date

import pyarrow as pa
import pytest

from dataplatform.engine.sql import rows_of
from dataplatform.storage import Slice, StorageError, TableName, open_store

TABLE = TableName("silver", "killed", "readings")
SCHEMA = pa.schema([("partition_date", pa.date32()), ("value", pa.int64())])
DAY = date(2026, 3, 10)
ROWS = pa.table({"partition_date": [DAY, DAY], "value": [1, 2]}, schema=SCHEMA)

# The first write of a day to a new table, from a stream that says when its first batch is asked
# for (the table is created by then) and waits there to be killed.
WRITER = """
import sys
from datetime import date

import pyarrow as pa

from dataplatform.storage import Slice, TableName, open_store

schema = pa.schema([("partition_date", pa.date32()), ("value", pa.int64())])


def batches():
    print("writing", flush=True)
    sys.stdin.readline()
    yield pa.record_batch([pa.array([date(2026, 3, 10)], pa.date32()), pa.array([1])], schema=schema)


store = open_store("delta", sys.argv[1])
reader = pa.RecordBatchReader.from_batches(schema, batches())
store.write_stream(TableName("silver", "killed", "readings"), reader, Slice("partition_date", (date(2026, 3, 10),)))
"""


def test_a_table_created_before_its_first_write_is_there_with_no_rows_after_a_kill(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing", "the writer ended before it was killed"
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    store = open_store("delta", tmp_path)
    assert store.exists(TABLE)
    assert TABLE in store.list_tables("silver")
    assert store.schema(TABLE) == SCHEMA
    empty = store.read(TABLE)
    assert empty.num_rows == 0 and empty.schema == SCHEMA
    assert store.row_count(TABLE) == 0
    assert rows_of(store.scan(TABLE)) == 0  # DuckDB's Delta reader too
    assert store.read(TABLE, where=Slice("partition_date", (DAY,))).num_rows == 0

    store.write(TABLE, ROWS, Slice("partition_date", (DAY,)))  # the next run of the day
    assert store.read(TABLE).sort_by("value").equals(ROWS)


def test_a_table_whose_creation_was_killed_is_no_table_and_the_next_write_creates_it(tmp_path):
    """What delta-rs leaves when killed creating a table (traced: it makes `_delta_log`, writes the
    first commit as `00000000000000000000.json#1`, then links it into place): a log with no version,
    which no reader can open. It must not pass for a table, or every later write fails on it."""
    store = open_store("delta", tmp_path)
    log = store.folder(TABLE) / "_delta_log"
    log.mkdir(parents=True)
    (log / "00000000000000000000.json#1").write_text('{"commitInfo":')

    assert not store.exists(TABLE)
    assert store.list_tables("silver") == []
    with pytest.raises(StorageError, match="no such table"):
        store.read(TABLE)

    store.write(TABLE, ROWS, Slice("partition_date", (DAY,)))
    assert store.read(TABLE).sort_by("value").equals(ROWS)
    assert store.list_tables("silver") == [TABLE]
