"""The Parquet store writes a stream a batch at a time, on disk and on a real S3 server
(SeaweedFS, `platform_tests/s3.py`): the table reads back as `write` of the same rows leaves it,
a stream that fails half way leaves the previous version and not one file more, and the stream
is never held in memory whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from dataplatform.storage import Slice, StorageError, TableName
from dataplatform.storage.lake import filesystem, join
from dataplatform.storage.parquet_object_store import ParquetObjectStore
from dataplatform.storage.parquet_store import ParquetStore
from dataplatform.storage.schema import SchemaMismatch
from platform_tests.integration.test_storage_contract import every_type

D1, D2, D3 = date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)
PART_ROWS = 700  # small enough that a partition's rows rotate through several part files
BATCH_ROWS = 128


@pytest.fixture(params=["parquet", "parquet-s3"])
def store(request, tmp_path) -> ParquetStore:
    if request.param == "parquet-s3":
        return ParquetObjectStore(join(request.getfixturevalue("s3_lake"), "parquet"), part_rows=PART_ROWS)
    return ParquetStore(tmp_path / "lake" / "parquet", part_rows=PART_ROWS)


def days(*days: date, rows: int = 1_000) -> pa.Table:
    """`rows` rows of every type per day, ids unique across the days."""
    return pa.concat_tables(
        every_type(day, list(range(i * rows, (i + 1) * rows))) for i, day in enumerate(days)
    )


def batches(data: pa.Table, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """`data` as a stream of small batches, days interleaved: rows in id order, cut every
    `rows` rows, shuffled by a fixed stride so most batches hold rows of several days."""
    order = pa.array([(i * 7919) % data.num_rows for i in range(data.num_rows)])
    shuffled = data.take(order)
    return pa.RecordBatchReader.from_batches(data.schema, shuffled.to_batches(max_chunksize=rows))


def all_files(store: ParquetStore) -> set[str]:
    """Every file under the lake root, hidden staging areas and unfinished versions included."""
    fs, base = filesystem(str(store.root))
    listed = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return {info.path for info in listed if info.type == pafs.FileType.File}


def layout(store: ParquetStore, table: TableName) -> tuple[list[str], pa.Schema, dict[str, int]]:
    """What readers go by: the partition folders, the schema file, and the rows of each file."""
    fs, path = filesystem(store.uri(table))
    listed = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    folders = sorted(i.base_name for i in listed if i.type == pafs.FileType.Directory and "=" in i.base_name)
    schema_file = pq.read_schema(f"{path}/_common_metadata", filesystem=fs)
    files = {f: pq.read_metadata(f, filesystem=fs).num_rows for f in store.dataset(table).files}
    return folders, schema_file, files


def sorted_read(store: ParquetStore, table: TableName, where: Slice | None = None) -> pa.Table:
    return store.read(table, where=where).sort_by("id")


@pytest.mark.parametrize(
    "replace",
    [None, Slice("partition_date", (D1,)), Slice("partition_date", (D1, D2, D3))],
    ids=["whole", "one slice", "three slices"],
)
def test_a_stream_of_many_batches_reads_back_as_a_write_of_the_same_rows(store, replace):
    data = days(D1) if replace is not None and len(replace.values) == 1 else days(D1, D2, D3)
    streamed, written = TableName("landing", "shop", "streamed"), TableName("landing", "shop", "written")
    store.write(written, data, replace)

    assert store.write_stream(streamed, batches(data), replace) == data.num_rows

    assert sorted_read(store, streamed).equals(sorted_read(store, written))
    assert store.schema(streamed) == store.schema(written) == data.schema
    for where in (Slice("partition_date", (D1,)), Slice("partition_date", (D2, D3))):
        assert sorted_read(store, streamed, where).equals(sorted_read(store, written, where))
    folders, schema_file, files = layout(store, streamed)
    assert (folders, schema_file) == layout(store, written)[:2]
    per_unit = len(data) // max(1, len(folders)) if replace else len(data)
    assert len(files) == -(-per_unit // PART_ROWS) * max(1, len(folders))  # rotated, none empty
    assert max(files.values()) == PART_ROWS and sum(files.values()) == data.num_rows


def test_a_stream_replaces_its_slices_and_leaves_the_others(store):
    table = TableName("landing", "shop", "orders")
    store.write(table, days(D1, D2, D3, rows=50), Slice("partition_date", (D1, D2, D3)))
    kept = sorted_read(store, table, Slice("partition_date", (D3,)))
    new = days(D1, rows=900)  # D2 gets no rows: the stream empties it, as `write` does

    store.write_stream(table, batches(new), Slice("partition_date", (D1, D2)))

    assert sorted_read(store, table, Slice("partition_date", (D1, D2))).equals(new)
    assert sorted_read(store, table, Slice("partition_date", (D3,))).equals(kept)
    assert layout(store, table)[0] == ["partition_date=2026-03-10", "partition_date=2026-03-12"]


def failing(data: pa.Table, after: int, error: Exception) -> pa.RecordBatchReader:
    """`data`'s batches, then `error` once `after` batches have been taken."""

    def pulled() -> Iterator[pa.RecordBatch]:
        for number, batch in enumerate(batches(data)):
            if number == after:
                raise error
            yield batch

    return pa.RecordBatchReader.from_batches(data.schema, pulled())


