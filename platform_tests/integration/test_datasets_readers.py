"""A CSV registers to the same dataset whichever reader parsed it: pyarrow in memory (files up to
`sources.IN_MEMORY_LIMIT`) or DuckDB's reader straight into the store (larger files, and any file
pyarrow cannot read as DuckDB would)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dataplatform.datasets import sources
from dataplatform.datasets.client import DatasetClient
from dataplatform.datasets.errors import DatasetError


def shop_folder(root: Path, quoted: bool, rows: int = 3_000) -> Path:
    """Train and test with ids, floats (NaN and infinities among them), counts, booleans,
    categories, dates, text timestamps, notes (`quoted`: some need quotes) and a label."""
    rng = np.random.default_rng(11)
    amount = rng.normal(50, 10, rows).round(3)
    amount[rng.choice(rows, 30, replace=False)] = np.nan
    amount[5:7] = [np.inf, -np.inf]
    frame = pd.DataFrame(
        {
            "order_id": np.arange(rows),
            "amount": amount,
            "items": rng.integers(0, 40, rows),
            "gift": rng.choice([True, False], rows),
            "colour": rng.choice(["red", "green", "blue", None], rows),
            "ordered_on": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, rows), "D"),
            "seen_at": [f"2024-03-{1 + i % 28:02d} {i % 24:02d}:15:00" for i in range(rows)],
            "note": rng.choice(["fast, friendly", 'said "ok"', "late"] if quoted else ["fast", "late"], rows),
            "label": rng.integers(0, 3, rows),
        }
    )
    frame["ordered_on"] = frame["ordered_on"].dt.date
    folder = root / "shop"
    folder.mkdir()
    frame.iloc[: rows * 4 // 5].to_csv(folder / "train.csv", index=False)
    frame.iloc[rows * 4 // 5 :].drop(columns="label").to_csv(folder / "test.csv", index=False)
    return folder


def registered(client: DatasetClient, folder: Path) -> dict[str, object]:
    client.register(folder, name="shop")
    info = client.info("shop")
    info.pop("registered_at")
    for version in info["versions"]:  # the hashes stay: the same rows whichever reader read them
        version.pop("registered_at")
    return {
        "info": info,
        "stats": client.stats("shop"),
        "train": client.load("shop"),
        "test": client.load("shop", split="test"),
        "features": client.load("shop", features=True),
    }


@pytest.mark.parametrize("quoted", [True, False], ids=["quoted: one part", "unquoted: cut into parts"])
def test_both_readers_register_the_same_dataset(tmp_path, monkeypatch, quoted):
    folder = shop_folder(tmp_path, quoted)
    monkeypatch.setattr(sources, "PART_BYTES", 4096)  # train.csv is about 200 KB, test.csv 40 KB
    monkeypatch.setattr(sources.os, "cpu_count", lambda: 2)  # so both are cut into 4 parts
    read_in_memory = []
    reader = sources.csv_in_parts

    def counted(con, file):
        parts = reader(con, file)
        read_in_memory.append(None if parts is None else len(parts.readers))
        return parts

    monkeypatch.setattr("dataplatform.datasets.registration.csv_in_parts", counted)
    through_memory = registered(DatasetClient(tmp_path / "memory"), folder)
    assert read_in_memory == ([1, 1] if quoted else [4, 4])

    monkeypatch.setattr(sources, "IN_MEMORY_LIMIT", 0)
    read_in_memory.clear()
    through_duckdb = registered(DatasetClient(tmp_path / "duckdb"), folder)
    assert read_in_memory == [None, None]

    assert through_memory["info"] == through_duckdb["info"]
    assert through_memory["info"]["column_types"]["ordered_on"] == "datetime"
    assert through_memory["info"]["column_types"]["amount"] == "numeric"
    assert json.dumps(through_memory["stats"]) == json.dumps(through_duckdb["stats"])  # NaN is NaN
    for table in ("train", "test", "features"):
        pd.testing.assert_frame_equal(through_memory[table], through_duckdb[table])


def test_a_value_pyarrow_cannot_parse_leaves_the_file_to_duckdbs_reader_and_its_error(tmp_path):
    """DuckDB's sniffer types `n` from its sample as integers; the text further down makes
    pyarrow's parse fail, and DuckDB's reader then reports it as it always did: nothing is kept."""
    path = tmp_path / "late.csv"
    path.write_text("id,n\n" + "".join(f"{i},{i}\n" for i in range(30_000)) + "30000,many\n")
    with duckdb.connect() as con:
        parts = sources.csv_in_parts(con, sources.locate_source(path).files[0])
    assert parts is not None
    with pytest.raises(pa.ArrowInvalid):
        [read() for read in parts.readers]
    client = DatasetClient(tmp_path / "data")
    with pytest.raises(DatasetError, match=r"late.csv: cannot be read as CSV: Conversion Error"):
        client.register(path, name="late")
    assert client.list() == []
    assert not (client.store.files / "late").exists()


@pytest.mark.parametrize(
    "labels", [("Yes", "No"), ("yes", "no"), ("T", "F"), ("true", "false"), ("True", "False")]
)
@pytest.mark.parametrize("in_memory", [True, False], ids=["pyarrow", "duckdb"])
def test_a_two_word_target_comes_back_in_its_own_words(tmp_path, monkeypatch, labels, in_memory):
    """DuckDB reads yes/no, T/F and true/false as booleans; stored that way, a prediction could
    only say True where the data said Yes. Text stays text, in both readers."""
    if not in_memory:
        monkeypatch.setattr(sources, "IN_MEMORY_LIMIT", 0)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "id": np.arange(200),
            "x": rng.normal(size=200),
            "member": rng.choice(labels, 200),
            "churned": rng.choice(labels, 200),
        }
    )
    frame.to_csv(tmp_path / "churn.csv", index=False)
    client = DatasetClient(tmp_path / "data")
    spec = client.register(tmp_path / "churn.csv", target="churned")
    assert (spec.problem_type, spec.class_count) == ("binary", 2)
    loaded = client.load("churn")
    assert loaded["churned"].tolist() == frame["churned"].tolist()
    assert loaded["member"].tolist() == frame["member"].tolist()  # a feature keeps its words too
    assert set(client.stats("churn")["train"]["target_distribution"]["classes"]) == set(labels)
    assert client.load("churn", features=True)["churned"].tolist() == frame["churned"].tolist()
