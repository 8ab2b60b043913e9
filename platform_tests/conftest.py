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


# Test tiers. Every test gets its folder's marker (unit, integration, e2e) and `postgres` when it
# uses the PostgreSQL test server, here, so no test file repeats them; `slow` is measured, not
# guessed, and set in the slow tests' own files. `make test-fast` leaves out slow, e2e and
# postgres tests; `make test` (and CI) runs them all.
MARKERS = {
    "unit": "a pure function, no Dagster instance, no server, no subprocess",
    "integration": "Dagster in process over real backends in temporary folders",
    "e2e": "runs the platform as a user would, through subprocesses",
    "postgres": "uses the PostgreSQL test server (DATAPLATFORM_TEST_POSTGRES_URL)",
    "slow": "takes seconds on its own (measured); left out of `make test-fast`",
}
TIERS = ("unit", "integration", "e2e")
POSTGRES_FIXTURES = {"postgres_url", "postgres_database"}


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, description in MARKERS.items():
        if name not in registered:  # pyproject.toml registers e2e already
            config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0]
        if folder in TIERS:
            item.add_marker(folder)
        if _uses_postgres(item):
            item.add_marker("postgres")


def _uses_postgres(item: pytest.Item) -> bool:
    """A test that asks for the server's fixtures, directly or through another fixture, or one
    parametrised onto the postgres backend (those fetch the server with `getfixturevalue`)."""
    if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgres" in [v for v in callspec.params.values() if isinstance(v, str)]
