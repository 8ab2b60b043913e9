"""The generator's writer options, checked on the files they write: compression and row groups
read from the Parquet footers, rows per file from the files there, weekly and monthly partitions
from the partition folders and values; options a format cannot honour are refused with nothing
written."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dataplatform.generate.export import GenerateError, GenerateRequest
from dataplatform.generate.library import export
from dataplatform.settings import Settings
from platform_tests.integration.test_generate_writers import (
    SMALL,
    assert_same,
    expected,
    read_back,
)

KNOBS = SMALL["ecommerce"] | {"orders_per_day": 3_000}
WRITERS = ["parquet", "delta", "iceberg", "ducklake"]


def generate(out: Path, writer: str, start: str, end: str, **options) -> None:
    options.setdefault("tables", ("customers", "orders"))
    export(
        "ecommerce",
        start,
        end,
        output=str(out),
        writer=writer,
        knobs=KNOBS,
        settings=Settings(data_dir=out.parent / "data"),
        **options,
    ).run()


def data_files(folder: Path) -> list[Path]:
    """The Parquet data files under `folder` (not Iceberg's manifests or metadata)."""
    return sorted(
        p for p in folder.rglob("*.parquet") if "metadata" not in p.parts and not p.name.startswith(".")
    )


def orders_files(writer: str, out: Path) -> list[Path]:
    folder = {"ducklake": out / "data" / "ecommerce" / "orders"}.get(writer, out / "ecommerce" / "orders")
    return data_files(folder)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(
    ("compression", "codec"), [("gzip", "GZIP"), ("snappy", "SNAPPY"), ("none", "UNCOMPRESSED")]
)
def test_compression_and_row_groups_are_those_asked_for(tmp_path, writer, compression, codec):
    out = tmp_path / "out"
    # DuckDB's Parquet writer (DuckLake's) rounds row groups up to whole vectors of 2,048 rows
    rows = 2_048 if writer == "ducklake" else 500
    generate(out, writer, "2025-01-01", "2025-01-01", compression=compression, row_group_rows=rows)

    files = orders_files(writer, out)
    assert files, f"{writer} wrote no orders file"
    groups = []
    for file in files:
        metadata = pq.ParquetFile(file).metadata
        for i in range(metadata.num_row_groups):
            group = metadata.row_group(i)
            assert {group.column(c).compression for c in range(group.num_columns)} == {codec}, file
            groups.append(group.num_rows)
    assert max(groups) <= rows and len(groups) >= 2, groups
    assert sum(groups) == read_back(writer, out, "ecommerce", "orders").num_rows  # one write: no old files


@pytest.mark.parametrize("writer", WRITERS)
def test_the_default_compression_is_zstd(tmp_path, writer):
    out = tmp_path / "out"
    generate(out, writer, "2025-01-01", "2025-01-01")
    metadata = pq.ParquetFile(orders_files(writer, out)[0]).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_rows_per_file_cut_a_partition_into_files(tmp_path):
    out = tmp_path / "out"
    generate(out, "parquet", "2025-01-01", "2025-01-01", file_rows=700)
    day = out / "ecommerce" / "orders" / "partition_date=2025-01-01"
    counts = [pq.ParquetFile(f).metadata.num_rows for f in data_files(day)]
    assert len(counts) == math.ceil(sum(counts) / 700) and max(counts) == 700
    assert sum(counts) == read_back("parquet", out, "ecommerce", "orders").num_rows


@pytest.mark.parametrize("writer", ["delta", "iceberg", "ducklake"])
def test_rows_per_file_are_refused_where_the_format_cuts_files_by_bytes(tmp_path, writer):
    out = tmp_path / "out"
    with pytest.raises(
        GenerateError, match=f"the {writer} backend cannot set file_rows: .* by size in bytes"
    ):
        generate(out, writer, "2025-01-01", "2025-01-01", file_rows=1_000)
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compression": "lz9"}, "unknown compression 'lz9'; known: zstd, snappy, gzip, none"),
        ({"row_group_rows": 0}, "row_group_rows must be a whole number of rows, 1 or more; got 0"),
        ({"file_rows": -3}, "file_rows must be a whole number of rows, 1 or more; got -3"),
        ({"partition": "year"}, "--partition must be one of day, week, month, got 'year'"),
    ],
)
def test_bad_options_are_refused_with_nothing_written(tmp_path, options, message):
    out = tmp_path / "out"
    with pytest.raises(GenerateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate(out, "parquet", "2025-01-06", "2025-01-12", **options)
    assert not out.exists()


@pytest.mark.parametrize("writer", WRITERS)
def test_weekly_partitions_are_named_by_their_monday_and_replaced_whole(tmp_path, writer):
    out = tmp_path / "out"
    generate(out, writer, "2025-01-06", "2025-01-19", partition="week")  # two whole weeks
    req = GenerateRequest("ecommerce", date(2025, 1, 6), date(2025, 1, 19), tables=("orders",), knobs=KNOBS)
    want = expected(req)["orders"]
    got = read_back(writer, out, "ecommerce", "orders")
    weeks = pc.unique(got["partition_week"]).to_pylist()
    assert sorted(weeks) == [date(2025, 1, 6), date(2025, 1, 13)]
    assert_same(got.drop_columns(["partition_week"]), want, f"{writer} weekly orders")
    days = got.group_by("partition_week").aggregate([("partition_date", "min"), ("partition_date", "max")])
    for row in days.to_pylist():  # each partition holds the days of its week, Monday to Sunday
        assert (row["partition_date_max"] - row["partition_date_min"]).days == 6
        assert row["partition_date_min"] == row["partition_week"]
    if writer in ("parquet", "delta"):
        folders = sorted(
            p.name for p in (out / "ecommerce" / "orders").iterdir() if p.name.startswith("partition")
        )
        assert folders == ["partition_week=2025-01-06", "partition_week=2025-01-13"]

    second = got.filter(pc.equal(got["partition_week"], date(2025, 1, 13)))
    generate(out, writer, "2025-01-06", "2025-01-12", partition="week")  # the first week again
    again = read_back(writer, out, "ecommerce", "orders")
    assert again.num_rows == got.num_rows  # replaced, not added
    kept = again.filter(pc.equal(again["partition_week"], date(2025, 1, 13)))
    assert_same(kept, second, f"{writer}: the week not rewritten")


def test_monthly_partitions_are_named_by_their_first_day(tmp_path):
    out = tmp_path / "out"
    generate(out, "parquet", "2025-01-01", "2025-02-28", partition="month", tables=("orders",))
    folders = sorted(p.name for p in (out / "ecommerce" / "orders").iterdir() if p.is_dir())
    assert folders == ["partition_month=2025-01-01", "partition_month=2025-02-01"]
    got = read_back("parquet", out, "ecommerce", "orders")
    months = got.group_by("partition_month").aggregate([("partition_date", "count_distinct")])
    assert sorted(months.to_pylist(), key=lambda r: r["partition_month"]) == [
        {"partition_month": date(2025, 1, 1), "partition_date_count_distinct": 31},
        {"partition_month": date(2025, 2, 1), "partition_date_count_distinct": 28},
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-01-07", "2025-01-12", "--start 2025-01-07 must be a Monday (e.g. 2025-01-06)"),
        ("2025-01-06", "2025-01-11", "--end 2025-01-11 must be a Sunday"),
    ],
)
def test_a_range_covering_part_of_a_week_is_refused(tmp_path, start, end, message):
    out = tmp_path / "out"
    with pytest.raises(GenerateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate(out, "delta", start, end, partition="week")
    assert not out.exists()
