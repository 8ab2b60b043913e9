"""The state routes: runs, jobs, checks, datasets, models, and the admin key list (gold is in
`gold_routes.py`). Every answer is read from the instance, the registries or the tracking store;
nothing here changes them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from dataplatform.api.problems import CLIENT_ERRORS, ProblemError, responses
from dataplatform.defs.state import RUN_STATUSES, NotFound
from dataplatform.encoding import jsonable

if TYPE_CHECKING:
    from dataplatform.api.app import Services

# mypy reads an Enum() call only with literal members; these come from Dagster at import
RunStatus = Enum("RunStatus", {s: s for s in RUN_STATUSES}, type=str)  # type: ignore[misc]


router = APIRouter()
admin = APIRouter(tags=["admin"])


class Run(BaseModel):
    run_id: str
    job: str
    status: str
    partition: str | None
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None


class RunPage(BaseModel):
    runs: list[Run]
    next_cursor: str | None


class Step(BaseModel):
    step: str
    status: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    attempts: int | None


class Failure(BaseModel):
    step: str | None
    event: str | None
    message: str


class RunDetail(Run):
    steps: list[Step]
    failures: list[Failure]


class LogEntry(BaseModel):
    at: datetime | None
    level: str
    step: str | None
    event: str | None
    message: str


class LogPage(BaseModel):
    run_id: str
    logs: list[LogEntry]
    next_cursor: str | None


class Schedule(BaseModel):
    name: str
    cron: str
    timezone: str
    status: str


class Job(BaseModel):
    name: str
    description: str | None
    schedules: list[Schedule]
    last_run: Run | None


class CheckResult(BaseModel):
    asset: str
    check: str
    partition: str | None
    passed: bool
    severity: str | None
    run_id: str
    at: datetime | None
    failing_rows: int | float | None
    metadata: dict[str, Any]


class DatasetSummary(BaseModel):
    name: str
    description: str
    source_kind: str
    splits: list[str]
    target: str | None
    problem_type: str | None
    tags: list[str]
    version: int | None
    registered_at: str


class DatasetDetail(BaseModel):
    spec: dict[str, Any]
    versions: list[dict[str, Any]]
    stats: dict[str, Any]


class ModelSummary(BaseModel):
    name: str
    latest_version: int | None
    aliases: dict[str, str]


class ModelDetail(BaseModel):
    name: str
    version: str
    aliases: list[str]
    run_id: str
    tags: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, float | None]
    lineage: dict[str, Any]
    promotions: list[dict[str, Any]]


class KeyInfo(BaseModel):
    id: str
    name: str
    scope: str
    created_at: str
    revoked_at: str | None


# -- runs, jobs, checks -----------------------------------------------------------------------


@router.get("/runs", tags=["runs"], response_model=RunPage, responses=responses(*CLIENT_ERRORS))
def list_runs(
    request: Request,
    job: Annotated[str | None, Query(max_length=200)] = None,
    status: RunStatus | None = None,
    partition: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the page before")] = None,
) -> dict[str, Any]:
    """Runs, newest first, by job, status and partition, with their durations."""
    state = _services(request).state
    try:
        runs, next_cursor = state.runs(job, status.value if status else None, partition, limit, cursor)
    except ValueError as error:
        raise ProblemError(400, str(error)) from None
    return {"runs": runs, "next_cursor": next_cursor}


RunId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f-]{1,64}$")]


@router.get(
    "/runs/{run_id}", tags=["runs"], response_model=RunDetail, responses=responses(*CLIENT_ERRORS, 404)
)
def get_run(request: Request, run_id: RunId) -> dict[str, Any]:
    """One run with each step's status and timings, and its failures with their messages."""
    try:
        return _services(request).state.run(run_id)
    except NotFound as error:
        raise ProblemError(404, str(error)) from None


