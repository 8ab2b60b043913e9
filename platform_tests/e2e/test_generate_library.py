"""The generator's Python API against the command: same request, same rows; schemas as written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from dataplatform.generate.export import GenerateError
from dataplatform.generate.library import default_range, domains, generate, listing, schema
from dataplatform.generate.writers.base import _canonical
from dataplatform.settings import Settings
from platform_tests.e2e.conftest import BIN, run
from platform_tests.integration.test_generate_writers import SMALL, assert_same, read_back

KNOBS = {"customers": 150, "products": 30, "orders_per_day": 120}


def test_the_api_writes_a_range_identical_to_the_command(user_env, tmp_path):
    by_command, by_api = tmp_path / "command", tmp_path / "api"
    knobs = [arg for name, value in KNOBS.items() for arg in ("--knob", f"{name}={value}")]
    result = run(
        [
            str(BIN / "dataplatform"),
            "generate",
            "ecommerce",
            str(by_command),
            "--start",
            "2025-02-03",
            "--end",
            "2025-02-05",
            "--seed",
            "11",
            "--writer",
            "delta",
            *knobs,
            "--format",
            "json",
        ],
        user_env,
    )
    assert result.returncode == 0, result.stderr
    progress = generate(
        "ecommerce", "2025-02-03", date(2025, 2, 5), output=str(by_api), writer="delta", seed=11, knobs=KNOBS
    )
    assert progress.done == 4 and progress.rows > 0
    for table, rows in progress.tables.items():
        theirs, ours = (read_back("delta", root, "ecommerce", table) for root in (by_command, by_api))
        assert ours.num_rows == rows
        assert_same(ours, theirs, f"ecommerce.{table}")


def test_without_dates_the_last_recent_days_are_written(tmp_path):
    settings = Settings(recent_days=2)
    progress = generate("weather", output=str(tmp_path), knobs=SMALL["weather"], settings=settings)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = read_back("parquet", tmp_path, "weather", "observations").column("partition_date").unique()
    assert sorted(days.to_pylist()) == [yesterday - timedelta(days=1), yesterday]
    assert progress.done == 3  # master data and two days
    assert default_range(settings, today=date(2025, 3, 1)) == (date(2025, 2, 27), date(2025, 2, 28))


@pytest.mark.parametrize("domain", ["ecommerce", "market", "sensors", "weather"])
def test_schema_is_what_a_writer_stores(tmp_path, domain):
    generate(domain, "2025-03-05", output=str(tmp_path), knobs=SMALL[domain])
    for table in (
        t["table"] for d in listing(Settings())["domains"] if d["domain"] == domain for t in d["tables"]
    ):
        stored = read_back("parquet", tmp_path, domain, table).schema
        declared = schema(domain, table)
        assert set(stored.names) == set(declared.names), table  # Hive puts partition_date last
        for field in declared:
            assert _canonical(stored.field(field.name).type) == _canonical(field.type), (
                f"{table}.{field.name}"
            )


def test_listing_names_every_table_with_columns_and_refuses_unknown_names():
    shown = listing(Settings())
    assert (
        [d["domain"] for d in shown["domains"]] == domains() == ["ecommerce", "market", "sensors", "weather"]
    )
    orders = next(t for t in shown["domains"][0]["tables"] if t["table"] == "orders")
    assert orders["partitioned"] and {"name": "order_ts", "type": "string"} in orders["columns"]
    with pytest.raises(GenerateError, match="ecommerce has no table invoices"):
        schema("ecommerce", "invoices")
    with pytest.raises(GenerateError, match="unknown domain 'shop'"):
        schema("shop", "orders")
    with pytest.raises(GenerateError, match="not a date"):
        generate("weather", "yesterday", output="unused")


def test_the_command_lists_every_tables_columns_and_defaults_to_the_recent_days(user_env, tmp_path):
    listed = run([str(BIN / "dataplatform"), "generate", "--list", "--format", "json"], user_env)
    assert listed.returncode == 0, listed.stderr
    for shown in json.loads(listed.stdout)["domains"]:
        assert [t["table"] for t in shown["tables"]] == [*shown["master_tables"], *shown["daily_tables"]]
        for table in shown["tables"]:
            declared = schema(shown["domain"], table["table"])
            assert table["columns"] == [{"name": f.name, "type": str(f.type)} for f in declared]
    user_env["DATAPLATFORM_RECENT_DAYS"] = "2"
    knobs = [arg for name, value in SMALL["weather"].items() for arg in ("--knob", f"{name}={value}")]
    command = [str(BIN / "dataplatform"), "generate", "weather", str(tmp_path), *knobs, "--format", "json"]
    result = run(command, user_env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["start"], summary["end"]) == tuple(
        d.isoformat() for d in default_range(Settings(recent_days=2))
    )
