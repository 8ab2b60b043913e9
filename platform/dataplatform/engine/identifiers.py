"""The one way a name or a text reaches SQL the platform builds: names from specs, files and
users are quoted so they can only ever be names; values are bound parameters, except in the few
statements that take none (LOAD, ATTACH), where `string_literal` quotes them."""

from __future__ import annotations

from dataplatform.engine.errors import EngineError


def quote(name: str) -> str:
    """A SQL identifier (DuckDB's and PostgreSQL's syntax) for any column, table or schema name,
    whatever characters it holds."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise EngineError(f"invalid SQL identifier {name!r}: a name is non-empty text without NUL")
    return '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """Text as a SQL string literal, for the statements that take no parameters (LOAD, ATTACH)."""
    if "\x00" in text:
        raise EngineError(f"invalid text for SQL: {text!r}")
    return "'" + text.replace("'", "''") + "'"
