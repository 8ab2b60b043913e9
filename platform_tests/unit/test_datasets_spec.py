"""Dataset names, spec files in the registry folder, search patterns and time-ordered folds."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.search import search
from dataplatform.datasets.spec import DatasetSpec, SpecRegistry, normalise_name
from dataplatform.datasets.timesplit import time_folds


def spec(name: str = "titanic", **fields) -> DatasetSpec:
    values = {"name": name, "source_kind": "file", "source": "/data/train.csv", "splits": ["train"]}
    values.update(fields)
    return DatasetSpec(**values)


@pytest.mark.parametrize(
    ("raw", "name"), [("Titanic", "titanic"), ("house-prices", "house_prices"), (" a_1 ", "a_1")]
)
def test_names_are_lower_case_with_underscores(raw, name):
    assert normalise_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("../etc", "contains a path"),
        ("a/b", "contains a path"),
        ("a\\b", "contains a path"),
        ("my data", "contains ' '"),
        ("café", "contains 'é'"),
        ("x.y", r"contains '\.'"),
        ("", "a dataset name is required"),
        ("_hidden", "must start with a letter or digit"),
        ("Main", "reserved by the dataset store"),
        ("public", "reserved by the dataset store"),
        ("pg-stats", "reserved by the dataset store"),
    ],
)
def test_bad_names_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(DatasetError, match=message):
        normalise_name(raw)


def test_registry_saves_one_yaml_file_per_dataset_and_reads_it_back(tmp_path):
    registry = SpecRegistry(tmp_path / "registry")
    saved = spec(tags=["kaggle"], reasons={"target": "Survived: named like a target"})
    path = registry.save(saved)
    assert path == tmp_path / "registry" / "titanic.yaml"
    assert yaml.safe_load(path.read_text())["tags"] == ["kaggle"]
    assert registry.load("Titanic") == saved
    assert registry.names() == ["titanic"]


def test_an_existing_spec_is_kept_without_force(tmp_path):
    registry = SpecRegistry(tmp_path)
    registry.save(spec(description="first"))
    with pytest.raises(DatasetError, match="already registered; pass force"):
        registry.save(spec(description="second"))
    assert registry.load("titanic").description == "first"
    registry.save(spec(description="second"), force=True)
    assert registry.load("titanic").description == "second"


def test_update_and_remove(tmp_path):
    registry = SpecRegistry(tmp_path)
    registry.save(spec())
    assert registry.update("titanic", tags=["a"]).tags == ["a"]
    assert registry.load("titanic").tags == ["a"]
    registry.remove("titanic")
    assert registry.list() == []
    with pytest.raises(DatasetError, match="no dataset named 'titanic'"):
        registry.load("titanic")


def test_a_hand_edited_spec_with_an_unknown_field_is_refused(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "name: x\nsource_kind: file\nsource: a.csv\nsplits: [train]\ncolour: red\n"
    )
    with pytest.raises(DatasetError, match="unknown field"):
        SpecRegistry(tmp_path).load("x")


def test_search_by_name_tag_and_description_with_globs():
    specs = [
        spec("titanic", tags=["kaggle", "binary"], description="Who survived the Titanic"),
        spec("house_prices", tags=["kaggle"], description="Sale prices in Ames"),
        spec("churn_2024", tags=["internal"], description="Customers who left"),
    ]
    assert [s.name for s in search(specs, "house*", "name")] == ["house_prices"]
    assert [s.name for s in search(specs, "kaggle", "tag")] == ["titanic", "house_prices"]
    assert [s.name for s in search(specs, "*survived*", "description")] == ["titanic"]
    assert [s.name for s in search(specs, "AMES")] == ["house_prices"]
    assert [s.name for s in search(specs, "churn_20[0-9][0-9]")] == ["churn_2024"]


def test_one_time_ordered_train_test_cut_with_a_gap():
    times = np.array(np.datetime64("2024-01-01") + np.arange(100)[::-1].astype("timedelta64[D]"))
    (fold,) = time_folds(times, test_fraction=0.2, gap=5)
    assert len(fold.test_index) == 20 and len(fold.train_index) == 75
    assert times[fold.train_index].max() < times[fold.test_index].min()
    assert (times[fold.test_index].min() - times[fold.train_index].max()).astype(int) == 6


def test_expanding_and_sliding_folds():
    times = np.arange(120)
    expanding = time_folds(times, folds=3, gap=2)
    assert [(len(f.train_index), len(f.test_index)) for f in expanding] == [(28, 30), (58, 30), (88, 30)]
    assert all(times[f.train_index].max() + 2 < times[f.test_index].min() for f in expanding)
    sliding = time_folds(times, folds=3, mode="sliding", window=20)
    assert [len(f.train_index) for f in sliding] == [20, 20, 20]
    assert sliding[2].summary()["train_time"] == ["70", "89"]


def test_a_cut_never_splits_rows_of_the_same_time():
    times = np.array([1, 1, 2, 2, 2, 3, 3, 4, 4, 4])
    (fold,) = time_folds(times, test_fraction=0.35)
    assert set(times[fold.train_index]).isdisjoint(times[fold.test_index])


def test_too_few_rows_for_the_folds():
    with pytest.raises(DatasetError, match="too few"):
        time_folds(np.arange(5), folds=4, gap=3)


def test_rows_without_a_time_are_in_no_fold():
    times = np.array(
        ["2024-01-01", "NaT", "2024-01-03", "2024-01-02", "NaT", "2024-01-05"], dtype="datetime64[D]"
    )
    (fold,) = time_folds(times, test_fraction=0.25)
    assert sorted(fold.train_index) == [0, 2, 3] and list(fold.test_index) == [5]
