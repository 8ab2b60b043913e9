"""A backfill on Celery: two days of two domains, every step on one of two real workers, the
instance in a fresh PostgreSQL database (the team deployment's dagster.yaml), the lake on a local
S3 server, and the same tables, row for row in count, as an in-process run on local disk.

The runs are `dagster job execute` processes started at once, one per domain and day (after each
domain's master data), as a backfill launches its runs; each is the orchestrator of its steps,
which it puts on the broker for the workers `make workers` starts. What the test reads back comes
from the instance (events written by the workers themselves) and from the stores.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import dagster as dg
import pytest

from dataplatform.settings import LAYERS, Settings, load_settings
from platform_tests.celery import celery_broker, celery_workers  # noqa: F401  (fixture)
from platform_tests.e2e.conftest import daily_job, job_execute, run_all, team_instance_env

pytestmark = pytest.mark.e2e

DOMAINS = ("ecommerce", "weather")
DAYS = ("2026-03-10", "2026-03-11")
# small days: the test is about where steps run, not how fast
VOLUMES = {
    "DATAPLATFORM_START_DATE": "2026-01-01",
    "DATAPLATFORM_ECOMMERCE__CUSTOMERS": "200",
    "DATAPLATFORM_ECOMMERCE__PRODUCTS": "40",
    "DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY": "300",
    "DATAPLATFORM_WEATHER__STATIONS": "4",
}
RUN_TIMEOUT_SECONDS = 240
WORKER_LABEL = "Celery worker"  # dagster-celery's metadata on the event a worker writes per step


def test_a_backfill_on_two_celery_workers_equals_an_in_process_run(
    tmp_path: Path,
    celery_broker: str,  # noqa: F811
    postgres_database: str,
    s3_lake: str,
    s3_server,
    monkeypatch: pytest.MonkeyPatch,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAPLATFORM_", "DAGSTER_"))}
    env |= team_instance_env(tmp_path / "dagster", postgres_database)
    env |= s3_server.env() | VOLUMES
    env |= {
        "DATAPLATFORM_DATA_DIR": str(tmp_path / "data"),
        "DATAPLATFORM_LAKE_URI": s3_lake,
        "DATAPLATFORM_EXECUTOR": "celery",
        "DATAPLATFORM_CELERY_BROKER": celery_broker,
    }
    with celery_workers(2, env, tmp_path) as workers:
        masters = run_all([job_execute(f"{d}_master") for d in DOMAINS], env)
        days = run_all([daily_job(day, f"{d}_daily") for d, day in itertools.product(DOMAINS, DAYS)], env)
        for done in (*masters, *days):
            assert done.returncode == 0, f"{done.args}\n{done.stdout[-3000:]}\n{workers.output()}"

    for name in (
        "DAGSTER_HOME",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_DB",
    ):
        monkeypatch.setenv(name, env[name])  # the instance, as its dagster.yaml reads it
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        steps = _steps(instance, runs)
    assert len(runs) == len(DOMAINS) * (1 + len(DAYS))
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert all(step.succeeded for step in steps), [s.key for s in steps if not s.succeeded]
    # every step ran on a worker, and both workers took steps
    assert all(step.worker in workers.names for step in steps), {s.worker for s in steps}
    assert {step.worker for step in steps} == set(workers.names)
    # one writer of the DuckDB warehouse at a time, across runs and workers
    gold = sorted((s for s in steps if s.key.startswith("gold__")), key=lambda s: s.started)
    assert len(gold) == len(DOMAINS) * len(DAYS)
    for before, after in itertools.pairwise(gold):
        assert before.ended <= after.started, f"{before.key} and {after.key} wrote the warehouse at once"

    # the same partitions in process, on local disk
    for name, value in {**VOLUMES, "DATAPLATFORM_DATA_DIR": str(tmp_path / "local")}.items():
        monkeypatch.setenv(name, value)
    local = load_settings()
    _run_in_process(local)
    on_celery = _row_counts(Settings(data_dir=tmp_path / "data", lake_uri=s3_lake))
    assert {name.split("/")[0] for name in on_celery} == {*LAYERS, "reference"}
    assert not (tmp_path / "data" / "lake").exists()  # the workers' lake was the bucket
    assert on_celery == _row_counts(local)


class _Step:
    """One step of one run as the instance recorded it."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.worker: str | None = None
        self.started = float("inf")
        self.ended = float("-inf")
        self.succeeded = False


def _steps(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> list[_Step]:
    steps = []
    for run in runs:
        by_key: dict[str, _Step] = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            step = by_key.setdefault(event.step_key, _Step(event.step_key))
            if event.event_type == dg.DagsterEventType.ENGINE_EVENT:
                worker = event.engine_event_data.metadata.get(WORKER_LABEL)
                if worker is not None:
                    step.worker = worker.value
            elif event.event_type == dg.DagsterEventType.STEP_START:
                step.started = entry.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                step.ended = entry.timestamp
                step.succeeded = event.event_type == dg.DagsterEventType.STEP_SUCCESS
        steps += by_key.values()
    return steps


def _run_in_process(settings: Settings) -> None:
    from dataplatform.defs import build_definitions

    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        for domain in DOMAINS:
            assert defs.resolve_job_def(f"{domain}_master").execute_in_process(instance=instance).success
        for domain, day in itertools.product(DOMAINS, DAYS):
            job = defs.resolve_job_def(f"{domain}_daily")
            assert job.execute_in_process(instance=instance, partition_key=day).success


def _row_counts(settings: Settings) -> dict[str, int]:
    """Rows of every table of every layer, by `layer/namespace.table`."""
    from dataplatform.storage import store_for_layer

    counts = {}
    for layer in (*LAYERS, "reference"):
        store = store_for_layer(settings, layer)
        for table in store.list_tables(layer):
            counts[f"{layer}/{table}"] = store.row_count(table)
    return counts
