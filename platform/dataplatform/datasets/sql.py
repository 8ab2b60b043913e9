"""Names in the dataset store's SQL: every name is quoted (`engine.identifiers.quote`), values are always parameters."""

from __future__ import annotations

from dataplatform.engine.identifiers import quote

# The store's file is named after this catalog and every stored table is named with it: a
# two-part name such as "temp"."train" would be ambiguous between a schema and a catalog.
CATALOG = "dataset_store"


def store_backend(profile: str) -> str:
    """Which database holds the dataset store under a storage profile (`Settings.profile`): the
    `postgres` profile puts it in PostgreSQL, every other one in the DuckDB file."""
    return "postgres" if profile == "postgres" else "duckdb"


def schema_ref(schema: str) -> str:
    """A dataset's schema in the store."""
    return f"{quote(CATALOG)}.{quote(schema)}"


def qualified(schema: str, table: str) -> str:
    """A table of a dataset's schema in the store."""
    return f"{schema_ref(schema)}.{quote(table)}"


def finite(expression: str) -> str:
    """`expression` where it is a finite number, else NULL: a CSV's literal `nan` or `inf` reads
    as a float DuckDB's stddev refuses, and pandas leaves NaN out of means and spreads too."""
    return f"CASE WHEN isfinite(({expression})::DOUBLE) THEN {expression} END"
