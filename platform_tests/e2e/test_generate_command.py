"""`dataplatform generate` as a user runs it: a subprocess, its exit code, its output."""

from __future__ import annotations

import json

import pytest

from dataplatform.domains import generated
from dataplatform.generate.writers import WRITERS
from platform_tests.e2e.conftest import BIN, run
from platform_tests.integration.test_generate_writers import assert_output_equals, request, snapshot

GENERATE = [str(BIN / "dataplatform"), "generate"]


def test_list_shows_every_domain_with_its_tables_and_knobs_and_every_writer(user_env):
    result = run([*GENERATE, "--list", "--format", "json"], user_env)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [d["domain"] for d in listed["domains"]] == list(generated())
    ecommerce = listed["domains"][0]
    assert ecommerce["daily_tables"] == ["orders", "order_items", "defects"]
    assert ecommerce["knobs"]["orders_per_day"] == 300  # from the user's environment
    assert [w["writer"] for w in listed["writers"]] == list(WRITERS)


def test_a_range_written_by_the_command_equals_the_generators_output_in_this_process(user_env, tmp_path):
    """Determinism across processes: another interpreter (another hash seed) writes the same rows."""
    out = tmp_path / "out"
    knobs = [
        arg
        for name, value in request("market", "2025-01-01", "2025-01-01").knobs.items()
        for arg in ("--knob", f"{name}={value}")
    ]
    user_env["PYTHONHASHSEED"] = "12345"
    result = run(
        [
            *GENERATE,
            "market",
            str(out),
            "--start",
            "2025-01-06",
            "--end",
            "2025-01-08",
            "--seed",
            "7",
            *knobs,
            "--format",
            "json",
        ],
        user_env,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["partitions"] == 4 and summary["rows"] == sum(summary["tables"].values()) > 0
    assert_output_equals("parquet", out, request("market", "2025-01-06", "2025-01-08", seed=7))


def test_scale_multiplies_the_domain_counts(user_env, tmp_path):
    result = run(
        [
            *GENERATE,
            "ecommerce",
            str(tmp_path / "out"),
            "--scale",
            "2",
            "--tables",
            "customers",
            "--format",
            "json",
        ],
        user_env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"] == {
        "customers": pytest.approx(400, rel=0.1)
    }  # 200 x 2, plus duplicates


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["retail", "{out}"], "unknown domain 'retail'; known: ecommerce, market, sensors, weather"),
        (
            ["ecommerce", "{out}", "--writer", "csv"],
            "unknown writer 'csv'; known: parquet, delta, iceberg, ducklake",
        ),
        (
            ["ecommerce", "{out}", "--start", "2025-02-01", "--end", "2025-01-01"],
            "--end 2025-01-01 is before --start 2025-02-01",
        ),
        (["ecommerce", "{out}", "--scale", "-1"], "--scale must be greater than 0, got -1.0"),
        (
            ["ecommerce", "{out}", "--start", "2025-13-01"],
            "--start '2025-13-01' is not a date; use YYYY-MM-DD",
        ),
        (["ecommerce", "{out}", "--tables", "orders,refunds"], "ecommerce has no table refunds"),
        (["ecommerce", "{out}", "--knob", "orders_per_day=-5"], "ecommerce knob orders_per_day"),
        (["ecommerce", "{out}", "--knob", "symbols=5"], "ecommerce has no knob symbols"),
        (["ecommerce", "{file}"], "is a file; give a folder"),
        (
            ["ecommerce", "gs://bucket/out", "--writer", "ducklake"],
            "the ducklake writer writes to a local folder or to s3://bucket/prefix",
        ),
        (
            ["ecommerce", "{out}", "--compression", "lz9"],
            "unknown compression 'lz9'; known: zstd, snappy, gzip, none",
        ),
        (
            ["ecommerce", "{out}", "--row-group-rows", "0"],
            "row_group_rows must be a whole number of rows, 1 or more",
        ),
        (
            ["ecommerce", "{out}", "--writer", "iceberg", "--file-rows", "1000"],
            "the iceberg backend cannot set file_rows: Iceberg cuts its files by size in bytes, not rows",
        ),
        (["ecommerce", "{out}", "--partition", "fortnight"], "--partition must be one of day, week, month"),
        (
            ["ecommerce", "{out}", "--partition", "week", "--start", "2025-01-01", "--end", "2025-01-12"],
            "--start 2025-01-01 must be a Monday (e.g. 2024-12-30)",
        ),
        (
            ["ecommerce", "{out}", "--partition", "month", "--start", "2025-01-01", "--end", "2025-01-30"],
            "--end 2025-01-30 must be the last day of a month",
        ),
    ],
)
def test_bad_input_is_one_clear_line_with_nothing_written(user_env, tmp_path, arguments, message):
    out, file = tmp_path / "out", tmp_path / "notes.txt"
    file.write_text("keep me")
    args = [a.format(out=out, file=file) for a in arguments]
    result = run([*GENERATE, *args], user_env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr  # one line
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and file.read_text() == "keep me"


def test_an_output_with_incompatible_tables_is_refused_and_left_as_it_was(user_env, tmp_path):
    import pyarrow as pa
    from deltalake import write_deltalake

    out = tmp_path / "out"
    first = run([*GENERATE, "ecommerce", str(out), "--writer", "delta", "--tables", "customers"], user_env)
    assert first.returncode == 0, first.stderr
    write_deltalake(str(out / "ecommerce" / "orders"), pa.table({"order_id": ["A-1"], "total": [9.5]}))
    before = snapshot(out)

    result = run([*GENERATE, "ecommerce", str(out), "--writer", "delta"], user_env)

    assert result.returncode == 1
    assert "does not match ecommerce.orders: column 'order_id' is string there, int64 here" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(out) == before


def test_writer_options_reach_the_files_the_command_writes(user_env, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    result = run(
        [
            *GENERATE,
            "ecommerce",
            str(out),
            "--tables",
            "orders",
            "--partition",
            "week",
            "--start",
            "2025-01-06",
            "--end",
            "2025-01-12",
            "--compression",
            "gzip",
            "--row-group-rows",
            "100",
            "--format",
            "json",
        ],
        user_env,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["partition"] == "week" and summary["partitions"] == 1
    week = out / "ecommerce" / "orders" / "partition_week=2025-01-06"
    assert sorted(p.name for p in week.parent.iterdir() if p.is_dir()) == [week.name]
    metadata = pq.ParquetFile(next(week.glob("*.parquet"))).metadata
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    assert len(groups) > 1 and max(g.num_rows for g in groups) <= 100
    assert {g.column(c).compression for g in groups for c in range(g.num_columns)} == {"GZIP"}
    assert sum(g.num_rows for g in groups) == summary["tables"]["orders"]
