"""How `dataplatform ingest` reads its arguments: a subcommand when the first argument names one,
else `load` with that argument as the file, as `ingest FILE` always did."""

from __future__ import annotations

import pytest
import typer.main

from dataplatform.cli.ingest import _with_subcommand, app

COMMANDS = typer.main.get_command(app).commands


@pytest.mark.parametrize(
    ("given", "read_as"),
    [
        (["rates.csv"], ["load", "rates.csv"]),
        (
            ["rates.csv", "--table", "rates", "--create"],
            ["load", "rates.csv", "--table", "rates", "--create"],
        ),
        (
            ["--table", "rates", "--create", "rates.csv"],
            ["load", "--table", "rates", "--create", "rates.csv"],
        ),
        (["load", "rates.csv"], ["load", "rates.csv"]),
        (["load", "status"], ["load", "status"]),
        (["status"], ["status"]),
        (["--format", "json", "status"], ["status", "--format", "json"]),
        (
            ["--table", "rates", "restore", "--version", "2"],
            ["restore", "--table", "rates", "--version", "2"],
        ),
        (["--help"], ["--help"]),
        ([], []),
        (["--", "-odd-name.csv"], ["load", "--", "-odd-name.csv"]),
    ],
)
def test_the_first_argument_is_a_subcommand_or_the_file_to_load(given, read_as, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _with_subcommand(given, COMMANDS) == read_as


@pytest.mark.parametrize("name", ["status", "restore"])
def test_a_file_named_like_a_former_mode_in_the_current_folder_is_loaded(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text("currency,usd_per_unit\nEUR,1.08\n")
    assert _with_subcommand([name, "--create"], COMMANDS) == ["load", name, "--create"]
    assert _with_subcommand(["load", name], COMMANDS) == ["load", name]
