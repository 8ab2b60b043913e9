"""Dataset versions in both stores (DuckDB, and PostgreSQL when a server is reachable): a new
registration keeps the previous version readable by number, the same data is the same version,
an update keeps every version, and removal takes them all."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.sql import qualified


@pytest.fixture(params=["duckdb", "postgres"])
def client(request, tmp_path: Path) -> DatasetClient:
    if request.param == "duckdb":
        return DatasetClient(tmp_path / "data")
    return DatasetClient(tmp_path / "data", postgres_url=request.getfixturevalue("postgres_database"))


def shop_folder(root: Path, rows: int, seed: int) -> Path:
    """Train and test with an id, a number, a category, dates held as text and a yes/no label."""
    rng = np.random.default_rng(seed)
    folder = root / f"shop_{rows}_{seed}"
    folder.mkdir(exist_ok=True)
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "amount": rng.normal(20, 5, rows).round(2),
            "colour": rng.choice(["red", "green", "blue"], rows),
            "day": [f"2024-01-{1 + i % 28:02d}" for i in range(rows)],
            "returned": rng.choice(["Yes", "No"], rows),
        }
    )
    frame.iloc[: rows * 4 // 5].to_csv(folder / "train.csv", index=False)
    frame.iloc[rows * 4 // 5 :].drop(columns="returned").to_csv(folder / "test.csv", index=False)
    return folder


def snapshot(client: DatasetClient, version: int | None = None) -> dict[str, object]:
    """What a model reads of a version: its spec, splits, features and statistics."""
    return {
        "spec": client.spec("shop", version),
        "train": client.load("shop", version=version),
        "test": client.load("shop", split="test", version=version),
        "features": client.load("shop", features=True, version=version),
        "stats": client.stats("shop", version),
        "rows": client.info("shop", version)["rows"],
    }


def assert_same(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("train", "test", "features"):
        pd.testing.assert_frame_equal(after[key], before[key])
    assert (after["spec"], after["stats"], after["rows"]) == (before["spec"], before["stats"], before["rows"])


def numbers(client: DatasetClient) -> list[tuple[int, bool]]:
    return [(v["version"], v["current"]) for v in client.versions("shop")]


def test_a_new_registration_keeps_the_previous_version_readable(client, tmp_path):
    first = client.register(shop_folder(tmp_path, 200, 1), name="shop", target="returned")
    assert (first.version, len(first.version_hash or "")) == (1, 64)
    before = snapshot(client)
    second = client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    assert second.version == 2 and second.version_hash != first.version_hash
    assert numbers(client) == [(1, False), (2, True)]
    assert len(client.load("shop")) == 240  # the current version by default
    assert_same(before, snapshot(client, 1))
    assert snapshot(client, 2)["spec"] == second == client.spec("shop")
    assert set(before["train"]["returned"]) == {"Yes", "No"}  # the labels as written

    exported = client.export("shop", tmp_path / "out", version=1, tables=["train"])
    assert yaml.safe_load(exported[0].read_text())["version"] == 1
    assert len(pd.read_parquet(exported[-1])) == 160
    assert len(next(iter(client.load("shop", version=1, chunk_size=100)))) == 100

    with pytest.raises(DatasetError, match="target 'nope'"):  # a failed write changes no version
        client.register(shop_folder(tmp_path, 400, 3), name="shop", target="nope", force=True)
    assert numbers(client) == [(1, False), (2, True)]
    assert_same(before, snapshot(client, 1))


def test_the_same_data_is_the_same_version(client, tmp_path):
    first = client.register(shop_folder(tmp_path, 200, 1), name="shop", description="first")
    again = client.register(shop_folder(tmp_path, 200, 1), name="shop", description="again", force=True)
    assert (again.version, again.version_hash) == (1, first.version_hash)
    assert numbers(client) == [(1, True)]
    client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    back = client.register(shop_folder(tmp_path, 200, 1), name="shop", force=True)  # the first data again
    assert (back.version, back.version_hash) == (1, first.version_hash)
    assert numbers(client) == [(1, True), (2, False)]
    assert (len(client.load("shop")), len(client.load("shop", version=2))) == (160, 240)
    assert client.spec("shop", 2).version == 2


def test_an_update_keeps_the_version_and_every_earlier_one(client, tmp_path):
    client.register(shop_folder(tmp_path, 200, 1), name="shop")
    before = snapshot(client, None)
    second = client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    client.update("shop", description="described", tags=["retail"])
    updated = client.update("shop", target="colour")
    assert (updated.version, updated.version_hash, updated.target) == (2, second.version_hash, "colour")
    assert numbers(client) == [(1, False), (2, True)]
    assert_same(before, snapshot(client, 1))
    # the description given since is kept with version 2 when a third version replaces it
    client.register(shop_folder(tmp_path, 100, 3), name="shop", force=True)
    assert client.spec("shop", 2).description == "described"


def test_an_unknown_version_is_one_clear_error(client, tmp_path):
    client.register(shop_folder(tmp_path, 200, 1), name="shop")
    client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    message = "dataset 'shop' has no version 3 \\(versions: 1, 2\\)"
    for read in (
        lambda: client.load("shop", version=3),
        lambda: client.info("shop", version=3),
        lambda: client.stats("shop", version=3),
        lambda: client.export("shop", tmp_path / "out", version=3),
    ):
        with pytest.raises(DatasetError, match=message):
            read()
    with pytest.raises(DatasetError, match="a version is a whole number"):
        client.load("shop", version="2")  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=r"has no table 'valid' \(tables: features_test, features_train"):
        client.load("shop", split="valid", version=1)


def test_removal_takes_every_version(client, tmp_path):
    client.register(shop_folder(tmp_path, 200, 1), name="shop")
    client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    removed = client.remove("shop")
    assert removed.versions == [1, 2] and removed.tables == [
        "features_test",
        "features_train",
        "test",
        "train",
    ]
    assert not (client.store.files / "shop").exists()
    with client.store.reading() as con:
        left = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'shop'").fetchone()
    assert left == (0,)
    again = client.register(shop_folder(tmp_path, 300, 2), name="shop")
    assert again.version == 1 and numbers(client) == [(1, True)]


def test_a_dataset_stored_before_versions_becomes_version_1(client, tmp_path):
    """Stored by the release before versions: no `_versions` table and no version in the spec."""
    first = client.register(shop_folder(tmp_path, 200, 1), name="shop")
    with client.store.writing("shop") as con:
        con.execute(f"DROP TABLE {qualified('shop', '_versions')}")
        if client.store.feature_views:  # its feature views read the split by name then
            features = qualified("shop", "features_train")
            con.execute(f"CREATE OR REPLACE VIEW {features} AS SELECT * FROM {qualified('shop', 'train')}")
    client.registry.save(replace(first, version=None, version_hash=None), force=True)
    before = snapshot(client)
    assert client.info("shop")["versions"] == [] and len(client.load("shop", version=1)) == 160

    second = client.register(shop_folder(tmp_path, 300, 2), name="shop", force=True)
    assert second.version == 2 and numbers(client) == [(1, False), (2, True)]
    assert client.versions("shop")[0]["version_hash"] == first.version_hash  # hashed when it was kept
    assert_same({**before, "spec": replace(first, version=1)}, snapshot(client, 1))
