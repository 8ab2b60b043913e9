"""A generated day handed over one table at a time while it is generated a chunk at a time.

A store writes one table at a time (`TableStore.write_stream`), but a generator makes all of a
day's tables together, chunk by chunk (`day_chunks`). So the largest table streams straight
from the generator as its chunks are made, while the other tables and the defect record are
written to Parquet files in a spool folder; once that stream has been read to its end, each of
them is read back a batch at a time. Memory holds one chunk and a batch, never the day; the
spool costs the smaller tables one more write and read (for an e-commerce day, orders and
defects: about a third of its bytes).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from dataplatform.synthetic.batch import GeneratedBatch

SPOOL_BATCH_ROWS = 262_144
SPOOL_COMPRESSION = "lz4"  # written once, read once, on local disk: speed over size


class Delivery:
    """The tables of chunked generated data, each as a stream of batches, in the order given by
    `streams()`; the defect record comes under `defects_name`. Rows per table, defects per kind
    and the seconds spent generating are known once every stream has been read."""

    def __init__(self, chunks: Iterable[GeneratedBatch], spool: Path, defects_name: str) -> None:
        """`spool` is an empty folder the caller removes afterwards."""
        self._chunks = iter(chunks)
        self._spool = spool
        self._defects_name = defects_name
        self.rows: Counter[str] = Counter()
        self.defect_kinds: Counter[str] = Counter()
        self.seconds = 0.0
        self.finished = False  # whether the generated stream has been read to its end

    def streams(self) -> Iterator[tuple[str, pa.RecordBatchReader]]:
        """(table name, its rows) for every table, the one generated as it is read first. Read
        each to its end before asking for the next: the others exist only once it has been."""
        started = time.perf_counter()
        first = next(self._chunks)  # a generator yields one chunk at least, empty or not
        schemas = {name: table.schema for name, table in self._named(first).items()}
        direct = max(first.tables.items(), key=lambda named: named[1].nbytes)[0]
        spooled = {name: self._spool / f"{name}.parquet" for name in schemas if name != direct}

        def generated(chunk: GeneratedBatch | None) -> Iterator[pa.RecordBatch]:
            writers = {
                name: pq.ParquetWriter(path, schemas[name], compression=SPOOL_COMPRESSION)
                for name, path in spooled.items()
            }
            try:
                while chunk is not None:
                    tables = {name: _conformed(t, schemas[name]) for name, t in self._named(chunk).items()}
                    for name, table in tables.items():
                        self.rows[name] += table.num_rows
                        if name in writers:
                            writers[name].write_table(table)
                    for kinds in pc.value_counts(chunk.defects.column("kind")).to_pylist():
                        self.defect_kinds[kinds["values"]] += kinds["counts"]
                    yield from tables.pop(direct).to_batches()
                    tables.clear()
                    chunk = next(self._chunks, None)  # the chunk before is let go here
            finally:
                for writer in writers.values():
                    writer.close()
            self.seconds = time.perf_counter() - started
            self.finished = True

        stream = generated(first)
        del first  # held by the stream alone, until it has passed
        yield direct, pa.RecordBatchReader.from_batches(schemas[direct], stream)
        if not self.finished:
            raise RuntimeError(
                f"the stream of {direct} was not read to its end: the other tables are incomplete"
            )
        for name, path in spooled.items():
            yield name, _read_back(path, schemas[name])

    def _named(self, chunk: GeneratedBatch) -> dict[str, pa.Table]:
        return {**chunk.tables, self._defects_name: chunk.defects}


def _conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Every chunk in the schema of the first (a generator's chunks share it; this says so)."""
    if table.schema.equals(schema):
        return table
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
        raise ValueError(f"a chunk's schema differs from the first chunk's: {error}") from None


def _read_back(path: Path, schema: pa.Schema) -> pa.RecordBatchReader:
    """The spooled table a batch at a time, in the schema it was written with (Parquet keeps
    the Arrow schema; the cast only says so)."""

    def batches() -> Iterator[pa.RecordBatch]:
        with pq.ParquetFile(path, pre_buffer=False) as file:
            for batch in file.iter_batches(batch_size=SPOOL_BATCH_ROWS):
                yield batch if batch.schema.equals(schema) else batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
