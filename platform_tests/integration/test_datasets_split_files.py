"""Splits kept as Parquet files beside the DuckDB store: every version's files are the ones the
store names, a failed write leaves the previous version readable with its files, an earlier
version keeps its files, and nothing is left behind by success, failure, removal or a write a
killed process never finished."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.sql import qualified
from dataplatform.datasets.store import archived_name


@pytest.fixture
def client(tmp_path: Path) -> DatasetClient:
    return DatasetClient(tmp_path / "data", plugins_dir=tmp_path / "plugins")


def kaggle_folder(root: Path, rows: int, seed: int) -> Path:
    """A train and test split with an id, a number, a category, dates held as text and a label."""
    rng = np.random.default_rng(seed)
    folder = root / f"shop_{seed}"
    folder.mkdir()
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "amount": rng.normal(20, 5, rows).round(2),
            "colour": rng.choice(["red", "green", "blue"], rows),
            # dates and times mixed: DuckDB's reader keeps them as text, registration casts them
            "day": [f"2024-01-{1 + i % 28:02d}" + (" 10:30:00" if i % 2 else "") for i in range(rows)],
            "label": rng.integers(0, 2, rows),
        }
    )
    frame.iloc[: rows * 4 // 5].to_csv(folder / "train.csv", index=False)
    frame.iloc[rows * 4 // 5 :].drop(columns="label").to_csv(folder / "test.csv", index=False)
    return folder


def named_files(client: DatasetClient, name: str, version: int | None = None) -> dict[str, str]:
    """Split (or fitted values) -> the file the store names for it, in the current version or an
    earlier one."""
    files = qualified(name, archived_name("_files", version))
    with client.store.reading() as con:
        return dict(con.execute(f"SELECT split, file FROM {files}").fetchall())


def files_on_disk(client: DatasetClient, name: str) -> set[str]:
    folder = client.store.files / name
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def snapshot(client: DatasetClient, name: str) -> dict[str, object]:
    """Everything a user reads of a dataset, to compare a version before and after a failure."""
    return {
        "train": client.load(name),
        "test": client.load(name, split="test"),
        "features": client.load(name, features=True),
        "stats": client.stats(name),
        "checks": [(c.name, c.passed) for c in client.check(name)],
    }


def assert_same(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("train", "test", "features"):
        pd.testing.assert_frame_equal(after[key], before[key])
    assert after["stats"] == before["stats"] and after["checks"] == before["checks"]


def test_each_split_is_one_named_parquet_file_and_a_new_version_keeps_the_previous_ones(client, tmp_path):
    client.register(kaggle_folder(tmp_path, 500, 1), name="shop", column_types={"day": "datetime"})
    first = named_files(client, "shop")
    assert sorted(first) == ["_frequencies", "_parameters", "test", "train"]  # the features' fitted values
    # the dates were cast after reading: each split was written again, and only the new file is kept
    assert files_on_disk(client, "shop") == set(first.values())
    assert client.load("shop")["day"].dtype.kind == "M"
    assert client.load("shop", split="test")["day"].dtype.kind == "M"

    client.register(kaggle_folder(tmp_path, 300, 2), name="shop", force=True)
    second = named_files(client, "shop")
    assert named_files(client, "shop", version=1) == first
    assert files_on_disk(client, "shop") == set(first.values()) | set(second.values())
    assert not set(first.values()) & set(second.values())
    assert len(client.load("shop")) == 240 and client.info("shop")["rows"]["test"] == 60

    # the same data again is the same version: its files are replaced, the first version's stay
    client.register(tmp_path / "shop_2", name="shop", force=True)
    third = named_files(client, "shop")
    assert files_on_disk(client, "shop") == set(first.values()) | set(third.values())
    assert [v["version"] for v in client.versions("shop")] == [1, 2]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"target": "nope"}, id="a target that does not exist"),
        pytest.param(
            {"column_types": {"colour": "numeric"}}, id="a cast that fails after the splits were written"
        ),
        pytest.param(
            {"plugin": "def features(frame):\n    raise ValueError('broken')\n"}, id="a failing plugin"
        ),
    ],
)
def test_a_failed_replacement_leaves_the_previous_version_and_its_files(client, tmp_path, failure):
    client.register(kaggle_folder(tmp_path, 500, 1), name="shop", target="label")
    before, files = snapshot(client, "shop"), named_files(client, "shop")
    overrides = {k: v for k, v in failure.items() if k != "plugin"}
    if "plugin" in failure:
        (tmp_path / "plugins").mkdir()
        (tmp_path / "plugins" / "shop.py").write_text(failure["plugin"])
    with pytest.raises(DatasetError):
        client.register(kaggle_folder(tmp_path, 300, 2), name="shop", force=True, **overrides)
    assert named_files(client, "shop") == files
    assert files_on_disk(client, "shop") == set(files.values())
    assert_same(before, snapshot(client, "shop"))
    exported = client.export("shop", tmp_path / "out", tables=["train"])
    assert len(pd.read_parquet(exported[-1])) == 400


def test_a_failed_first_registration_leaves_no_file(client, tmp_path):
    with pytest.raises(DatasetError, match="target 'nope'"):
        client.register(kaggle_folder(tmp_path, 100, 1), name="shop", target="nope")
    assert not (client.store.files / "shop").exists()


def test_a_failed_rebuild_keeps_the_version_and_a_good_one_keeps_the_files(client, tmp_path):
    client.register(kaggle_folder(tmp_path, 500, 1), name="shop", target="label")
    before, files = snapshot(client, "shop"), named_files(client, "shop")
    with pytest.raises(DatasetError, match="target 'nope'"):
        client.update("shop", target="nope")
    assert_same(before, snapshot(client, "shop"))
    client.update("shop", target="amount")
    assert client.spec("shop").problem_type == "regression"
    rebuilt = named_files(client, "shop")  # the same split files, new fitted values
    assert {s: rebuilt[s] for s in ("train", "test")} == {s: files[s] for s in ("train", "test")}
    assert files_on_disk(client, "shop") == set(rebuilt.values())


def test_files_a_killed_write_left_are_removed_by_the_next_write(client, tmp_path):
    client.register(kaggle_folder(tmp_path, 200, 1), name="shop")
    leftover = client.store.files / "shop" / "train-0123456789abcdef.parquet"
    leftover.write_bytes(b"half a file")
    client.register(kaggle_folder(tmp_path, 100, 2), name="shop", force=True)
    kept = set(named_files(client, "shop").values()) | set(named_files(client, "shop", version=1).values())
    assert not leftover.exists() and files_on_disk(client, "shop") == kept


def test_removal_takes_the_files(client, tmp_path):
    client.register(kaggle_folder(tmp_path, 200, 1), name="shop")
    client.register(kaggle_folder(tmp_path, 200, 2), name="other")
    client.remove("shop")
    assert not (client.store.files / "shop").exists()
    assert files_on_disk(client, "other") == set(named_files(client, "other").values())
    assert len(client.load("other")) == 160


def test_a_store_under_a_folder_with_quotes_in_its_name(tmp_path):
    """The files' paths reach SQL as literals (views, COPY): quotes in them are only characters."""
    client = DatasetClient(tmp_path / 'it\'s "data"')
    client.register(kaggle_folder(tmp_path, 200, 1), name="shop")
    assert len(client.load("shop", sample=50)) == 50
    assert {c.name: c.passed for c in client.check("shop")}["train_id_unique"]


