"""The gold routes, built from the code location's gold tables.

Domains and tables are enums of the definitions' gold assets, so the OpenAPI document and every
client (and fuzzer) see the real choices. Gold rows go out as JSON by default, or as CSV, Arrow
IPC or Parquet when `Accept` asks for them.

No `from __future__ import annotations` here: the enums are made when the router is built, and
FastAPI reads a route's annotations as objects, which it could not find from their names.
"""

import io
import json
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from dataplatform.api.gold import GoldEntry, GoldError, NotPublished, json_rows
from dataplatform.api.problems import CLIENT_ERRORS, ProblemError, responses
from dataplatform.encoding import json_default

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.api.app import Services
    from dataplatform.api.gold import Page

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


def gold_router(tables: list[GoldEntry]) -> APIRouter:
    """`/gold`, `/gold/{domain}/{table}` and its `/aggregate`, for these tables."""
    router = APIRouter(tags=["gold"])
    # the path parameters' choices, known only when the app is built (mypy reads an Enum() call
    # only with literal members)
    Domain = Enum("Domain", {d: d for d in dict.fromkeys(e.domain for e in tables)}, type=str)  # type: ignore[misc]
    GoldTableName = Enum("GoldTableName", {t: t for t in dict.fromkeys(e.name for e in tables)}, type=str)  # type: ignore[misc]

    @router.get("/gold", response_model=list[GoldTableInfo], responses=responses(*CLIENT_ERRORS, 503))
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
    PartitionFrom = Annotated[
        date | None, Query(description="First partition (inclusive), partitioned tables")
    ]
    PartitionTo = Annotated[date | None, Query(description="Last partition (inclusive), partitioned tables")]

    @router.get(
        "/gold/{domain}/{table}",
        response_model=GoldPage,
        responses={
            200: {"content": ROWS_CONTENT, "description": "A page of rows; X-Next-Cursor continues it"},
            **responses(*CLIENT_ERRORS, 404, 406, 503),
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
            lambda: services.gold.rows(
                entry, rows, selected, filters, (partition_from, partition_to), cursor
            ),
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
        response_model=GoldAggregate,
        responses=responses(*CLIENT_ERRORS, 404, 503),
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

    return router


def _services(request: Request) -> "Services":
    return request.app.state.services


def _entry(services: "Services", domain: str, table: str) -> GoldEntry:
    for entry in services.tables:
        if entry.domain == domain and entry.name == table:
            return entry
    known = ", ".join(e.name for e in services.tables if e.domain == domain)
    raise ProblemError(404, f"no gold table {domain}/{table}; {domain} has: {known}")


def _limit(services: "Services", asked: int | None) -> int:
    if asked is None:
        return min(services.api.default_page_rows, services.api.max_page_rows)
    if asked > services.api.max_page_rows:
        raise ProblemError(
            400, f"limit {asked} is above the maximum page of {services.api.max_page_rows} rows"
        )
    return asked


def _gold_call(services: "Services", call) -> "Page":
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


def _binary(data: "pa.Table", output: str, headers: dict[str, str]) -> Response:
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
