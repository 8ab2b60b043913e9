"""Evaluate declarative checks as DuckDB SQL, on one connection.

`evaluate_all` answers every check of a table together. The table is registered once: an Arrow
table where it is, rows scanned lazily copied (only the columns the checks read) into a DuckDB
temporary table. The checks that count rows (nulls, accepted values, range, pattern, the key's
distinct count) and those that summarise a column (drift's mean and spread, freshness's newest
value) share one aggregate pass over it, the trailing partitions are summarised once (in
DuckDB, however they are given) for every check that compares with them, and failing rows are
sampled only for checks that fail. `evaluate` is the same for one check. Checks that look
beyond the table (references, trailing partitions) get what they need in a `CheckContext`,
gathered by the caller, so evaluation stays free of storage and Dagster.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataplatform.engine.identifiers import quote
from dataplatform.engine.sql import connect, one_row, register
from dataplatform.quality.checks import SAMPLE_ROWS, CheckOutcome, sample_rows, sorted_duplicates
from dataplatform.quality.specs import (
    AcceptedValues,
    CheckSpec,
    ColumnsMatch,
    DistributionDrift,
    Freshness,
    InRange,
    MatchesRegex,
    NoPersonalData,
    NotNull,
    References,
    RowCountAnomaly,
    Unique,
    columns_read,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from dataplatform.engine.scans import Scannable


@dataclass(frozen=True)
class CheckContext:
    """What some checks need besides the table: the partition, trailing partitions, targets."""

    partition: date | None = None
    partition_column: str | None = None
    trailing: object = None  # earlier partitions (partition column, drift columns): as `evaluate_all`'s table
    targets: dict[str, pa.Table | None] = field(
        default_factory=dict
    )  # References.target -> its table, None if absent
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    schema: pa.Schema | None = None  # the table's schema when the table holds only the columns read


def evaluate(spec: CheckSpec, table: Scannable, context: CheckContext | None = None) -> CheckOutcome:
    """One check's outcome (see `evaluate_all`, which shares the work of several)."""
    return evaluate_all((spec,), table, context)[spec.name]


def evaluate_all(
    specs: Sequence[CheckSpec], table: Scannable, context: CheckContext | None = None
) -> dict[str, CheckOutcome]:
    """Every check's outcome by its name, as `evaluate` would give each, in one connection.

    `table` is an Arrow table, or rows DuckDB scans lazily (a `SqlScan`, an Arrow dataset): a
    stored day is then read once, only the columns the checks look at, into DuckDB's memory
    (which spills beyond its limit) rather than into Arrow's, which has no limit."""
    import pyarrow as pa

    for spec in specs:
        if not isinstance(spec, _KINDS):
            raise TypeError(f"no evaluation for {type(spec).__name__}")
    context = context or CheckContext()
    if isinstance(table, pa.Table):
        with connect(t=table) as con:
            run = _Run(con, table.num_rows, context.schema or table.schema, context)
            return run.outcomes(specs)
    with connect(stored=table) as con:
        read = ", ".join(quote(c) for c in columns_read(specs))
        con.execute(f"CREATE TEMP TABLE t AS SELECT {read or 'NULL AS _none'} FROM stored")
        rows = one_row(con, "SELECT count(*) FROM t")[0]
        schema = context.schema or con.execute("SELECT * FROM stored LIMIT 0").to_arrow_table().schema
        return _Run(con, rows, schema, context).outcomes(specs)


_LIST_ITEM = re.compile(r"list<[A-Za-z_]\w*: ")
_KINDS = (
    NotNull,
    Unique,
    ColumnsMatch,
    AcceptedValues,
    InRange,
    MatchesRegex,
    References,
    RowCountAnomaly,
    DistributionDrift,
    Freshness,
    NoPersonalData,
)
PHONE_DIGITS = (9, 15)
# A key of up to this many rows is counted in memory: its column sorted by numpy, or a DISTINCT
# in the shared pass, whose hash table DuckDB keeps whole. A larger key is counted by DuckDB's
# GROUP BY, which spills within the memory limit, so a day larger than memory is checked in
# bounded memory (sorting 100M keys held 1.6 GB in numpy).
IN_MEMORY_KEY_ROWS = 16_000_000


