"""DuckDB extensions from their PyPI packages: a signature checked once per process and file,
and a file changed since its check checked again, never loaded on the strength of the old one."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from dataplatform.engine import extensions


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """The DuckLake extension as a file of its own, so the test may change it."""
    copy = tmp_path / "ducklake.duckdb_extension"
    shutil.copyfile(extensions.extension_path("ducklake"), copy)
    monkeypatch.setattr(extensions, "extension_path", lambda name: copy)
    monkeypatch.setattr(extensions, "_VERIFIED", {})
    return copy


def loaded(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()
    return {name for (name,) in rows}


def test_a_checked_extension_loads_into_every_later_database(copied):
    for _ in range(3):
        with extensions.connect("ducklake") as connection:
            assert "ducklake" in loaded(connection)
    assert list(extensions._VERIFIED) == [copied]


def test_an_extension_changed_since_its_check_is_refused_by_the_next_check(copied):
    with extensions.connect("ducklake") as connection:
        assert "ducklake" in loaded(connection)
    with copied.open("r+b") as handle:  # one byte of the code changed, the size kept
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(duckdb.Error, match=r"(?i)signature"):
        extensions.connect("ducklake")
