"""Statistics of a dataset's tables: per column count, nulls, distinct, min, max, mean, std, quartiles, top values.

One aggregate query per table computes every column's figures together (a query per column
would scan the table once per column); quartiles come from Arrow on the numeric columns (see
`quartiles`), top values from one more statement over the columns where a value repeats. Results are plain dicts of JSON-ready values, so the CLI can
print them, export them to JSON or YAML, and the store can keep them beside the data.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dataplatform.datasets.detect import column_kinds
from dataplatform.datasets.sql import quote

QUANTILES = (0.25, 0.5, 0.75)
TOP_VALUES = 5
MAX_CLASSES = 50  # more distinct values than this and a target is shown as a quantity


def table_stats(con: duckdb.DuckDBPyConnection, table: str, target: str | None = None) -> dict[str, Any]:
    """Figures of one table (a SQL reference in `con`); `target` adds its distribution."""
    kinds = column_kinds(con, table)
    parts = ["count(*)"]
    for name, kind in kinds.items():
        q = quote(name)
        parts += [f"count({q})", f"count(DISTINCT {q})" if kind != "other" else "NULL"]
        ordered = kind in ("integer", "float", "temporal", "string", "boolean")
        parts += [f"min({q})", f"max({q})"] if ordered else ["NULL", "NULL"]
        if kind in ("integer", "float"):
            parts += [f"avg({q})", f"stddev_samp({q})"]
    values = iter(con.execute(f"SELECT {', '.join(parts)} FROM {table}").fetchone() or ())
    rows = int(next(values))
    numeric = [n for n, k in kinds.items() if k in ("integer", "float")]
    quartiles_of = quartiles(con, table, numeric)
    columns: dict[str, dict[str, Any]] = {}
    for name, kind in kinds.items():
        count, distinct, low, high = next(values), next(values), next(values), next(values)
        figures: dict[str, Any] = {
            "type": kind,
            "count": int(count),
            "nulls": rows - int(count),
            "distinct": None if distinct is None else int(distinct),
            "min": _plain(low),
            "max": _plain(high),
        }
        if kind in ("integer", "float"):
            figures.update(mean=_plain(next(values)), std=_plain(next(values)), quantiles=quartiles_of[name])
        columns[name] = figures
    repeating = [
        n for n, f in columns.items() if f["distinct"] is not None and 0 < f["distinct"] < f["count"]
    ]
    for name, top in _top_values(con, table, repeating).items():
        columns[name]["top_values"] = top
    stats: dict[str, Any] = {"rows": rows, "columns": len(kinds), "column_stats": columns}
    if target is not None and target in kinds:
        stats["target_distribution"] = target_distribution(con, table, target, columns[target])
    return stats


def target_distribution(
    con: duckdb.DuckDBPyConnection, table: str, target: str, figures: dict[str, Any]
) -> dict[str, Any]:
    """Every class with its count and share for a label; mean, spread and quartiles for a quantity."""
    if figures["type"] == "float" or (figures["distinct"] or 0) > MAX_CLASSES:
        return {"kind": "quantity", **{k: figures.get(k) for k in ("min", "max", "mean", "std", "quantiles")}}
    q = quote(target)
    rows = con.execute(
        f"SELECT CAST({q} AS VARCHAR) AS value, count(*) AS n FROM {table} GROUP BY ALL ORDER BY n DESC, value"
    ).fetchall()
    total = sum(n for _, n in rows)
    return {
        "kind": "classes",
        "classes": {("null" if v is None else v): {"count": n, "share": n / total} for v, n in rows},
    }


def quartiles(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str]
) -> dict[str, dict[str, float] | None]:
    """Linear-interpolated quartiles (pandas' default) of numeric columns, nulls left out.

    Computed by Arrow on the fetched columns: DuckDB's exact `quantile_cont` took 1.7 s for 13
    columns of a million rows on this machine where fetching them and `pyarrow.compute.quantile`
    took 0.5 s; the figures are the same.
    """
    if not columns:
        return {}
    fetched = con.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM {table}").to_arrow_table()
    result: dict[str, dict[str, float] | None] = {}
    for name in columns:
        values = fetched[name]
        if values.null_count == len(values):
            result[name] = None
            continue
        found = pc.quantile(values.cast(pa.float64()), q=list(QUANTILES), interpolation="linear")
        result[name] = {str(q): float(v) for q, v in zip(QUANTILES, found.to_pylist(), strict=True)}
    return result


def _top_values(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The most frequent values of `columns`, all in one statement (one grouped scan per column inside it)."""
    if not columns:
        return {}
    branches = [
        f"SELECT {position} AS col, CAST({quote(name)} AS VARCHAR) AS value, count(*) AS n "
        f"FROM {table} WHERE {quote(name)} IS NOT NULL GROUP BY ALL"
        for position, name in enumerate(columns)
    ]
    rows = con.execute(
        f"SELECT col, value, n FROM ({' UNION ALL '.join(branches)}) "
        f"QUALIFY row_number() OVER (PARTITION BY col ORDER BY n DESC, value) <= {TOP_VALUES} "
        "ORDER BY col, n DESC, value"
    ).fetchall()
    top: dict[str, list[dict[str, Any]]] = {name: [] for name in columns}
    for position, value, n in rows:
        top[columns[position]].append({"value": value, "count": int(n)})
    return top


def _plain(value: Any) -> Any:
    """JSON- and YAML-ready: timestamps as ISO text, decimals as floats."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
