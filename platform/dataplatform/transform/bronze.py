"""Bronze: data as delivered, plus where and when it came from.

Every row gets `_checksum` (an md5 of the whole row), and the batch gets `_batch_id` (an md5
of its sorted row checksums), `_ingested_at` and `_source`. The batch id depends only on
content, so delivering the same batch again replaces it instead of appending a copy, while a
changed delivery is appended beside the old one: append-only history without duplicates.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from dataplatform.transform.sql import connect

LINEAGE_COLUMNS = ("_batch_id", "_ingested_at", "_source", "_checksum")


def with_batch_metadata(landing: pa.Table, source: str, ingested_at: datetime) -> pa.Table:
    with connect(landing=landing) as con:
        con.execute(
            "CREATE TEMP TABLE stamped AS SELECT landing.*, md5(to_json(landing)) AS _checksum FROM landing"
        )
        batch = con.execute(
            "SELECT md5(coalesce(string_agg(_checksum, '' ORDER BY _checksum), '')) FROM stamped"
        ).fetchone()[0]
        return con.execute(
            "SELECT * EXCLUDE (_checksum), ?::VARCHAR AS _batch_id, ?::TIMESTAMPTZ AS _ingested_at, "
            "?::VARCHAR AS _source, _checksum FROM stamped",
            [batch[:16], ingested_at, source],
        ).to_arrow_table()
