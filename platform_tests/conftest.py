"""Shared fixtures: small, fast settings over temporary folders."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from dataplatform.settings import EcommerceVolumes, MarketVolumes, SensorVolumes, Settings, WeatherVolumes
from platform_tests.s3 import s3_lake, s3_server  # noqa: F401  (fixtures: the S3 test server)

DAY = date(2026, 3, 10)
NEXT_DAY = date(2026, 3, 11)
SMALL = EcommerceVolumes(customers=300, products=60, orders_per_day=400, items_per_order=2.5)


def small_settings(root: Path, **overrides) -> Settings:
    values = {
        "data_dir": root / "data",
        "dagster_home": root / "dagster",
        "start_date": date(2026, 1, 1),
        "seed": 7,
        "ecommerce": SMALL,
        "market": MarketVolumes(symbols=6, bar_minutes=5),
        "sensors": SensorVolumes(devices=12, reading_seconds=600),
        "weather": WeatherVolumes(stations=6),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return small_settings(tmp_path)


DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL server, from DATAPLATFORM_TEST_POSTGRES_URL.

    Without one the test is skipped with the reason, except under CI=true, where a missing
    server is a failure: CI must never pass by skipping the PostgreSQL tests.
    """
    import psycopg

    url = os.environ.get("DATAPLATFORM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at DATAPLATFORM_TEST_POSTGRES_URL is unreachable: {str(error).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL; {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_database(postgres_url: str):
    """A fresh, empty database on the test server for one test, dropped afterwards."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dataplatform_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
