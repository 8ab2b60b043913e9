"""The FastAPI application: `create_app()` wires settings, keys, limits, metrics and routes.

Routes are plain `def` functions: FastAPI runs them in its thread pool, so a slow instance query
or a Parquet scan never blocks the event loop. Every error is a problem body (`problems.py`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from dataplatform.api.gold import GoldReader, NotPublished, gold_tables
from dataplatform.api.keys import ApiKey, KeyStore, Scope
from dataplatform.api.metrics import Metrics
from dataplatform.api.problems import Problem, ProblemError, install, responses
from dataplatform.api.settings import ApiSettings
from dataplatform.defs.state import PlatformState
from dataplatform.settings import Settings, load_settings
from dataplatform.storage.snapshots import snapshot_root

if TYPE_CHECKING:
    from dataplatform.datasets.client import DatasetClient
    from dataplatform.datasets.spec import DatasetSpec

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `dataplatform api-key create`"
)
BEARER = HTTPBearer(auto_error=False, description="The same key as a bearer token")


class Services:
    """What the routes share: settings, the gold reader, the instance, keys, limits, metrics."""

    def __init__(self, settings: Settings, api: ApiSettings, state: PlatformState) -> None:
        self.settings = settings
        self.api = api
        self.state = state
        url = settings.postgres_url.get_secret_value() if settings.postgres_url else None
        self.snapshots = snapshot_root(settings.data_dir)
        self.gold = GoldReader(self.snapshots, url if settings.layer_backend("gold") == "postgres" else None)
        self.tables = gold_tables(state.definitions)
        self.keys = KeyStore(api.keys_path(settings))
        self.limiter = RateLimiter(api.rate_per_second, api.rate_burst)
        self.metrics = Metrics(self)
        self._datasets: dict[tuple[str, str | None], tuple[list[dict[str, Any]], dict[str, Any]]] = {}
        self._datasets_lock = threading.Lock()

    def unavailable(self, detail: str) -> ProblemError:
        return ProblemError(503, detail, {"Retry-After": str(self.api.retry_after_s)})

    def dataset_details(
        self, client: DatasetClient, spec: DatasetSpec
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """A dataset version's versions list and statistics. They live in the dataset store, a
        DuckDB file its writers must open alone, so each version is read once and kept: a
        registration is disturbed at most once per new version, never by repeated requests.
        Raises `DatasetError` while a writer holds the store (the route answers 503)."""
        cache_key = (spec.name, spec.version_hash)
        with self._datasets_lock:
            cached = self._datasets.get(cache_key)
        if cached is None:
            cached = (client.versions(spec.name), client.stats(spec.name))
            with self._datasets_lock:
                self._datasets[cache_key] = cached
        return cached


class RateLimiter:
    """A token bucket per caller: `rate` requests a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_needed(self, caller: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, since = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[caller] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget idle callers (their buckets are full again)
                full = [k for k, (t, s) in self._buckets.items() if t + (now - s) * self.rate >= self.burst]
                for key in full:
                    del self._buckets[key]
            return 0.0


def create_app(
    settings: Settings | None = None,
    api: ApiSettings | None = None,
    state: PlatformState | None = None,
) -> FastAPI:
    """The API over `settings`' data folder and the instance in `state` (DAGSTER_HOME if None).
    The code location's definitions are built here, once (a few seconds): they name the gold
    tables the routes accept, and the jobs, schedules and checks the instance is asked about."""
    from dataplatform.api import routes
    from dataplatform.api.gold_routes import gold_router

    settings = settings or load_settings()
    api = api or ApiSettings()
    services = Services(settings, api, state or PlatformState(settings))
    app = FastAPI(
        title="dataplatform",
        version="1",
        summary="Read-only HTTP over gold tables and the platform's state.",
        description=(
            "Gold rows come from read-only snapshots each gold materialisation publishes, so reads "
            "never lock the warehouse. Errors are RFC 9457 `application/problem+json`. Data "
            "endpoints take an API key (`X-API-Key` or `Authorization: Bearer`)."
        ),
        responses=responses(500),
    )
    app.state.services = services
    install(app)
    _problem_schema(app)
    if api.origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=api.origins(),
            allow_methods=["GET"],
            allow_headers=["*"],
            # what a browser client needs to page, pin a snapshot and back off
            expose_headers=["X-Next-Cursor", "X-Snapshot-Version", "Retry-After"],
        )
    app.add_middleware(services.metrics.middleware)

    health_auth = [] if api.open_health else [Depends(caller("read"))]
    metrics_auth = [] if api.open_metrics else [Depends(caller("read"))]

    @app.get("/health", tags=["platform"], dependencies=health_auth, responses=responses(401, 403, 429))
    def health() -> dict[str, str]:
        """The process is alive and answering (nothing else is checked: see /ready)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["platform"], dependencies=health_auth, responses=responses(401, 403, 429, 503))
    def ready(request: Request) -> dict[str, Any]:
        """Gold snapshots (or PostgreSQL), the Dagster instance and the tracking store are
        reachable; 503 naming each part that is not."""
        parts = _readiness(request.app.state.services)
        failing = [f"{name}: {reason}" for name, (ok, reason) in parts.items() if not ok]
        if failing:
            raise services.unavailable("not ready: " + "; ".join(failing))
        return {"status": "ready", "components": {name: reason for name, (_, reason) in parts.items()}}

    @app.get(
        "/metrics",
        tags=["platform"],
        dependencies=metrics_auth,
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **responses(401, 403, 429),
        },
    )
    def metrics(request: Request) -> Response:
        """Prometheus metrics: requests and latency, rows per gold table, age of each asset's
        last materialisation, failing checks, runs by status."""
        body, content_type = request.app.state.services.metrics.render()
        return Response(body, media_type=content_type)

    app.include_router(gold_router(services.tables), dependencies=[Depends(caller("read"))])
    app.include_router(routes.router, dependencies=[Depends(caller("read"))])
    app.include_router(routes.admin, dependencies=[Depends(caller("admin"))])
    return app


def caller(scope: Scope):
    """A dependency that admits a key with `scope` (admin covers read), rate-limited per key."""

    def check(
        request: Request,
        header: Annotated[str | None, Depends(API_KEY_HEADER)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> ApiKey | None:
        services: Services = request.app.state.services
        presented = header or (bearer.credentials if bearer else None)
        client = f"client:{request.client.host if request.client else '-'}"
        key = None
        # the admin scope always takes a key, even on a copy that serves data without one
        if services.api.require_keys or presented or scope == "admin":
            if not presented:
                raise ProblemError(401, "an API key is required: send it as X-API-Key", _challenge())
            key = services.keys.verify(presented)
            if key is None:
                _limit(services, client)  # guessing keys costs the guesser's own budget
                raise ProblemError(401, "the API key is not valid (unknown or revoked)", _challenge())
            if not key.allows(scope):
                raise ProblemError(403, f"this endpoint needs a key with the {scope} scope")
        _limit(services, f"key:{key.id}" if key else client)
        return key

    return check


def _limit(services: Services, caller: str) -> None:
    wait = services.limiter.wait_needed(caller)
    if wait:
        raise ProblemError(429, "too many requests: slow down", {"Retry-After": str(max(1, round(wait)))})


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="dataplatform"'}


def _readiness(services: Services) -> dict[str, tuple[bool, str]]:
    parts: dict[str, tuple[bool, str]] = {}
    where = "in PostgreSQL" if services.gold.postgres_url else "published as snapshots"
    try:
        count = services.gold.count_published()
        parts["gold"] = (
            (True, f"{count} gold tables {where}")
            if count
            else (False, f"no gold table {where} yet: materialise gold first")
        )
    except NotPublished as error:
        parts["gold"] = (False, str(error))
    try:
        services.state.instance.get_runs_count()
        parts["dagster"] = (True, "instance reachable")
    except Exception as error:
        parts["dagster"] = (False, f"instance unreachable: {type(error).__name__}")
    parts["tracking"] = _tracking_store(services.settings)
    return parts


def _tracking_store(settings: Settings) -> tuple[bool, str]:
    """The MLflow store answers a query; an SQLite store not created yet (no model trained) is fine."""
    if settings.profile == "postgres" and settings.postgres_url is not None:
        import psycopg

        try:
            psycopg.connect(settings.postgres_url.get_secret_value(), connect_timeout=3).close()
            return True, "PostgreSQL reachable"
        except psycopg.Error as error:
            return False, f"PostgreSQL unreachable: {type(error).__name__}"
    path = Path(settings.data_dir) / "mlflow" / "mlflow.db"
    if not path.exists():
        return True, "no model tracked yet"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2) as con:
            con.execute("SELECT 1").fetchone()
        return True, "SQLite store readable"
    except sqlite3.Error as error:
        return False, f"SQLite store unreadable: {error}"


def _problem_schema(app: FastAPI) -> None:
    """Register the Problem model under components.schemas, where `responses()` points."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
