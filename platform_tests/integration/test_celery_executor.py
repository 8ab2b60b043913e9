"""The Celery executor's configuration: what it refuses, and that the broker's password shows
nowhere. No worker is needed: every refusal comes before a step is put on the broker."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from dataplatform.defs.celery_executor import UnsharedInstanceError, require_shared_instance
from dataplatform.settings import Settings, SettingsError, load_settings
from platform_tests.e2e.conftest import PROJECT, job_execute

PASSWORD = "brokerpass-7f3a"  # a password no message may contain
BROKER = f"amqp://platform:{PASSWORD}@127.0.0.1:5672//"


def test_the_celery_executor_needs_a_broker_and_names_it(monkeypatch):
    monkeypatch.setenv("DATAPLATFORM_EXECUTOR", "celery")
    with pytest.raises(SettingsError, match="DATAPLATFORM_CELERY_BROKER is required"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATAPLATFORM_CELERY_BROKER", f"platform:{PASSWORD}@127.0.0.1:5672"),  # no scheme
        ("DATAPLATFORM_CELERY_BROKER", f"http://platform:{PASSWORD}@127.0.0.1"),
        ("DATAPLATFORM_CELERY_BACKEND", f"amqp://platform:{PASSWORD}@127.0.0.1"),  # a broker, not a backend
    ],
)
def test_a_url_celery_cannot_use_is_refused_without_being_shown(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert variable in str(refused.value) and "://" in str(refused.value)
    assert PASSWORD not in str(refused.value) and "127.0.0.1" not in str(refused.value)


def test_the_code_location_loads_the_celery_executor_without_importing_celery():
    """Every run step re-imports the code location: celery is for workers and orchestrators."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPLATFORM_")}
    env |= {"DATAPLATFORM_EXECUTOR": "celery", "DATAPLATFORM_CELERY_BROKER": BROKER}
    probe = (
        "import sys; from dataplatform.definitions import defs; executor = defs().executor; "
        "print(executor.name, 'celery' in sys.modules, 'kombu' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["celery", "False", "False"]


def test_an_ephemeral_instance_is_refused_naming_what_to_set():
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(UnsharedInstanceError) as refused:
        require_shared_instance(instance)
    assert "DAGSTER_HOME" in str(refused.value) and "storage: postgres:" in str(refused.value)


def test_a_sqlite_instance_is_refused_naming_what_to_set(tmp_path):
    (tmp_path / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
        pytest.raises(UnsharedInstanceError) as refused,
    ):
        require_shared_instance(instance)
    assert "storage: postgres:" in str(refused.value) and "sqlite" in str(refused.value)


def test_a_postgres_instance_without_pool_limits_is_refused(postgres_database, tmp_path):
    storage = {"storage": {"postgres": {"postgres_url": _psycopg2(postgres_database)}}}
    with (
        dg.instance_for_test(overrides=storage, temp_dir=str(tmp_path)) as instance,
        pytest.raises(UnsharedInstanceError, match="default_limit: 1"),
    ):
        require_shared_instance(instance)
    limited = storage | {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.instance_for_test(overrides=limited, temp_dir=str(tmp_path)) as instance:
        require_shared_instance(instance)  # the team deployment's instance: accepted


def test_a_run_on_the_embedded_instance_fails_as_it_starts_and_never_shows_the_broker(tmp_path):
    """`dagster job execute` with the default SQLite instance: the run fails before any step,
    saying what to set; the broker's password is in neither the output nor the event log."""
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "DATAPLATFORM_DATA_DIR": str(tmp_path / "data"),
        "DATAPLATFORM_EXECUTOR": "celery",
        "DATAPLATFORM_CELERY_BROKER": BROKER,
    }
    done = subprocess.run(
        job_execute("weather_master"), env=env, cwd=PROJECT, capture_output=True, text=True, timeout=180
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "storage: postgres:" in output
    assert "STEP_START" not in output
    assert PASSWORD not in output
    stored = b"".join(path.read_bytes() for path in home.rglob("*") if path.is_file())
    assert PASSWORD.encode() not in stored


def test_settings_keep_the_broker_secret():
    settings = Settings(executor="celery", celery_broker=BROKER)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


def _psycopg2(url: str) -> str:
    """Dagster's PostgreSQL storage sends NOTIFY, which only psycopg2 accepts (see docker/dagster.yaml)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)
