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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dataplatform.engine.identifiers import quote
from dataplatform.engine.sql import connect, one_row, stream, working_tables
from dataplatform.transform.pii import Drop, PiiRule, bind_secret, masked, masked_star, pseudonymised

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.engine.scans import Scannable, SqlRows

Normalise = Literal["trim", "lower", "upper"]
ROW = "__row"  # a judged row's position while silver judges it; never stored
DELIVERED = "__delivered"  # a row as delivered, kept while silver judges it for the quarantine


@dataclass(frozen=True)
class Column:
    """An output column: its DuckDB type, how the delivered text is normalised first, and, for
    personal data, the rule that masks it in silver (see `transform/pii.py`)."""

    type: str
    normalise: Normalise | None = None
    pii: PiiRule | None = None


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
    # text columns whose values may look like an e-mail address or a phone number without
    # being personal data: the personal-data check leaves them alone
    safe: tuple[str, ...] = ()

    @property
    def needs_secret(self) -> bool:
        """Whether a column's rule needs `DATAPLATFORM_PII_SECRET`."""
        return bool(pseudonymised(self.personal))

    @property
    def personal(self) -> dict[str, PiiRule]:
        """Each personal column's rule."""
        return {name: c.pii for name, c in self.columns.items() if c.pii is not None}

    @property
    def output_columns(self) -> list[str]:
        """The columns silver writes: every declared one but those dropped as personal data."""
        return [name for name, c in self.columns.items() if not isinstance(c.pii, Drop)]

    def personal_data_unchecked(self) -> tuple[str, ...]:
        """Text columns of silver the personal-data check scans: not masked, not declared safe."""
        return tuple(
            name
            for name, c in self.columns.items()
            if c.pii is None and c.type == "VARCHAR" and name not in self.safe
        )


@dataclass(frozen=True)
class SilverResult:
    table: pa.Table
    quarantine: pa.Table
    rows_in: int
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def metrics(self) -> dict[str, float | int]:
        return _metrics(self.rows_in, self.table.num_rows, self.dropped, self.seconds)


@dataclass(frozen=True)
class Judged:
    """A judged delivery: counts known, silver rows and quarantined rows to be streamed out."""

    rows_in: int
    dropped: dict[str, int]
    batches: tuple[str, ...]  # the bronze batches the kept rows come from
    seconds: float
    kept: SqlRows
    quarantine: SqlRows

    @property
    def rows_out(self) -> int:
        return self.rows_in - sum(self.dropped.values())

    @property
    def metrics(self) -> dict[str, float | int]:
        return _metrics(self.rows_in, self.rows_out, self.dropped, self.seconds)


def _metrics(rows_in: int, rows_out: int, dropped: dict[str, int], seconds: float) -> dict[str, float | int]:
    """Pipeline metrics for the materialisation: in, out, dropped by reason, speed."""
    out = {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_dropped": sum(dropped.values()),
        "duration_s": round(seconds, 4),
        "rows_per_s": round(rows_in / seconds) if seconds else 0,
    }
    out.update({f"dropped_{reason}": n for reason, n in sorted(dropped.items())})
    return out


def clean(bronze: Scannable, spec: SilverSpec, secret: str | None = None) -> SilverResult:
    """Silver and quarantine of `bronze` as whole tables (see `judged` to stream them)."""
    with judged(bronze, spec, secret) as result:
        table, quarantine = result.kept.read_all(), result.quarantine.read_all()
        return SilverResult(table, quarantine, result.rows_in, result.dropped, result.seconds)


@contextmanager
def judged(bronze: Scannable, spec: SilverSpec, secret: str | None = None) -> Iterator[Judged]:
    """Judge every row of `bronze` (an Arrow table or dataset, or a `SqlScan`); while the block is
    open, the kept rows and the dropped rows (as delivered, with `_drop_reason`) stream out of
    DuckDB.

    One pass over the delivery finds the keys with copies (an aggregate over the cleaned keys),
    a second cleans and rules every row into a temporary table (spilling beyond the memory
    limit). A row keeps its delivered form (a struct) only when the quarantine may need it:
    dropped by a rule, superseded, or one of several copies. So the delivery is never copied
    whole, and the copies of a key are ranked among themselves, not by a sort of every row.
    The dropped rows (a few percent) are set aside as they are counted, so the quarantine, its
    preview and the counts never judge the day again. Personal columns are masked as both
    stream out (`secret` keys the pseudonyms), after the rules and the copies were judged on
    the values in clear."""
    started = time.perf_counter()
    with connect(delivered=bronze) as con, working_tables(con, "delivered") as work:
        bind_secret(con, secret, pseudonymised(spec.personal))
        con.execute(
            "SET VARIABLE latest = "
            "(SELECT _batch_id FROM delivered ORDER BY _ingested_at DESC, _batch_id DESC LIMIT 1)"
        )
        con.execute(f"CREATE TEMP TABLE copied AS {_copied_sql(spec)}")
        ruled = work.create("ruled", _judge_sql(spec))
        con.execute(f"CREATE TEMP TABLE losers AS {_losers_sql(spec, ruled)}")
        row = quote(ROW)
        con.execute(
            "CREATE TEMP VIEW judged AS SELECT r.* EXCLUDE (__copied) REPLACE (coalesce(r._drop_reason, "
            f"CASE WHEN l.{row} IS NOT NULL THEN 'duplicate' END) AS _drop_reason), r.rowid AS {row} "
            f"FROM {ruled} AS r LEFT JOIN losers AS l ON r.rowid = l.{row}"
        )
        rows_in = one_row(con, f"SELECT count(*) FROM {ruled}")[0]
        quarantined = work.create(
            "quarantined",
            f"SELECT {DELIVERED}.*, _drop_reason, {row} FROM judged WHERE _drop_reason IS NOT NULL",
        )
        dropped = dict(
            con.execute(f"SELECT _drop_reason, count(*) FROM {quarantined} GROUP BY 1 ORDER BY 1").fetchall()
        )
        # every kept row is of the latest batch: any other is superseded
        latest = one_row(con, "SELECT getvariable('latest')")[0]
        batches = (latest,) if latest is not None and rows_in > sum(dropped.values()) else ()
        seconds = time.perf_counter() - started
        columns = ", ".join(
            masked(name, column.pii) if column.pii else quote(name)
            for name, column in spec.columns.items()
            if name in spec.output_columns
        )
        yield Judged(
            rows_in,
            dropped,
            batches,
            seconds,
            kept=stream(
                con,
                f"SELECT {columns}, _quality_flags, _batch_id, _ingested_at, _checksum FROM judged "
                "WHERE _drop_reason IS NULL",
            ),
            quarantine=stream(con, f"SELECT {_as_delivered(spec)} FROM {quarantined} ORDER BY {row}"),
        )


