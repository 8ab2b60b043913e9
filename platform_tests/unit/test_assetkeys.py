"""The asset-key scheme: the keys the platform builds read back as the same tables and parts, and
a user's bad key is refused with a message saying what fits."""

from __future__ import annotations

import pytest

from dataplatform import assetkeys
from dataplatform.assetkeys import AssetKeyError
from dataplatform.storage.contract import StorageError, TableName


@pytest.mark.parametrize("layer", assetkeys.MEDALLION_LAYERS)
def test_a_medallion_key_round_trips_through_its_text_and_its_stored_table(layer: str) -> None:
    path = assetkeys.medallion(layer, "ecommerce", "orders")
    assert assetkeys.text(path) == f"{layer}/ecommerce/orders"
    assert assetkeys.parse(assetkeys.text(path)) == path
    assert assetkeys.table_name(path) == TableName(layer, "ecommerce", "orders")
    assert assetkeys.lake_table(assetkeys.text(path)) == (assetkeys.text(path), TableName(*path))
    assert assetkeys.domain_table(path, layer) == ("ecommerce", "orders")


def test_a_reference_key_has_two_names_and_is_stored_under_the_files_domain() -> None:
    path = assetkeys.reference("currency_rates")
    assert path == ("reference", "currency_rates")
    assert assetkeys.reference_name(path) == "currency_rates"
    assert assetkeys.table_name(path) == TableName("reference", "files", "currency_rates")
    assert assetkeys.lake_table(" /reference/currency_rates/ ") == (
        "reference/currency_rates",
        TableName("reference", "files", "currency_rates"),
    )


def test_the_keys_of_every_kind_of_asset() -> None:
    assert assetkeys.quarantine("ecommerce", "orders") == ("silver", "ecommerce", "orders_quarantine")
    assert assetkeys.platform_metric("pipeline_runs") == ("gold", "platform", "pipeline_runs")
    assert assetkeys.dataset("titanic", "train") == ("datasets", "titanic", "train")
    assert assetkeys.features("titanic", "test") == ("features", "titanic", "test")
    assert assetkeys.model("titanic", "forest") == ("models", "titanic", "forest")
    assert assetkeys.predictions("titanic", "forest") == ("predictions", "titanic", "forest")


def test_a_model_key_is_under_its_dataset_prefix_and_no_other() -> None:
    model = assetkeys.model("titanic", "forest")
    assert assetkeys.under(model, assetkeys.models_of("titanic"))
    assert assetkeys.under(list(model), assetkeys.models_of("titanic"))  # Dagster's paths are lists
    assert not assetkeys.under(model, assetkeys.models_of("titanic_v2"))
    assert not assetkeys.under(assetkeys.predictions("titanic", "forest"), assetkeys.models_of("titanic"))


def test_only_medallion_and_reference_keys_are_lake_tables() -> None:
    assert assetkeys.is_lake_table(["gold", "ecommerce", "daily_sales"])
    assert assetkeys.is_lake_table(["reference", "file_ledger"])
    for other in (
        assetkeys.dataset("titanic", "train"),
        assetkeys.model("titanic", "forest"),
        ("gold", "ecommerce"),
        ("reference", "files", "currency_rates"),
    ):
        assert not assetkeys.is_lake_table(other), other


def test_parts_of_a_key_of_another_shape_are_none() -> None:
    assert assetkeys.domain_table(("silver", "ecommerce", "orders"), "gold") is None
    assert assetkeys.domain_table(("gold", "orders"), "gold") is None
    assert assetkeys.reference_name(("silver", "ecommerce", "orders")) is None
    assert assetkeys.reference_name(("reference", "files", "x")) is None


def test_parse_ignores_surrounding_blanks_and_slashes_and_refuses_an_empty_name() -> None:
    assert assetkeys.parse("  /silver/ecommerce/orders/ ") == ("silver", "ecommerce", "orders")
    for bad in ("gold//orders", "", "/"):
        with pytest.raises(AssetKeyError, match="has an empty name: write names joined by '/'"):
            assetkeys.parse(bad)


@pytest.mark.parametrize(
    "key", ["gold/customer_value", "datasets/titanic/train", "reference", "mart/ecommerce/orders"]
)
def test_a_key_that_names_no_lake_table_says_what_fits(key: str) -> None:
    with pytest.raises(AssetKeyError) as raised:
        assetkeys.lake_table(key)
    assert str(raised.value) == (
        f"asset {key!r} is neither layer/domain/table (landing, bronze, silver, gold) nor "
        "reference/<table>, e.g. gold/ecommerce/customer_value or reference/currency_rates"
    )


@pytest.mark.parametrize("key", ["gold/Ecommerce/orders", "reference/bad-name", "gold//orders"])
def test_a_name_storage_refuses_is_said_with_the_key(key: str) -> None:
    with pytest.raises(AssetKeyError, match=rf"^asset {key!r}: invalid ") as raised:
        assetkeys.lake_table(key)
    assert isinstance(raised.value.__cause__, StorageError)


def test_a_key_of_neither_three_names_nor_reference_names_no_stored_table() -> None:
    with pytest.raises(AssetKeyError, match="'models/titanic' names no stored table"):
        assetkeys.table_name(("models", "titanic"))
    with pytest.raises(StorageError):
        assetkeys.table_name(("gold", "ecommerce", "Orders"))
