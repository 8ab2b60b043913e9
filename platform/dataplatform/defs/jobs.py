"""Per domain: a master-data job, a daily partitioned job, a job for whole-history summaries,
and a schedule for each (UTC): master data at 00:30, yesterday's partition at 01:00,
summaries at 03:00 once the day has landed."""

from __future__ import annotations

import dagster as dg

from dataplatform.transform.pipeline import DomainPipeline


def domain_jobs(pipeline: DomainPipeline, daily: dg.PartitionsDefinition):
    domain = pipeline.domain
    layers = dg.AssetSelection.groups(domain)
    master_tables = [t for t, s in pipeline.silver.items() if s.partition_column is None]
    master = dg.AssetSelection.assets(
        *[dg.AssetKey(["landing", domain, t]) for t in (*master_tables, "master_defects")],
        *[dg.AssetKey([layer, domain, t]) for layer in ("bronze", "silver") for t in master_tables],
        *[dg.AssetKey(["silver", domain, f"{t}_quarantine"]) for t in master_tables],
    )
    summaries = dg.AssetSelection.assets(
        *[dg.AssetKey(["gold", domain, g.name]) for g in pipeline.gold if g.partition_column is None]
    )
    daily_selection = layers - master - summaries

    master_job = dg.define_asset_job(
        f"{domain}_master", selection=master, description=f"{domain} master data, landing to silver."
    )
    daily_job = dg.define_asset_job(
        f"{domain}_daily",
        selection=daily_selection,
        partitions_def=None,
        description=f"One day of {domain} facts, landing to gold.",
    )
    summaries_job = dg.define_asset_job(
        f"{domain}_summaries", selection=summaries, description=f"{domain} gold tables over all history."
    )
    schedules = [
        dg.ScheduleDefinition(job=master_job, cron_schedule="30 0 * * *", execution_timezone="UTC"),
        dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=1),
        dg.ScheduleDefinition(job=summaries_job, cron_schedule="0 3 * * *", execution_timezone="UTC"),
    ]
    return [master_job, daily_job, summaries_job], schedules