@router.get(
    "/runs/{run_id}/logs", tags=["runs"], response_model=LogPage, responses=responses(*CLIENT_ERRORS, 404)
)
def get_run_logs(
    request: Request,
    run_id: RunId,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """A run's event log, oldest first, a page at a time."""
    try:
        logs, next_cursor = _services(request).state.logs(run_id, cursor, limit)
    except NotFound as error:
        raise ProblemError(404, str(error)) from None
    except ValueError as error:
        raise ProblemError(400, str(error)) from None
    return {"run_id": run_id, "logs": logs, "next_cursor": next_cursor}


@router.get("/jobs", tags=["runs"], response_model=list[Job], responses=responses(*CLIENT_ERRORS))
def list_jobs(request: Request) -> list[dict[str, Any]]:
    """Every job with its schedules (cron, time zone, running or stopped) and its last run."""
    return _services(request).state.jobs()


@router.get("/checks", tags=["checks"], response_model=list[CheckResult], responses=responses(*CLIENT_ERRORS))
def list_checks(
    request: Request,
    asset: Annotated[str | None, Query(max_length=300, description="e.g. gold/ecommerce/daily_sales")] = None,
    failing: Annotated[bool, Query(description="Only checks whose latest result failed")] = False,
) -> list[dict[str, Any]]:
    """The latest result of every asset check for each partition, with failing rows, the
    observed and expected values and a sample of failing rows from its metadata."""
    return _services(request).state.checks(asset, failing)


# -- datasets and models ----------------------------------------------------------------------

DatasetName = Annotated[str, Path(max_length=128)]


@router.get(
    "/datasets", tags=["ml"], response_model=list[DatasetSummary], responses=responses(*CLIENT_ERRORS)
)
def list_datasets(request: Request) -> list[dict[str, Any]]:
    """Registered ML datasets, from the registry's specs."""
    from dataplatform.datasets.client import DatasetClient

    specs = DatasetClient.for_settings(_services(request).settings).list()
    return [{k: v for k, v in spec.to_dict().items() if k in DatasetSummary.model_fields} for spec in specs]


@router.get(
    "/datasets/{name}",
    tags=["ml"],
    response_model=DatasetDetail,
    responses=responses(*CLIENT_ERRORS, 404, 503),
)
def get_dataset(request: Request, name: DatasetName) -> dict[str, Any]:
    """A dataset's spec, versions and the statistics computed when it was registered."""
    from dataplatform.datasets.client import DatasetClient
    from dataplatform.datasets.errors import DatasetError

    services = _services(request)
    client = DatasetClient.for_settings(services.settings)
    try:
        spec = client.spec(name)
    except DatasetError as error:
        raise ProblemError(404, str(error)) from None
    try:
        versions, stats = services.dataset_details(client, spec)
    except DatasetError as error:
        raise services.unavailable(str(error)) from None
    return {"spec": jsonable(spec.to_dict()), "versions": jsonable(versions), "stats": jsonable(stats)}


@router.get(
    "/models", tags=["ml"], response_model=list[ModelSummary], responses=responses(*CLIENT_ERRORS, 503)
)
def list_models(request: Request) -> list[dict[str, Any]]:
    """Registered models, their newest version and aliases (champion, challenger)."""
    tracker = _tracker(_services(request))
    return [] if tracker is None else tracker.models()


@router.get(
    "/models/{name}", tags=["ml"], response_model=ModelDetail, responses=responses(*CLIENT_ERRORS, 404, 503)
)
def get_model(
    request: Request,
    name: Annotated[str, Path(max_length=256)],
    version: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")] = None,
) -> dict[str, Any]:
    """A model's champion (or `version`): aliases, parameters, metrics, lineage and promotions."""
    from dataplatform.models.errors import ModelError

    tracker = _tracker(_services(request))
    if tracker is None:
        raise ProblemError(404, f"no registered model {name!r}: no model has been trained yet")
    try:
        return jsonable(tracker.describe(name, version))
    except ModelError as error:
        raise ProblemError(404, str(error)) from None


# -- admin ------------------------------------------------------------------------------------


@admin.get("/keys", response_model=list[KeyInfo], responses=responses(*CLIENT_ERRORS))
def list_keys(request: Request) -> list[dict[str, Any]]:
    """API keys (never the keys themselves nor their hashes); needs the admin scope."""
    return [key.shown() for key in _services(request).keys.list()]


# -- helpers ----------------------------------------------------------------------------------


def _services(request: Request) -> Services:
    return request.app.state.services


def _tracker(services: Services):
    """The MLflow tracker, or None while no model was ever tracked (nothing is created by a read)."""
    from dataplatform.models.tracking import Tracker

    settings = services.settings
    if settings.profile != "postgres" and not (settings.data_dir / "mlflow" / "mlflow.db").exists():
        return None
    return Tracker.for_settings(settings)
