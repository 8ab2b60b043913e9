"""Asset checks generated from the domain specs: keys unique and required columns present on
every silver and gold table, plus the domain's cross-table checks. All ERROR and blocking, so a
failure stops downstream assets in the same run. Checks read what was stored, per partition.
"""

import warnings
from collections.abc import Callable

import dagster as dg

from dataplatform.transform.pipeline import CrossCheck, DomainPipeline


def medallion_checks(
    pipeline: DomainPipeline, daily: dg.PartitionsDefinition, min_recall: float
) -> list[dg.AssetChecksDefinition]:
    from_specs = []
    for table, spec in pipeline.silver.items():
        from_specs.append(("silver", table, spec.key, spec.required, spec.partition_column))
    for gold in pipeline.gold:
        from_specs.append(("gold", gold.name, gold.key, gold.key + gold.not_null, gold.partition_column))

    checks = []
    for layer, table, key, required, column in from_specs:
        asset_key = dg.AssetKey([layer, pipeline.domain, table])
        partitions = daily if column else None
        checks.append(_key_unique(asset_key, key, column, partitions))
        checks.append(_not_null(asset_key, tuple(dict.fromkeys(required)), column, partitions))
    checks.extend(_cross(pipeline, c, daily) for c in pipeline.cross_checks)
    checks.extend(_scorecard(pipeline, table, daily, min_recall) for table in pipeline.silver)
    return checks


def _key_unique(asset_key, key, column, partitions):
    def evaluate(table):
        from dataplatform.quality.checks import unique

        return unique(table, key)

    return _check(
        asset_key, "key_unique", f"No two rows share ({', '.join(key)}).", column, partitions, evaluate
    )


def _not_null(asset_key, required, column, partitions):
    def evaluate(table):
        from dataplatform.quality.checks import not_null

        return not_null(table, required)

    return _check(
        asset_key, "required_not_null", f"No nulls in {', '.join(required)}.", column, partitions, evaluate
    )


def _check(asset_key, name, description, column, partitions, evaluate: Callable) -> dg.AssetChecksDefinition:
    @_partitioned_check(
        asset=asset_key,
        name=name,
        description=description,
        blocking=True,
        partitions_def=partitions,
        required_resource_keys={"lakehouse"},
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        keys = [context.partition_key] if partitions else []
        table = context.resources.lakehouse.read(asset_key, column, keys)
        return _result(evaluate(table), keys)

    return check


def _cross(pipeline: DomainPipeline, cross: CrossCheck, daily) -> dg.AssetChecksDefinition:
    domain = pipeline.domain
    partitioned = pipeline.silver[cross.table].partition_column is not None
    others = [t for t in cross.inputs if t != cross.table]

    @_partitioned_check(
        asset=dg.AssetKey(["silver", domain, cross.table]),
        name=cross.name,
        description=cross.description,
        blocking=True,
        partitions_def=daily if partitioned else None,
        additional_deps=[dg.AssetKey(["silver", domain, t]) for t in others],
        required_resource_keys={"lakehouse"},
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        keys = [context.partition_key] if partitioned else []
        tables = {
            name: context.resources.lakehouse.read(
                dg.AssetKey(["silver", domain, name]), pipeline.silver[name].partition_column, keys
            )
            for name in cross.inputs
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
        "defects": dg.AssetKey(["landing", domain, defects]),
        "bronze": dg.AssetKey(["bronze", domain, table]),
        "silver": dg.AssetKey(["silver", domain, table]),
        "quarantine": dg.AssetKey(["silver", domain, f"{table}_quarantine"]),
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
        # landing defects are partitioned by the same column as the daily tables they describe
        tables = {name: context.resources.lakehouse.read(key, column, keys) for name, key in sources.items()}
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
