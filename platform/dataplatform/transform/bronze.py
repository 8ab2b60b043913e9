"""Bronze: data as delivered, plus where and when it came from.

Every row gets `_checksum` (an md5 of the whole row), and the batch gets `_batch_id` (an md5
of its sorted row checksums), `_ingested_at` and `_source`. The batch id depends only on
content, so delivering the same batch again replaces it instead of appending a copy, while a
changed delivery is appended beside the old one: append-only history without duplicates.

The row checksum is `md5(to_json(row))` in DuckDB (UTC session): the row as a JSON object of
column name to value, so it is content-based, tells a null from an empty string, and is the
same in any process. Only the checksums go through DuckDB: the delivered columns are passed
on as they are (cast only where DuckDB's Arrow types differ, e.g. seconds to microseconds),
so bronze costs one pass over the data instead of a copy into DuckDB and another out of it.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from dataplatform.transform.sql import connect

LINEAGE_COLUMNS = ("_batch_id", "_ingested_at", "_source", "_checksum")


def with_batch_metadata(landing: pa.Table, source: str, ingested_at: datetime) -> pa.Table:
    with connect(landing=landing) as con:
        # the types the rows would have after a round trip through DuckDB, as bronze always had
        delivered = con.execute("SELECT * FROM landing LIMIT 0").to_arrow_table().schema
        checksums = (
            con.execute("SELECT md5(to_json(landing)) AS _checksum FROM landing").to_arrow_table().column(0)
        )
        con.register("checksums", pa.table({"_checksum": checksums}))
        batch = con.execute(
            "SELECT md5(coalesce(string_agg(_checksum, '' ORDER BY _checksum), '')) FROM checksums"
        ).fetchone()[0]
        ingested = con.execute("SELECT ?::TIMESTAMPTZ AS t", [ingested_at]).to_arrow_table().column(0)[0]
    rows = landing.num_rows
    columns = [
        landing.column(f.name)
        if landing.schema.field(f.name).type == f.type
        else landing.column(f.name).cast(f.type)
        for f in delivered
    ]
    lineage = [
        pa.repeat(pa.scalar(batch[:16], pa.string()), rows),
        pa.repeat(ingested, rows),
        pa.repeat(pa.scalar(source, pa.string()), rows),
        checksums,
    ]
    return pa.Table.from_arrays([*columns, *lineage], names=[*delivered.names, *LINEAGE_COLUMNS])
