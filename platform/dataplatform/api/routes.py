"""The data routes: gold tables, runs, jobs, checks, datasets, models, and the admin key list.

Domains and tables are enums built from the pipelines' gold specs, so the OpenAPI document and
every client (and fuzzer) see the real choices. Gold rows go out as JSON by default, or as CSV,
Arrow IPC or Parquet when `Accept` asks for them.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from dataplatform.api.encoding import json_default, jsonable
from dataplatform.api.gold import GoldEntry, GoldError, NotPublished, gold_tables, json_rows
from dataplatform.api.problems import ProblemError, responses
from dataplatform.api.state import RUN_STATUSES, NotFound

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.api.app import Services
    from dataplatform.api.gold import Page

_ENTRIES = gold_tables()
Domain = Enum("Domain", {d: d for d in dict.fromkeys(e.domain for e in _ENTRIES)}, type=str)
GoldTableName = Enum("GoldTableName", {t: t for t in dict.fromkeys(e.name for e in _ENTRIES)}, type=str)
RunStatus = Enum("RunStatus", {s: s for s in RUN_STATUSES}, type=str)

FORMATS = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.apache.arrow.stream": "arrow",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}
ROWS_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.arrow.stream": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}
COMMON = (400, 401, 403, 429)

router = APIRouter()
admin = APIRouter(tags=["admin"])


class Column(BaseModel):
    name: str
    type: str


class GoldTableInfo(BaseModel):
    domain: str
    table: str
    description: str
    key: list[str]
    partition_column: str | None
    published: bool
    version: str | None
    rows: int | None
    columns: list[Column]
    updated_at: datetime | None


class GoldPage(BaseModel):
    domain: str
    table: str
    version: str | None
    columns: list[Column]
    rows: list[dict[str, Any]]
    next_cursor: str | None


class GoldAggregate(BaseModel):
    domain: str
    table: str
    version: str | None
    groups: list[dict[str, Any]]


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


# -- gold -------------------------------------------------------------------------------------


@router.get("/gold", tags=["gold"], response_model=list[GoldTableInfo], responses=responses(*COMMON, 503))
def list_gold(request: Request) -> list[GoldTableInfo]:
    """Every gold table of the definitions: schema, rows and last update where published."""
    services = _services(request)
    found = []
    for entry in services.tables:
        try:
            source = services.gold.source(entry)
        except NotPublished:
            source = None
        found.append(
            GoldTableInfo(
                domain=entry.domain,
                table=entry.name,
                description=entry.description,
                key=list(entry.key),
                partition_column=entry.partition_column,
                published=source is not None,
                version=source.version if source else None,
                rows=source.rows if source else None,
                columns=[Column(name=n, type=t) for n, t in (source.columns if source else {}).items()],
                updated_at=source.published_at if source else None,
            )
        )
    return found


Columns = Annotated[
    str | None, Query(description="Comma-separated columns to return (default: all)", max_length=4000)
]
Filters = Annotated[
    list[str] | None,
    Query(
        alias="filter",
        description="column:operator:value, repeatable; operators eq ne lt le gt ge, in (comma-separated "
        "values), contains (text), null, notnull. Values are parsed to the column's type.",
    ),
]
PartitionFrom = Annotated[date | None, Query(description="First partition (inclusive), partitioned tables")]
PartitionTo = Annotated[date | None, Query(description="Last partition (inclusive), partitioned tables")]


@router.get(
    "/gold/{domain}/{table}",
    tags=["gold"],
    response_model=GoldPage,
    responses={
        200: {"content": ROWS_CONTENT, "description": "A page of rows; X-Next-Cursor continues it"},
        **responses(*COMMON, 404, 406, 503),
    },
)
def gold_rows(
    request: Request,
    domain: Domain,
    table: GoldTableName,
    limit: Annotated[
        int | None, Query(ge=1, description="Rows per page (default and maximum are settings)")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=1000, description="next_cursor of the page before")
    ] = None,
    columns: Columns = None,
    filters: Filters = None,
    partition_from: PartitionFrom = None,
    partition_to: PartitionTo = None,
) -> Response:
    """Rows in key order, a page at a time, from the table's latest published snapshot (a cursor
    keeps reading the snapshot its first page came from while it is kept)."""
    services = _services(request)
    entry = _entry(services, domain.value, table.value)
    output = _format(request)
    rows = _limit(services, limit)
    selected = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    page = _gold_call(
        services,
        lambda: services.gold.rows(entry, rows, selected, filters, (partition_from, partition_to), cursor),
    )
    headers = {"X-Snapshot-Version": page.source.version or ""}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
    if output != "json":
        return _binary(page.data, output, headers)
    body = {
        "domain": entry.domain,
        "table": entry.name,
        "version": page.source.version,
        "columns": [{"name": f.name, "type": str(f.type)} for f in page.data.schema],
        "rows": json_rows(page.data),
        "next_cursor": page.next_cursor,
    }
    return _json(body, headers)


@router.get(
    "/gold/{domain}/{table}/aggregate",
    tags=["gold"],
    response_model=GoldAggregate,
    responses=responses(*COMMON, 404, 503),
)
def gold_aggregate(
    request: Request,
    domain: Domain,
    table: GoldTableName,
    group_by: Annotated[
        str | None, Query(description="Comma-separated columns to group by", max_length=4000)
    ] = None,
    metric: Annotated[
        list[str] | None,
        Query(description="function:column, repeatable; count:* sum avg min max (default count:*)"),
    ] = None,
    filters: Filters = None,
    partition_from: PartitionFrom = None,
    partition_to: PartitionTo = None,
) -> Response:
    """Grouped aggregates over the filtered rows, computed on the snapshot (at most the page limit
    of groups)."""
    services = _services(request)
    entry = _entry(services, domain.value, table.value)
    groups = [c.strip() for c in group_by.split(",") if c.strip()] if group_by else []
    page = _gold_call(
        services,
        lambda: services.gold.aggregate(
            entry,
            groups,
            metric or [],
            filters or [],
            (partition_from, partition_to),
            services.api.max_page_rows,
        ),
    )
    body = {
        "domain": entry.domain,
        "table": entry.name,
        "version": page.source.version,
        "groups": json_rows(page.data),
    }
    return _json(body, {"X-Snapshot-Version": page.source.version or ""})


# -- runs, jobs, checks -----------------------------------------------------------------------


@router.get("/runs", tags=["runs"], response_model=RunPage, responses=responses(*COMMON, 404))
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
    except NotFound as error:
        raise ProblemError(404, str(error)) from None
    return {"runs": runs, "next_cursor": next_cursor}


RunId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f-]{1,64}$")]


@router.get("/runs/{run_id}", tags=["runs"], response_model=RunDetail, responses=responses(*COMMON, 404))
def get_run(request: Request, run_id: RunId) -> dict[str, Any]:
    """One run with each step's status and timings, and its failures with their messages."""
    try:
        return _services(request).state.run(run_id)
    except NotFound as error:
        raise ProblemError(404, str(error)) from None