def _as_delivered(spec: SilverSpec) -> str:
    """The quarantine's columns: each row as delivered, its personal columns masked (from the
    delivered text: a row dropped as unparseable may have no cleaned value) or left out."""
    return masked_star(spec.personal, excluded=[quote(ROW)])


def _cleaned(name: str, column: Column) -> tuple[str, str]:
    """A column's delivered value (from the delivery aliased `b`) and its cleaned value."""
    raw = f"b.{quote(name)}"
    normalised = raw
    if column.normalise == "trim":
        normalised = f"trim({raw})"
    elif column.normalise in ("lower", "upper"):
        normalised = f"{column.normalise}(trim({raw}))"
    return normalised, f"TRY_CAST({normalised} AS {column.type})"


def _copied_sql(spec: SilverSpec) -> str:
    """Cleaned keys delivered more than once in the latest batch (usually a few percent)."""
    keys = ", ".join(f"{_cleaned(k, spec.columns[k])[1]} AS {quote(k)}" for k in spec.key)
    return f"""
        SELECT {keys}, true AS __copied FROM delivered AS b
        WHERE b._batch_id IS NOT DISTINCT FROM getvariable('latest')
        GROUP BY ALL HAVING count(*) > 1
    """


def _judge_sql(spec: SilverSpec) -> str:
    """Clean each column, apply the rules and pick a drop reason; rows of an older batch than the
    latest are `superseded` (see `_losers_sql` for copies of a key)."""
    cleaned, raw_flags = [], []
    for name, column in spec.columns.items():
        raw = f"b.{quote(name)}"
        expr, typed = _cleaned(name, column)
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
    same = " AND ".join(f"r.{quote(k)} IS NOT DISTINCT FROM c.{quote(k)}" for k in spec.key)
    return f"""
        WITH cleaned AS (
            SELECT {", ".join(cleaned)},
                   [{", ".join(raw_flags) or "NULL::VARCHAR"}] AS _raw_flags,
                   b._batch_id, b._ingested_at, b._checksum, b AS {DELIVERED}
            FROM delivered AS b
        ), ruled AS (
            SELECT {", ".join(outputs)}, list_filter({flags}, f -> f IS NOT NULL) AS _quality_flags,
                   CASE WHEN _batch_id IS DISTINCT FROM getvariable('latest') THEN 'superseded'
                        ELSE {reason_expr} END AS _drop_reason,
                   _batch_id, _ingested_at, _checksum, {DELIVERED}
            FROM cleaned
        )
        SELECT r.* EXCLUDE ({DELIVERED}), coalesce(c.__copied, false) AS __copied,
               CASE WHEN r._drop_reason IS NOT NULL OR c.__copied THEN r.{DELIVERED} END AS {DELIVERED}
        FROM ruled AS r LEFT JOIN copied AS c ON {same}
    """


def _losers_sql(spec: SilverSpec, ruled: str) -> str:
    """Copies of a key in the latest batch beyond the first, which become `duplicate`: a valid
    copy wins, then the smallest checksum. A copy dropped for a rule keeps its reason, so only
    copies without one are returned."""
    key = ", ".join(quote(k) for k in spec.key)
    row = quote(ROW)
    return f"""
        SELECT {row} FROM (
            SELECT rowid AS {row}, _drop_reason,
                   row_number() OVER (PARTITION BY {key} ORDER BY _drop_reason IS NOT NULL, _checksum) AS _rank
            FROM {ruled} WHERE __copied AND _batch_id IS NOT DISTINCT FROM getvariable('latest')
        )
        WHERE _rank > 1 AND _drop_reason IS NULL
    """
