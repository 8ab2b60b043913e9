"""One factory for the landing -> bronze -> silver -> gold shape of every domain.

Every registered generator gets landing assets; a domain that also supplies a `DomainPipeline`
(silver specs, gold tables, cross-table checks) gets bronze, silver and gold above them, with
no asset code copied. Daily facts are partitioned; master data is not.
"""

import time
from datetime import UTC, date, datetime
from typing import TypedDict

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import BRONZE, GOLD, LANDING, SILVER
from dataplatform.defs.metadata import metrics_metadata
from dataplatform.defs.quality import check_specs, check_stored, reference_partitions, run_checks
from dataplatform.defs.resources import io_manager_key
from dataplatform.defs.retries import retry_policy_for
from dataplatform.defs.tables import PARTITION_COLUMN, REPLACE_ON, SCAN, Streamed, key_for
from dataplatform.domains import Domain
from dataplatform.quality.specs import NotNull
from dataplatform.settings import STORAGE_BACKENDS, Settings
from dataplatform.transform.pipeline import DomainPipeline, GoldTable

DAILY_COLUMN = "partition_date"


def landing_assets(
    domain: Domain, settings: Settings, daily: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """What a domain's generator delivers: master data, daily facts, and the defects it injected."""
    return [
        _landing(domain.name, domain.master_tables, "master_defects", settings, None),
        _landing(domain.name, domain.daily_tables, "defects", settings, daily),
    ]


def medallion_assets(
    pipeline: DomainPipeline, settings: Settings, daily: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """Bronze, silver (with quarantine) and gold above a domain's landing assets."""
    assets = []
    for table, spec in pipeline.silver.items():
        partitions = daily if spec.partition_column else None
        assets.append(_bronze(pipeline.domain, table, settings, partitions))
        assets.append(_silver(pipeline, table, settings, partitions))
    for gold in pipeline.gold:
        assets.append(_gold(pipeline, gold, settings, daily if gold.partition_column else None))
    return assets


class AssetOptions(TypedDict, total=False):
    """The keyword arguments every asset of a layer takes from its backend (`asset_options`)."""

    io_manager_key: str
    kinds: set[str]
    group_name: str
    pool: str
    retry_policy: dg.RetryPolicy


def asset_options(layer: str, domain: str, settings: Settings) -> AssetOptions:
    backend = settings.layer_backend(layer)
    registered = STORAGE_BACKENDS[backend]
    options: AssetOptions = {
        "io_manager_key": io_manager_key(layer),
        "kinds": {registered.kind},
        "group_name": domain,
    }
    if registered.pool is not None:
        options["pool"] = registered.pool
    retry = retry_policy_for(backend)
    if retry is not None:
        options["retry_policy"] = retry
    return options


def gated() -> dg.AutomationCondition:
    """Materialise when upstream data changes, but only once upstream's blocking checks passed:
    declarative automation never builds on a table whose ERROR checks failed."""
    return dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()


def _partition_metadata(partitions: dg.PartitionsDefinition | None, column: str = DAILY_COLUMN):
    return {PARTITION_COLUMN: column} if partitions else {}


def _landing(domain, tables, defects_name, settings, partitions) -> dg.AssetsDefinition:
    options = asset_options(LANDING, domain, settings)
    outs = {
        name: dg.AssetOut(
            key=key_for(assetkeys.medallion(LANDING, domain, name)),
            description=(
                f"Every defect injected into this {domain} batch, one row each (ground truth for scoring silver)."
                if name == defects_name
                else f"{domain} {name} as the generator delivers them, defects included."
            ),
            metadata=_partition_metadata(partitions),
            io_manager_key=options["io_manager_key"],
            kinds=options["kinds"],
            group_name=domain,
        )
        for name in (*tables, defects_name)
    }

    @dg.multi_asset(
        name=f"landing_{domain}_{'daily' if partitions else 'master'}",
        outs=outs,
        partitions_def=partitions,
        can_subset=False,
        retry_policy=options.get("retry_policy"),
    )
    def landing(context: dg.AssetExecutionContext):
        """Generated a chunk at a time (`settings.generate_chunk_rows`) and written a batch at a
        time, so a day larger than memory lands (see `synthetic/delivery.py`). The table that
        streams straight from the generator gets its row count when written; the others, written
        after it, carry the step's figures too."""
        import tempfile
        from pathlib import Path

        from dataplatform.domains import domain as registered_domain
        from dataplatform.synthetic.delivery import Delivery

        generator = registered_domain(domain).generator_for(settings)
        if partitions:
            day = date.fromisoformat(context.partition_key)
            chunks = generator.day_chunks(day, settings.generate_chunk_rows)
        else:
            chunks = iter([generator.master()])
        with tempfile.TemporaryDirectory(prefix=f"dataplatform-landing-{domain}-") as spool:
            delivery = Delivery(chunks, Path(spool), defects_name)
            for name, rows in delivery.streams():
                if not delivery.finished:  # the stream that generates: nothing is counted yet
                    yield dg.Output(rows, output_name=name)
                    continue
                metrics = {
                    "rows_out": delivery.rows[name],
                    "duration_s": round(delivery.seconds, 4),
                    "rows_per_s": round(sum(delivery.rows[t] for t in tables) / delivery.seconds),
                }
                if name == defects_name:
                    metrics = {f"defects_{kind}": n for kind, n in sorted(delivery.defect_kinds.items())}
                yield dg.Output(rows, output_name=name, metadata=metrics_metadata(metrics))

    return landing


def _bronze(domain, table, settings, partitions) -> dg.AssetsDefinition:
    source = f"generator:{domain}/{table}"
    landing_key = key_for(assetkeys.medallion(LANDING, domain, table))

    @dg.asset(
        key=key_for(assetkeys.medallion(BRONZE, domain, table)),
        ins={"landing": dg.AssetIn(key=landing_key, metadata={SCAN: True})},
        partitions_def=partitions,
        metadata={**_partition_metadata(partitions), REPLACE_ON: "_batch_id"},
        description=f"Append-only history of {domain} {table} with _batch_id, _ingested_at, _source, _checksum.",
        **asset_options(BRONZE, domain, settings),
    )
    def bronze(context: dg.AssetExecutionContext, landing):
        from dataplatform.transform.bronze import stamped

        started = time.perf_counter()
        with stamped(landing, source, datetime.now(UTC)) as delivery:
            seconds = time.perf_counter() - started
            metrics = {"rows_in": delivery.rows, "rows_out": delivery.rows, "duration_s": round(seconds, 4)}
            metrics["rows_per_s"] = round(delivery.rows / seconds) if seconds else 0
            batches = (delivery.batch_id,) if delivery.batch_id else ()
            yield dg.Output(
                Streamed(delivery.stamped, batches),
                metadata={**metrics_metadata(metrics), "batch_id": delivery.batch_id},
            )

    return bronze


def _silver(pipeline: DomainPipeline, table, settings, partitions) -> dg.AssetsDefinition:
    domain, spec = pipeline.domain, pipeline.silver[table]
    options = asset_options(SILVER, domain, settings)
    common = {
        "metadata": _partition_metadata(partitions, spec.partition_column or DAILY_COLUMN),
        "io_manager_key": options["io_manager_key"],
        "kinds": options["kinds"],
        "group_name": domain,
        "automation_condition": gated(),
    }
    silver_key = key_for(assetkeys.medallion(SILVER, domain, table))
    quarantine_key = key_for(assetkeys.quarantine(domain, table))
    bronze_key = key_for(assetkeys.medallion(BRONZE, domain, table))
    outs = {
        "silver": dg.AssetOut(
            key=silver_key,
            description=f"{domain} {table}: deduplicated on {', '.join(spec.key)}, typed, "
            "normalised, with _quality_flags saying what was repaired.",
            **common,
        ),
        "quarantine": dg.AssetOut(
            key=quarantine_key,
            description=f"Bronze {table} rows that silver dropped, as delivered, with _drop_reason.",
            **common,
        ),
    }

    specs = pipeline.checks_for(table)
    quarantine_specs = (NotNull(columns=("_drop_reason",)),)  # every dropped row says why
    targets = reference_partitions(pipeline, specs)

    @dg.multi_asset(
        name=f"silver_{domain}_{table}",
        outs=outs,
        ins={"bronze": dg.AssetIn(key=bronze_key, metadata={SCAN: True})},
        partitions_def=partitions,
        can_subset=False,
        pool=options.get("pool"),
        retry_policy=options.get("retry_policy"),
        check_specs=[*check_specs(silver_key, specs), *check_specs(quarantine_key, quarantine_specs)],
        required_resource_keys={"lakehouse", "pii"} if spec.needs_secret else {"lakehouse"},
        deps=[key_for(assetkeys.parse(target)) for target in targets],  # referenced tables come first
    )
    def silver(context: dg.AssetExecutionContext, bronze):
        from dataplatform.transform.silver import judged

        secret = context.resources.pii.secret if spec.needs_secret else None
        with judged(bronze, spec, secret) as result:
            yield dg.Output(
                result.kept,
                output_name="silver",
                metadata={**metrics_metadata(result.metrics), "batch_id": ",".join(result.batches)},
            )
            yield dg.Output(result.quarantine, output_name="quarantine")
        # checked as stored, read back once DuckDB has let go of the day
        keys, column = context.partition_keys if partitions else (), spec.partition_column
        yield from check_stored(context, silver_key, keys, specs, column, settings, targets)
        yield from check_stored(context, quarantine_key, keys, quarantine_specs, column, settings, {})

    return silver


def _gold(pipeline: DomainPipeline, gold: GoldTable, settings, partitions) -> dg.AssetsDefinition:
    domain = pipeline.domain
    gold_key = key_for(assetkeys.medallion(GOLD, domain, gold.name))
    specs = pipeline.checks_for(gold.name)
    targets = reference_partitions(pipeline, specs)

    @dg.asset(
        key=gold_key,
        automation_condition=gated(),
        check_specs=check_specs(gold_key, specs),
        required_resource_keys={"lakehouse"},
        ins={
            name: dg.AssetIn(key=key_for(path), metadata={SCAN: True})
            for name, path in gold.sources(domain).items()
        },
        partitions_def=partitions,
        metadata=_partition_metadata(partitions, gold.partition_column or DAILY_COLUMN),
        description=gold.description,
        **asset_options(GOLD, domain, settings),
    )
    def gold_asset(context: dg.AssetExecutionContext, **inputs):
        from dataplatform.engine.sql import rows_of

        started = time.perf_counter()
        table = gold.build(**inputs)
        seconds = time.perf_counter() - started
        rows_in = sum(rows_of(t) for t in inputs.values())
        metrics = {
            "rows_in": rows_in,
            "rows_out": table.num_rows,
            "duration_s": round(seconds, 4),
            "rows_per_s": round(rows_in / seconds) if seconds else 0,
        }
        yield dg.Output(table, metadata=metrics_metadata(metrics))
        yield from run_checks(context, gold_key, table, specs, gold.partition_column, settings, targets)

    return gold_asset