def _failing_condition(spec: CheckSpec) -> tuple[str, list[object]]:
    """The SQL condition of a row failing a row-level check, and its parameters."""
    if isinstance(spec, AcceptedValues):
        column = quote(spec.column)
        return f"{column} IS NOT NULL AND NOT list_contains(?, {column})", [list(spec.values)]
    if isinstance(spec, InRange):
        column = quote(spec.column)
        bounds = [
            f"{column} < ?" if spec.min is not None else "",
            f"{column} > ?" if spec.max is not None else "",
        ]
        params: list[object] = [v for v in (spec.min, spec.max) if v is not None]
        return " OR ".join(b for b in bounds if b) or "false", params
    if isinstance(spec, MatchesRegex):
        column = quote(spec.column)
        return f"{column} IS NOT NULL AND NOT regexp_full_match({column}::VARCHAR, ?)", [spec.pattern]
    raise TypeError(f"{type(spec).__name__} is not a row-level check")


_ROW_LEVEL = (AcceptedValues, InRange, MatchesRegex)


def looks_personal(column: str) -> str:
    """A value of `column` (text) holding an e-mail address or being a phone number; the two
    patterns are parameters (`NoPersonalData.email`, `.phone`), in that order; the registered
    datasets' check counts with it too. Each costly part runs only on
    the values a cheap test let through (an '@', enough characters, the pattern matched): a
    CASE is evaluated lazily where an AND is not, and counting every value's digits made the
    check ten times slower."""
    value = quote(column)
    low, high = PHONE_DIGITS
    digits = f"length({value}) - length(translate({value}, '0123456789', ''))"
    email = f"CASE WHEN contains({value}, '@') THEN regexp_matches({value}, ?) ELSE false END"
    phone = (
        f"CASE WHEN length({value}) < {low} THEN false WHEN regexp_full_match({value}, ?) "
        f"THEN {digits} BETWEEN {low} AND {high} ELSE false END"
    )
    return f"({email} OR {phone})"


