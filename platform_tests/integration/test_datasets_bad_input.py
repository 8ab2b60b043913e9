"""Every bad registration gets one clear `DatasetError` and leaves nothing half-registered behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError

OUTSIDE = "is outside the folders datasets may be registered from"


@pytest.fixture
def client(tmp_path: Path) -> DatasetClient:
    return DatasetClient(
        tmp_path / "data", plugins_dir=tmp_path / "plugins", source_roots=[tmp_path / "inbox"]
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    rng = np.random.default_rng(2)
    pd.DataFrame({"id": np.arange(100), "x": rng.normal(size=100), "target": rng.integers(0, 2, 100)}).to_csv(
        folder / "good.csv", index=False
    )
    return folder


def assert_nothing_registered(client: DatasetClient, name: str) -> None:
    assert not client.registry.exists(name)
    assert not client.store.path.exists() or client.store.tables(name) == {}
    assert not list(client.registry.folder.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("name", "message"),
    [("bad name!", "contains ' !'"), ("../escape", "contains a path"), ("a/b", "contains a path")],
)
def test_a_name_outside_the_allowed_characters(client, inbox, name, message):
    with pytest.raises(DatasetError, match=message):
        client.register(inbox / "good.csv", name=name)
    assert client.registry.names() == []


def test_an_existing_name_without_force_keeps_the_registered_dataset(client, inbox):
    first = client.register(inbox / "good.csv", description="first")
    with pytest.raises(DatasetError, match="'good' is already registered; pass force"):
        client.register(inbox / "good.csv", description="second")
    assert client.spec("good") == first
    assert client.info("good")["rows"]["train"] == 100


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda inbox: inbox / "missing.csv", "missing.csv: no such file or folder"),
        (lambda inbox: inbox / ".." / "outside.csv", OUTSIDE),
        (lambda inbox: Path("/etc/hostname"), OUTSIDE),
        (
            lambda inbox: _link(inbox / "link.csv", inbox.parent / "outside.csv"),
            r"\(it leads to .*outside.csv\) is",
        ),
        (lambda inbox: _write(inbox / "book.xlsx", b"PK\x03\x04"), "unsupported format '.xlsx'"),
        (lambda inbox: _write(inbox / "empty.csv", b""), "empty.csv: the file is empty"),
        (
            lambda inbox: _write(inbox / "header.csv", b"id,x,target\n"),
            "header.csv: the file has a header but no rows",
        ),
        (lambda inbox: _write(inbox / "broken.parquet", b"not parquet at all"), "cannot be read as PARQUET"),
        (lambda inbox: _write(inbox / "broken.json", b'[{"a": 1}, {"a": '), "cannot be read as JSON"),
        (lambda inbox: _write(inbox / "noext", b"a,b\n1,2\n"), "unsupported format '\\(no extension\\)'"),
    ],
)
def test_bad_paths_and_files(client, inbox, make, message):
    (inbox.parent / "outside.csv").write_text("a,b\n1,2\n")
    path = make(inbox)
    with pytest.raises(DatasetError, match=message):
        client.register(path, name="attempt")
    assert_nothing_registered(client, "attempt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file(client, inbox):
    path = inbox / "good.csv"
    path.chmod(0)
    try:
        with pytest.raises(DatasetError, match="not readable"):
            client.register(path)
    finally:
        path.chmod(0o644)


def test_a_folder_without_train(client, inbox):
    folder = inbox / "kaggle"
    folder.mkdir()
    _write(folder / "test.csv", b"id,x\n1,2\n")
    with pytest.raises(DatasetError, match="needs a train file"):
        client.register(folder)
    assert_nothing_registered(client, "kaggle")


def test_a_target_that_does_not_exist(client, inbox):
    with pytest.raises(DatasetError, match="target 'label' is not a column of train; columns: id, x, target"):
        client.register(inbox / "good.csv", target="label")
    assert_nothing_registered(client, "good")


def test_a_failed_forced_replacement_keeps_the_previous_version(client, inbox):
    first = client.register(inbox / "good.csv")
    before = client.load("good", features=True)
    with pytest.raises(DatasetError, match="target 'nope'"):
        client.register(inbox / "good.csv", target="nope", force=True)
    assert client.spec("good") == first
    pd.testing.assert_frame_equal(client.load("good", features=True), before)


def test_a_failing_plugin_registers_nothing(client, inbox, tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "good.py").write_text("def features(frame):\n    raise RuntimeError('boom')\n")
    with pytest.raises(
        DatasetError, match=r"feature plugin .*good.py of dataset 'good' failed: RuntimeError: boom"
    ):
        client.register(inbox / "good.csv")
    assert_nothing_registered(client, "good")


def test_a_datetime_override_on_values_that_are_not_dates(client, inbox):
    with pytest.raises(DatasetError, match="'x' is declared datetime but holds float values"):
        client.register(inbox / "good.csv", column_types={"x": "datetime"})
    _write(inbox / "days.csv", b"day,v\n2024-01-01,1\nsoon,2\n")
    with pytest.raises(DatasetError, match="'day' is declared datetime but 'soon' is not a timestamp"):
        client.register(inbox / "days.csv", column_types={"day": "datetime"})
    assert_nothing_registered(client, "days")


def test_a_numeric_override_on_text_that_is_not_a_number(client, inbox):
    _write(inbox / "prices.csv", b"item,price\na,12.5\nb,n/a\n")
    with pytest.raises(DatasetError, match="'price' is declared numeric but 'n/a' is not a double"):
        client.register(inbox / "prices.csv", column_types={"price": "numeric"})
    assert_nothing_registered(client, "prices")


def test_unknown_tables_columns_and_sample_sizes_on_load(client, inbox):
    client.register(inbox / "good.csv")
    with pytest.raises(DatasetError, match="has no table 'test'"):
        client.load("good", split="test")
    with pytest.raises(DatasetError, match="price: not column"):
        client.load("good", columns=["price"])
    with pytest.raises(DatasetError, match="sample must be a whole number"):
        client.load("good", sample=0)
    with pytest.raises(DatasetError, match="no dataset named 'other'"):
        client.load("other")


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
