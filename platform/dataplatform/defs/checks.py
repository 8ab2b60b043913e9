"""Asset checks that read other tables besides their asset's: the domain's cross-table checks
(ERROR and blocking, so a failure stops downstream assets in the same run) and the defect
scorecard. They read what was stored, per partition.
"""

import warnings
from collections.abc import Callable

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import BRONZE, LANDING, SILVER
from dataplatform.defs.tables import key_for
from dataplatform.transform.pipeline import CrossCheck, DomainPipeline


def medallion_checks(
    pipeline: DomainPipeline, daily: dg.PartitionsDefinition, min_recall: float
) -> list[dg.AssetChecksDefinition]:
    """The checks that need other tables than their asset's: cross-table checks and the defect
    scorecard. Each table's own declarative checks run inside its asset (see `defs/quality.py`)."""
    checks = [_cross(pipeline, c, daily) for c in pipeline.cross_checks]
    checks.extend(_scorecard(pipeline, table, daily, min_recall) for table in pipeline.silver)
    return checks


def _cross(pipeline: DomainPipeline, cross: CrossCheck, daily) -> dg.AssetChecksDefinition:
    domain = pipeline.domain
    partitioned = pipeline.silver[cross.table].partition_column is not None
    others = [t for t in cross.inputs if t != cross.table]
    silver = {name: key_for(assetkeys.medallion(SILVER, domain, name)) for name in cross.inputs}

    @_partitioned_check(
        asset=key_for(assetkeys.medallion(SILVER, domain, cross.table)),
        name=cross.name,
        description=cross.description,
        blocking=True,
        partitions_def=daily if partitioned else None,
        additional_deps=[silver[t] for t in others],
        required_resource_keys={"lakehouse"},
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        keys = [context.partition_key] if partitioned else []
        tables = {
            name: context.resources.lakehouse.scan(key, pipeline.silver[name].partition_column, keys)
            for name, key in silver.items()
        }
        return _result(cross.evaluate(**tables), keys)

    return check


def _scorecard(pipeline: DomainPipeline, table: str, daily, min_recall: float) -> dg.AssetChecksDefinition:
    """Silver against the generator's record of injected defects. Not blocking: a missed
    defect kind is for the engineers tuning the rules, and holding back the day's gold would
    not make silver catch it."""
    domain, spec = pipeline.domain, pipeline.silver[table]
    column = spec.partition_column
    defects = "defects" if column else "master_defects"
    sources = {
        "defects": key_for(assetkeys.medallion(LANDING, domain, defects)),
        "bronze": key_for(assetkeys.medallion(BRONZE, domain, table)),
        "silver": key_for(assetkeys.medallion(SILVER, domain, table)),
        "quarantine": key_for(assetkeys.quarantine(domain, table)),
    }

    @_partitioned_check(
        asset=sources["silver"],
        name="defect_scorecard",
        description=f"Each defect kind injected into {table} was flagged or quarantined with recall at "
        f"least {min_recall}, and no clean row was dropped.",
        blocking=False,
        partitions_def=daily if column else None,
        additional_deps=[sources["defects"], sources["bronze"], sources["quarantine"]],
        required_resource_keys={"lakehouse"},
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from dataplatform.quality.scorecard import score

        keys = [context.partition_key] if column else []
        lakehouse = context.resources.lakehouse
        # landing defects are partitioned by the same column as the daily tables they describe;
        # every input is scanned, so DuckDB reads what the score needs within its memory limit
        tables = {name: lakehouse.scan(key, column, keys) for name, key in sources.items()}
        card = score(table, spec.key, not_scored=spec.passes_on, **tables)
        return _result(card.outcome(min_recall), keys, card.metadata)

    return check


def _partitioned_check(**kwargs):
    """`dg.asset_check`, without the preview warning for `partitions_def`.

    Checking each partition on its own is what these checks are for; Dagster 1.13 marks
    partitioned checks as preview and warns once per check on every load, which buries real
    warnings in the logs.
    """

    def apply(fn: Callable) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="Specifying a partitions_def", category=dg.PreviewWarning
            )
            return dg.asset_check(**kwargs)(fn)

    return apply


def _result(outcome, partition_keys, figures: dict | None = None) -> dg.AssetCheckResult:
    metadata = {k: v for k, v in outcome.metadata.items() if k != "sample"}
    metadata.update(figures or {})
    metadata["sample"] = dg.MetadataValue.json(outcome.sample)
    if partition_keys:
        metadata["partition"] = partition_keys[0]
    return dg.AssetCheckResult(passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)
