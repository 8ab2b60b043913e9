"""Transform connections: one DuckDB database per process, a connection per transform."""

from __future__ import annotations

import duckdb
import pytest

from dataplatform.engine.sql import MEMORY_LIMIT, connect, query


def test_connections_keep_their_own_temporary_tables_and_variables():
    with connect() as first, connect() as second:
        first.execute("CREATE TEMP TABLE delivery AS SELECT 1 AS n")
        first.execute("SET VARIABLE latest = 'b1'")
        assert second.execute("SELECT getvariable('latest')").fetchone() == (None,)
        with pytest.raises(duckdb.CatalogException):
            second.execute("SELECT * FROM delivery")


def test_the_memory_limit_setting_applies_to_the_next_connection(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT, "300MB")
    (limit,) = query("SELECT current_setting('memory_limit') AS limit").column("limit").to_pylist()
    assert limit == "286.1 MiB"  # 300 MB in DuckDB's binary units


def test_a_memory_limit_that_is_not_a_size_is_refused_before_it_reaches_sql(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT, "1GB'; SELECT 'x")
    with pytest.raises(ValueError, match="give a size such as 1GB"):
        query("SELECT 1")
