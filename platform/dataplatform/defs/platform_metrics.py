"""`gold/platform/pipeline_runs` and `gold/platform/job_success`: what every run did and how it
ended, gathered from the instance."""

from collections.abc import Iterator

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import GOLD, PLATFORM_DOMAIN
from dataplatform.defs.automation import cron_schedule
from dataplatform.defs.medallion import asset_options
from dataplatform.defs.metadata import metrics_metadata
from dataplatform.defs.quality import check_specs, run_checks
from dataplatform.defs.tables import key_for, path_of
from dataplatform.quality.specs import InRange, NoPersonalData, NotNull, Unique
from dataplatform.settings import Settings
from dataplatform.transform.metrics import FinishedRun, Materialisation, StepFailure

KEY = key_for(assetkeys.platform_metric("pipeline_runs"))
SUCCESS_KEY = key_for(assetkeys.platform_metric("job_success"))
PAGE = 1_000
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
PLANNED = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
FAILURES = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}


def pipeline_runs_asset(settings: Settings) -> dg.AssetsDefinition:
    # run_status and job are null for a materialisation whose run is still going (a schedule's,
    # beside this one) or was deleted: only ended runs are read
    specs = (NotNull(columns=("event", "run_id", "materialized_at")), NoPersonalData())

    @dg.asset(
        key=KEY,
        check_specs=check_specs(KEY, specs),
        required_resource_keys={"lakehouse"},
        description="One row per materialisation of every asset (rows in and out, drops by reason, "
        "duration, rows/s, batch id) and per failed step of every failed or canceled run (the "
        "step and the error's class), with each run's job and status, from the instance.",
        **asset_options(GOLD, PLATFORM_DOMAIN, settings),
    )
    def pipeline_runs(context: dg.AssetExecutionContext):
        from dataplatform.transform.metrics import pipeline_runs as build

        runs = finished_runs(context.instance)
        table = build(list(_materialisations(context.instance)), runs)
        domains = len(set(table.column("domain").drop_null().to_pylist()))
        failed = sum(run.status != "SUCCESS" for run in runs)
        yield dg.Output(
            table,
            metadata=metrics_metadata(
                {"rows_out": table.num_rows, "domains": domains, "runs_failed": failed}
            ),
        )
        yield from run_checks(context, KEY, table, specs, None, settings, {})

    return pipeline_runs


def job_success_asset(settings: Settings) -> dg.AssetsDefinition:
    specs = (
        Unique(columns=("day", "job")),
        NotNull(columns=("day", "job", "runs", "success_rate")),
        InRange(column="success_rate", min=0, max=1),
        NoPersonalData(),
    )

    @dg.asset(
        key=SUCCESS_KEY,
        check_specs=check_specs(SUCCESS_KEY, specs),
        required_resource_keys={"lakehouse"},
        description="Per job and day: runs, succeeded, failed, canceled, success rate, mean and p95 "
        "run duration in seconds: the pipeline success rate as a table.",
        **asset_options(GOLD, PLATFORM_DOMAIN, settings),
    )
    def job_success(context: dg.AssetExecutionContext):
        from dataplatform.transform.metrics import job_success as build

        table = build(finished_runs(context.instance))
        yield dg.Output(table, metadata=metrics_metadata({"rows_out": table.num_rows}))
        yield from run_checks(context, SUCCESS_KEY, table, specs, None, settings, {})

    return job_success


def finished_runs(instance: dg.DagsterInstance) -> list[FinishedRun]:
    """Every run that ended, with the failed steps and error classes of those that did not
    succeed (their event logs are read; a successful run's never are)."""
    runs = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=FINISHED)):
        run = record.dagster_run
        failures: tuple[StepFailure, ...] = ()
        run_error: str | None = None
        if run.status != dg.DagsterRunStatus.SUCCESS:
            failures, run_error = _failures(instance, run.run_id)
        runs.append(
            FinishedRun(
                run.run_id,
                run.job_name,
                run.status.value,
                run.tags.get("dagster/partition"),
                record.start_time,
                record.end_time,
                failures,
                run_error,
            )
        )
    return runs


def _failures(instance: dg.DagsterInstance, run_id: str) -> tuple[tuple[StepFailure, ...], str | None]:
    """The run's failed steps, and the run's own error. A failed step is named by the asset it
    was to build, from the run's plan (the materialisations it logged as planned): a step
    building several (silver and its quarantine, a landing delivery) by the first in key
    order, its main table."""
    failures: list[StepFailure] = []
    run_error: str | None = None
    steps: dict[str, tuple[str, ...]] = {}
    for entry in instance.all_logs(run_id, of_type={PLANNED, *FAILURES}):
        event = entry.dagster_event
        if event is None:  # not a Dagster event: of_type reads only those
            continue
        step = event.step_key
        if event.event_type == PLANNED:
            if step is not None and event.asset_key is not None:  # a failure names only a step
                path = path_of(event.asset_key)
                steps[step] = min(steps.get(step, path), path)
            continue
        error = _error_class(getattr(event.event_specific_data, "error", None))
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            assert step is not None  # a step's failure names its step
            failures.append(StepFailure(step, steps.get(step), error, entry.timestamp))
        else:
            run_error = error
    return tuple(failures), run_error


def _error_class(error) -> str | None:
    """The class of the exception behind a failure: Dagster wraps a user's exception in its own
    (`DagsterExecutionStepExecutionError`), whose name says nothing about what went wrong."""
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error.cls_name if error is not None else None


def _materialisations(instance: dg.DagsterInstance) -> Iterator[Materialisation]:
    for key in instance.get_asset_keys():
        if key in (KEY, SUCCESS_KEY):
            continue
        cursor = None
        while True:
            page = instance.fetch_materializations(key, limit=PAGE, cursor=cursor, ascending=True)
            for record in page.records:
                event = record.asset_materialization
                if event is None:
                    continue
                metadata: dict[str, object] = {name: value.value for name, value in event.metadata.items()}
                yield Materialisation(
                    path_of(key),
                    record.run_id,
                    record.timestamp,
                    event.partition,
                    metadata,
                    record.event_log_entry.step_key,
                )
            if not page.has_more:
                break
            cursor = page.cursor


def platform_metrics_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """The `platform_metrics` job, daily at 04:00 UTC once the day's runs are done."""
    job = dg.define_asset_job(
        "platform_metrics",
        selection=dg.AssetSelection.assets(KEY, SUCCESS_KEY),
        description="Rebuild gold/platform/pipeline_runs and gold/platform/job_success.",
    )
    return cron_schedule(job, "0 4 * * *", settings)
