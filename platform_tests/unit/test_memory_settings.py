"""The settings that bound a run's memory: DuckDB's limit and the generator's chunk size."""

from __future__ import annotations

import pytest

from dataplatform.settings import SettingsError, load_settings


def test_memory_settings_default_to_one_gigabyte_and_a_million_rows(monkeypatch):
    for name in ("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "DATAPLATFORM_GENERATE_CHUNK_ROWS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.duckdb_memory_limit, settings.generate_chunk_rows) == ("1GB", 1_000_000)


def test_memory_settings_come_from_their_variables(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", " 512MiB ")
    monkeypatch.setenv("DATAPLATFORM_GENERATE_CHUNK_ROWS", "250000")
    settings = load_settings()
    assert (settings.duckdb_memory_limit, settings.generate_chunk_rows) == ("512MiB", 250_000)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "lots", "give a size such as 1GB or 512MB"),
        ("DATAPLATFORM_DUCKDB_MEMORY_LIMIT", "1GB'; SELECT 'x", "give a size such as 1GB or 512MB"),
        ("DATAPLATFORM_GENERATE_CHUNK_ROWS", "0", "greater than or equal to 1"),
    ],
)
def test_a_bad_memory_setting_is_refused_naming_its_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert f"{variable}={value!r}" in str(error.value) and expected in str(error.value)
