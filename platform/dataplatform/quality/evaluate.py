"""Evaluate declarative checks as DuckDB SQL over Arrow: one query per check, no copies.

Checks that look beyond the table (references, trailing partitions) get what they need in a
`CheckContext`, gathered by the caller, so evaluation stays free of storage and Dagster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from dataplatform.quality.checks import SAMPLE_ROWS, CheckOutcome, not_null, sample_rows, unique
from dataplatform.quality.specs import (
    AcceptedValues,
    CheckSpec,
    ColumnsMatch,
    DistributionDrift,
    Freshness,
    InRange,
    MatchesRegex,
    NotNull,
    References,
    RowCountAnomaly,
    Unique,
)
from dataplatform.transform.sql import query, quote

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class CheckContext:
    """What some checks need besides the table: the partition, trailing partitions, targets."""

    partition: date | None = None
    partition_column: str | None = None
    trailing: pa.Table | None = None  # earlier partitions: the partition column and drift columns
    targets: dict[str, pa.Table | None] = field(
        default_factory=dict
    )  # References.target -> its table, None if absent
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def evaluate(spec: CheckSpec, table: pa.Table, context: CheckContext | None = None) -> CheckOutcome:
    context = context or CheckContext()
    if isinstance(spec, NotNull):
        return replace(not_null(table, spec.columns), expected=spec.description)
    if isinstance(spec, Unique):
        return replace(unique(table, spec.columns), expected=spec.description)
    if isinstance(spec, ColumnsMatch):
        return _columns_match(spec, table)
    if isinstance(spec, AcceptedValues):
        return _rows_failing(
            table,
            f"{quote(spec.column)} IS NOT NULL AND NOT list_contains(?, {quote(spec.column)})",
            [list(spec.values)],
            f"{spec.column} outside the accepted values",
            spec.description,
        )
    if isinstance(spec, InRange):
        column = quote(spec.column)
        bounds = [
            f"{column} < ?" if spec.min is not None else "",
            f"{column} > ?" if spec.max is not None else "",
        ]
        params = [v for v in (spec.min, spec.max) if v is not None]
        condition = " OR ".join(b for b in bounds if b) or "false"
        return _rows_failing(table, condition, params, f"{spec.column} out of range", spec.description)
    if isinstance(spec, MatchesRegex):
        return _rows_failing(
            table,
            f"{quote(spec.column)} IS NOT NULL AND NOT regexp_full_match({quote(spec.column)}::VARCHAR, ?)",
            [spec.pattern],
            f"{spec.column} not matching {spec.pattern}",
            spec.description,
        )
    if isinstance(spec, References):
        return _references(spec, table, context)
    if isinstance(spec, RowCountAnomaly):
        return _row_count(spec, table, context)
    if isinstance(spec, DistributionDrift):
        return _drift(spec, table, context)
    if isinstance(spec, Freshness):
        return _freshness(spec, table, context)
    raise TypeError(f"no evaluation for {type(spec).__name__}")


def _rows_failing(table: pa.Table, condition: str, params: list, what: str, expected: str) -> CheckOutcome:
    failing = query(f"SELECT count(*) AS n FROM t WHERE {condition}", params, t=table).column("n")[0].as_py()
    sample = (
        query(f"SELECT * FROM t WHERE {condition} LIMIT {SAMPLE_ROWS}", params, t=table) if failing else None
    )
    return CheckOutcome(
        passed=failing == 0,
        failing_rows=failing,
        total_rows=table.num_rows,
        description=f"{failing} rows with {what}",
        sample=sample_rows(sample) if sample is not None else [],
        expected=expected,
    )


def _columns_match(spec: ColumnsMatch, table: pa.Table) -> CheckOutcome:
    actual = {f.name: str(f.type) for f in table.schema}
    problems = [f"{c}: missing" for c in spec.columns if c not in actual]
    problems += [
        f"{c}: {actual[c]}, not {t}" for c, t in spec.columns.items() if c in actual and actual[c] != t
    ]
    problems += [f"{c}: unexpected ({t})" for c, t in actual.items() if c not in spec.columns]
    return CheckOutcome(
        passed=not problems,
        failing_rows=len(problems),
        total_rows=len(spec.columns),
        description="; ".join(problems) or "columns and types as declared",
        expected=spec.description,
    )


def _references(spec: References, table: pa.Table, context: CheckContext) -> CheckOutcome:
    if spec.target not in context.targets:
        raise ValueError(f"check {spec.name} needs {spec.target} in its context")
    target = context.targets[spec.target]
    if target is None:
        return CheckOutcome(
            False, table.num_rows, table.num_rows, f"{spec.target} does not exist yet", [], spec.description
        )
    orphans = query(
        f"""
        SELECT {quote(spec.column)} AS value, count(*) AS rows FROM t
        WHERE {quote(spec.column)} IS NOT NULL
          AND {quote(spec.column)} NOT IN (SELECT {quote(spec.target_column)} FROM target
                                           WHERE {quote(spec.target_column)} IS NOT NULL)
        GROUP BY ALL ORDER BY rows DESC, value
        """,
        t=table.select([spec.column]),
        target=target.select([spec.target_column]),
    )
    failing = sum(orphans.column("rows").to_pylist())
    return CheckOutcome(
        passed=failing == 0,
        failing_rows=failing,
        total_rows=table.num_rows,
        description=f"{failing} rows ({orphans.num_rows} values) of {spec.column} not in {spec.target}",
        sample=sample_rows(orphans),
        expected=spec.description,
    )


def _trailing_stats(spec, context: CheckContext, expression: str = "NULL") -> pa.Table | None:
    if context.trailing is None or context.partition_column is None or not context.trailing.num_rows:
        return None
    column = quote(context.partition_column)
    return query(
        f"""
        SELECT {column} AS part, count(*) AS rows, avg({expression}) AS mean, stddev_samp({expression}) AS sd
        FROM t WHERE {column} < ? GROUP BY ALL ORDER BY part DESC LIMIT ?
        """,
        [context.partition, spec.trailing],
        t=context.trailing,
    )


def _row_count(spec: RowCountAnomaly, table: pa.Table, context: CheckContext) -> CheckOutcome:
    history = _trailing_stats(spec, context)
    rows = table.num_rows
    if history is None or not history.num_rows:
        return CheckOutcome(
            True, 0, rows, f"{rows} rows; no earlier partitions to compare with", [], spec.description
        )
    mean = sum(history.column("rows").to_pylist()) / history.num_rows
    low, high = mean * (1 - spec.tolerance), mean * (1 + spec.tolerance)
    passed = low <= rows <= high
    return CheckOutcome(
        passed=passed,
        failing_rows=0 if passed else abs(rows - round(mean)),
        total_rows=rows,
        description=f"{rows} rows against a mean of {mean:.1f} over {history.num_rows} earlier partitions",
        expected=f"between {low:.0f} and {high:.0f} rows",
    )


def _drift(spec: DistributionDrift, table: pa.Table, context: CheckContext) -> CheckOutcome:
    column = quote(spec.column)
    now = query(
        f"SELECT avg({column}) AS mean, stddev_samp({column}) AS sd FROM t", t=table.select([spec.column])
    )
    mean, sd = now.column("mean")[0].as_py(), now.column("sd")[0].as_py()
    history = _trailing_stats(spec, context, column)
    if history is None or not history.num_rows or mean is None:
        return CheckOutcome(
            True, 0, table.num_rows, "no earlier partitions to compare with", [], spec.description
        )
    past = query(
        "SELECT sum(mean * rows) / sum(rows) AS mean, sqrt(sum(sd * sd * (rows - 1)) / nullif(sum(rows - 1), 0)) AS sd "
        "FROM h WHERE mean IS NOT NULL",
        h=history,
    ).to_pylist()[0]
    past_mean, past_sd = float(past["mean"]), float(past["sd"] or 0.0)
    shift = abs(float(mean) - past_mean) / past_sd if past_sd else (0.0 if mean == past_mean else math.inf)
    ratio = (float(sd or 0.0) / past_sd) if past_sd else 1.0
    passed = shift <= spec.max_shift and 1 / spec.max_spread_ratio <= ratio <= spec.max_spread_ratio
    return CheckOutcome(
        passed=passed,
        failing_rows=0,
        total_rows=table.num_rows,
        description=(
            f"mean {float(mean):.4g} (shift {shift:.2f} sd from {past_mean:.4g}), "
            f"sd {float(sd or 0):.4g} ({ratio:.2f}x of {past_sd:.4g}) over {history.num_rows} earlier partitions"
        ),
        expected=spec.description,
    )


def _freshness(spec: Freshness, table: pa.Table, context: CheckContext) -> CheckOutcome:
    newest = query(f"SELECT max({quote(spec.column)}) AS newest FROM t", t=table.select([spec.column]))
    value = newest.column("newest")[0].as_py()
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
        total_rows=table.num_rows,
        description=f"newest {spec.column}: {value.isoformat() if value else 'none'}",
        expected=f"at or after {limit.isoformat()}",
    )