def view_sql(client: DatasetClient, name: str, split: str) -> str:
    with client.store.reading() as con:
        return con.execute(
            "SELECT sql FROM duckdb_views() WHERE schema_name = ? AND view_name = ?", [name, split]
        ).fetchone()[0]


@pytest.mark.parametrize("folder", ["data", "da,ta"], ids=["plain folder", "a comma in the folder"])
def test_a_moved_data_folder_keeps_working_where_views_name_their_files_relative_to_the_store(
    tmp_path, monkeypatch, folder
):
    """Views name their split files relative to the store's folder, which the store's connections
    search; a comma cannot go in DuckDB's search path, so under such a folder they stay absolute."""
    client = DatasetClient(tmp_path / folder)
    client.register(kaggle_folder(tmp_path, 400, 1), name="shop", target="label")
    before = snapshot(client, "shop")
    absolute = str(tmp_path) in view_sql(client, "shop", "train")
    assert absolute == ("," in folder)
    if absolute:
        return

    (tmp_path / folder).rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path)  # not the store's folder: its search path finds the files
    moved = DatasetClient(tmp_path / "moved")
    assert_same(before, snapshot(moved, "shop"))
    moved.update("shop", target="colour")  # a rebuild writes and drops files in the new place
    assert files_on_disk(moved, "shop") == set(named_files(moved, "shop").values())
    exported = moved.export("shop", tmp_path / "out", tables=["train"])
    assert len(pd.read_parquet(exported[-1])) == 320
