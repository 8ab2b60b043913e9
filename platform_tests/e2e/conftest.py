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
    )
    return env


def run(command: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout)


def daily_job(day: str, job: str = "daily") -> list[str]:
    """`dagster job execute` of the all-domains daily job for one partition, as CI runs it on a
    fresh instance (nothing materialised before)."""
    import json

    return [
        str(BIN / "dagster"),
        "job",
        "execute",
        "-m",
        "dataplatform.definitions",
        "-j",
        job,
        "--tags",
        json.dumps({"dagster/partition": day}),
    ]
