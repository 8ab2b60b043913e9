"""The platform's own pipeline metrics as tables: what every run did and how it ended.

Dagster keeps each materialisation's metadata (rows in and out, drops by reason, duration,
rows/s, batch id) and each run's status and failure events; this gathers them so people can
query trends across assets and runs with SQL instead of clicking through the UI. A run that
failed or was canceled materialised little or nothing, so its outcome is a row of its own
(the failing step and the error's class): "which step fails most" and "how often does a job
succeed" are then queries, not a search through event logs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

FIGURES = ("rows_in", "rows_out", "rows_dropped", "duration_s", "rows_per_s")
SUCCESS = "SUCCESS"


@dataclass(frozen=True)
class Materialisation:
    """What the Dagster layer hands over for one materialisation event."""

    asset: tuple[str, ...]
    run_id: str
    timestamp: float
    partition: str | None
    metadata: dict[str, object] = field(default_factory=dict)
    step: str | None = None


@dataclass(frozen=True)
class StepFailure:
    """A step that failed: its asset when the step builds one, and the class of the error that
    made it fail (the user code's own exception, not Dagster's wrapper around it)."""

    step: str
    asset: tuple[str, ...] | None
    error_class: str | None
    timestamp: float


@dataclass(frozen=True)
class FinishedRun:
    """A run that ended: `status` is SUCCESS, FAILURE or CANCELED; `error_class` is the run's own
    failure when no step failed (a run worker that died, a run that could not start)."""

    run_id: str
    job: str
    status: str
    partition: str | None
    started: float | None
    ended: float | None
    failures: tuple[StepFailure, ...] = ()
    error_class: str | None = None


def pipeline_runs(events: Sequence[Materialisation], runs: Sequence[FinishedRun] = ()) -> pa.Table:
    """One row per materialisation (`event` = materialization), plus, for every run that did
    not succeed, one per failed step (`step_failure`), or one for the run (`run_failure`,
    `run_canceled`) when no step failed. `materialized_at` is when the row's event happened."""
    import pyarrow as pa

    def figure(event: Materialisation, name: str) -> float | None:
        value = event.metadata.get(name)
        return float(value) if isinstance(value, int | float) else None

    by_id = {run.run_id: run for run in runs}
    rows = []
    for event in events:
        dropped = {
            name.removeprefix("dropped_"): int(value)
            for name, value in event.metadata.items()
            if name.startswith("dropped_") and isinstance(value, int | float)
        }
        run = by_id.get(event.run_id)
        rows.append(
            {
                "event": "materialization",
                **_asset_columns(event.asset),
                "partition": event.partition,
                "run_id": event.run_id,
                "job": run.job if run else None,
                "run_status": run.status if run else None,
                "step": event.step,
                "error_class": None,
                "materialized_at": datetime.fromtimestamp(event.timestamp, UTC),
                **{name: figure(event, name) for name in FIGURES},
                "row_count": figure(event, "dagster/row_count"),
                "dropped_by_reason": json.dumps(dropped, sort_keys=True) if dropped else None,
                "batch_id": event.metadata.get("batch_id")
                if isinstance(event.metadata.get("batch_id"), str)
                else None,
            }
        )
    rows += [row for run in runs if run.status != SUCCESS for row in _outcome_rows(run)]
    schema = pa.schema(
        [
            ("event", pa.string()),
            ("asset", pa.string()),
            ("layer", pa.string()),
            ("domain", pa.string()),
            ("table", pa.string()),
            ("partition", pa.string()),
            ("run_id", pa.string()),
            ("job", pa.string()),
            ("run_status", pa.string()),
            ("step", pa.string()),
            ("error_class", pa.string()),
            ("materialized_at", pa.timestamp("us", "UTC")),
            *((name, pa.float64()) for name in FIGURES),
            ("row_count", pa.float64()),
            ("dropped_by_reason", pa.string()),
            ("batch_id", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    return table.sort_by([("materialized_at", "ascending"), ("asset", "ascending")])


def _asset_columns(asset: tuple[str, ...] | None) -> dict[str, str | None]:
    layer, domain, table = (*(asset or ()), None, None, None)[:3]
    return {"asset": "/".join(asset) if asset else None, "layer": layer, "domain": domain, "table": table}


def _outcome_rows(run: FinishedRun) -> list[dict[str, object]]:
    """The rows saying how a run that did not succeed ended: its failed steps, or the run."""
    common = {"partition": run.partition, "run_id": run.run_id, "job": run.job, "run_status": run.status}
    if run.failures:
        return [
            {
                "event": "step_failure",
                **_asset_columns(failure.asset),
                **common,
                "step": failure.step,
                "error_class": failure.error_class,
                "materialized_at": datetime.fromtimestamp(failure.timestamp, UTC),
            }
            for failure in run.failures
        ]
    when = run.ended or run.started
    return [
        {
            "event": "run_canceled" if run.status == "CANCELED" else "run_failure",
            **_asset_columns(None),
            **common,
            "error_class": run.error_class,
            "materialized_at": datetime.fromtimestamp(when, UTC) if when is not None else None,
        }
    ]


def job_success(runs: Sequence[FinishedRun]) -> pa.Table:
    """Per job and UTC day a run started on: runs, how many succeeded, failed and were
    canceled, the success rate, and the mean and 95th percentile of run duration in seconds
    (over runs that started and ended; a run canceled while queued has no duration)."""
    import pyarrow as pa

    from dataplatform.engine.sql import query

    finished = pa.Table.from_pylist(
        [
            {"job": r.job, "status": r.status, "started": r.started, "ended": r.ended}
            for r in runs
            if r.started is not None or r.ended is not None
        ],
        schema=pa.schema(
            [
                ("job", pa.string()),
                ("status", pa.string()),
                ("started", pa.float64()),
                ("ended", pa.float64()),
            ]
        ),
    )
    return query(
        """
        SELECT CAST(to_timestamp(coalesce(started, ended)) AS DATE) AS day, job,
               count(*)::BIGINT AS runs,
               count(*) FILTER (WHERE status = 'SUCCESS')::BIGINT AS succeeded,
               count(*) FILTER (WHERE status = 'FAILURE')::BIGINT AS failed,
               count(*) FILTER (WHERE status = 'CANCELED')::BIGINT AS canceled,
               round(count(*) FILTER (WHERE status = 'SUCCESS') / count(*), 4)::DOUBLE AS success_rate,
               round(avg(ended - started), 3)::DOUBLE AS mean_duration_s,
               round(quantile_cont(ended - started, 0.95), 3)::DOUBLE AS p95_duration_s
        FROM finished
        GROUP BY ALL
        ORDER BY day, job
        """,
        finished=finished,
    )
