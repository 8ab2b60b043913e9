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
        ("DATAPLATFORM_STORAGE__GOLD", "mysql", "'postgres', 'iceberg' or 'ducklake'"),
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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://user:s3cret@db:54x2/platform", "the port must be a number from 1 to 65535"),
        ("postgresql://user:s3cret@db:70000/platform", "the port must be a number from 1 to 65535"),
        ("mysql://user:s3cret@db:3306/platform", "unknown driver 'mysql'"),
        ("postgresql+psycopg2://user:s3cret@db/platform", "unknown driver 'postgresql+psycopg2'"),
        ("user:s3cret@db/platform", "not a URL"),
    ],
)
def test_a_malformed_postgres_url_is_refused_at_load_naming_the_variable_not_the_secret(
    monkeypatch, url, expected
):
    monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", url)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("invalid setting: DATAPLATFORM_POSTGRES_URL: ")
    assert expected in message
    assert "s3cret" not in message


@pytest.mark.parametrize("url", ["postgresql://user:pw@db:5432/platform", "postgresql+psycopg://db/platform"])
def test_a_well_formed_postgres_url_loads(monkeypatch, url):
    monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", url)
    assert load_settings().postgres_url.get_secret_value() == url


def test_a_dotenv_file_in_the_working_directory_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    for name in ("DATAPLATFORM_SEED", "DATAPLATFORM_STORAGE__GOLD", "DATAPLATFORM_AUTOMATION"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "# compose's variables live here too: they are not the platform's and are left alone\n"
        "POSTGRES_PASSWORD=change-me\n"
        "DAGSTER_HOME=/opt/dagster/home\n"
        "DATAPLATFORM_SEED=99\n"
        "DATAPLATFORM_STORAGE__GOLD=delta\n"
        "DATAPLATFORM_AUTOMATION=off\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.seed, settings.storage.gold, settings.automation) == (99, "delta", False)
    monkeypatch.setenv("DATAPLATFORM_SEED", "5")
    assert load_settings().seed == 5
    monkeypatch.delenv("DATAPLATFORM_SEED")
    (tmp_path / ".env").write_text("DATAPLATFORM_SEED=-1\n")
    with pytest.raises(
        SettingsError, match="DATAPLATFORM_SEED='-1': Input should be greater than or equal to 0"
    ):
        load_settings()


@pytest.mark.parametrize("value", ["off", "false", "0"])
def test_automation_is_on_unless_switched_off_with_one_variable(monkeypatch, value):
    monkeypatch.delenv("DATAPLATFORM_AUTOMATION", raising=False)
    assert load_settings().automation is True
    monkeypatch.setenv("DATAPLATFORM_AUTOMATION", value)
    assert load_settings().automation is False


def test_a_schedule_cron_is_set_by_the_schedules_name_and_must_have_five_fields(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_SCHEDULES__ECOMMERCE_DAILY_SCHEDULE", "0 6 * * *")
    assert load_settings().schedules == {"ecommerce_daily_schedule": "0 6 * * *"}
    monkeypatch.setenv("DATAPLATFORM_SCHEDULES__ECOMMERCE_DAILY_SCHEDULE", "at six")
    with pytest.raises(SettingsError, match="DATAPLATFORM_SCHEDULES: ecommerce_daily_schedule='at six'"):
        load_settings()


def test_the_command_puts_dotenv_into_the_environment_without_overriding_it(tmp_path, monkeypatch):
    import os

    from dataplatform.cli import environment_from_dotenv

    (tmp_path / ".env").write_text("DATAPLATFORM_DOTENV_PROBE=from-file\nDATAPLATFORM_DOTENV_SET=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATAPLATFORM_DOTENV_PROBE", raising=False)
    monkeypatch.setenv("DATAPLATFORM_DOTENV_SET", "from-environment")
    environment_from_dotenv()
    try:
        assert os.environ["DATAPLATFORM_DOTENV_PROBE"] == "from-file"
        assert os.environ["DATAPLATFORM_DOTENV_SET"] == "from-environment"
    finally:
        os.environ.pop("DATAPLATFORM_DOTENV_PROBE", None)