@pytest.mark.parametrize("replace", [None, Slice("partition_date", (D1, D2))], ids=["whole", "two slices"])
def test_a_stream_that_raises_half_way_leaves_the_previous_version_and_no_file(store, replace):
    table = TableName("landing", "shop", "orders")
    store.write(table, days(D1, D2, rows=10), replace)
    previous, before = sorted_read(store, table), all_files(store)
    data = days(D1, D2)

    with pytest.raises(RuntimeError, match="source went away"):
        # 12 of the 16 batches: more than PART_ROWS rows in each unit, so files were finished
        store.write_stream(table, failing(data, 12, RuntimeError("source went away")), replace)

    assert sorted_read(store, table).equals(previous)
    assert all_files(store) == before


def test_a_stream_with_rows_outside_its_slice_in_a_late_batch_writes_nothing(store):
    table = TableName("landing", "shop", "orders")
    store.write(table, days(D2, rows=10), Slice("partition_date", (D2,)))
    before = all_files(store)
    late_stray = pa.concat_tables([days(D1), every_type(D3, [99_999])])
    reader = pa.RecordBatchReader.from_batches(late_stray.schema, late_stray.to_batches(BATCH_ROWS))

    with pytest.raises(StorageError, match="1 rows have partition_date outside"):
        store.write_stream(table, reader, Slice("partition_date", (D1, D2)))

    assert all_files(store) == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda b: b.set_column(0, "id", pc.cast(b["id"], pa.string())), "'id' would change type"),
        (lambda b: b.append_column("extra", pa.array([1] * b.num_rows)), r"columns \['extra'\]"),
    ],
    ids=["changed type", "undeclared column"],
)
def test_a_batch_that_does_not_fit_the_table_is_refused_and_nothing_is_written(store, bad, message):
    table = TableName("landing", "shop", "orders")
    store.write(table, days(D1, rows=10))
    before = all_files(store)
    data = days(D1)
    pieces = [pa.Table.from_batches([b]) for b in batches(data)]
    pieces[5] = bad(pieces[5])

    def pulled() -> Iterator[pa.RecordBatch]:
        for piece in pieces:
            yield from piece.to_batches()

    with pytest.raises(SchemaMismatch, match=message):
        store.write_stream(table, pa.RecordBatchReader.from_batches(data.schema, pulled()))

    assert all_files(store) == before and store.row_count(table) == 10


def test_an_empty_stream_is_an_empty_write(store):
    whole, sliced = TableName("landing", "shop", "whole"), TableName("landing", "shop", "sliced")
    empty = every_type(D1, [])
    store.write_stream(whole, pa.RecordBatchReader.from_batches(empty.schema, []))
    assert store.exists(whole) and store.row_count(whole) == 0 and store.schema(whole) == empty.schema

    store.write(sliced, days(D1, D2, rows=5), Slice("partition_date", (D1, D2)))
    written = store.write_stream(
        sliced, pa.RecordBatchReader.from_batches(empty.schema, []), Slice("partition_date", (D1,))
    )
    assert written == 0
    assert sorted_read(store, sliced).equals(days(D1, D2, rows=5).filter(pc.field("partition_date") == D2))


MIB = 2**20
STREAM_BATCHES = 64
STREAM_BATCH_ROWS = 65_536  # 3 columns of 8 bytes: 1.5 MiB a batch, 96 MiB in all


@pytest.mark.parametrize("replace", [None, Slice("day", (D1, D2))], ids=["whole", "two slices"])
def test_the_stream_is_never_held_whole(store, replace):
    """The batches are made by Arrow's allocator as they are pulled, so any the store kept would
    count, and the store gets no chance to read ahead. What Arrow holds stops growing once each
    open file has its buffers (Parquet's encoders; on S3 also the upload's part buffer): after the
    first 16 of 64 batches it never exceeds what it held by then plus one batch, and it stays far
    below the stream. Part files are finished while the stream is still being read."""
    store.part_rows = 4 * STREAM_BATCH_ROWS
    table = TableName("landing", "shop", "big")
    schema = pa.schema([("id", pa.int64()), ("amount", pa.float64()), ("day", pa.date32())])
    baseline = pa.total_allocated_bytes()
    allocated, files_seen = [], []

    def pulled() -> Iterator[pa.RecordBatch]:
        for number in range(STREAM_BATCHES):
            allocated.append(pa.total_allocated_bytes() - baseline)
            files_seen.append(len({f for f in all_files(store) if f.endswith(".parquet")}))
            ids = pc.cast(pc.multiply(pc.random(STREAM_BATCH_ROWS), 1e12), pa.int64(), safe=False)
            day = pa.repeat(pa.scalar(D1 if number % 2 else D2, pa.date32()), STREAM_BATCH_ROWS)
            yield pa.record_batch([ids, pc.random(STREAM_BATCH_ROWS), day], schema=schema)

    written = store.write_stream(table, pa.RecordBatchReader.from_batches(schema, pulled()), replace)

    batch_bytes, stream_bytes = STREAM_BATCH_ROWS * 24, STREAM_BATCHES * STREAM_BATCH_ROWS * 24
    held = f"held {max(allocated[:16]) / MIB:.1f} MiB, then up to {max(allocated) / MIB:.1f} MiB"
    assert max(allocated[16:]) <= max(allocated[:16]) + batch_bytes, held
    assert max(allocated) < stream_bytes / 2, held
    assert files_seen[STREAM_BATCHES // 2] >= 4  # files of 4 batches each, half way through
    assert written == store.row_count(table) == STREAM_BATCHES * STREAM_BATCH_ROWS
