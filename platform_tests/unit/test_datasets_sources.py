"""Locating and reading sources: formats by file name, Kaggle folders, and each way a path can be wrong."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.sources import file_format, locate_source, read_source, split_name


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.CSV.gz", "csv"),
        ("a.tsv", "tsv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.json", "json"),
        ("a.json.gz", "json"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
    ],
)
def test_formats_from_file_names(name, fmt):
    assert file_format(Path(name)) == fmt


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a.xlsx", "unsupported format '.xlsx'"),
        ("a.parquet.gz", "gzip-compressed Parquet"),
        ("a", "no extension"),
    ],
)
def test_unsupported_formats(name, message):
    with pytest.raises(DatasetError, match=message):
        file_format(Path(name))


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("train.csv.gz", "train"),
        ("sampleSubmission.csv", "sample_submission"),
        ("gender_submission.csv", "sample_submission"),
        ("Store Info.csv", "store_info"),
        ("holidaysEvents.csv", "holidays_events"),
    ],
)
def test_split_names(name, split):
    assert split_name(Path(name)) == split


def test_a_kaggle_folder_reads_into_arrow_tables_per_split(tmp_path):
    folder = tmp_path / "store_sales"
    folder.mkdir()
    (folder / "train.csv").write_text("id,store,sales\n1,A,3.5\n2,B,4.0\n")
    (folder / "test.csv").write_text("id,store\n3,A\n")
    (folder / "sample_submission.csv").write_text("id,sales\n3,0\n")
    with gzip.open(folder / "stores.csv.gz", "wt") as out:
        out.write("store,city\nA,Quito\nB,Guayaquil\n")
    (folder / "notes.txt").write_text("read me")
    source = locate_source(folder)
    assert source.kind == "folder"
    assert source.splits == ["train", "test", "sample_submission", "stores"]
    assert source.skipped == ["notes.txt"]
    tables = read_source(folder)
    assert tables["train"].to_pylist() == [
        {"id": 1, "store": "A", "sales": 3.5},
        {"id": 2, "store": "B", "sales": 4.0},
    ]
    assert tables["stores"].column("city").to_pylist() == ["Quito", "Guayaquil"]


def test_two_files_for_one_split_are_refused(tmp_path):
    (tmp_path / "train.csv").write_text("a\n1\n")
    (tmp_path / "train.parquet").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"both train\.csv and train\.parquet would be split 'train'"):
        locate_source(tmp_path)


def test_a_link_leaving_the_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    folder = tmp_path / "comp"
    folder.mkdir()
    (folder / "train.csv").symlink_to(outside)
    with pytest.raises(DatasetError, match="links outside the dataset folder"):
        locate_source(folder)


def test_relative_paths_resolve_inside_the_root(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.csv").write_text("x\n1\n")
    assert locate_source("a.csv", root=tmp_path / "inbox").path == tmp_path / "inbox" / "a.csv"
    with pytest.raises(DatasetError, match="escapes the allowed folder"):
        locate_source("../inbox/../a.csv", root=tmp_path / "inbox")


def test_csv_read_buffers_split_the_file_between_threads_within_duckdb_default_and_128_mib(
    tmp_path, monkeypatch
):
    from dataplatform.datasets import sources

    monkeypatch.setattr(sources.os, "cpu_count", lambda: 2)
    small, large, huge = tmp_path / "small.csv", tmp_path / "large.csv", tmp_path / "huge.csv"
    small.write_text("a\n1\n")
    for path, size in ((large, 200 * sources.MIB), (huge, 4096 * sources.MIB)):
        with path.open("wb") as sparse:
            sparse.truncate(size)
    assert sources.csv_buffer_size(small) == 32 * sources.MIB
    assert sources.csv_buffer_size(large) == 101 * sources.MIB
    assert sources.csv_buffer_size(huge) == 128 * sources.MIB
