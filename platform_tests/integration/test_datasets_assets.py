"""Registered datasets as Dagster assets on a real instance: keys, lineage from gold, checks, re-registration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dataplatform.datasets.client import DatasetClient
from dataplatform.defs.datasets import DATASETS_POOL
from dataplatform.storage import TableName, store_for_layer
from platform_tests.conftest import DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

GOLD = "gold/ecommerce/customer_value"


def passengers(n: int, start: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PassengerId": np.arange(start, start + n),
            "Survived": rng.integers(0, 2, n),
            "Pclass": rng.integers(1, 4, n),
            "Sex": rng.choice(["male", "female"], n),
            "Age": np.round(rng.normal(30, 12, n), 1),
        }
    )


def kaggle_folder(root: Path, train_rows: int = 200) -> Path:
    rng = np.random.default_rng(3)
    folder = root / "titanic"
    folder.mkdir(exist_ok=True)
    passengers(train_rows, 1, rng).to_csv(folder / "train.csv", index=False)
    passengers(80, 1001, rng).drop(columns="Survived").to_csv(folder / "test.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> Iterator[tuple[Platform, DatasetClient, dg.ExecuteInProcessResult]]:
    """E-commerce through gold, then three datasets: a Kaggle folder, a file whose target has a
    gap, and gold customer value; then the code location built and the datasets job run."""
    root = tmp_path_factory.mktemp("datasets")
    settings = small_settings(root, datasets_root=str(root))  # where the sources are
    with real_instance(root) as instance:
        before = Platform(settings, instance)
        for job, partition in [("ecommerce_master", None), ("ecommerce_daily", DAY.isoformat())]:
            assert before.run(job, partition).success, job
        assert before.run("ecommerce_summaries").success

        client = DatasetClient(settings.data_dir)
        client.register(kaggle_folder(root), name="titanic", target="Survived", tags=["kaggle"])
        gappy = passengers(50, 1, np.random.default_rng(4)).astype({"Survived": "float"})
        gappy.loc[[3, 7], "Survived"] = np.nan
        gappy.to_csv(root / "gappy.csv", index=False)
        client.register(root / "gappy.csv", target="Survived", id_columns=["PassengerId"])
        gold = store_for_layer(settings, "gold").read(TableName(*GOLD.split("/")))
        client.register_table(
            gold, "customer_value", source_asset=GOLD, target="revenue_usd", id_columns=["customer_id"]
        )

        platform = Platform(settings, instance)  # built after registering, as a reload would
        result = platform.run("datasets")
        yield platform, client, result


def test_every_spec_becomes_dataset_and_feature_assets_in_group_datasets(registered):
    platform, _, result = registered
    assert result.success
    graph = platform.defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] in ("datasets", "features")}
    assert keys == {
        "datasets/titanic/train",
        "datasets/titanic/test",
        "features/titanic/train",
        "features/titanic/test",
        "datasets/gappy/train",
        "features/gappy/train",
        "datasets/customer_value/train",
        "features/customer_value/train",
    }
    for key in keys:
        node = graph.get(dg.AssetKey(key.split("/")))
        assert node.group_name == "datasets"
        assert "duckdb" in node.kinds
    job = platform.defs.resolve_job_def("datasets")
    assert {n.definition.pools.pop() for n in job.graph.node_dict.values()} == {DATASETS_POOL}


def test_lineage_runs_from_gold_to_the_dataset_to_its_features(registered):
    platform, _, _ = registered
    graph = platform.defs.resolve_asset_graph()
    parents = {
        k.to_user_string()
        for k in graph.get(dg.AssetKey(["datasets", "customer_value", "train"])).parent_keys
    }
    assert parents == {GOLD}
    features = graph.get(dg.AssetKey(["features", "customer_value", "train"]))
    assert {k.to_user_string() for k in features.parent_keys} == {"datasets/customer_value/train"}
    assert not graph.get(dg.AssetKey(["datasets", "titanic", "train"])).parent_keys  # a file has no upstream


def test_materialisations_record_the_stored_rows_and_columns(registered):
    platform, client, _ = registered
    gold_rows = platform.read(GOLD).num_rows
    event = platform.instance.get_latest_materialization_event(
        dg.AssetKey(["datasets", "customer_value", "train"])
    )
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == gold_rows == client.info("customer_value")["rows"]["train"]
    columns = [c.name for c in metadata["dagster/column_schema"].value.columns]
    assert columns == platform.read(GOLD).column_names
    test_features = platform.instance.get_latest_materialization_event(
        dg.AssetKey(["features", "titanic", "test"])
    )
    assert test_features.asset_materialization.metadata["dagster/row_count"].value == 80


# every split of every dataset is scanned for e-mail addresses and phone numbers in clear
PERSONAL_DATA_SCANNED = [
    ("titanic", "train"),
    ("titanic", "test"),
    ("gappy", "train"),
    ("customer_value", "train"),
]


def test_checks_pass_on_clean_data_and_catch_a_target_gap(registered):
    _, _, result = registered
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()
    }
    assert checks == {
        ("datasets/titanic/train", "train_id_unique"): True,
        ("datasets/titanic/test", "test_id_unique"): True,
        ("datasets/titanic/train", "train_target_not_null"): True,
        ("datasets/titanic/test", "test_without_target"): True,
        ("datasets/titanic/test", "train_test_columns_consistent"): True,
        ("datasets/gappy/train", "train_id_unique"): True,
        ("datasets/gappy/train", "train_target_not_null"): False,  # rows 3 and 7 have no target
        ("datasets/customer_value/train", "train_id_unique"): True,
        ("datasets/customer_value/train", "train_target_not_null"): True,
        **{
            (f"datasets/{d}/{split}", f"{split}_no_personal_data"): True for d, split in PERSONAL_DATA_SCANNED
        },
    }
    gap = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "train_target_not_null" and "gappy" in e.asset_key.to_user_string()
    )
    assert gap.metadata["empty"].value == 2


def test_materialising_again_rereads_the_source_and_keeps_the_users_choices(registered):
    platform, client, _ = registered
    folder = Path(client.spec("titanic").source)
    kaggle_folder(folder.parent, train_rows=260)  # the user's files grew
    result = platform.defs.resolve_job_def("datasets").execute_in_process(
        instance=platform.instance,
        asset_selection=list(platform.defs.resolve_assets_def(["datasets", "titanic", "train"]).keys),
        raise_on_error=False,
    )
    assert result.success
    assert client.info("titanic")["rows"]["train"] == 260
    spec = client.spec("titanic")
    assert (spec.target, spec.reasons["target"], spec.tags) == ("Survived", "given by the user", ["kaggle"])
    # the datasets job read the same files before (still version 1); the grown ones are version 2
    assert spec.version == 2 and len(client.load("titanic", version=1)) == 200
    event = platform.instance.get_latest_materialization_event(dg.AssetKey(["datasets", "titanic", "train"]))
    assert event.asset_materialization.metadata["dagster/row_count"].value == 260


def test_a_dataset_from_a_reference_table_depends_on_it_and_rereads_it(tmp_path):
    """A drop-folder table (asset reference/<table>, stored as reference/files/<table>) is a
    source like gold: the dataset's assets depend on it and materialising reads it again."""
    from dataplatform.defs.datasets import dataset_asset, register_again
    from dataplatform.ingest.service import reference_table

    settings = small_settings(tmp_path)
    store = store_for_layer(settings, "reference")
    rates = pa.table({"currency": ["EUR", "GBP", "JPY"] * 10, "rate": np.linspace(0.5, 2.0, 30)})
    store.write(reference_table("currency_rates"), rates)
    client = DatasetClient(settings.data_dir)
    client.register_table(
        store.read(reference_table("currency_rates")),
        "currency_rates",
        source_asset="reference/currency_rates",
        target="rate",
    )
    asset = dataset_asset(client.spec("currency_rates"), settings)
    train = dg.AssetKey(["datasets", "currency_rates", "train"])
    assert asset.asset_deps[train] == {dg.AssetKey(["reference", "currency_rates"])}
    store.write(reference_table("currency_rates"), pa.concat_tables([rates, rates]))  # a new delivery
    spec = register_again(client, "currency_rates", settings)
    assert (spec.target, client.info("currency_rates")["rows"]["train"]) == ("rate", 60)


def test_a_spec_edited_to_point_outside_the_allowed_folders_is_not_read(tmp_path):
    """Specs are fit for git: one changed to name a file elsewhere must not make a run read it."""
    from dataplatform.datasets.errors import DatasetError
    from dataplatform.defs.datasets import register_again

    settings = small_settings(tmp_path, datasets_root=str(tmp_path / "inbox"))
    client = DatasetClient.for_settings(settings)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "outside").mkdir()
    passengers(50, 1, np.random.default_rng(5)).to_csv(tmp_path / "inbox" / "people.csv", index=False)
    passengers(50, 1, np.random.default_rng(6)).to_csv(tmp_path / "outside" / "people.csv", index=False)
    client.register(tmp_path / "inbox" / "people.csv")
    before = client.load("people")
    spec_file = client.registry.path_for("people")
    spec_file.write_text(spec_file.read_text().replace("/inbox/", "/outside/"))
    with pytest.raises(DatasetError, match="is outside the folders datasets may be registered from"):
        register_again(client, "people", settings)
    pd.testing.assert_frame_equal(client.load("people"), before)
