"""Declarative checks inside the assets that produce the tables: evaluated on the table just
written, so no check re-reads it. ERROR checks are blocking: a failure fails the step after its
output is stored, and nothing downstream runs on it in that run or through automation."""

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import SILVER
from dataplatform.defs.tables import key_for
from dataplatform.quality.specs import CheckSpec, DistributionDrift, References, RowCountAnomaly
from dataplatform.settings import Settings
from dataplatform.storage.contract import StorageError
from dataplatform.transform.pipeline import DomainPipeline

if TYPE_CHECKING:
    from dagster._core.definitions.metadata import RawMetadataValue  # not exported by Dagster


def check_specs(asset_key: dg.AssetKey, specs: Sequence[CheckSpec]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            spec.name,
            asset=asset_key,
            description=f"{spec.description} [{spec.severity}]",
            blocking=spec.blocking,
            additional_deps=[key_for(assetkeys.parse(spec.target))] if isinstance(spec, References) else [],
        )
        for spec in specs
    ]


def run_checks(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    table,
    specs: Sequence[CheckSpec],
    partition_column: str | None,
    settings: Settings,
    target_partitions: dict[str, str | None],
    schema=None,
) -> Iterator[dg.AssetCheckResult]:
    """`table` is an Arrow table, or rows DuckDB scans lazily (see `evaluate_all`); it may hold
    only the columns the checks read (see `check_stored`) when `schema` is the whole table's."""
    from dataplatform.quality.evaluate import CheckContext, evaluate_all
    from dataplatform.quality.report import write_report

    lakehouse = context.resources.lakehouse
    partition = date.fromisoformat(context.partition_key) if context.has_partition_key else None
    check_context = CheckContext(
        partition=partition,
        partition_column=partition_column,
        trailing=_trailing(lakehouse, asset_key, specs, partition_column, partition),
        targets=_targets(lakehouse, specs, context, target_partitions),
        schema=schema,
    )
    outcomes = {}
    if settings.quality_engine == "great_expectations":
        from dataplatform.quality.great_expectations import SUPPORTED, evaluate_suite

        supported = [s for s in specs if isinstance(s, SUPPORTED)]
        outcomes = evaluate_suite("_".join(asset_key.path), supported, table) if supported else {}
    rest = [s for s in specs if s.name not in outcomes]
    outcomes.update(evaluate_all(rest, table, check_context))
    results = [
        {
            "name": s.name,
            "severity": s.severity,
            "passed": outcomes[s.name].passed,
            **outcomes[s.name].metadata,
        }
        for s in specs
    ]
    report = write_report(
        Path(lakehouse.data_dir),
        context.run.run_id,
        asset_key.to_user_string(),
        context.partition_key if partition else None,
        [{k: v for k, v in r.items() if k != "sample"} for r in results],
    )
    for spec in specs:
        outcome = outcomes[spec.name]
        metadata: dict[str, RawMetadataValue] = {k: v for k, v in outcome.metadata.items() if k != "sample"}
        metadata["sample"] = dg.MetadataValue.json(outcome.sample)
        metadata["report"] = dg.MetadataValue.path(str(report))
        metadata["engine"] = (
            settings.quality_engine if spec.name in outcomes and _by_ge(spec, settings) else "sql"
        )
        if partition:
            metadata["partition"] = context.partition_key
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=spec.name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if spec.severity == "ERROR" else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )


def check_stored(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    partition_keys: Sequence[str],
    specs: Sequence[CheckSpec],
    partition_column: str | None,
    settings: Settings,
    target_partitions: dict[str, str | None],
) -> Iterator[dg.AssetCheckResult]:
    """`run_checks` on a table as stored, for an asset that streamed it out: only the columns
    the checks read are read, never the whole day, and into DuckDB's memory, within its limit,
    except for Great Expectations, which validates a frame in memory."""
    from dataplatform.quality.specs import columns_read

    lakehouse = context.resources.lakehouse
    read = lakehouse.read if settings.quality_engine == "great_expectations" else lakehouse.scan
    table = read(asset_key, partition_column, partition_keys, columns=columns_read(specs) or None)
    yield from run_checks(
        context,
        asset_key,
        table,
        specs,
        partition_column,
        settings,
        target_partitions,
        lakehouse.table_schema(asset_key),
    )


def _by_ge(spec: CheckSpec, settings: Settings) -> bool:
    if settings.quality_engine != "great_expectations":
        return False
    from dataplatform.quality.great_expectations import SUPPORTED

    return isinstance(spec, SUPPORTED)


def _trailing(lakehouse, asset_key, specs, partition_column, partition):
    """Earlier partitions of the table, only the columns the comparisons need, scanned lazily:
    a week of a large table's days is summarised by DuckDB, never held in memory."""
    history = [s for s in specs if isinstance(s, RowCountAnomaly | DistributionDrift)]
    if not history or partition is None or partition_column is None:
        return None
    days = max(s.trailing for s in history)
    keys = [(partition - timedelta(days=d)).isoformat() for d in range(1, days + 1)]
    columns = [
        partition_column,
        *dict.fromkeys(s.column for s in history if isinstance(s, DistributionDrift)),
    ]
    return lakehouse.scan(asset_key, partition_column, keys, columns=columns)


def _targets(lakehouse, specs, context: dg.AssetExecutionContext, target_partitions: dict) -> dict:
    """Each referenced table: the same partition of a partitioned one, else all of it."""
    targets = {}
    for spec in specs:
        if isinstance(spec, References) and spec.target not in targets:
            column = target_partitions[spec.target]
            keys = [context.partition_key] if column else []
            key = key_for(assetkeys.parse(spec.target))
            try:
                targets[spec.target] = lakehouse.read(key, column, keys, columns=[spec.target_column])
            except StorageError:  # not materialised yet: the check says so instead of erroring
                targets[spec.target] = None
    return targets


def reference_partitions(pipeline: DomainPipeline, specs: Sequence[CheckSpec]) -> dict[str, str | None]:
    """The partition column of each silver table `specs` reference: their own domain's only."""
    found = {}
    for spec in specs:
        if isinstance(spec, References):
            target = assetkeys.domain_table(assetkeys.parse(spec.target), SILVER)
            if target is None or target[0] != pipeline.domain or target[1] not in pipeline.silver:
                raise ValueError(
                    f"check {spec.name}: references must name a silver table of {pipeline.domain}"
                )
            found[spec.target] = pipeline.silver[target[1]].partition_column
    return found
