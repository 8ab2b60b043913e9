"""Working tables of a transform: temporary while they fit the memory limit, a compressed
scratch database file beyond it, which is gone when the transform ends."""

from __future__ import annotations

import glob
import os

import pytest

from dataplatform.engine.sql import connect, size_in_bytes, working_tables

ROWS = "SELECT i, 'order-' || (i % 1000) AS order_id, i % 7 AS quantity FROM range({n}) t(i)"


def scratch_files(con) -> list[str]:
    folder = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    return glob.glob(os.path.join(folder, "scratch_*"))


def test_a_copy_that_fits_memory_stays_a_temporary_table(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "1GB")
    with connect() as con:
        con.execute(f"CREATE TEMP VIEW delivery AS {ROWS.format(n=1000)}")
        with working_tables(con, "delivery") as work:
            table = work.create("copy", "SELECT * FROM delivery")
            assert work.schema == "temp" and not scratch_files(con)
            assert con.execute(f"SELECT count(*), sum(quantity) FROM {table}").fetchone() == (1000, 2997)


def test_a_copy_larger_than_memory_goes_to_a_scratch_file_removed_at_the_end(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "64MB")
    rows = 2_000_000  # 2M rows x 3 columns x 16 B = 96 MB estimated, over the limit
    with connect() as con:
        con.execute(f"CREATE TEMP VIEW delivery AS {ROWS.format(n=rows)}")
        with working_tables(con, "delivery") as work:
            table = work.create("copy", "SELECT * FROM delivery")
            assert work.schema != "temp" and scratch_files(con)
            expected = con.execute("SELECT count(*), sum(quantity), max(order_id) FROM delivery").fetchone()
            assert (
                con.execute(f"SELECT count(*), sum(quantity), max(order_id) FROM {table}").fetchone()
                == expected
            )
            assert con.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] == rows - 1
        assert not scratch_files(con)


def test_a_failing_transform_leaves_no_scratch_file(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "64MB")
    with connect() as con:
        con.execute(f"CREATE TEMP VIEW delivery AS {ROWS.format(n=2_000_000)}")
        with pytest.raises(ZeroDivisionError), working_tables(con, "delivery") as work:
            work.create("copy", "SELECT * FROM delivery")
            raise ZeroDivisionError
        assert not scratch_files(con)


@pytest.mark.parametrize(("size", "expected"), [("1GB", 10**9), ("512 MiB", 512 * 2**20), ("1.5kb", 1500)])
def test_sizes_read_as_duckdb_reads_them(size, expected):
    assert size_in_bytes(size) == expected
