"""ML models in the graph: `models/<dataset>/<model>` and `predictions/<dataset>/<model>` per spec.

Built from the registered datasets and their model specs (`<data>/models/<dataset>.yaml`, or the
default pair for a dataset with a target and none), read as YAML when the definitions are built:
neither MLflow nor scikit-learn is imported until a step runs. A model reads its dataset's train
features only; its blocking `promotion` check judges the candidate against the baseline and the
champion on held-out rows and moves `champion` when it passes, so predictions, which score with
the champion, never run after a failed promotion. Predictions carry a WARN check of feature drift
(population stability index per feature, train against the rows scored).
"""

import dagster as dg

from dataplatform import assetkeys
from dataplatform.assetkeys import PREDICTIONS
from dataplatform.defs.datasets import DATASETS_POOL, FEATURE_SPLITS, dataset_key, features_key, registry_for
from dataplatform.defs.tables import key_for
from dataplatform.models.errors import ModelError
from dataplatform.models.spec import DEFAULT_SCORED, ModelSpec, load_models, models_folder
from dataplatform.settings import Settings

GROUP = assetkeys.MODELS
PROMOTION_CHECK = "promotion"
DRIFT_CHECK = "feature_drift"


def model_key(spec: ModelSpec) -> dg.AssetKey:
    return key_for(assetkeys.model(spec.dataset, spec.name))


def predictions_key(spec: ModelSpec) -> dg.AssetKey:
    return key_for(assetkeys.predictions(spec.dataset, spec.name))


def model_definitions(settings: Settings):
    """A model asset (with its promotion check) and a predictions asset per model spec, and the
    `models` job selecting them all."""
    from dataplatform.datasets.errors import DatasetError

    registry = registry_for(settings)
    assets = []
    for name in registry.names():
        try:
            dataset = registry.load(name)
            if dataset.target is None or not dataset.features:
                continue  # nothing to learn, or no features to learn from
            specs = load_models(models_folder(settings.data_dir), dataset.name, dataset.problem_type)
        except (DatasetError, ModelError) as error:
            dg.get_dagster_logger().warning(f"models of dataset {name} left out of the graph: {error}")
            continue
        for spec in specs:
            assets.append(_model_asset(spec, settings))
            if set(spec.score) <= set(dataset.splits):
                assets.append(_predictions_asset(spec, dataset, settings))
            elif spec.score != DEFAULT_SCORED:  # a split the spec names is missing: said, once per build
                absent = ", ".join(sorted(set(spec.score) - set(dataset.splits)))
                dg.get_dagster_logger().warning(
                    f"predictions of {spec.registered_name} left out of the graph: dataset {name} has no "
                    f"split {absent} to score"
                )
    job = dg.define_asset_job(
        "models",
        selection=dg.AssetSelection.groups(GROUP, PREDICTIONS),
        description="Train every model of every registered dataset, judge it for promotion, and score "
        "the splits each model scores (the test split by default) with its champion.",
    )
    return assets, job


