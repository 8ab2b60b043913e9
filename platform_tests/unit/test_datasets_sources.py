"""Locating and reading sources: formats by file name, Kaggle folders, and each way a path can be wrong."""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path

import duckdb
import pyarrow as pa
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


def test_a_path_must_lie_inside_one_of_the_roots_once_its_links_are_resolved(tmp_path, monkeypatch):
    root = tmp_path.resolve()
    inbox, other, outside = root / "inbox", root / "other", root / "outside"
    for folder in (inbox, other, outside):
        folder.mkdir()
    (inbox / "a.csv").write_text("x\n1\n")
    (other / "b.csv").write_text("x\n2\n")
    (outside / "secret.csv").write_text("x\n3\n")
    (inbox / "link.csv").symlink_to(outside / "secret.csv")
    (inbox / "linked").symlink_to(outside, target_is_directory=True)
    roots = [inbox, other]
    monkeypatch.chdir(inbox)  # a relative path is taken from the working folder
    assert locate_source("a.csv", roots).path == inbox / "a.csv"
    assert locate_source(other / "b.csv", roots).path == other / "b.csv"
    for path, told in [
        ("../outside/secret.csv", f"../outside/secret.csv (it leads to {outside / 'secret.csv'})"),
        (inbox / "link.csv", f"{inbox / 'link.csv'} (it leads to {outside / 'secret.csv'})"),
        (inbox / "linked", f"{inbox / 'linked'} (it leads to {outside})"),
        (inbox / "linked" / "gone.csv", f"{inbox}/linked/gone.csv (it leads to {outside}/gone.csv)"),
        ("/etc", "/etc"),
    ]:
        with pytest.raises(DatasetError) as refused:  # not even whether it exists is told
            locate_source(path, roots)
        assert str(refused.value) == (
            f"{told} is outside the folders datasets may be registered from ({inbox}, {other}); "
            "move it into one of them or name its folder in DATAPLATFORM_DATASETS_ROOT"
        )


def test_the_roots_come_from_datasets_root_or_default_to_home_working_folder_and_data(tmp_path, monkeypatch):
    from dataplatform.settings import Settings, SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    assert Settings(data_dir=tmp_path / "data").dataset_roots == (Path.home(), tmp_path, tmp_path / "data")
    joined = os.pathsep.join([str(tmp_path / "a"), "", "~/b"])
    assert Settings(datasets_root=joined).dataset_roots == (tmp_path / "a", Path.home() / "b")
    monkeypatch.setenv("DATAPLATFORM_DATASETS_ROOT", os.pathsep)
    with pytest.raises(SettingsError, match=r"DATAPLATFORM_DATASETS_ROOT=.*name one or more folders"):
        load_settings()


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


# Files pyarrow reads in memory with DuckDB's sniffed dialect and types (`csv_in_parts`).
IN_MEMORY_CSVS = {
    "types.csv": "id,x,n,flag,day,at,name\n"
    "1,1.5,3,true,2024-01-02,2024-01-02 10:30:00,ann\n"
    "2,nan,-4,F,,2024-01-03T11:00:00.25,\n"
    '3,-inf,,yes,2024-02-29,,"Smith, Bob"\n',
    "quoted.csv": 'id,text\n1,"say ""hi"""\n2,"two\nlines"\n3,plain\n',
    "semicolons.csv": "a;b\n1;2,5\n3;4\n",
    "windows.csv": "a,b\r\n1,x\r\n2,\r\n",
    "repeated_header.csv": "a,a,\n1,2,3\n4,5,6\n",
    "tabs.tsv": "a\tb\n1\tx y\n2\tz\n",
}


@pytest.mark.parametrize("part_bytes", [None, 4], ids=["whole", "cut into parts"])
@pytest.mark.parametrize("name", list(IN_MEMORY_CSVS))
def test_a_csv_read_in_memory_is_the_table_duckdbs_reader_gives(tmp_path, monkeypatch, name, part_bytes):
    from dataplatform.datasets import sources
    from dataplatform.datasets.sources import csv_in_parts, read_file

    if part_bytes is not None:
        monkeypatch.setattr(sources, "PART_BYTES", part_bytes)
        monkeypatch.setattr(sources.os, "cpu_count", lambda: 4)
    path = tmp_path / name
    path.write_text(IN_MEMORY_CSVS[name])
    file = locate_source(path).files[0]
    with duckdb.connect() as con:
        parts = csv_in_parts(con, file)
        assert parts is not None
        quoted = name in ("types.csv", "quoted.csv")  # a quote may hide a line break: never cut
        assert (len(parts.readers) > 1) == (part_bytes is not None and not quoted)
        in_memory = pa.concat_tables(read() for read in parts.readers)
        by_duckdb = read_file(con, file)
    assert in_memory.schema.equals(by_duckdb.schema)
    assert repr(in_memory.to_pylist()) == repr(by_duckdb.to_pylist())  # repr: NaN is NaN


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("day_first.csv", "id,day\n1,31/01/2024\n2,13/02/2024\n"),  # not ISO: pyarrow would not parse it
        ("times.csv", "id,at\n1,10:30:00\n2,11:00:00\n"),  # TIME: no Arrow type chosen for it
        ("zones.csv", "id,at\n1,2024-01-02 10:00:00+02\n2,2024-01-03 11:00:00Z\n"),
        ("one_column.csv", "a\n1\n\n2\n"),  # a blank line: a null row to DuckDB, skipped by pyarrow
        ("train.csv.gz", None),
    ],
)
def test_a_csv_pyarrow_would_read_otherwise_is_left_to_duckdb(tmp_path, name, text):
    from dataplatform.datasets.sources import csv_in_parts

    path = tmp_path / name
    if text is None:
        with gzip.open(path, "wt") as out:
            out.write("a,b\n1,2\n")
    else:
        path.write_text(text)
    with duckdb.connect() as con:
        assert csv_in_parts(con, locate_source(path).files[0]) is None


def test_a_csv_over_the_in_memory_limit_is_left_to_duckdb(tmp_path, monkeypatch):
    from dataplatform.datasets import sources

    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    file = locate_source(path).files[0]
    with duckdb.connect() as con:
        assert sources.csv_in_parts(con, file) is not None
        monkeypatch.setattr(sources, "IN_MEMORY_LIMIT", path.stat().st_size - 1)
        assert sources.csv_in_parts(con, file) is None


def test_a_file_is_cut_just_after_line_breaks_into_parts_of_at_least_part_bytes(monkeypatch):
    from dataplatform.datasets import sources

    monkeypatch.setattr(sources, "PART_BYTES", 10)
    data = b"h1,h2\n" + b"".join(b"%d,xxxxxxxx\n" % i for i in range(8))  # 6 + 8 * 11 bytes
    cuts = sources._cuts(pa.py_buffer(data), 4)
    assert cuts[0] == 0 and cuts[-1] == len(data) and len(cuts) == 5
    assert all(data[cut - 1 : cut] == b"\n" for cut in cuts[1:])
    assert all(end - start >= 10 for start, end in itertools.pairwise(cuts))
    assert sources._cuts(pa.py_buffer(data), 100) == [0, *range(17, len(data) + 1, 11)][:10]
    no_break = b"a,b\n" + b"x" * 100  # no line break after the first: one piece
    assert sources._cuts(pa.py_buffer(no_break), 4) == [0, len(no_break)]
    monkeypatch.setattr(sources, "PART_BYTES", 1000)
    assert sources._cuts(pa.py_buffer(data), 4) == [0, len(data)]  # too small to cut