@router.get("/runs/{run_id}/logs", tags=["runs"], response_model=LogPage, responses=responses(*COMMON, 404))
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


@router.get("/jobs", tags=["runs"], response_model=list[Job], responses=responses(*COMMON))
def list_jobs(request: Request) -> list[dict[str, Any]]:
    """Every job with its schedules (cron, time zone, running or stopped) and its last run."""
    return _services(request).state.jobs()


@router.get("/checks", tags=["checks"], response_model=list[CheckResult], responses=responses(*COMMON))
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


@router.get("/datasets", tags=["ml"], response_model=list[DatasetSummary], responses=responses(*COMMON))
def list_datasets(request: Request) -> list[dict[str, Any]]:
    """Registered ML datasets, from the registry's specs."""
    from dataplatform.datasets.client import DatasetClient

    specs = DatasetClient.for_settings(_services(request).settings).list()
    return [{k: v for k, v in spec.to_dict().items() if k in DatasetSummary.model_fields} for spec in specs]


@router.get(
    "/datasets/{name}", tags=["ml"], response_model=DatasetDetail, responses=responses(*COMMON, 404, 503)
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


@router.get("/models", tags=["ml"], response_model=list[ModelSummary], responses=responses(*COMMON, 503))
def list_models(request: Request) -> list[dict[str, Any]]:
    """Registered models, their newest version and aliases (champion, challenger)."""
    tracker = _tracker(_services(request))
    return [] if tracker is None else tracker.models()


@router.get("/models/{name}", tags=["ml"], response_model=ModelDetail, responses=responses(*COMMON, 404, 503))
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


@admin.get("/keys", response_model=list[KeyInfo], responses=responses(*COMMON))
def list_keys(request: Request) -> list[dict[str, Any]]:
    """API keys (never the keys themselves nor their hashes); needs the admin scope."""
    return [key.shown() for key in _services(request).keys.list()]


# -- helpers ----------------------------------------------------------------------------------


def _services(request: Request) -> Services:
    return request.app.state.services


def _entry(services: Services, domain: str, table: str) -> GoldEntry:
    for entry in services.tables:
        if entry.domain == domain and entry.name == table:
            return entry
    known = ", ".join(e.name for e in services.tables if e.domain == domain)
    raise ProblemError(404, f"no gold table {domain}/{table}; {domain} has: {known}")


def _limit(services: Services, asked: int | None) -> int:
    if asked is None:
        return min(services.api.default_page_rows, services.api.max_page_rows)
    if asked > services.api.max_page_rows:
        raise ProblemError(
            400, f"limit {asked} is above the maximum page of {services.api.max_page_rows} rows"
        )
    return asked


def _gold_call(services: Services, call) -> Page:
    try:
        return call()
    except GoldError as error:
        raise ProblemError(400, str(error)) from None
    except NotPublished as error:
        raise services.unavailable(str(error)) from None


def _format(request: Request) -> str:
    """The output format `Accept` asks for; JSON when it allows anything or says nothing."""
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return "json"
    wanted = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media in wanted:
        if media in FORMATS:
            return FORMATS[media]
        if media in ("*/*", "application/*"):
            return "json"
    raise ProblemError(406, f"cannot answer with {accept!r}: use one of {', '.join(FORMATS)}")


def _binary(data: pa.Table, output: str, headers: dict[str, str]) -> Response:
    sink = io.BytesIO()
    if output == "csv":
        import pyarrow.csv as csv

        csv.write_csv(data, sink)
        return Response(sink.getvalue(), media_type="text/csv", headers=headers)
    if output == "arrow":
        import pyarrow as pa

        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        return Response(sink.getvalue(), media_type="application/vnd.apache.arrow.stream", headers=headers)
    import pyarrow.parquet as pq

    pq.write_table(data, sink)
    return Response(sink.getvalue(), media_type="application/vnd.apache.parquet", headers=headers)


def _json(body: dict[str, Any], headers: dict[str, str]) -> Response:
    text = json.dumps(body, default=json_default, allow_nan=False, separators=(",", ":"))
    return Response(text, media_type="application/json", headers=headers)


def _tracker(services: Services):
    """The MLflow tracker, or None while no model was ever tracked (nothing is created by a read)."""
    from dataplatform.models.tracking import Tracker

    settings = services.settings
    if settings.profile != "postgres" and not (settings.data_dir / "mlflow" / "mlflow.db").exists():
        return None
    return Tracker.for_settings(settings)
