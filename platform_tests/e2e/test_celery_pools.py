"""The DuckDB warehouse keeps one writer under Celery: a gold step waits, on any worker, while
another writer holds the pool's one slot in the instance, and starts once it is given back.

dagster-celery's orchestrator claims a step's slot before it puts the step on the broker, so the
hold is the instance's, shared by every run and worker; this test proves it with real workers on
a PostgreSQL instance (the team deployment's dagster.yaml), not by reading the library's code.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from dataplatform.defs.pools import ensure_pools
from platform_tests.celery import celery_broker, celery_workers  # noqa: F401  (fixture)
from platform_tests.e2e.conftest import PROJECT, daily_job, job_execute, team_instance_env

pytestmark = pytest.mark.e2e

POOL = "duckdb_warehouse"
GOLD_STEP = "gold__weather__daily_weather"
DAY = "2026-03-10"


def test_a_gold_step_waits_for_the_warehouse_slot_another_writer_holds(
    tmp_path: Path,
    celery_broker: str,  # noqa: F811
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    env |= team_instance_env(tmp_path / "dagster", postgres_database)
    env |= {
        "DATAPLATFORM_DATA_DIR": str(tmp_path / "data"),
        "DATAPLATFORM_START_DATE": "2026-01-01",
        "DATAPLATFORM_WEATHER__STATIONS": "4",
        "DATAPLATFORM_EXECUTOR": "celery",
        "DATAPLATFORM_CELERY_BROKER": celery_broker,
    }
    for name, value in env.items():
        if name.startswith(("DAGSTER_", "POSTGRES_")):
            monkeypatch.setenv(name, value)  # this process reads the same instance
    master = job_execute("weather_master")
    with celery_workers(2, env, tmp_path) as workers, dg.DagsterInstance.get() as instance:
        done = subprocess.run(master, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-3000:] + workers.output()

        storage = instance.event_log_storage
        ensure_pools(instance, (POOL,))  # the master run's start created it already: a no-op then
        assert storage.claim_concurrency_slot(POOL, "another-writer", "writing").is_claimed
        with (tmp_path / "daily.log").open("wb") as log:
            daily = subprocess.Popen(
                daily_job(DAY, "weather_daily"), env=env, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            run_id = _wait_for(lambda: _only_gold_left(instance), 120, "every step but gold done")
            # gold asked the pool for its slot and was refused: it waits in the pool's pending steps
            _wait_for(
                lambda: run_id in storage.get_concurrency_info(POOL).pending_run_ids,
                120,
                "gold step waiting for the held slot",
            )
            assert _started(instance, run_id, GOLD_STEP) is None, "gold started while the slot was held"
            released = time.time()
            storage.free_concurrency_slot_for_step("another-writer", "writing")
            assert daily.wait(timeout=120) == 0, (tmp_path / "daily.log").read_text()[-3000:]
        finally:
            if daily.poll() is None:
                daily.kill()
                daily.wait()
        started = _started(instance, run_id, GOLD_STEP)
        assert started is not None and started >= released
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS


def _only_gold_left(instance: dg.DagsterInstance) -> str | None:
    """The daily run's id once every step but gold has succeeded (gold not started)."""
    runs = instance.get_runs(dg.RunsFilter(job_name="weather_daily"))
    if not runs:
        return None
    run = runs[0]
    succeeded = {
        record.event_log_entry.step_key
        for record in instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS
        ).records
    }
    planned = set(instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id).step_keys_to_execute)
    return run.run_id if planned - succeeded == {GOLD_STEP} else None


def _started(instance: dg.DagsterInstance, run_id: str, step_key: str) -> float | None:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return next(
        (r.event_log_entry.timestamp for r in records if r.event_log_entry.step_key == step_key), None
    )


def _wait_for(found, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {timeout:.0f} s")
