"""The platform's state as the Dagster instance records it: runs, their steps and logs, jobs and
schedules, asset check results, materialisation times. Read-only: the API never launches,
changes or deletes anything in the instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from dataplatform.encoding import jsonable

if TYPE_CHECKING:
    from dataplatform.settings import Settings

PARTITION_TAG = "dagster/partition"
RUN_STATUSES = tuple(status.value for status in dg.DagsterRunStatus)
CHECK_HISTORY = 200  # executions read per check to find the latest of each partition
FAILURES = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}


class NotFound(LookupError):
    """A run the instance does not know: a 404."""


class PlatformState:
    """The instance (from DAGSTER_HOME unless given) and the code location's definitions, built
    on first use: they answer which jobs, schedules and checks exist, which the instance alone
    does not know."""

    def __init__(
        self,
        settings: Settings,
        instance: dg.DagsterInstance | None = None,
        definitions: dg.Definitions | Callable[[], dg.Definitions] | None = None,
    ) -> None:
        self.settings = settings
        self._instance = instance
        self._definitions = definitions
        self._lock = threading.Lock()
        self._definitions_lock = threading.Lock()  # a build takes seconds: instance reads go on

    @property
    def instance(self) -> dg.DagsterInstance:
        with self._lock:
            if self._instance is None:
                self._instance = dg.DagsterInstance.get()
            return self._instance

    @property
    def definitions(self) -> dg.Definitions:
        with self._definitions_lock:
            if self._definitions is None:
                from dataplatform.defs import build_definitions

                self._definitions = build_definitions(self.settings)
            elif callable(self._definitions):
                self._definitions = self._definitions()
            return self._definitions

    # -- runs ----------------------------------------------------------------------------------

    def runs(
        self, job: str | None, status: str | None, partition: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; the cursor is the last run id of the page before."""
        filters = dg.RunsFilter(
            job_name=job,
            statuses=[dg.DagsterRunStatus(status)] if status else [],
            tags={PARTITION_TAG: partition} if partition else {},
        )
        if cursor is not None and self.instance.get_run_by_id(cursor) is None:
            raise ValueError(f"no run {cursor!r} to continue from: pass next_cursor as returned")
        records = self.instance.get_run_records(filters=filters, limit=limit + 1, cursor=cursor)
        page = [_run(record) for record in records[:limit]]
        return page, page[-1]["run_id"] if len(records) > limit else None

    def run(self, run_id: str) -> dict[str, Any]:
        records = self.instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]), limit=1)
        if not records:
            raise NotFound(f"no run {run_id!r}")
        found = _run(records[0])
        found["steps"] = [
            {
                "step": step.step_key,
                "status": step.status.value if step.status else None,
                "started_at": _time(step.start_time),
                "ended_at": _time(step.end_time),
                "duration_s": _duration(step.start_time, step.end_time),
                "attempts": step.attempts,
            }
            for step in self.instance.get_run_step_stats(run_id)
        ]
        failures = []
        for record in self.instance.all_logs(run_id, of_type=FAILURES):
            event = record.dagster_event
            error = getattr(event.event_specific_data, "error", None) if event else None
            failures.append(
                {
                    "step": record.step_key,
                    "event": event.event_type_value if event else None,
                    "message": (error.message.strip() if error else record.user_message)[:2000],
                }
            )
        found["failures"] = failures
        return found

    def logs(self, run_id: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        if self.instance.get_run_by_id(run_id) is None:
            raise NotFound(f"no run {run_id!r}")
        try:
            connection = self.instance.get_records_for_run(run_id, cursor=cursor, limit=limit)
        except Exception as error:  # a cursor Dagster cannot parse
            raise ValueError(f"invalid cursor: {type(error).__name__}") from None
        entries = [
            {
                "at": _time(record.event_log_entry.timestamp),
                "level": _level(record.event_log_entry.level),
                "step": record.event_log_entry.step_key,
                "event": record.event_log_entry.dagster_event_type.value
                if record.event_log_entry.dagster_event_type
                else None,
                "message": record.event_log_entry.user_message[:4000],
            }
            for record in connection.records
        ]
        return entries, connection.cursor if connection.has_more else None

    def runs_by_status(self) -> dict[str, int]:
        return {
            status: self.instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus(status)]))
            for status in RUN_STATUSES
        }

    # -- jobs and schedules --------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        definitions = self.definitions
        stored = {state.instigator_name: state.status.value for state in self.instance.all_instigator_state()}
        schedules: dict[str, list[dict[str, Any]]] = {}
        for schedule in definitions.schedules or []:
            resolved = definitions.resolve_schedule_def(schedule.name)
            schedules.setdefault(resolved.job_name, []).append(
                {
                    "name": resolved.name,
                    "cron": resolved.cron_schedule
                    if isinstance(resolved.cron_schedule, str)
                    else " | ".join(resolved.cron_schedule),
                    "timezone": resolved.execution_timezone or "UTC",
                    "status": stored.get(resolved.name, resolved.default_status.value),
                }
            )
        found = []
        for job in definitions.resolve_all_job_defs():
            if job.name.startswith("__"):
                continue
            last = self.instance.get_run_records(filters=dg.RunsFilter(job_name=job.name), limit=1)
            found.append(
                {
                    "name": job.name,
                    "description": job.description,
                    "schedules": schedules.get(job.name, []),
                    "last_run": _run(last[0]) if last else None,
                }
            )
        return sorted(found, key=lambda j: j["name"])

    # -- checks --------------------------------------------------------------------------------

    def check_keys(self) -> list[dg.AssetCheckKey]:
        return sorted(
            self.definitions.resolve_asset_graph().asset_check_keys, key=lambda k: k.to_user_string()
        )

    def checks(self, asset: str | None, failing_only: bool) -> list[dict[str, Any]]:
        """The latest completed result of each check for each partition it ran on."""
        storage = self.instance.event_log_storage
        completed = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
        found = []
        for key in self.check_keys():
            if asset is not None and key.asset_key.to_user_string() != asset:
                continue
            latest: dict[str | None, Any] = {}
            for record in storage.get_asset_check_execution_history(
                key, limit=CHECK_HISTORY, status=completed
            ):
                evaluation = _evaluation(record)
                partition = record.partition or (evaluation or {}).get("partition")
                latest.setdefault(partition, (record, evaluation))
            for partition, (record, evaluation) in latest.items():
                passed = record.status == AssetCheckExecutionRecordStatus.SUCCEEDED
                if failing_only and passed:
                    continue
                found.append(
                    {
                        "asset": key.asset_key.to_user_string(),
                        "check": key.name,
                        "partition": partition,
                        "passed": passed,
                        "severity": (evaluation or {}).get("severity"),
                        "run_id": record.run_id,
                        "at": _time(record.create_timestamp),
                        "failing_rows": (evaluation or {}).get("failing_rows"),
                        "metadata": (evaluation or {}).get("metadata", {}),
                    }
                )
        return found

    def failing_checks(self) -> dict[str, int]:
        """Checks whose latest result failed, by asset (for /metrics)."""
        latest = self.instance.event_log_storage.get_latest_asset_check_execution_by_key(self.check_keys())
        failing: dict[str, int] = {}
        for key, record in latest.items():
            if record.status == AssetCheckExecutionRecordStatus.FAILED:
                name = key.asset_key.to_user_string()
                failing[name] = failing.get(name, 0) + 1
        return failing

    # -- assets --------------------------------------------------------------------------------

    def last_materialisations(self) -> dict[str, float]:
        """Each asset's last materialisation time (epoch seconds)."""
        found = {}
        for record in self.instance.get_asset_records():
            event = record.asset_entry.last_materialization
            if event is not None:
                found[record.asset_entry.asset_key.to_user_string()] = event.timestamp
        return found


def _run(record) -> dict[str, Any]:
    run = record.dagster_run
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "status": run.status.value,
        "partition": run.tags.get(PARTITION_TAG),
        "created_at": _time(record.create_timestamp.timestamp()),
        "started_at": _time(record.start_time),
        "ended_at": _time(record.end_time),
        "duration_s": _duration(record.start_time, record.end_time),
    }


def _evaluation(record) -> dict[str, Any] | None:
    event = record.event.dagster_event if record.event else None
    data = getattr(event, "event_specific_data", None) if event else None
    if data is None or not hasattr(data, "metadata"):
        return None
    metadata = {name: jsonable(value.value) for name, value in data.metadata.items()}
    return {
        "severity": data.severity.value if getattr(data, "severity", None) else None,
        "failing_rows": metadata.get("failing_rows"),
        "partition": metadata.get("partition"),
        "metadata": metadata,
    }


def _level(level: int | str) -> str:
    import logging

    return logging.getLevelName(level)


def _time(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def _duration(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 3)
