"""Bronze: data as delivered, plus where and when it came from.

Every row gets `_checksum` (an md5 of the whole row), and the batch gets `_batch_id`,
`_ingested_at` and `_source`. The batch id is an md5 of the multiset of row checksums: the row
count and the sums of each checksum's md5 halves as integers, so it depends neither on row
order nor on holding every checksum at once (a sorted concatenation of 12 million checksums is
one 400 MB string). The batch id depends only on
content, so delivering the same batch again replaces it instead of appending a copy, while a
changed delivery is appended beside the old one: append-only history without duplicates.

The row checksum is `md5(to_json(row))` in DuckDB (UTC session): the row as a JSON object of
column name to value, so it is content-based, tells a null from an empty string, and is the
same in any process. The batch id needs every checksum before the first row can carry it, so
the stamped rows wait in a compressed DuckDB working table (`sql.working_tables`, on disk beyond the
connection's memory limit) and leave it as a stream: a day larger than memory passes through.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dataplatform.engine.sql import connect, one_row, stream, working_tables

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.engine.scans import Scannable, SqlRows

LINEAGE_COLUMNS = ("_batch_id", "_ingested_at", "_source", "_checksum")
# an aggregate over `_checksum`: the batch id (the sums cannot overflow a HUGEINT below 2^63 rows)
BATCH_ID = (
    "left(md5(count(*) || ':' || coalesce(sum(md5_number_lower(_checksum)::HUGEINT), 0) || ':' "
    "|| coalesce(sum(md5_number_upper(_checksum)::HUGEINT), 0)), 16)"
)


@dataclass(frozen=True)
class Stamped:
    """A stamped delivery: its batch id and size are known before its rows are read."""

    batch_id: str | None  # None for an empty delivery
    rows: int
    stamped: SqlRows


@contextmanager
def stamped(landing: Scannable, source: str, ingested_at: datetime) -> Iterator[Stamped]:
    """Stamp a delivery (an Arrow table or dataset); its rows stream while the block is open."""
    with connect(landing=landing) as con, working_tables(con, "landing") as work:
        table = work.create("stamped", "SELECT *, md5(to_json(landing)) AS _checksum FROM landing")
        rows, batch = one_row(con, f"SELECT count(*), {BATCH_ID} FROM {table}")
        con.execute("SET VARIABLE batch_id = ?", [batch])
        con.execute("SET VARIABLE ingested_at = ?::TIMESTAMPTZ", [ingested_at])
        con.execute("SET VARIABLE source = ?", [source])
        yield Stamped(
            batch if rows else None,
            rows,
            stream(
                con,
                "SELECT * EXCLUDE (_checksum), getvariable('batch_id') AS _batch_id, "
                "getvariable('ingested_at') AS _ingested_at, getvariable('source') AS _source, _checksum "
                f"FROM {table}",
            ),
        )


def with_batch_metadata(landing: Scannable, source: str, ingested_at: datetime) -> pa.Table:
    """The whole stamped delivery as one Arrow table (for callers that hold it in memory anyway)."""
    with stamped(landing, source, ingested_at) as delivery:
        return delivery.stamped.read_all()
