"""`dataplatform ingest`: one file through the drop folder as the sensor would take it, and the
ledger of every file received."""

from __future__ import annotations

import json

import pytest

from platform_tests.e2e.conftest import BIN, run

CLI = str(BIN / "dataplatform")


def test_a_file_is_loaded_and_the_same_file_again_is_a_duplicate_in_the_ledger(user_env, tmp_path):
    source = tmp_path / "holidays.csv"
    source.write_text("day;name\n25.12.2026;Christmas\n01.01.2027;New Year\n")
    loaded = run([CLI, "ingest", str(source), "--mode", "append", "--create"], user_env)
    assert loaded.returncode == 0, loaded.stderr
    assert "created reference table holidays, declared in" in loaded.stdout
    assert "loaded 2 rows into reference/holidays (append" in loaded.stdout
    again = run([CLI, "ingest", str(source), "--format", "json"], user_env)
    assert json.loads(again.stdout)["status"] == "duplicate"
    assert source.is_file()  # the user's file is copied, never moved
    status = run([CLI, "ingest", "status", "--format", "json"], user_env)
    files = json.loads(status.stdout)["files"]
    assert [(f["file"], f["table"], f["status"], f["rows_loaded"]) for f in files] == [
        ("holidays.csv", "holidays", "loaded", 2),
        ("holidays.csv", "holidays", "duplicate", None),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--table", "../escape"], "is not a table name"),
        (["--table", "x'; DROP TABLE y; --"], "is not a table name"),
        (["--mode", "replace"], "unknown mode 'replace'"),
    ],
)
def test_bad_arguments_are_one_clear_line_and_load_nothing(user_env, tmp_path, arguments, message):
    source = tmp_path / "rates.csv"
    source.write_text("currency,rate\nEUR,1.08\n")
    result = run([CLI, "ingest", str(source), *arguments], user_env)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "lake").exists()


def test_a_mistyped_or_undeclared_table_is_refused_and_nothing_is_created(user_env, tmp_path):
    source = tmp_path / "rates.csv"
    source.write_text("currency,usd_per_unit\nEUR,1.08\n")
    result = run([CLI, "ingest", str(source), "--table", "curency_rates"], user_env)
    assert result.returncode == 1
    assert "unknown reference table 'curency_rates'" in result.stderr
    assert "currency_rates" in result.stderr  # the shipped tables are named, so the typo shows
    assert "--create" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "dropzone" / "incoming" / "curency_rates").exists()
    assert not (tmp_path / "data" / "lake").exists()
    shipped = run([CLI, "ingest", str(source), "--table", "currency_rates", "--format", "json"], user_env)
    assert shipped.returncode == 0, shipped.stderr  # a shipped table is declared: no --create needed
    assert json.loads(shipped.stdout)["created_table"] is False


def test_a_rejected_file_exits_non_zero_with_its_reason(user_env, tmp_path):
    source = tmp_path / "rates.csv"
    source.write_text("currency,rate\nEUR,1.08\nGBP\n")
    result = run([CLI, "ingest", str(source), "--create"], user_env)
    assert result.returncode == 1
    assert "rates.csv rejected: 1 row(s) do not have the header's field count: line 3" in result.stderr


def test_restore_brings_back_the_rows_a_full_reload_replaced(user_env, tmp_path):
    first, second = tmp_path / "a" / "rates.csv", tmp_path / "b" / "rates.csv"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text("currency,usd_per_unit\nEUR,1.08\nGBP,1.27\n")
    second.write_text("currency,usd_per_unit\nEUR,9.99\n")  # a bad delivery, loaded anyway
    for source in (first, second):
        assert run([CLI, "ingest", str(source), "--create"], user_env).returncode == 0
    restored = run([CLI, "ingest", "restore", "--table", "rates", "--format", "json"], user_env)
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout) == {"table": "rates", "restored_version": 0, "version": 2, "rows": 2}
    from dataplatform.ingest.service import reference_table
    from dataplatform.storage import open_store

    table = open_store("delta", tmp_path / "data").read(reference_table("rates"))
    assert sorted(table.to_pylist(), key=lambda r: r["currency"]) == [
        {"currency": "EUR", "usd_per_unit": 1.08},
        {"currency": "GBP", "usd_per_unit": 1.27},
    ]
    missing = run([CLI, "ingest", "restore", "--table", "nothing_here"], user_env)
    assert missing.returncode == 1 and "reference/nothing_here has no data to restore" in missing.stderr
