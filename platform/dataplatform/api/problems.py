"""RFC 9457 problem details: every error the API returns is `application/problem+json` with
`type`, `title`, `status` and `detail`, so clients handle one error shape everywhere."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "application/problem+json"
# what any data route may answer: a bad parameter, no or a wrong key, a key without the scope, too many requests
CLIENT_ERRORS = (400, 401, 403, 429)
log = logging.getLogger(__name__)


class Problem(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Raised by a route to answer with a problem; `headers` such as `Retry-After` go along."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem_response(
    status: int, detail: str | None, instance: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, instance=instance)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_TYPE, headers=headers
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries declaring that a route may answer these statuses with a problem body."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def install(app: FastAPI) -> None:
    """Turn every error (ours, Starlette's 404/405, validation, unexpected) into a problem."""

    @app.exception_handler(ProblemError)
    async def _ours(request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(error.status, error.detail, request.url.path, error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(error.status_code, str(error.detail), request.url.path, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # a bad query parameter is the client's mistake: 400, naming the parameter and why; a
        # path naming no resource (a domain or table outside the enums) is a 404, as for any URL
        status = 404 if all(item.get("loc", ("",))[0] == "path" for item in error.errors()) else 400
        parts = []
        for item in error.errors():
            where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "path", "header"))
            parts.append(f"{where}: {item.get('msg')}")
        return problem_response(status, "; ".join(parts) or "invalid request", request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(500, "unexpected error; the server log has the details", request.url.path)
