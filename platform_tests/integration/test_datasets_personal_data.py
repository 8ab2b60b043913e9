"""Personal columns of registered datasets: masked before anything is stored (real files, the
real DuckDB store), so never in clear in splits, statistics, features, exports or the spec;
pseudonyms stable across registrations and equal to silver's; a wrong mark or a missing secret
refused with nothing registered; and the per-split `no_personal_data` check."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError
from dataplatform.defs.datasets import dataset_definitions, expected_checks, register_again
from dataplatform.settings import SettingsError
from platform_tests.conftest import small_settings
from platform_tests.integration.test_reference_personal_data import (
    EMAIL,
    SECRET,
    emails_in_clear,
    silver_pseudonym,
)

MARKS = {
    "email": "pseudonymise",
    "name": "partial",
    "phone": {"partial": {"keep_start": 0, "keep_end": 4}},
    "address": "drop",
}


def customers(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": range(1, n + 1),
            "email": [f"person{i}@example.com" for i in range(n)],
            "name": [f"Name {i}" for i in range(n)],
            "phone": [f"06{i:08d}" for i in range(n)],
            "address": [f"{i} Main Street" for i in range(n)],
            "spend": [float(i) for i in range(n)],
            "churned": [i % 2 for i in range(n)],
        }
    )


@pytest.fixture
def client(tmp_path) -> DatasetClient:
    return DatasetClient(tmp_path / "data", pii_secret=SECRET)


def register_csv(client: DatasetClient, tmp_path, **options):
    path = tmp_path / "shop.csv"
    if not path.exists():
        customers().to_csv(path, index=False)
    return client.register(path, name="shop", target="churned", personal=MARKS, **options)


def test_nothing_stored_holds_a_marked_value_in_clear(client, tmp_path):
    spec = register_csv(client, tmp_path)
    assert spec.personal == MARKS and client.spec("shop").personal == MARKS
    train = pa.Table.from_pandas(client.load("shop"), preserve_index=False)
    assert "address" not in train.column_names
    assert emails_in_clear(train) == []
    row = train.slice(0, 1).to_pylist()[0]
    assert row["email"] == silver_pseudonym("person0@example.com")  # joins with silver match
    assert (row["name"], row["phone"]) == ("N*****", "******0000")  # read as text: leading zero kept
    features = pa.Table.from_pandas(client.load("shop", features=True), preserve_index=False)
    assert emails_in_clear(features) == []
    stats = json.dumps(client.stats("shop"), default=str)
    assert not EMAIL.search(stats) and "Name 1" not in stats and "Main Street" not in stats
    for fmt in ("csv", "parquet"):
        for path in client.export("shop", tmp_path / f"out_{fmt}", fmt=fmt):
            if path.suffix == ".parquet":
                assert emails_in_clear(pq.read_table(path)) == [], path
            text = path.read_text(errors="replace") if path.suffix != ".parquet" else ""
            assert not EMAIL.search(text) and "Main Street" not in text, path
    assert {c.name: c.passed for c in client.check("shop")}["train_no_personal_data"]


def test_pseudonyms_are_stable_across_registrations_and_sources(client, tmp_path):
    first = client.load(register_csv(client, tmp_path).name)["email"].tolist()
    again = client.load(register_csv(client, tmp_path, force=True).name)["email"].tolist()
    assert again == first
    # materialising the dataset registers it again the way its asset does: the marks are kept
    settings = small_settings(tmp_path, pii_secret=SECRET, datasets_root=str(tmp_path))
    assert register_again(DatasetClient.for_settings(settings), "shop", settings).personal == MARKS
    assert client.load("shop")["email"].tolist() == first
    # the same values handed in as Arrow (a platform asset) are masked in SQL: the same pseudonyms
    table = pa.Table.from_pandas(customers(), preserve_index=False)
    test = table.slice(50).drop_columns(["churned"])
    client.register_table(
        table.slice(0, 50), "shop_asset", "gold/x/y", target="churned", personal=MARKS, test=test
    )
    assert client.load("shop_asset")["email"].tolist() == first[:50]
    assert client.load("shop_asset", split="test")["email"].tolist() == first[50:]
    assert "address" not in client.load("shop_asset", split="test").columns


def test_a_mark_naming_no_column_is_one_clear_error_and_keeps_the_registered_version(client, tmp_path):
    register_csv(client, tmp_path)
    before = client.load("shop")
    with pytest.raises(DatasetError) as raised:
        client.register(tmp_path / "shop.csv", name="shop", personal={"e_mail": "drop"}, force=True)
    assert str(raised.value) == (
        "dataset 'shop': personal column e_mail not in the data (its columns: customer_id, email, name, "
        "phone, address, spend, churned); fix the mark or the data"
    )
    pd.testing.assert_frame_equal(client.load("shop"), before)
    assert client.spec("shop").personal == MARKS and [v["version"] for v in client.versions("shop")] == [1]


def test_an_unknown_rule_is_refused_before_anything_is_read(client, tmp_path):
    with pytest.raises(
        DatasetError, match=r"personal column 'email': 'hash' is not a rule; use pseudonymise"
    ):
        client.register(tmp_path / "absent.csv", personal={"email": "hash"})


def test_a_pseudonymise_mark_without_the_secret_fails_naming_it_and_registers_nothing(tmp_path):
    customers().to_csv(tmp_path / "shop.csv", index=False)
    client = DatasetClient(tmp_path / "data")
    with pytest.raises(DatasetError, match=r"DATAPLATFORM_PII_SECRET is not set .*dataset shop\.email"):
        client.register(tmp_path / "shop.csv", name="shop", personal=MARKS)
    assert not client.registry.exists("shop")
    client.register(tmp_path / "shop.csv", name="shop", personal={"email": "drop"})  # needs no secret
    assert "email" not in client.load("shop").columns


def test_the_check_fails_on_an_email_or_phone_in_a_split_unless_declared_safe(client, tmp_path):
    customers().to_csv(tmp_path / "leaky.csv", index=False)
    client.register(tmp_path / "leaky.csv", name="leaky")
    check = next(c for c in client.check("leaky") if c.name == "train_no_personal_data")
    assert not check.passed
    assert check.figures["failing"] == {"email": 60, "phone": 60}
    assert "person" not in check.description and "06" not in check.description  # counts, never values
    client.register(tmp_path / "leaky.csv", name="leaky", safe=["email", "phone"], force=True)
    assert {c.name: c.passed for c in client.check("leaky")}["train_no_personal_data"]


def test_the_platform_refuses_to_load_without_the_secret_a_dataset_needs(client, tmp_path):
    settings = small_settings(tmp_path)
    register_csv(client, tmp_path)  # registered in the settings' data folder
    assert "train_no_personal_data" in expected_checks(client.spec("shop"))
    with pytest.raises(SettingsError, match=r"DATAPLATFORM_PII_SECRET is not set .*dataset shop\.email"):
        dataset_definitions(settings)
    assets, _ = dataset_definitions(small_settings(tmp_path, pii_secret=SECRET))
    assert ["pii" in a.required_resource_keys for a in assets] == [True]
