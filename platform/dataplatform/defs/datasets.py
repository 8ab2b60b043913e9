"""Registered ML datasets in the graph: `datasets/<name>/<split>` and `features/<name>/<split>` per spec.

The registry folder (`<data_dir>/datasets/registry/*.yaml`) is read when the definitions are
built, so a dataset registered with `dataplatform datasets register` appears after a reload of
the code location. One multi-asset per dataset, because one registration writes every split and
its features in a single store transaction: materialising it re-reads the source (the file, the
folder, or the platform asset it came from) and registers it again through `DatasetClient` with
the user's stated overrides kept, then runs the dataset checks of `datasets.checks`. A dataset
registered from a platform asset depends on that asset, so it sits in the same lineage graph.

Only the spec module (YAML), the SQL naming rules and the masking rules' names are imported here;
DuckDB, Arrow and pandas are imported when an asset runs, so the code location loads fast.
"""

from typing import TYPE_CHECKING

import dagster as dg

from dataplatform import assetkeys
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.spec import DatasetSpec, SpecRegistry, personal_data_check
from dataplatform.datasets.sql import store_backend
from dataplatform.defs.tables import key_for
from dataplatform.settings import Settings, SettingsError
from dataplatform.transform.pii import missing_secret, pseudonymised

if TYPE_CHECKING:
    from dagster._core.definitions.metadata import RawMetadataValue  # not exported by Dagster

GROUP = assetkeys.DATASETS
# The dataset store is one DuckDB file (`<data_dir>/datasets/dataset_store.duckdb`), apart from
# the warehouse: DuckDB allows one writing process per file, so its writers share their own pool.
DATASETS_POOL = "duckdb_datasets"
FEATURE_SPLITS = ("train", "test")  # the splits registration builds features for
PREVIEW_ROWS = 5
# check name (as `check_dataset` names it) -> the split whose asset carries it
CHECK_SPLITS = {
    "train_id_unique": "train",
    "test_id_unique": "test",
    "train_target_not_null": "train",
    "test_without_target": "test",
    "train_test_columns_consistent": "test",
}
CHECK_DESCRIPTIONS = {
    "train_id_unique": "The id columns identify every train row: no repeated or empty id.",
    "test_id_unique": "The id columns identify every test row: no repeated or empty id.",
    "train_target_not_null": "Every train row has a target.",
    "test_without_target": "The test split does not hold the target.",
    "train_test_columns_consistent": "Test has every train column but the target, and no other.",
}


def registry_for(settings: Settings) -> SpecRegistry:
    return SpecRegistry(settings.data_dir / "datasets" / "registry")


def dataset_definitions(settings: Settings):
    """An asset per registered dataset (with its checks) and the `datasets` job selecting them all."""
    registry = registry_for(settings)
    specs = []
    for name in registry.names():
        # one broken spec file (edited by hand, copied from git) must not take the code location down
        try:
            specs.append(registry.load(name))
        except DatasetError as error:
            dg.get_dagster_logger().warning(f"registered dataset {name} left out of the graph: {error}")
    require_pii_secret(specs, settings)
    assets = []
    for spec in specs:
        try:
            assets.append(dataset_asset(spec, settings))
        except (DatasetError, assetkeys.AssetKeyError, dg.DagsterInvalidDefinitionError) as error:
            dg.get_dagster_logger().warning(f"registered dataset {spec.name} left out of the graph: {error}")
    job = dg.define_asset_job(
        "datasets",
        selection=dg.AssetSelection.groups(GROUP),
        description="Re-read every registered dataset's source and register it again: splits, "
        "statistics, features and checks.",
    )
    return assets, job


def require_pii_secret(specs: list[DatasetSpec], settings: Settings) -> None:
    """Refuse to load when a registered dataset pseudonymises a column and no secret is set:
    materialising it could only fail."""
    needing = [f"dataset {s.name}.{c}" for s in specs for c in pseudonymised(s.personal_rules())]
    if needing and settings.pii_secret is None:
        raise SettingsError(f"invalid setting: {missing_secret(needing)}")


def dataset_key(name: str, split: str) -> dg.AssetKey:
    return key_for(assetkeys.dataset(name, split))


def features_key(name: str, split: str) -> dg.AssetKey:
    return key_for(assetkeys.features(name, split))


def expected_checks(spec: DatasetSpec) -> list[str]:
    """The checks `check_dataset` gives this dataset, known from the spec alone."""
    names = []
    if spec.id_columns:
        names += [f"{split}_id_unique" for split in ("train", "test") if split in spec.splits]
    if spec.target is not None:
        names.append("train_target_not_null")
        if "test" in spec.splits:
            names.append("test_without_target")
    if "test" in spec.splits:
        names.append("train_test_columns_consistent")
    return names + [personal_data_check(split) for split in spec.splits]


def _check_split(check: str) -> str:
    """The split whose asset carries a check."""
    return CHECK_SPLITS.get(check) or check.removesuffix(personal_data_check(""))


def _check_description(check: str) -> str:
    if check in CHECK_DESCRIPTIONS:
        return CHECK_DESCRIPTIONS[check]
    return (
        f"No e-mail address or phone number in clear in a text column of {_check_split(check)} "
        "not declared safe (personal columns are masked as registered)."
    )


