"""Identifier quoting for the SQL this package builds: every name is quoted, values are always parameters."""

from __future__ import annotations


def quote(name: str) -> str:
    """A DuckDB identifier for any column, table or schema name, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"
