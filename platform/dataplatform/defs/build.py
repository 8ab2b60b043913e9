"""Builds the code location's one `Definitions` from settings."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from dataplatform import assetkeys
from dataplatform.defs.automation import automation_sensor, check_schedule_names
from dataplatform.defs.celery_executor import celery_executor
from dataplatform.defs.checks import medallion_checks
from dataplatform.defs.datasets import dataset_definitions
from dataplatform.defs.dead_runs import cleaning_dead_runs
from dataplatform.defs.jobs import all_domains_daily, domain_jobs, gold_daily_job
from dataplatform.defs.medallion import landing_assets, medallion_assets
from dataplatform.defs.models import model_definitions
from dataplatform.defs.platform_metrics import (
    job_success_asset,
    pipeline_runs_asset,
    platform_metrics_schedule,
)
from dataplatform.defs.reference import reference_definitions
from dataplatform.defs.resources import build_resources
from dataplatform.domains import generated
from dataplatform.domains import pipelines as registered_pipelines
from dataplatform.settings import Settings, SettingsError
from dataplatform.transform.pii import missing_secret
from dataplatform.transform.pipeline import DomainPipeline

# In process by default: on a small machine a subprocess per step costs about 2 s, ten times
# what most steps take. Multiprocess runs steps in parallel where a machine has the cores, Celery
# on the workers of many machines (built from the settings: its broker is one of them). Each
# first cleans up runs whose process died, so their pool slots block no run.
EXECUTORS: dict[str, Callable[[Settings], dg.ExecutorDefinition]] = {
    "in_process": lambda settings: cleaning_dead_runs(dg.in_process_executor),
    "multiprocess": lambda settings: cleaning_dead_runs(dg.multiprocess_executor),
    "celery": lambda settings: cleaning_dead_runs(celery_executor(settings)),
}


def require_pii_secret(pipelines: tuple[DomainPipeline, ...], settings: Settings) -> None:
    """Refuse to load when a silver column is pseudonymised and no secret is set: a run would
    otherwise fail at its first silver step, or pseudonyms be keyed with something guessable."""
    needing = [
        f"{p.domain}.{table}.{name}"
        for p in pipelines
        for table, spec in p.silver.items()
        for name, column in spec.columns.items()
        if column.pii is not None and column.pii.needs_secret
    ]
    if needing and settings.pii_secret is None:
        raise SettingsError(f"invalid setting: {missing_secret(needing)}")


def build_definitions(settings: Settings) -> dg.Definitions:
    pipelines = registered_pipelines()
    require_pii_secret(tuple(pipelines.values()), settings)
    daily = dg.DailyPartitionsDefinition(start_date=settings.start_date.isoformat(), timezone="UTC")
    assets, checks, jobs, schedules = [], [], [], []
    sources = generated()
    for domain in sources.values():
        assets += landing_assets(domain, settings, daily)
        pipeline = pipelines.get(domain.name)
        if pipeline is not None:
            assets += medallion_assets(pipeline, settings, daily)
            checks += medallion_checks(pipeline, daily, settings.scorecard_min_recall)
        domain_job_list, domain_schedules = domain_jobs(domain, pipeline, daily, settings)
        jobs += domain_job_list
        schedules += domain_schedules
    # gold across domains (insights): a pipeline with no generator of its own
    for pipeline in [p for p in pipelines.values() if p.domain not in sources]:
        assets += medallion_assets(pipeline, settings, daily)
        checks += medallion_checks(pipeline, daily, settings.scorecard_min_recall)
        jobs.append(gold_daily_job(pipeline))
    read_by_gold = [
        table
        for pipeline in pipelines.values()
        for gold in pipeline.gold
        for path in gold.sources(pipeline.domain).values()
        if (table := assetkeys.reference_name(path)) is not None
    ]
    reference_assets, reference_job, reference_sensor = reference_definitions(settings, read_by_gold)
    assets += reference_assets
    jobs.append(reference_job)
    jobs.append(all_domains_daily(jobs))
    dataset_assets, datasets_job = dataset_definitions(settings)
    assets += dataset_assets
    jobs.append(datasets_job)
    model_assets, models_job = model_definitions(settings)
    assets += model_assets
    jobs.append(models_job)
    assets += [pipeline_runs_asset(settings), job_success_asset(settings)]
    metrics = platform_metrics_schedule(settings)
    jobs.append(metrics.job)
    schedules.append(metrics)
    check_schedule_names(schedules, settings)
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=[reference_sensor, automation_sensor(settings)],
        resources=build_resources(settings),
        executor=EXECUTORS[settings.executor](settings),
    )
