"""Run the platform's commands as a user would: subprocesses with their own environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    """A clean environment: temporary instance and data, small volumes, a fixed start date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    env.update(
        DAGSTER_HOME=str(home),
        DATAPLATFORM_DATA_DIR=str(tmp_path / "data"),
        DATAPLATFORM_START_DATE="2026-01-01",
        DATAPLATFORM_ECOMMERCE__CUSTOMERS="200",
        DATAPLATFORM_ECOMMERCE__PRODUCTS="40",
        DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY="300",
        DATAPLATFORM_MARKET__SYMBOLS="10",
        DATAPLATFORM_MARKET__BAR_MINUTES="5",
        DATAPLATFORM_SENSORS__DEVICES="40",
        DATAPLATFORM_WEATHER__STATIONS="10",
    )
    return env


def run(command: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout)


def job_execute(job: str, partition: str | None = None) -> list[str]:
    """`dagster job execute` of `job` (of one partition when given) from the code location, as
    a user or CI runs it."""
    import json

    command = [str(BIN / "dagster"), "job", "execute", "-m", "dataplatform.definitions", "-j", job]
    return command + (["--tags", json.dumps({"dagster/partition": partition})] if partition else [])


def daily_job(day: str, job: str = "daily") -> list[str]:
    """`dagster job execute` of the all-domains daily job for one partition, as CI runs it on a
    fresh instance (nothing materialised before)."""
    return job_execute(job, day)


def team_instance_env(home: Path, database_url: str) -> dict[str, str]:
    """DAGSTER_HOME at `home` holding the team deployment's instance file (docker/dagster.yaml:
    PostgreSQL storage, limited pools), and the POSTGRES_* variables it reads for `database_url`."""
    from sqlalchemy.engine import make_url

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text((PROJECT / "docker" / "dagster.yaml").read_text())
    url = make_url(database_url)
    env = {
        "DAGSTER_HOME": str(home),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_DB": str(url.database),
    }
    # the deployment's webserver or daemon creates the instance's tables before any run starts;
    # runs started together on an empty database race creating them in PostgreSQL's catalog
    # (`type "instigators" already exists`), which is no behaviour of the platform under test
    subprocess.run(
        [BIN / "dagster", "instance", "migrate"], env=os.environ | env, check=True, capture_output=True
    )
    return env


def run_all(
    commands: list[list[str]], env: dict[str, str], timeout: int = 300
) -> list[subprocess.CompletedProcess]:
    """`commands` started at once (as a backfill launches its runs), each waited for in turn;
    any still running when one times out is killed."""
    import tempfile
    from contextlib import ExitStack

    with ExitStack() as stack:
        started = []
        for command in commands:
            output = stack.enter_context(tempfile.TemporaryFile())
            process = subprocess.Popen(command, env=env, cwd=PROJECT, stdout=output, stderr=subprocess.STDOUT)
            stack.callback(_kill, process)
            started.append((command, output, process))
        done = []
        for command, output, process in started:
            returncode = process.wait(timeout=timeout)
            output.seek(0)
            done.append(
                subprocess.CompletedProcess(command, returncode, output.read().decode(errors="replace"), "")
            )
        return done


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
