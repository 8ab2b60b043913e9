"""Prometheus metrics: the API's own requests, and the platform's state read at scrape time.

Request figures are labelled by route template (`/gold/{domain}/{table}`), never by the raw path,
so a client cannot grow the series without bound. Platform gauges are computed when Prometheus
scrapes: rows per gold table (from the snapshot manifests), age of each asset's last
materialisation, failing checks and runs by status (from the Dagster instance). A part that
cannot be read is skipped and counted in `dataplatform_api_scrape_errors`, so one unreachable
store never hides the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from dataplatform.api.app import Services

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dataplatform_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "dataplatform_api_request_seconds",
            "Time to answer a request, by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(PlatformCollector(services))
        metrics = self

        class Middleware:
            """Pure ASGI (no per-request task as BaseHTTPMiddleware would add): times each request."""

            def __init__(self, app: Any) -> None:
                self.app = app

            async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
                if scope["type"] != "http":
                    await self.app(scope, receive, send)
                    return
                started = time.perf_counter()
                status = {"code": 500}

                async def sending(message: dict) -> None:
                    if message["type"] == "http.response.start":
                        status["code"] = message["status"]
                    await send(message)

                try:
                    await self.app(scope, receive, sending)
                finally:
                    route = scope.get("route")
                    template = getattr(route, "path", None) or "unmatched"
                    metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
                    metrics.requests.labels(scope["method"], template, str(status["code"])).inc()

        self.middleware = Middleware

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class PlatformCollector(Collector):
    """Gauges read from the snapshots and the instance when Prometheus scrapes."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily(
            "dataplatform_api_scrape_errors",
            "Parts of the platform that could not be read.",
            labels=("part",),
        )
        for part, gather in (
            ("gold_rows", self._gold_rows),
            ("asset_age", self._asset_age),
            ("failing_checks", self._failing_checks),
            ("runs", self._runs),
        ):
            try:
                yield gather()
            except Exception as error:  # a gauge and a log line, never a failed scrape
                log.warning("metrics: cannot read %s: %s", part, error)
                errors.add_metric([part], 1)
        yield errors

    def _gold_rows(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "dataplatform_gold_rows", "Rows of each published gold table.", labels=("domain", "table")
        )
        for entry in self.services.tables:
            snapshot = self.services.gold.snapshot(entry)
            if snapshot is not None:
                family.add_metric([entry.domain, entry.name], snapshot.rows)
        return family

    def _asset_age(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "dataplatform_asset_last_materialization_age_seconds",
            "Seconds since each asset's last materialisation.",
            labels=("asset",),
        )
        now = time.time()
        for asset, at in sorted(self.services.state.last_materialisations().items()):
            family.add_metric([asset], round(now - at, 3))
        return family

    def _failing_checks(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "dataplatform_failing_checks",
            "Asset checks whose latest result failed, by asset.",
            labels=("asset",),
        )
        for asset, count in sorted(self.services.state.failing_checks().items()):
            family.add_metric([asset], count)
        return family

    def _runs(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("dataplatform_runs", "Runs in the instance by status.", labels=("status",))
        for status, count in self.services.state.runs_by_status().items():
            family.add_metric([status], count)
        return family
