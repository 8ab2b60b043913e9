"""The checks every registered dataset gets: unique ids, target in every train row, none in test, same columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataplatform.datasets.client import DatasetClient


@pytest.fixture
def client(tmp_path: Path) -> DatasetClient:
    return DatasetClient(tmp_path / "data")


def kaggle_folder(root: Path, train: pd.DataFrame, test: pd.DataFrame) -> Path:
    folder = root / "comp"
    folder.mkdir()
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return folder


def frame(n: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {"row_id": np.arange(start, start + n), "x": rng.normal(size=n), "target": rng.integers(0, 2, n)}
    )


def outcomes(client: DatasetClient, name: str) -> dict[str, bool]:
    return {c.name: c.passed for c in client.check(name)}


def test_a_clean_kaggle_folder_passes_every_check(client, tmp_path):
    client.register(kaggle_folder(tmp_path, frame(200), frame(50, 200).drop(columns="target")))
    assert outcomes(client, "comp") == {
        "train_id_unique": True,
        "test_id_unique": True,
        "train_target_not_null": True,
        "test_without_target": True,
        "train_test_columns_consistent": True,
        "train_no_personal_data": True,
        "test_no_personal_data": True,
    }


def test_failures_are_described(client, tmp_path):
    train = frame(200)
    train.loc[[3, 9], "target"] = None
    test = frame(50, 200).rename(columns={"x": "x2"})
    client.register(kaggle_folder(tmp_path, train, test), target="target")
    checks = {c.name: c for c in client.check("comp")}
    assert not checks["train_target_not_null"].passed
    assert checks["train_target_not_null"].description == "target target is empty in 2 of 200 train rows"
    assert not checks["test_without_target"].passed
    consistent = checks["train_test_columns_consistent"]
    assert not consistent.passed and consistent.figures == {"missing": ["x"], "extra": ["x2"]}


def test_a_declared_id_that_repeats_fails(client, tmp_path):
    data = frame(100)
    data["group"] = np.arange(100) % 10
    data.to_csv(tmp_path / "grouped.csv", index=False)
    client.register(tmp_path / "grouped.csv", id_columns=["group"])
    (check,) = [c for c in client.check("grouped") if c.name == "train_id_unique"]
    assert not check.passed and check.figures["repeated"] == 90
