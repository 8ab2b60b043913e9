"""`dataplatform ingest load|status|restore` as a user runs them, `dataplatform ingest FILE` as
before, and `--from-asset` naming an asset that does not exist."""

from __future__ import annotations

import json
import subprocess

from platform_tests.e2e.conftest import BIN, run

CLI = str(BIN / "dataplatform")


def _rows(data_dir, table: str) -> list[dict]:
    from dataplatform.ingest.service import reference_table
    from dataplatform.storage import open_store

    rows = open_store("delta", data_dir).read(reference_table(table)).to_pylist()
    return sorted(rows, key=lambda r: r["currency"])


def test_ingest_load_file_and_ingest_file_load_the_same_rows_into_the_same_table(user_env, tmp_path):
    source = tmp_path / "rates.csv"
    source.write_text("currency,usd_per_unit\nEUR,1.08\nGBP,1.27\nJPY,0.0067\n")
    loaded = {}
    for form, command in (("load", ["ingest", "load", str(source)]), ("short", ["ingest", str(source)])):
        env = {**user_env, "DATAPLATFORM_DATA_DIR": str(tmp_path / form)}
        result = run([CLI, *command, "--create", "--format", "json"], env)
        assert result.returncode == 0, result.stderr
        entry = json.loads(result.stdout)
        loaded[form] = (
            {k: entry[k] for k in ("table", "status", "mode", "rows_loaded")},
            _rows(tmp_path / form, "rates"),
        )
    assert loaded["load"] == loaded["short"]
    assert loaded["load"][0] == {"table": "rates", "status": "loaded", "mode": "full", "rows_loaded": 3}
    assert [r["currency"] for r in loaded["load"][1]] == ["EUR", "GBP", "JPY"]


def test_ingest_status_lists_every_file_received_and_its_fate(user_env, tmp_path):
    good, bad = tmp_path / "rates.csv", tmp_path / "broken.csv"
    good.write_text("currency,usd_per_unit\nEUR,1.08\n")
    bad.write_text("currency,usd_per_unit\nEUR,1.08\nGBP\n")
    empty = run([CLI, "ingest", "status"], user_env)
    assert empty.returncode == 0 and "no file received yet" in empty.stdout
    assert run([CLI, "ingest", "load", str(good), "--create"], user_env).returncode == 0
    assert run([CLI, "ingest", "load", str(bad), "--create"], user_env).returncode == 1
    shown = run([CLI, "ingest", "status"], user_env)
    assert shown.returncode == 0, shown.stderr
    assert "Reference files received" in shown.stdout
    assert "rates.csv" in shown.stdout and "broken.csv" in shown.stdout and "rejected" in shown.stdout
    files = json.loads(run([CLI, "ingest", "status", "--format", "json"], user_env).stdout)["files"]
    assert [(f["file"], f["table"], f["status"], f["rows_loaded"]) for f in files] == [
        ("rates.csv", "rates", "loaded", 1),
        ("broken.csv", "broken", "rejected", None),
    ]


def test_ingest_restore_brings_back_the_version_a_full_reload_replaced(user_env, tmp_path):
    first, second = tmp_path / "a" / "rates.csv", tmp_path / "b" / "rates.csv"
    first.parent.mkdir()
    second.parent.mkdir()
    first.write_text("currency,usd_per_unit\nEUR,1.08\nGBP,1.27\n")
    second.write_text("currency,usd_per_unit\nEUR,9.99\n")  # a bad delivery, loaded anyway
    assert run([CLI, "ingest", "load", str(first), "--create"], user_env).returncode == 0
    assert run([CLI, "ingest", "load", str(second)], user_env).returncode == 0
    assert _rows(tmp_path / "data", "rates") == [{"currency": "EUR", "usd_per_unit": 9.99}]

    restored = run([CLI, "ingest", "restore", "--table", "rates"], user_env)
    assert restored.returncode == 0, restored.stderr
    assert "reference/rates: version 0 restored as version 2 (2 rows)" in restored.stdout
    assert _rows(tmp_path / "data", "rates") == [
        {"currency": "EUR", "usd_per_unit": 1.08},
        {"currency": "GBP", "usd_per_unit": 1.27},
    ]
    again = run(
        [CLI, "ingest", "restore", "--table", "rates", "--version", "1", "--format", "json"], user_env
    )
    assert json.loads(again.stdout) == {"table": "rates", "restored_version": 1, "version": 3, "rows": 1}
    assert _rows(tmp_path / "data", "rates") == [{"currency": "EUR", "usd_per_unit": 9.99}]

    no_table = run([CLI, "ingest", "restore"], user_env)
    assert no_table.returncode == 1
    assert no_table.stderr.strip() == (
        "error: restore needs --table, e.g. dataplatform ingest restore --table currency_rates"
    )


def test_ingest_help_lists_load_status_and_restore(user_env):
    for command in (["ingest", "--help"], ["ingest"]):
        shown = run([CLI, *command], user_env)
        text = shown.stdout + shown.stderr
        assert shown.returncode == (0 if "--help" in command else 2)
        for subcommand in ("load", "status", "restore"):
            assert f" {subcommand} " in text, (subcommand, text)
        assert "dataplatform ingest FILE" in text  # the short form and its precedence rule are said


def test_a_file_named_status_in_the_current_folder_is_loaded_as_before(user_env, tmp_path):
    """The rule `ingest` had before its subcommands: `status` and `restore` are commands unless a
    file of that name is in the current folder; options may come before the file or the command."""
    folder = tmp_path / "work"
    folder.mkdir()

    def ingest(*arguments: str) -> subprocess.CompletedProcess:
        command = [CLI, "ingest", *arguments]
        return subprocess.run(command, env=user_env, cwd=folder, capture_output=True, text=True, timeout=300)

    listed = ingest("--format", "json", "status")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"files": []}
    (folder / "status").write_text("currency,usd_per_unit\nEUR,1.08\n")
    loaded = ingest("--table", "currency_rates", "status", "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["file"] == "status"
    assert _rows(tmp_path / "data", "currency_rates") == [{"currency": "EUR", "usd_per_unit": 1.08}]


def test_from_asset_naming_an_asset_that_does_not_exist_says_so_and_the_closest(user_env):
    typo = run([CLI, "datasets", "register", "--from-asset", "gold/ecommerce/custmer_value"], user_env)
    assert typo.returncode == 1
    assert "Traceback" not in typo.stdout + typo.stderr
    assert len(typo.stderr.strip().splitlines()) == 1
    assert "asset gold/ecommerce/custmer_value does not exist" in typo.stderr
    assert "the closest: gold/ecommerce/customer_value" in typo.stderr
    # an asset the platform defines but has not made yet is a different mistake, said differently
    unmade = run([CLI, "datasets", "register", "--from-asset", "gold/ecommerce/customer_value"], user_env)
    assert unmade.returncode == 1 and "has not been materialised yet" in unmade.stderr