def dataset_asset(spec: DatasetSpec, settings: Settings) -> dg.AssetsDefinition:
    name = spec.name
    source_deps = [key_for(assetkeys.parse(spec.source))] if spec.source_kind == "asset" else []
    described = {
        "source": f"{spec.source_kind} {spec.source}",
        "target": spec.target or "none",
        "problem_type": spec.problem_type or "none",
        "id_columns": ", ".join(spec.id_columns) or "none",
    }
    specs = [
        dg.AssetSpec(
            dataset_key(name, split),
            deps=source_deps,
            description=f"The {split} split of registered dataset {name}"
            + (f": {spec.description}" if spec.description else "."),
            metadata=described,
            group_name=GROUP,
            kinds={store_backend(settings.profile)},
            tags={t: "" for t in spec.tags if _is_tag_key(t)},  # shown and filterable in the UI
            skippable=True,  # a split the source no longer has is not written
        )
        for split in spec.splits
    ]
    feature_splits = [s for s in FEATURE_SPLITS if spec.features and s in spec.splits]
    specs += [
        dg.AssetSpec(
            features_key(name, split),
            deps=[dataset_key(name, split)],
            description=f"Generic features of {name}/{split} fitted on train only (and the dataset's "
            "feature plugin, if it has one).",
            group_name=GROUP,
            kinds={store_backend(settings.profile)},
            skippable=True,  # registration builds test features only when test has train's inputs
        )
        for split in feature_splits
    ]
    check_specs = [
        dg.AssetCheckSpec(
            check, asset=dataset_key(name, _check_split(check)), description=_check_description(check)
        )
        for check in expected_checks(spec)
    ]

    @dg.multi_asset(
        name=f"dataset_{name}",
        specs=specs,
        check_specs=check_specs,
        can_subset=False,
        pool=DATASETS_POOL,
        description=f"Register dataset {name} again from {spec.source_kind} {spec.source}.",
        # the pseudonyms' key whenever one is set: `update` or a re-registration may mark a column later
        required_resource_keys={"pii"} if settings.pii_secret else set(),
    )
    def registered_dataset(context: dg.AssetExecutionContext):
        from dataplatform.datasets.checks import check_dataset

        client = _client(settings, context.resources.pii.secret if settings.pii_secret else None)
        current = register_again(client, name, settings, context.log.info)
        # splits before their features: a multi-asset yields its assets in lineage order
        stored = dict(sorted(client.store.tables(name).items(), key=lambda t: t[0].startswith("features_")))
        known = set(context.assets_def.keys)
        for table, metadata in _tables_metadata(client, name, stored).items():
            featured = table.startswith("features_")
            key = features_key(name, table[len("features_") :]) if featured else dataset_key(name, table)
            if key in known:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)
            else:  # a split or feature table the spec did not have when the definitions were built
                context.log.warning(f"{name}/{table} has no asset yet: reload the code location")
        results = {r.name: r for r in check_dataset(client.store, current)}
        for check in check_specs:
            result = results.get(check.name)
            if result is None:  # the spec changed since the definitions were built
                yield dg.AssetCheckResult(
                    asset_key=check.asset_key,
                    check_name=check.name,
                    passed=True,
                    description="does not apply to the dataset as registered now; reload the code location",
                )
                continue
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=result.passed,
                description=result.description,
                metadata={k: _metadata_value(v) for k, v in result.figures.items()},
            )

    return registered_dataset


def register_again(client, name: str, settings: Settings, log=None) -> DatasetSpec:
    """Read the registered dataset's source again and replace it, keeping what the user stated
    (target, ids, problem type, column types, description, tags, features on or off, personal
    and safe columns)."""
    from dataplatform.datasets.registration import user_overrides

    spec = client.spec(name)  # the spec as it is now: `update` may have changed it since the build
    kept = user_overrides(spec)
    options = {
        "target": kept.target,
        "id_columns": kept.id_columns,
        "problem_type": kept.problem_type,
        "column_types": kept.column_types,
        "description": spec.description,
        "tags": spec.tags,
        "features": spec.features,
        "personal": spec.personal,
        "safe": spec.safe,
        "force": True,
        "progress": log,
    }
    if spec.source_kind == "asset":
        from dataplatform.datasets.sources import asset_table
        from dataplatform.storage import store_for_layer

        _, table = asset_table(spec.source)
        data = store_for_layer(settings, table.layer).read(table)
        return client.register_table(data, name, source_asset=spec.source, **options)
    return client.register(spec.source, name=name, **options)


def _client(settings: Settings, pii_secret: str | None = None):
    from dataplatform.datasets.client import DatasetClient

    return DatasetClient.for_settings(settings, pii_secret)


def _tables_metadata(client, name: str, stored: dict[str, int]) -> "dict[str, dict[str, RawMetadataValue]]":
    """Per stored table: rows, column schema, a preview and where it lives."""
    from dataplatform.datasets.sql import qualified

    found = {}
    with client.store.reading() as con:
        for table, rows in stored.items():
            head = con.execute(
                f"SELECT * FROM {qualified(name, table)} LIMIT {PREVIEW_ROWS}"
            ).to_arrow_table()
            columns = [dg.TableColumn(f.name, str(f.type)) for f in head.schema]
            found[table] = {
                "dagster/row_count": dg.MetadataValue.int(rows),
                "dagster/column_schema": dg.TableSchema(columns=columns),
                "preview": dg.MetadataValue.md(head.to_pandas().to_markdown(index=False)),
                "storage_backend": client.store.backend,
                "storage_location": dg.MetadataValue.path(f"{client.store.location}#{name}.{table}"),
                "spec_file": dg.MetadataValue.path(str(client.registry.path_for(name))),
            }
    return found


def _metadata_value(value):
    return dg.MetadataValue.json(value) if isinstance(value, list | dict) else value


def _is_tag_key(tag: str) -> bool:
    """Dagster tag keys allow letters, digits, `-`, `_` and `.` only."""
    return bool(tag) and len(tag) <= 63 and all(c.isalnum() or c in "-_." for c in tag)
