"""A run killed (SIGKILL, no cleanup) while its gold step holds the DuckDB warehouse pool's one slot
blocks no later run: the next run cleans it up first and completes, and says so. So does
`dataplatform runs clean`, which leaves live runs alone."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest

from dataplatform.defs.dead_runs import PROCESS_TAG
from platform_tests.e2e.conftest import BIN, PROJECT, daily_job, job_execute, run

DAY = "2026-03-10"
POOL = "duckdb_warehouse"


@pytest.fixture
def instance(user_env, monkeypatch):
    """The instance the commands use (the user's DAGSTER_HOME), read by the test as they run."""
    monkeypatch.setenv("DAGSTER_HOME", user_env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_a_run_killed_in_gold_blocks_no_later_run(user_env, instance, tmp_path):
    master = run(
        job_execute("ecommerce_master"),
        user_env,
    )
    assert master.returncode == 0, master.stderr[-3000:]

    warehouse = tmp_path / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)):  # holds the file's lock: the gold step waits for it
        process = subprocess.Popen(
            daily_job(DAY, "ecommerce_daily"),
            env=user_env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run_id, step = _gold_step_started(instance, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _holders(instance) == [(run_id, step)]  # what blocked every later run for ever
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED

    again = run(daily_job(DAY, "ecommerce_daily"), user_env, timeout=600)

    assert again.returncode == 0, again.stderr[-3000:]
    assert (
        f"cleaned up 1 dead run: ecommerce_daily {DAY} (run {run_id[:8]}) marked failed: its process "
        f"{process.pid} on {socket.gethostname()} is gone; freed its {POOL} slot"
    ) in again.stderr
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert _holders(instance) == []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = con.execute("SELECT DISTINCT order_date::VARCHAR FROM gold_ecommerce.daily_sales").fetchall()
    assert days == [(DAY,)]


def test_runs_clean_leaves_a_live_run_alone_and_cleans_it_up_once_killed(user_env, instance, tmp_path):
    """`dataplatform run` killed in gold: the tag it gave the run names the process that died."""
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)):  # holds the file's lock: the gold step waits for it
        process = subprocess.Popen(
            [str(BIN / "dataplatform"), "run", "--days", "1"],
            env=user_env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run_id, step = _gold_step_started(instance, process)
        assert json.loads(instance.get_run_by_id(run_id).tags[PROCESS_TAG])["pid"] == process.pid

        alive = run([str(BIN / "dataplatform"), "runs", "clean", "--format", "json"], user_env)
        assert alive.returncode == 0, alive.stderr[-2000:]
        assert json.loads(alive.stdout) == {"cleaned": []}
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
        assert _holders(instance) == [(run_id, step)]

        process.send_signal(signal.SIGKILL)
        process.wait()
    cleaned = run([str(BIN / "dataplatform"), "runs", "clean"], user_env)
    assert cleaned.returncode == 0, cleaned.stderr[-2000:]
    assert cleaned.stdout.strip().splitlines() == [
        f"cleaned up 1 dead run: ecommerce_daily {_yesterday()} (run {run_id[:8]}) marked failed: its process "
        f"{process.pid} on {socket.gethostname()} is gone; freed its {POOL} slot"
    ]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert _holders(instance) == []
    nothing = run([str(BIN / "dataplatform"), "runs", "clean"], user_env)
    assert nothing.stdout.startswith("no dead run")


def _gold_step_started(instance, process: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    """The run and its gold step, once the instance shows the step started (holding the pool's slot)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the run ended before its gold step started"
        assert time.monotonic() < deadline, "no gold step started"
        for found in instance.get_runs(dg.RunsFilter(job_name="ecommerce_daily")):
            starts = instance.get_records_for_run(found.run_id, of_type=dg.DagsterEventType.STEP_START)
            for record in starts.records:
                step = record.event_log_entry.step_key or ""
                if step.startswith("gold__") and (found.run_id, step) in _holders(instance):
                    return found.run_id, step
        time.sleep(0.2)


def _yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _holders(instance) -> list[tuple[str, str]]:
    slots = instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    return [(slot.run_id, slot.step_key) for slot in slots]
