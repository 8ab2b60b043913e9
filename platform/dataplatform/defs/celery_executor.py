"""Every run's steps on Celery workers (`DATAPLATFORM_EXECUTOR=celery`), through dagster-celery.

The run's own process stays the orchestrator: it claims each step's pool slot in the instance,
puts the step on the broker's `dagster` queue, and reads the step's events back from the results
backend. A worker (`make workers`, the compose file's `worker` service) takes one step at a time,
loads the code location with its own settings (so workers need the same `DATAPLATFORM_*`
variables as the code server) and writes the step's events to the run's instance.

So the instance must be one every worker reaches: a run on an ephemeral or SQLite instance is
refused as it starts, naming what to set, instead of hanging or writing events no UI sees. And
pools must be limited: dagster-celery claims a step's slot before it submits the step and frees
it once the step's result is back, so the DuckDB warehouse keeps one writer across every worker,
but only if the instance gives the pool a limit (`concurrency: pools: default_limit: 1`).

The broker and backend URLs may hold passwords: the executor's config names their variables
(`{"env": ...}`, resolved as the run starts), so neither is in a run's config, its events or the
UI. Workers read them through the settings, like everything else (`celery_app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from dataplatform.defs.executors import before_each_run
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

BROKER_VARIABLE = "DATAPLATFORM_CELERY_BROKER"
BACKEND_VARIABLE = "DATAPLATFORM_CELERY_BACKEND"
# results come back through the broker unless a backend is set: one server fewer to run
DEFAULT_BACKEND = "rpc://"
# the pools a step may hold; each must have a limit, or two workers write one DuckDB file at once
LIMITED_POOLS = ("duckdb_warehouse", "duckdb_datasets")
# the module `celery -A` loads in a worker, and the one queue dagster-celery routes steps to
WORKER_APP = "dataplatform.defs.celery_worker"
QUEUE = "dagster"
# the Celery settings executor and workers share (dagster-celery's defaults apply to the rest):
# the retry on start is what Celery does today, said so it does not warn about its next major
CELERY_CONFIG = {"broker_connection_retry_on_startup": True}


def celery_executor(settings: Settings) -> dg.ExecutorDefinition:
    """dagster-celery's executor on the settings' broker and backend, refusing an instance its
    workers cannot share. Imported here, not at the top: celery is for runs, not for loading."""
    from dagster_celery import celery_executor as library_executor

    backend = {"env": BACKEND_VARIABLE} if settings.celery_backend is not None else DEFAULT_BACKEND
    configured = library_executor.configured(
        {"broker": {"env": BROKER_VARIABLE}, "backend": backend, "config_source": CELERY_CONFIG},
        name="celery",
    )
    return before_each_run(configured, lambda init_context: require_shared_instance(init_context.instance))


class UnsharedInstanceError(dg.DagsterInvariantViolationError):
    """The run's instance cannot be shared with Celery workers; the message says what to set."""


def require_shared_instance(instance: dg.DagsterInstance) -> None:
    """Refuse an instance Celery workers cannot share, or whose pools let them write one DuckDB
    file at once. Workers open the run's instance from its reference, so it must be persistent,
    in a database every worker reaches: PostgreSQL."""
    where = "DAGSTER_HOME's dagster.yaml"
    if instance.is_ephemeral:
        raise UnsharedInstanceError(
            "DATAPLATFORM_EXECUTOR=celery needs a persistent Dagster instance its workers share: set "
            "DAGSTER_HOME to a folder whose dagster.yaml keeps runs and events in PostgreSQL "
            "(`storage: postgres:`, as docker/dagster.yaml does); this run has an ephemeral instance"
        )
    backends = {_backend(instance.run_storage), _backend(instance.event_log_storage)}
    if backends != {"postgres"}:
        raise UnsharedInstanceError(
            f"DATAPLATFORM_EXECUTOR=celery needs the run and event storage in PostgreSQL, which every "
            f"worker reaches: set `storage: postgres:` in {where} (as docker/dagster.yaml does); "
            f"this instance at {instance.root_directory} keeps them in {' and '.join(sorted(backends))}"
        )
    default = instance.global_op_concurrency_default_limit
    storage = instance.event_log_storage
    unlimited = [
        pool
        for pool in LIMITED_POOLS
        if default is None and storage.get_concurrency_info(pool).slot_count == 0
    ]
    if unlimited:
        raise UnsharedInstanceError(
            f"DATAPLATFORM_EXECUTOR=celery runs steps on many workers at once, and pool "
            f"{', '.join(unlimited)} has no limit: set `concurrency: pools: default_limit: 1` in {where} "
            "(each DuckDB file takes one writer at a time)"
        )


def celery_app(settings: Settings) -> Celery:
    """The Celery app a worker runs: the one the executor builds for a run, from the same
    settings (broker, backend, dagster-celery's queue and defaults), with its step task."""
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    if settings.celery_broker is None:
        raise ValueError(f"{BROKER_VARIABLE} is not set: name the broker the workers take steps from")
    backend = settings.celery_backend.get_secret_value() if settings.celery_backend else DEFAULT_BACKEND
    app = make_app(
        CeleryExecutor.for_cli(
            broker=settings.celery_broker.get_secret_value(), backend=backend, config_source=CELERY_CONFIG
        ).app_args()
    )
    create_task(app)
    return app


def worker_command(name: str, celery: str = "celery") -> list[str]:
    """One worker, as `make workers` and the compose file's `worker` service start it: one step at
    a time (a step is a whole table's work: DuckDB already uses the cores), named `name@host` so
    a step's events say where it ran; no gossip or mingling at start, since Dagster, not the
    workers, knows what runs where (and a worker is ready a second sooner)."""
    return [
        celery,
        "--app",
        WORKER_APP,
        "worker",
        "--concurrency",
        "1",
        "--hostname",
        f"{name}@%h",
        "--queues",
        QUEUE,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]


def _backend(storage: object) -> str:
    """`postgres`, `sqlite`, ... from the storage's module (`storage:` in dagster.yaml wraps it)."""
    storage = getattr(storage, "_storage", storage)
    module = type(storage).__module__
    for name in ("postgres", "sqlite", "mysql"):
        if name in module:
            return name
    return module