def _model_asset(spec: ModelSpec, settings: Settings) -> dg.AssetsDefinition:
    key = model_key(spec)
    check = dg.AssetCheckSpec(
        PROMOTION_CHECK,
        asset=key,
        blocking=True,
        description=f"Beats the baseline and the champion on {spec.selection_metric} over held-out rows "
        "(the spec's thresholds); when it passes, the alias `champion` moves to this version.",
    )

    @dg.asset(
        key=key,
        group_name=GROUP,
        deps=[features_key(spec.dataset, "train")],
        kinds={"mlflow", "scikitlearn"},
        check_specs=[check],
        pool=DATASETS_POOL,  # reads the dataset store, which its registration writes
        description=f"{spec.estimator} on {spec.dataset}, selected on {spec.selection_metric}; "
        f"registered in MLflow as {spec.registered_name}.",
        metadata={"estimator": spec.estimator, "registered_model": spec.registered_name},
    )
    def model(context: dg.AssetExecutionContext):
        from dataplatform.models.client import ModelClient
        from dataplatform.models.tracking import metric_values

        client = ModelClient.for_settings(settings)
        tags = {"dagster_run_id": context.run.run_id, "git_commit": _git_commit()}
        if context.has_partition_key:
            tags["partition"] = context.partition_key
        try:
            [outcome] = client.train(spec.dataset, model=spec.name, tags=tags)
        except ModelError as error:
            raise dg.Failure(str(error)) from None
        figures = metric_values(outcome.trained)
        yield dg.MaterializeResult(
            metadata={
                **{name: dg.MetadataValue.float(value) for name, value in sorted(figures.items())},
                "dataset_version": outcome.dataset_version,
                "mlflow_run_id": outcome.logged.run_id,
                "registered_version": int(outcome.logged.version),
                "tracking_store": client.tracker.location(),
                "time_ordered_folds": outcome.trained.time_ordered,
            }
        )
        verdict = outcome.verdict
        sides = {f"candidate_{k}": v for k, v in verdict.candidate.items()}
        sides |= {f"baseline_{k}": v for k, v in verdict.baseline.items()}
        sides |= {f"champion_{k}": v for k, v in (verdict.champion or {}).items()}
        yield dg.AssetCheckResult(
            check_name=PROMOTION_CHECK,
            passed=verdict.passed,
            description=("promoted to champion: " if outcome.promoted else "champion unchanged: ")
            + "; ".join(verdict.reasons),
            metadata={
                **{k: dg.MetadataValue.float(v) for k, v in sides.items()},
                "candidate_version": int(outcome.logged.version),
                "champion_version": verdict.champion_version or "none",
                "reasons": dg.MetadataValue.json(verdict.reasons),
            },
        )

    return model


def _predictions_asset(spec: ModelSpec, dataset, settings: Settings) -> dg.AssetsDefinition:
    key = predictions_key(spec)
    drift = dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=key,
        description="Population stability index of each feature, train against the rows scored "
        "(WARN above 0.2).",
    )

    @dg.asset(
        key=key,
        group_name=PREDICTIONS,
        deps=[model_key(spec), *(_scored_key(spec.dataset, split) for split in spec.score)],
        kinds={"delta", "mlflow"},
        check_specs=[drift],
        pool=DATASETS_POOL,
        description=f"{', '.join(spec.score)} of {spec.dataset} scored by {spec.registered_name}@champion.",
    )
    def predictions(context: dg.AssetExecutionContext):
        from dataplatform.models.client import ModelClient
        from dataplatform.models.drift import ALARM, population_stability
        from dataplatform.models.scoring import score_splits

        client = ModelClient.for_settings(settings)
        try:
            scored = score_splits(client, spec, settings)
        except ModelError as error:
            raise dg.Failure(str(error)) from None
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": scored.rows,
                "rows_per_split": dg.MetadataValue.json(scored.splits),
                "champion_version": scored.version,
                "storage_location": dg.MetadataValue.path(scored.location),
                **(
                    {"submission": dg.MetadataValue.path(str(scored.submission))} if scored.submission else {}
                ),
            }
        )
        psi = population_stability(scored.train_features, scored.scored_features)
        worst = max(psi.items(), key=lambda item: item[1], default=("none", 0.0))
        yield dg.AssetCheckResult(
            check_name=DRIFT_CHECK,
            passed=worst[1] <= ALARM,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"largest PSI {worst[1]:.3f} ({worst[0]})",
            metadata={"psi": dg.MetadataValue.json({k: round(v, 4) for k, v in sorted(psi.items())})},
        )

    return predictions


def _scored_key(dataset: str, split: str) -> dg.AssetKey:
    """What scoring a split reads: its features asset, or the split itself (featurized when scored)."""
    return features_key(dataset, split) if split in FEATURE_SPLITS else dataset_key(dataset, split)


def _git_commit() -> str:
    """The code's commit, for the run's tags; 'unknown' outside a git checkout."""
    import subprocess
    from pathlib import Path

    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return found.stdout.strip() or "unknown"
