from datetime import date

import pytest

from dataplatform.settings import SettingsError, load_settings


def test_defaults_need_no_server(monkeypatch):
    for name in ("DATAPLATFORM_DATA_DIR", "DATAPLATFORM_STORAGE__GOLD"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert str(settings.data_dir) == "data"
    assert settings.storage.model_dump() == {
        "landing": "parquet",
        "bronze": "delta",
        "silver": "delta",
        "gold": "duckdb",
    }


def test_environment_overrides_nested_values(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_STORAGE__GOLD", "delta")
    monkeypatch.setenv("DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY", "123")
    monkeypatch.setenv("DATAPLATFORM_START_DATE", "2026-02-01")
    settings = load_settings()
    assert settings.storage.gold == "delta"
    assert settings.ecommerce.orders_per_day == 123
    assert settings.start_date == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATAPLATFORM_STORAGE__GOLD", "mysql", "'parquet', 'delta', 'duckdb' or 'postgres'"),
        ("DATAPLATFORM_ECOMMERCE__CUSTOMERS", "-5", "greater than 0"),
        ("DATAPLATFORM_START_DATE", "2026-13-01", "valid date"),
        ("DATAPLATFORM_DEFECT_RATE", "2", "less than or equal to 0.5"),
    ],
)
def test_invalid_setting_names_variable_and_allowed_values(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert variable in message
    assert expected in message


def test_postgres_profile_moves_silver_and_gold_unless_a_layer_is_set(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_PROFILE", "postgres")
    monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", "postgresql://user:pw@db:5432/platform")
    settings = load_settings()
    assert (settings.storage.silver, settings.storage.gold, settings.storage.bronze) == (
        "postgres",
        "postgres",
        "delta",
    )
    monkeypatch.setenv("DATAPLATFORM_STORAGE__GOLD", "duckdb")
    assert load_settings().storage.gold == "duckdb"


def test_postgres_without_a_url_fails_at_load_and_the_url_is_never_echoed(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_STORAGE__SILVER", "postgres")
    with pytest.raises(
        SettingsError, match="DATAPLATFORM_POSTGRES_URL is required: silver stored in postgres"
    ):
        load_settings()
    monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", "postgresql://user:pw@db/platform")
    assert "pw" not in repr(load_settings())
    monkeypatch.setenv("DATAPLATFORM_PROFILE", "cloud")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "DATAPLATFORM_PROFILE='cloud'" in str(error.value) and "pw" not in str(error.value)