class _Run:
    """One evaluation: the connection with the table as `t` (its `rows`; `schema`, the whole
    table's even where `t` holds only the columns read), and what the shared queries found."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, rows: int, schema: pa.Schema, context: CheckContext
    ) -> None:
        self.con = con
        self.rows = rows
        self.schema = schema
        self.context = context
        # aggregate name -> value, from the shared pass: counts, means, newest timestamps, as DuckDB
        # returns them (a row's values are untyped)
        self.found: dict[str, Any] = {}
        self.history: pa.Table | None = None  # trailing partitions' count, means and spreads

    def outcomes(self, specs: Sequence[CheckSpec]) -> dict[str, CheckOutcome]:
        self.scan(specs)
        self.summarise_trailing(specs)
        return {spec.name: self.outcome(spec) for spec in specs}

    def in_memory(self, spec: Unique) -> bool:
        """Whether this key's duplicates are counted in memory (see `IN_MEMORY_KEY_ROWS`)."""
        return len(spec.columns) == 1 and self.rows <= IN_MEMORY_KEY_ROWS

    def sortable(self, spec: Unique) -> bool:
        """Whether `unique` counts this key's duplicates by sorting, faster than the shared pass
        would."""
        import pyarrow as pa

        return self.in_memory(spec) and pa.types.is_integer(self.schema.field(spec.columns[0]).type)

    def query(self, sql: str, params: list[object] | None = None) -> pa.Table:
        return self.con.execute(sql, params or []).to_arrow_table()

    # -- the shared pass over the table ----------------------------------------------------------

    def scan(self, specs: Sequence[CheckSpec]) -> None:
        """One aggregate query for every check that counts or summarises the table's rows."""
        aggregates: dict[str, str] = {}
        params: list[object] = []
        for spec in specs:
            if isinstance(spec, _ROW_LEVEL):
                condition, values = _failing_condition(spec)
                aggregates[f"failing {spec.name}"] = f"count(*) FILTER (WHERE {condition})"
                params += values
            elif isinstance(spec, NotNull):
                for column in spec.columns:
                    aggregates[f"nulls {spec.name} {column}"] = (
                        f"count(*) FILTER (WHERE {quote(column)} IS NULL)"
                    )
            elif isinstance(spec, Unique) and self.in_memory(spec) and not self.sortable(spec):
                # rows beyond the first of each key, NULL being one key as in GROUP BY
                column = quote(spec.columns[0])
                aggregates[f"extra {spec.name}"] = (
                    f"count(*) - count(DISTINCT {column}) - (count(*) FILTER (WHERE {column} IS NULL) > 0)::BIGINT"
                )
            elif isinstance(spec, DistributionDrift):
                column = quote(spec.column)
                aggregates[f"mean {spec.column}"] = f"avg({column})"
                aggregates[f"sd {spec.column}"] = f"stddev_samp({column})"
            elif isinstance(spec, Freshness):
                aggregates[f"newest {spec.column}"] = f"max({quote(spec.column)})"
            elif isinstance(spec, NoPersonalData):
                for column in self.scanned(spec):
                    aggregates[f"personal {column}"] = f"count(*) FILTER (WHERE {looks_personal(column)})"
                    params += [spec.email, spec.phone]
        if not aggregates:
            return
        select = ", ".join(f"{sql} AS {quote(name)}" for name, sql in aggregates.items())
        found = self.query(f"SELECT {select} FROM t", params)
        self.found = {name: found.column(name)[0].as_py() for name in found.column_names}

    def summarise_trailing(self, specs: Sequence[CheckSpec]) -> None:
        """Per earlier partition, newest first: its rows and each drift column's mean and spread."""
        context = self.context
        compared = [s for s in specs if isinstance(s, RowCountAnomaly | DistributionDrift)]
        if not compared or context.trailing is None or context.partition_column is None:
            return
        drifting = list(dict.fromkeys(s.column for s in compared if isinstance(s, DistributionDrift)))
        stats = "".join(
            f", avg({quote(c)}) AS {quote('mean ' + c)}, stddev_samp({quote(c)}) AS {quote('sd ' + c)}"
            for c in drifting
        )
        column = quote(context.partition_column)
        register(self.con, "h", context.trailing)
        self.history = self.query(
            f"SELECT {column} AS part, count(*) AS rows{stats} FROM h WHERE {column} < ? "
            "GROUP BY ALL ORDER BY part DESC LIMIT ?",
            [context.partition, max(s.trailing for s in compared)],
        )

    def trailing(self, spec: RowCountAnomaly | DistributionDrift) -> pa.Table | None:
        """The `spec.trailing` latest earlier partitions: part, rows, and for drift mean and sd."""
        if self.history is None:
            return None
        history = self.history.slice(0, spec.trailing)
        if isinstance(spec, DistributionDrift):
            return history.select(
                ["part", "rows", f"mean {spec.column}", f"sd {spec.column}"]
            ).rename_columns(["part", "rows", "mean", "sd"])
        return history.select(["part", "rows"])

    # -- each check's outcome --------------------------------------------------------------------

    def outcome(self, spec: CheckSpec) -> CheckOutcome:
        if isinstance(spec, NotNull):
            return self.not_null(spec)
        if isinstance(spec, Unique):
            return replace(self.unique(spec), expected=spec.description)
        if isinstance(spec, ColumnsMatch):
            return _columns_match(spec, self.schema)
        if isinstance(spec, AcceptedValues):
            return self.rows_failing(spec, f"{spec.column} outside the accepted values")
        if isinstance(spec, InRange):
            return self.rows_failing(spec, f"{spec.column} out of range")
        if isinstance(spec, MatchesRegex):
            return self.rows_failing(spec, f"{spec.column} not matching {spec.pattern}")
        if isinstance(spec, References):
            return self.references(spec)
        if isinstance(spec, RowCountAnomaly):
            return self.row_count(spec)
        if isinstance(spec, DistributionDrift):
            return self.drift(spec)
        if isinstance(spec, Freshness):
            return self.freshness(spec)
        if isinstance(spec, NoPersonalData):
            return self.personal_data(spec)
        raise TypeError(f"no evaluation for {type(spec).__name__}")

    def scanned(self, spec: NoPersonalData) -> list[str]:
        """The text columns `spec` looks at in this table."""
        import pyarrow as pa

        if spec.columns is not None:
            return [c for c in spec.columns if c not in spec.safe]
        text = [f.name for f in self.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        return [c for c in text if c not in spec.safe and not c.startswith("_")]

    def personal_data(self, spec: NoPersonalData) -> CheckOutcome:
        counts = {c: int(self.found[f"personal {c}"]) for c in self.scanned(spec)}
        failing = {c: n for c, n in counts.items() if n}
        return CheckOutcome(
            passed=not failing,
            failing_rows=sum(failing.values()),
            total_rows=self.rows,
            description="; ".join(
                f"{c}: {n} values look like an e-mail address or a phone number" for c, n in failing.items()
            )
            or f"no e-mail address or phone number in {len(counts)} text columns",
            expected=spec.description,
        )

    def not_null(self, spec: NotNull) -> CheckOutcome:
        counts = {c: self.found[f"nulls {spec.name} {c}"] for c in spec.columns}
        failing = {c: n for c, n in counts.items() if n}
        sample = []
        if failing:
            condition = " OR ".join(f"{quote(c)} IS NULL" for c in spec.columns)
            sample = sample_rows(self.query(f"SELECT * FROM t WHERE {condition} LIMIT {SAMPLE_ROWS}"))
        return CheckOutcome(
            passed=not failing,
            failing_rows=sum(failing.values()),
            total_rows=self.rows,
            description=", ".join(f"{c}: {n} nulls" for c, n in failing.items()) or "no nulls",
            sample=sample,
            expected=spec.description,
        )

    def unique(self, spec: Unique) -> CheckOutcome:
        """No two rows share the key: counted in the shared pass or by sorting an integer key,
        and only when some key repeats (or the key is too large for those) are the duplicated
        keys grouped and sampled."""
        extra = self.found.get(f"extra {spec.name}")
        if extra is None and self.sortable(spec):
            extra = sorted_duplicates(self.query(f"SELECT {quote(spec.columns[0])} FROM t"), spec.columns)
        if extra == 0:
            return CheckOutcome(
                passed=True,
                failing_rows=0,
                total_rows=self.rows,
                description=f"0 keys ({', '.join(spec.columns)}) appear more than once",
            )
        key = ", ".join(quote(c) for c in spec.columns)
        dupes = self.query(
            f"SELECT {key}, count(*) AS copies FROM t GROUP BY ALL HAVING count(*) > 1 ORDER BY copies DESC"
        )
        extra = sum(n - 1 for n in dupes.column("copies").to_pylist())
        return CheckOutcome(
            passed=extra == 0,
            failing_rows=extra,
            total_rows=self.rows,
            description=f"{dupes.num_rows} keys ({', '.join(spec.columns)}) appear more than once",
            sample=sample_rows(dupes),
        )

    def rows_failing(self, spec: AcceptedValues | InRange | MatchesRegex, what: str) -> CheckOutcome:
        failing = int(self.found[f"failing {spec.name}"])
        sample = []
        if failing:
            condition, params = _failing_condition(spec)
            sample = sample_rows(self.query(f"SELECT * FROM t WHERE {condition} LIMIT {SAMPLE_ROWS}", params))
        return CheckOutcome(
            passed=failing == 0,
            failing_rows=failing,
            total_rows=self.rows,
            description=f"{failing} rows with {what}",
            sample=sample,
            expected=spec.description,
        )

    def references(self, spec: References) -> CheckOutcome:
        import pyarrow.compute as pc

        context = self.context
        if spec.target not in context.targets:
            raise ValueError(f"check {spec.name} needs {spec.target} in its context")
        target = context.targets[spec.target]
        if target is None:
            return CheckOutcome(
                False,
                self.rows,
                self.rows,
                f"{spec.target} does not exist yet",
                [],
                spec.description,
            )
        self.con.register("target", target.select([spec.target_column]))
        column, target_column = quote(spec.column), quote(spec.target_column)
        orphans = self.query(
            f"""
            SELECT {column} AS value, count(*) AS rows FROM t
            WHERE {column} IS NOT NULL
              AND {column} NOT IN (SELECT {target_column} FROM target WHERE {target_column} IS NOT NULL)
            GROUP BY ALL ORDER BY rows DESC, value
            """
        )
        self.con.unregister("target")
        failing = (pc.sum(orphans.column("rows")).as_py() or 0) if orphans.num_rows else 0
        return CheckOutcome(
            passed=failing == 0,
            failing_rows=failing,
            total_rows=self.rows,
            description=f"{failing} rows ({orphans.num_rows} values) of {spec.column} not in {spec.target}",
            sample=sample_rows(orphans),
            expected=spec.description,
        )

    def row_count(self, spec: RowCountAnomaly) -> CheckOutcome:
        import pyarrow.compute as pc

        history = self.trailing(spec)
        rows = self.rows
        if history is None or not history.num_rows:
            return CheckOutcome(
                True, 0, rows, f"{rows} rows; no earlier partitions to compare with", [], spec.description
            )
        mean = pc.sum(history.column("rows")).as_py() / history.num_rows
        low, high = mean * (1 - spec.tolerance), mean * (1 + spec.tolerance)
        passed = low <= rows <= high
        return CheckOutcome(
            passed=passed,
            failing_rows=0 if passed else abs(rows - round(mean)),
            total_rows=rows,
            description=f"{rows} rows against a mean of {mean:.1f} over {history.num_rows} earlier partitions",
            expected=f"between {low:.0f} and {high:.0f} rows",
        )

    def drift(self, spec: DistributionDrift) -> CheckOutcome:
        mean, sd = self.found[f"mean {spec.column}"], self.found[f"sd {spec.column}"]
        history = self.trailing(spec)
        if history is None or not history.num_rows or mean is None:
            return CheckOutcome(
                True, 0, self.rows, "no earlier partitions to compare with", [], spec.description
            )
        self.con.register("past", history)
        past = self.query(
            "SELECT sum(mean * rows) / sum(rows) AS mean, "
            "sqrt(sum(sd * sd * (rows - 1)) / nullif(sum(rows - 1), 0)) AS sd "
            "FROM past WHERE mean IS NOT NULL"
        ).to_pylist()[0]
        self.con.unregister("past")
        past_mean, past_sd = float(past["mean"]), float(past["sd"] or 0.0)
        shift = (
            abs(float(mean) - past_mean) / past_sd if past_sd else (0.0 if mean == past_mean else math.inf)
        )
        ratio = (float(sd or 0.0) / past_sd) if past_sd else 1.0
        passed = shift <= spec.max_shift and 1 / spec.max_spread_ratio <= ratio <= spec.max_spread_ratio
        return CheckOutcome(
            passed=passed,
            failing_rows=0,
            total_rows=self.rows,
            description=(
                f"mean {float(mean):.4g} (shift {shift:.2f} sd from {past_mean:.4g}), "
                f"sd {float(sd or 0):.4g} ({ratio:.2f}x of {past_sd:.4g}) over {history.num_rows} earlier partitions"
            ),
            expected=spec.description,
        )

    def freshness(self, spec: Freshness) -> CheckOutcome:
        value = self.found[f"newest {spec.column}"]
        context = self.context
        reference = (
            datetime.combine(context.partition + timedelta(days=1), datetime.min.time(), UTC)
            if context.partition is not None
            else context.now
        )
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, datetime.min.time(), UTC)
        limit = reference - timedelta(hours=spec.max_age_hours)
        passed = value is not None and value >= limit
        return CheckOutcome(
            passed=passed,
            failing_rows=0,
            total_rows=self.rows,
            description=f"newest {spec.column}: {value.isoformat() if value else 'none'}",
            expected=f"at or after {limit.isoformat()}",
        )


def _type_text(type_text: str) -> str:
    """A type as text without the names of list items, which differ by writer (`l`, `item`,
    `element`) while the type is the same."""
    return _LIST_ITEM.sub("list<", type_text)


def _columns_match(spec: ColumnsMatch, schema: pa.Schema) -> CheckOutcome:
    actual = {f.name: str(f.type) for f in schema}
    problems = [f"{c}: missing" for c in spec.columns if c not in actual]
    problems += [
        f"{c}: {actual[c]}, not {t}"
        for c, t in spec.columns.items()
        if c in actual and _type_text(actual[c]) != _type_text(t)
    ]
    problems += [f"{c}: unexpected ({t})" for c, t in actual.items() if c not in spec.columns]
    return CheckOutcome(
        passed=not problems,
        failing_rows=len(problems),
        total_rows=len(spec.columns),
        description="; ".join(problems) or "columns and types as declared",
        expected=spec.description,
    )
