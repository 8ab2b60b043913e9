"""The dataset client on real files and a real DuckDB store: each kind of source, loads, exports, updates, removal."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dataplatform.datasets.client import DatasetClient

RNG = np.random.default_rng(5)


def titanic_frame(n: int = 600, start: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PassengerId": np.arange(start, start + n),
            "Survived": RNG.integers(0, 2, n),
            "Pclass": RNG.integers(1, 4, n),
            "Name": [f"Traveller, Mrs. Number {i} Jones" for i in range(n)],
            "Sex": RNG.choice(["male", "female"], n),
            "Age": np.round(RNG.normal(30, 12, n), 1),
            "Embarked": RNG.choice(["S", "C", "Q"], n),
        }
    )


@pytest.fixture
def client(tmp_path: Path) -> DatasetClient:
    return DatasetClient(tmp_path / "data", plugins_dir=tmp_path / "plugins")


@pytest.fixture
def titanic_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "titanic"
    folder.mkdir()
    titanic_frame().to_csv(folder / "train.csv", index=False)
    test = titanic_frame(200, start=601).drop(columns="Survived")
    test.to_csv(folder / "test.csv", index=False)
    pd.DataFrame({"PassengerId": test["PassengerId"], "Survived": 0}).to_csv(
        folder / "gender_submission.csv", index=False
    )
    (folder / "README.md").write_text("not a table")
    return folder


def test_titanic_like_csv_file(client, tmp_path):
    path = tmp_path / "titanic.csv"
    titanic_frame().to_csv(path, index=False)
    spec = client.register(path, tags=["kaggle"])
    assert spec.name == "titanic" and spec.source_kind == "file"
    assert (spec.id_columns, spec.target, spec.problem_type, spec.class_count) == (
        ["PassengerId"],
        "Survived",
        "binary",
        2,
    )
    assert client.info("titanic")["rows"] == {"features_train": 600, "train": 600}
    assert (client.registry.folder / "titanic.yaml").is_file()


def test_kaggle_folder_with_sample_submission(client, titanic_folder):
    spec = client.register(titanic_folder, name="Titanic-Folder")
    assert spec.name == "titanic_folder"
    assert spec.splits == ["train", "test", "sample_submission"]
    assert spec.target == "Survived" and "sample_submission" in spec.reasons["target"]
    assert spec.id_columns == ["PassengerId"]
    rows = client.info("titanic_folder")["rows"]
    assert rows["test"] == rows["features_test"] == rows["sample_submission"] == 200
    test_features = client.load("titanic_folder", split="test", features=True)
    assert "Survived" not in test_features.columns
    assert test_features["PassengerId"].tolist() == list(range(601, 801))


def test_regression_parquet_with_price(client, tmp_path):
    n = 800
    frame = pd.DataFrame(
        {
            "house_id": [f"H{i:05d}" for i in range(n)],
            "sqft": RNG.integers(400, 4000, n),
            "built": pd.to_datetime("1950-01-01") + pd.to_timedelta(RNG.integers(0, 25_000, n), unit="D"),
            "price": RNG.normal(300_000, 60_000, n),
        }
    )
    path = tmp_path / "houses.parquet"
    frame.to_parquet(path)
    spec = client.register(path)
    assert (spec.id_columns, spec.target, spec.problem_type, spec.class_count) == (
        ["house_id"],
        "price",
        "regression",
        None,
    )
    assert spec.datetime_columns == ["built"]
    features = client.load("houses", features=True)
    assert features["built__year"].tolist() == frame["built"].dt.year.tolist()


def test_multiclass_json_lines_gzip_csv_and_json_array(client, tmp_path):
    n = 300
    frame = pd.DataFrame(
        {
            "petal": RNG.normal(4, 1, n),
            "sepal": RNG.normal(3, 1, n),
            "species": RNG.choice(["setosa", "virginica", "versicolor"], n),
        }
    )
    frame.to_json(tmp_path / "iris.jsonl", orient="records", lines=True)
    with gzip.open(tmp_path / "iris2.csv.gz", "wt") as out:
        frame.to_csv(out, index=False)
    (tmp_path / "iris3.json").write_text(json.dumps(frame.to_dict(orient="records")))
    for source in ("iris.jsonl", "iris2.csv.gz", "iris3.json"):
        spec = client.register(tmp_path / source)
        assert (spec.target, spec.problem_type, spec.class_count) == ("species", "multiclass", 3), source
        assert client.load(spec.name)["petal"].tolist() == pytest.approx(frame["petal"].tolist())


def test_tsv_with_pandas_index_column_and_datetime_text(client, tmp_path):
    n = 120
    frame = pd.DataFrame(
        {
            "when": [f"2024-02-{1 + i % 28:02d} {i % 24:02d}:15:00" for i in range(n)],
            "reading": RNG.normal(size=n),
            "label": RNG.integers(0, 3, n),
        }
    )
    frame.to_csv(tmp_path / "sensor.tsv", sep="\t")  # writes the pandas index as an unnamed first column
    spec = client.register(tmp_path / "sensor.tsv")
    assert spec.column_types["column0"] == "index"
    assert spec.column_types["when"] == "datetime"
    assert (spec.target, spec.problem_type, spec.class_count) == ("label", "multiclass", 3)
    loaded = client.load("sensor")
    assert pd.api.types.is_datetime64_any_dtype(loaded["when"])
    assert loaded["when"].iloc[0] == pd.Timestamp("2024-02-01 00:15:00")


def test_stored_statistics_match_pandas(client, tmp_path):
    frame = titanic_frame()
    frame.to_csv(tmp_path / "titanic.csv", index=False)
    client.register(tmp_path / "titanic.csv")
    stats = client.stats("titanic")["train"]
    age = stats["column_stats"]["Age"]
    assert (age["count"], age["distinct"]) == (frame["Age"].count(), frame["Age"].nunique())
    assert age["mean"] == pytest.approx(frame["Age"].mean())
    assert age["quantiles"]["0.5"] == pytest.approx(frame["Age"].median())
    counts = frame["Survived"].value_counts()
    assert {k: v["count"] for k, v in stats["target_distribution"]["classes"].items()} == {
        str(k): v for k, v in counts.items()
    }


def test_load_columns_sample_and_chunks(client, tmp_path):
    titanic_frame(5_000).to_csv(tmp_path / "big.csv", index=False)
    client.register(tmp_path / "big.csv", features=False)
    sample = client.load("big", columns=["PassengerId", "Age"], sample=300)
    assert list(sample.columns) == ["PassengerId", "Age"] and len(sample) == 300
    assert sample["PassengerId"].is_unique
    assert client.load("big", columns=["PassengerId"], sample=300).equals(sample[["PassengerId"]])
    chunks = list(client.load("big", chunk_size=2_000))
    assert [len(c) for c in chunks] == [2_000, 2_000, 1_000]
    assert pd.concat(chunks)["PassengerId"].tolist() == list(range(1, 5_001))


@pytest.mark.parametrize(
    ("fmt", "compression", "suffix"),
    [
        ("csv", None, ".csv"),
        ("csv", "gzip", ".csv.gz"),
        ("parquet", "zstd", ".parquet"),
        ("json", None, ".jsonl"),
    ],
)
def test_export_round_trips(client, titanic_folder, tmp_path, fmt, compression, suffix):
    client.register(titanic_folder, name="titanic")
    written = client.export("titanic", tmp_path / "out", fmt=fmt, compression=compression)
    folder = tmp_path / "out" / "titanic"
    assert {p.name for p in written} >= {
        "titanic.yaml",
        "titanic.stats.json",
        f"train{suffix}",
        f"features_test{suffix}",
    }
    original = client.load("titanic")
    read = {
        "csv": lambda p: pd.read_csv(p),
        "parquet": pd.read_parquet,
        "json": lambda p: pd.read_json(p, lines=True),
    }[fmt]
    pd.testing.assert_frame_equal(read(folder / f"train{suffix}"), original, check_dtype=False)
    again = client.register(folder / f"train{suffix}", name="titanic_again")
    assert (again.target, again.id_columns) == ("Survived", ["PassengerId"])


def test_features_are_computed_on_read_in_the_splits_row_order(client, tmp_path):
    """Features are a view over the split, itself a view over its Parquet file: on 300,000 rows
    read by several threads, row n of the features is row n of the split and of the file, with
    train's fitted values and a category joined rather than looked up (more distinct values than a
    map holds)."""
    n = 300_000
    frame = pd.DataFrame(
        {
            "row_id": np.arange(n),
            "amount": RNG.normal(50, 10, n).round(3),
            "colour": RNG.choice(["red", "green", "blue"], n),
            "code": [f"c{i % 1_000}" for i in range(n)],
            "target": RNG.integers(0, 2, n),
        }
    )
    frame.to_csv(tmp_path / "many.csv", index=False)
    client.register(tmp_path / "many.csv", target="target")
    with client.store.reading() as con:
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'many'"
            ).fetchall()
        )
    assert kinds["features_train"] == "VIEW" and kinds["train"] == "VIEW"
    assert client.load("many")["row_id"].tolist() == list(range(n))
    features = client.load("many", features=True)
    assert features["row_id"].tolist() == list(range(n))
    zscores = (frame["amount"] - frame["amount"].mean()) / frame["amount"].std()
    np.testing.assert_allclose(features["amount__zscore"], zscores, rtol=1e-9, atol=1e-12)
    shares = frame["colour"].map(frame["colour"].value_counts(normalize=True))
    np.testing.assert_allclose(features["colour__freq"], shares)
    np.testing.assert_allclose(features["code__freq"], 0.001)
    assert client.info("many")["rows"]["features_train"] == n


def test_export_one_table_and_metadata_only(client, titanic_folder, tmp_path):
    client.register(titanic_folder, name="titanic")
    one = client.export("titanic", tmp_path / "one", fmt="csv", tables=["test"])
    assert sorted(p.name for p in one) == ["test.csv", "titanic.stats.json", "titanic.yaml"]
    meta = client.export("titanic", tmp_path / "meta", metadata_only=True)
    assert sorted(p.name for p in meta) == ["titanic.stats.json", "titanic.yaml"]
    assert (
        json.loads((tmp_path / "meta" / "titanic" / "titanic.stats.json").read_text())["train"]["rows"] == 600
    )


def test_register_table_from_a_platform_asset(client):
    n = 400
    table = pa.table(
        {
            "customer_id": np.arange(n),
            "orders": RNG.integers(1, 40, n),
            "lifetime_value": RNG.gamma(2.0, 300.0, n),
        }
    )
    spec = client.register_table(
        table, name="customer_value", source_asset="gold/ecommerce/customer_value", target="lifetime_value"
    )
    assert (spec.source_kind, spec.source) == ("asset", "gold/ecommerce/customer_value")
    assert (spec.id_columns, spec.problem_type) == (["customer_id"], "regression")
    assert client.load("customer_value")["orders"].tolist() == table["orders"].to_pylist()


def test_a_plugin_in_the_plugins_folder_adds_features(client, tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "titanic.py").write_text(
        "import pandas as pd\n"
        "def features(frame: pd.DataFrame) -> pd.DataFrame:\n"
        "    return pd.DataFrame({'is_child': (frame['Age'] < 12).astype(int)})\n"
    )
    frame = titanic_frame()
    frame.to_csv(tmp_path / "titanic.csv", index=False)
    client.register(tmp_path / "titanic.csv")
    features = client.load("titanic", features=True)
    assert features["is_child"].tolist() == (frame["Age"] < 12).astype(int).tolist()


def test_update_description_tags_and_target(client, tmp_path):
    frame = titanic_frame()
    frame.to_csv(tmp_path / "titanic.csv", index=False)
    client.register(tmp_path / "titanic.csv")
    assert client.update("titanic", description="passengers", tags=["a", "b"]).tags == ["a", "b"]
    spec = client.update("titanic", target="Pclass")
    assert (spec.target, spec.problem_type, spec.class_count, spec.description) == (
        "Pclass",
        "multiclass",
        3,
        "passengers",
    )
    assert client.stats("titanic")["train"]["target_distribution"]["kind"] == "classes"
    features = client.load("titanic", features=True)
    assert "Pclass" in features.columns and "Survived__zscore" in features.columns


def test_list_search_and_remove(client, tmp_path):
    for name in ("alpha", "beta"):
        titanic_frame(50).to_csv(tmp_path / f"{name}.csv", index=False)
        client.register(tmp_path / f"{name}.csv", tags=[name], description=f"the {name} set")
    assert [s.name for s in client.list()] == ["alpha", "beta"]
    assert [s.name for s in client.search("b*", "name")] == ["beta"]
    dry = client.remove("alpha", dry_run=True)
    assert not dry.done and "train" in dry.tables and client.registry.exists("alpha")
    gone = client.remove("alpha")
    assert gone.done and [s.name for s in client.list()] == ["beta"]
    assert client.store.tables("alpha") == {}


def test_time_split_of_a_dataset_with_a_time_column(client, tmp_path):
    n = 365
    frame = pd.DataFrame(
        {"day": pd.date_range("2024-01-01", periods=n, freq="D").astype(str), "sales": RNG.normal(100, 10, n)}
    )
    frame.sample(frac=1, random_state=1).to_csv(tmp_path / "sales.csv", index=False)
    client.register(tmp_path / "sales.csv", target="sales")
    (fold,) = client.split("sales", gap=7)
    days = client.load("sales")["day"]
    assert days.iloc[fold.train_index].max() + pd.Timedelta(days=8) == days.iloc[fold.test_index].min()
    folds = client.split("sales", folds=4, mode="sliding", window=60)
    assert [f.summary()["train_rows"] for f in folds] == [60, 60, 60, 60]


def test_numbers_given_as_text_are_stored_as_numbers_when_declared_numeric(client, tmp_path):
    rows = [{"sku": f"S{i}", "weight": f"{i * 0.5}", "label": "ab"[i % 2]} for i in range(40)]
    (tmp_path / "parts.json").write_text(json.dumps(rows))
    spec = client.register(tmp_path / "parts.json", column_types={"weight": "numeric"})
    assert (
        spec.column_types["weight"] == "numeric"
        and spec.reasons["column weight"] == "numeric: given by the user"
    )
    loaded = client.load("parts")
    assert loaded["weight"].tolist() == [i * 0.5 for i in range(40)]
    assert client.stats("parts")["train"]["column_stats"]["weight"]["mean"] == pytest.approx(9.75)


@pytest.mark.parametrize("name", ["temp", "system", "memory", "dataset_store"])
def test_names_duckdb_also_uses_are_stored_apart(client, tmp_path, name):
    frame = titanic_frame(30)
    frame.to_csv(tmp_path / "small.csv", index=False)
    client.register(tmp_path / "small.csv", name=name)
    assert client.info(name)["rows"]["train"] == 30
    assert client.load(name)["PassengerId"].tolist() == frame["PassengerId"].tolist()
    assert client.remove(name).tables == ["features_train", "train"]
