"""Per domain: a master-data job, a daily partitioned job and, where gold has whole-history
tables, a summaries job; a schedule for each (UTC): master data at 00:30, yesterday's partition
at 01:00, summaries at 03:00 once the day has landed. Each is running by default and its time
can be changed by settings (see `defs/automation.py`)."""

from __future__ import annotations

import operator
from functools import reduce

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import BRONZE, GOLD, LANDING, SILVER
from dataplatform.defs.automation import cron_schedule, daily_schedule
from dataplatform.defs.tables import key_for
from dataplatform.domains import Domain
from dataplatform.settings import Settings
from dataplatform.transform.pipeline import DomainPipeline


def domain_jobs(
    domain: Domain, pipeline: DomainPipeline | None, daily: dg.PartitionsDefinition, settings: Settings
):
    name = domain.name
    master_keys = [
        key_for(assetkeys.medallion(LANDING, name, t)) for t in (*domain.master_tables, "master_defects")
    ]
    summary_keys, reference_keys = [], []
    if pipeline is not None:
        master_keys += [
            key_for(assetkeys.medallion(layer, name, t))
            for layer in (BRONZE, SILVER)
            for t in domain.master_tables
        ]
        master_keys += [key_for(assetkeys.quarantine(name, t)) for t in domain.master_tables]
        # the reference tables gold reads: brought up to date (whatever waits in the drop
        # folder) in the day's run, so its gold never reads a table that is not there yet
        reference_keys = list(
            dict.fromkeys(
                key_for(path)
                for gold in pipeline.gold
                for path in gold.sources(name).values()
                if assetkeys.reference_name(path) is not None
            )
        )
        summary_keys = [
            key_for(assetkeys.medallion(GOLD, name, g.name))
            for g in pipeline.gold
            if g.partition_column is None
        ]
    master = dg.AssetSelection.assets(*master_keys)
    summaries = dg.AssetSelection.assets(*summary_keys)

    jobs = [
        dg.define_asset_job(f"{name}_master", selection=master, description=f"{name} master data."),
        dg.define_asset_job(
            f"{name}_daily",
            selection=dg.AssetSelection.groups(name) - master - summaries
            | dg.AssetSelection.assets(*reference_keys),
            description=f"One day of {name} facts.",
        ),
    ]
    schedules = [
        cron_schedule(jobs[0], "30 0 * * *", settings),
        daily_schedule(jobs[1], 1, settings),
    ]
    if summary_keys:
        jobs.append(
            dg.define_asset_job(
                f"{name}_summaries", selection=summaries, description=f"{name} gold over all history."
            )
        )
        schedules.append(cron_schedule(jobs[-1], "0 3 * * *", settings))
    return jobs, schedules


def gold_daily_job(pipeline: DomainPipeline) -> dg.UnresolvedAssetJobDefinition:
    """One day of a pipeline that only has gold (built from other domains' silver)."""
    keys = [
        key_for(assetkeys.medallion(GOLD, pipeline.domain, g.name))
        for g in pipeline.gold
        if g.partition_column
    ]
    return dg.define_asset_job(
        f"{pipeline.domain}_daily",
        selection=dg.AssetSelection.assets(*keys),
        description=f"One day of {pipeline.domain} gold.",
    )


def all_domains_daily(jobs) -> dg.UnresolvedAssetJobDefinition:
    """Every domain's master data and one day of its facts (with the reference tables its gold
    reads), landing to gold: a run that needs nothing before it, for CI and a fresh deployment.
    Master data is content-addressed in bronze, so running it again each day adds no rows."""
    parts = [job.selection for job in jobs if job.name.endswith(("_master", "_daily"))]
    return dg.define_asset_job(
        "daily",
        selection=reduce(operator.or_, parts),
        description="Every domain's master data and one day of its facts, landing to gold.",
    )
