"""Silver: one declarative spec per table, compiled into a single DuckDB query.

The spec says what each column should be (type, normalisation, parsing), which columns are
required, which rules rows must satisfy and what to do when they do not, and the business key.
The query casts and normalises, flags every repair in `_quality_flags`, and drops rows that
cannot be trusted with a reason. Deliveries are snapshots (a whole day, or all master data), so
silver holds the latest batch: rows of older batches are `superseded` (mixing versions key by
key would pair new orders with stale items), and copies of a key within the batch are
`duplicate`, a valid copy winning over an invalid one. Dropped rows come back as a
quarantine table holding the row as delivered, so silver plus quarantine account for every
bronze row, and every silver row keeps its bronze `_checksum`, which ties it to the row as
delivered (the defect scorecard traces keys this way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dataplatform.transform.sql import connect, quote

if TYPE_CHECKING:
    import pyarrow as pa

Normalise = Literal["trim", "lower", "upper"]
ROW = "__bronze_row"  # a bronze row's position while silver judges it; never stored


@dataclass(frozen=True)
class Column:
    """An output column: its DuckDB type, and how the delivered text is normalised first."""

    type: str
    normalise: Normalise | None = None


@dataclass(frozen=True)
class Rule:
    """`valid` is a SQL condition over cleaned columns. Failing rows are dropped, or, with
    `nullify`, keep the row with that column set to null. Either way the rule name is recorded."""

    name: str
    valid: str
    nullify: str | None = None


@dataclass(frozen=True)
class SilverSpec:
    key: tuple[str, ...]
    columns: dict[str, Column]
    required: tuple[str, ...] = ()
    flag_missing: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    partition_column: str | None = None
    # defect kinds silver passes on untouched for gold to find (a spike is a fact about a
    # device, not a broken row); the defect scorecard does not hold silver to them
    passes_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class SilverResult:
    table: pa.Table
    quarantine: pa.Table
    rows_in: int
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def metrics(self) -> dict[str, float | int]:
        """Pipeline metrics for the materialisation: in, out, dropped by reason, speed."""
        out = {
            "rows_in": self.rows_in,
            "rows_out": self.table.num_rows,
            "rows_dropped": sum(self.dropped.values()),
            "duration_s": round(self.seconds, 4),
            "rows_per_s": round(self.rows_in / self.seconds) if self.seconds else 0,
        }
        out.update({f"dropped_{reason}": n for reason, n in sorted(self.dropped.items())})
        return out


def clean(bronze: pa.Table, spec: SilverSpec) -> SilverResult:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    started = time.perf_counter()
    # Rows are judged by their position in bronze: the quarantine takes dropped rows from bronze
    # as they are, so the judging query never carries (and sorts) a copy of every delivered row.
    numbered = bronze.append_column(ROW, pa.array(np.arange(bronze.num_rows, dtype=np.int64)))
    with connect(bronze=numbered) as con:
        delivered = con.execute("SELECT * EXCLUDE (" + quote(ROW) + ") FROM bronze LIMIT 0").to_arrow_table()
        con.execute(f"CREATE TEMP TABLE judged AS {_judge_sql(spec)}")
        columns = ", ".join(quote(c) for c in spec.columns)
        table = con.execute(
            f"SELECT {columns}, _quality_flags, _batch_id, _ingested_at, _checksum FROM judged "
            "WHERE _drop_reason IS NULL"
        ).to_arrow_table()
        dropped_rows = con.execute(
            f"SELECT {quote(ROW)}, _drop_reason FROM judged WHERE _drop_reason IS NOT NULL ORDER BY 1"
        ).to_arrow_table()
    quarantine = _as_delivered(bronze.take(dropped_rows.column(0)), delivered.schema).append_column(
        "_drop_reason", dropped_rows.column(1)
    )
    counts = pc.value_counts(dropped_rows.column(1)).to_pylist() if dropped_rows.num_rows else []
    dropped = {c["values"]: c["counts"] for c in counts}
    return SilverResult(table, quarantine, bronze.num_rows, dropped, time.perf_counter() - started)


def _as_delivered(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """Bronze rows with the types DuckDB gives them, as the quarantine has always held them."""
    if rows.schema.equals(schema):
        return rows
    import pyarrow as pa

    return pa.Table.from_arrays([rows.column(f.name).cast(f.type) for f in schema], schema=schema)


def _judge_sql(spec: SilverSpec) -> str:
    """Three steps: clean each column; apply rules and pick a drop reason; rank by key."""
    cleaned, raw_flags = [], []
    for name, column in spec.columns.items():
        raw = f"b.{quote(name)}"
        expr = raw
        if column.normalise == "trim":
            expr = f"trim({raw})"
        elif column.normalise in ("lower", "upper"):
            expr = f"{column.normalise}(trim({raw}))"
        typed = f"TRY_CAST({expr} AS {column.type})"
        cleaned.append(f"{typed} AS {quote(name)}")
        if column.normalise:
            raw_flags.append(f"CASE WHEN {expr} IS DISTINCT FROM {raw} THEN 'normalised_{name}' END")
        cleaned.append(f"({raw} IS NOT NULL AND {typed} IS NULL) AS {quote('_unparseable_' + name)}")

    nullified = {r.nullify: r for r in spec.rules if r.nullify}
    outputs = [
        f"CASE WHEN coalesce({nullified[c].valid}, false) THEN {quote(c)} END AS {quote(c)}"
        if c in nullified
        else quote(c)
        for c in spec.columns
    ]
    later_flags = [
        f"CASE WHEN NOT coalesce({r.valid}, false) THEN '{r.name}' END" for r in nullified.values()
    ] + [f"CASE WHEN {quote(c)} IS NULL THEN 'missing_{c}' END" for c in spec.flag_missing]
    flags = f"list_concat(_raw_flags, [{', '.join(later_flags) or 'NULL::VARCHAR'}])"
    reasons = [
        f"WHEN {quote(c)} IS NULL AND {quote('_unparseable_' + c)} THEN 'unparseable_{c}'"
        for c in spec.required
    ]
    reasons += [f"WHEN {quote(c)} IS NULL THEN 'missing_{c}'" for c in spec.required]
    reasons += [f"WHEN NOT coalesce({r.valid}, false) THEN '{r.name}'" for r in spec.rules if not r.nullify]
    reason_expr = f"CASE {' '.join(reasons)} END" if reasons else "NULL::VARCHAR"
    key = ", ".join(quote(k) for k in spec.key)
    row = quote(ROW)
    return f"""
        WITH cleaned AS (
            SELECT {", ".join(cleaned)},
                   [{", ".join(raw_flags) or "NULL::VARCHAR"}] AS _raw_flags,
                   b._batch_id, b._ingested_at, b._checksum, b.{row}
            FROM bronze AS b
        ), ruled AS (
            SELECT {", ".join(outputs)}, list_filter({flags}, f -> f IS NOT NULL) AS _quality_flags,
                   {reason_expr} AS _drop_reason,
                   _batch_id, _ingested_at, _checksum, {row}
            FROM cleaned
        )
        SELECT * EXCLUDE (_drop_reason, _rank, _latest),
               CASE WHEN NOT _latest THEN 'superseded'
                    ELSE coalesce(_drop_reason, CASE WHEN _rank > 1 THEN 'duplicate' END) END AS _drop_reason
        FROM (
            SELECT *,
                   _batch_id IS NOT DISTINCT FROM (
                       SELECT _batch_id FROM ruled ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1
                   ) AS _latest,
                   row_number() OVER (
                       PARTITION BY _batch_id, {key} ORDER BY _drop_reason IS NOT NULL, _checksum
                   ) AS _rank
            FROM ruled
        )
    """
