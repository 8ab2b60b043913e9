"""`gold/platform/pipeline_runs`: every asset's materialisation metrics, gathered from the instance."""

import dagster as dg

from dataplatform.defs.automation import cron_schedule
from dataplatform.defs.medallion import asset_options
from dataplatform.defs.metadata import metrics_metadata
from dataplatform.defs.quality import check_specs, run_checks
from dataplatform.quality.specs import NotNull
from dataplatform.settings import Settings

KEY = dg.AssetKey(["gold", "platform", "pipeline_runs"])
PAGE = 1_000


def pipeline_runs_asset(settings: Settings) -> dg.AssetsDefinition:
    specs = (NotNull(columns=("asset", "run_id", "materialized_at")),)

    @dg.asset(
        key=KEY,
        check_specs=check_specs(KEY, specs),
        required_resource_keys={"lakehouse"},
        description="One row per materialisation of every asset: rows in and out, drops by reason, "
        "duration, rows/s and batch id, from the Dagster instance's event log.",
        **asset_options("gold", "platform", settings),
    )
    def pipeline_runs(context: dg.AssetExecutionContext):
        from dataplatform.transform.metrics import pipeline_runs as build

        table = build(list(_materialisations(context.instance)))
        domains = len(set(table.column("domain").to_pylist()))
        yield dg.Output(table, metadata=metrics_metadata({"rows_out": table.num_rows, "domains": domains}))
        yield from run_checks(context, KEY, table, specs, None, settings, {})

    return pipeline_runs


def _materialisations(instance: dg.DagsterInstance):
    from dataplatform.transform.metrics import Materialisation

    for key in instance.get_asset_keys():
        if key == KEY:
            continue
        cursor = None
        while True:
            page = instance.fetch_materializations(key, limit=PAGE, cursor=cursor, ascending=True)
            for record in page.records:
                event = record.asset_materialization
                if event is None:
                    continue
                metadata = {name: value.value for name, value in event.metadata.items()}
                yield Materialisation(
                    tuple(key.path), record.run_id, record.timestamp, event.partition, metadata
                )
            if not page.has_more:
                break
            cursor = page.cursor


def platform_metrics_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """The `platform_metrics` job, daily at 04:00 UTC once the day's runs are done."""
    job = dg.define_asset_job(
        "platform_metrics",
        selection=dg.AssetSelection.assets(KEY),
        description="Rebuild gold/platform/pipeline_runs.",
    )
    return cron_schedule(job, "0 4 * * *", settings)
