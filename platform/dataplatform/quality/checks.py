"""Check evaluations that a person can act on: what was observed, how many rows fail, a sample.

Each function returns a `CheckOutcome`; the Dagster layer turns it into an AssetCheckResult.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataplatform.engine.identifiers import quote
from dataplatform.engine.sql import query, rows_of

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    failing_rows: int
    total_rows: int
    description: str
    sample: list[dict[str, object]] = field(default_factory=list)
    expected: str = ""

    @property
    def metadata(self) -> dict[str, str | int | float | list[dict[str, object]]]:
        share = self.failing_rows / self.total_rows if self.total_rows else 0.0
        return {
            "observed": self.description,
            **({"expected": self.expected} if self.expected else {}),
            "failing_rows": self.failing_rows,
            "total_rows": self.total_rows,
            "failing_percent": round(100 * share, 4),
            "sample": self.sample,
        }


def sorted_duplicates(table: pa.Table, key: Sequence[str]) -> int | None:
    """Rows beyond the first of each key (nulls being one key, as in GROUP BY) for a key of one
    integer column, counted by sorting a copy: a tenth of a hash aggregate's time; else None."""
    import numpy as np
    import pyarrow as pa

    if len(key) != 1 or not pa.types.is_integer(table.schema.field(key[0]).type):
        return None
    column = table.column(key[0])
    nulls: int = column.null_count
    values = np.sort((column.drop_null() if nulls else column).to_numpy())
    return int(np.count_nonzero(values[1:] == values[:-1])) + max(nulls - 1, 0)


def totals_match(
    parents: pa.Table | ds.Dataset,
    children: pa.Table | ds.Dataset,
    *,
    key: str,
    total: str,
    count: str,
    amount: str,
    tolerance: float,
) -> CheckOutcome:
    """Each parent whose children are all present has `total` = sum of the children's `amount`.

    Parents missing some children (quarantined upstream) are left out: their total cannot be
    recomputed, and that loss is already reported by the quarantine.
    """
    k, t, c, a = quote(key), quote(total), quote(count), quote(amount)
    compared = query(
        f"""
        WITH sums AS (SELECT {k}, count(*) AS n, sum({a}) AS summed FROM children GROUP BY {k})
        SELECT p.{k}, p.{t} AS total, s.summed
        FROM parents p JOIN sums s USING ({k})
        WHERE s.n = p.{c} AND abs(p.{t} - s.summed) > ?
        """,
        [tolerance],
        parents=parents,
        children=children,
    )
    return CheckOutcome(
        passed=compared.num_rows == 0,
        failing_rows=compared.num_rows,
        total_rows=rows_of(parents),
        description=f"{compared.num_rows} {total} values differ from the sum of {amount}",
        sample=sample_rows(compared),
    )


def sample_rows(table: pa.Table) -> list[dict[str, object]]:
    rows = table.slice(0, SAMPLE_ROWS).to_pylist()
    return [{k: plain_value(v) for k, v in row.items()} for row in rows]


def plain_value(value: object) -> object:
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
