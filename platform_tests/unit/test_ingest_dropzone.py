"""The drop folder: stable files only, unsafe or unknown table folders rejected, files moved
under the drop folder and never deleted."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from dataplatform.ingest.dropzone import DropZone, content_hash


@pytest.fixture
def zone(tmp_path):
    zone = DropZone(tmp_path / "dropzone")
    (zone.incoming / "currency_rates").mkdir(parents=True)
    (zone.incoming / "currency_rates" / "_table.yaml").write_text("mode: full\n")
    return zone


def drop(zone, name: str, data: bytes = b"currency,rate\nEUR,1.08\n", table: str = "currency_rates"):
    folder = zone.incoming / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_a_file_is_ready_only_after_it_stays_unchanged_for_the_ticks(zone):
    path = drop(zone, "rates.csv")
    first = zone.scan({}, ticks=2)
    assert first.ready == []
    second = zone.scan(first.state, ticks=2)
    assert second.ready == []
    with path.open("ab") as file:  # still being copied
        file.write(b"GBP,1.27\n")
    os.utime(path, ns=(1, 2))
    third = zone.scan(second.state, ticks=2)
    assert third.ready == [] and third.state["currency_rates/rates.csv"][2] == 0
    fourth = zone.scan(zone.scan(third.state, ticks=2).state, ticks=2)
    assert [f.path.name for f in fourth.ready] == ["rates.csv"]


def test_sidecars_hidden_and_partial_files_are_not_deliveries(zone):
    for name in ("rates.csv.yaml", ".rates.csv.swp", "rates.csv.part", "rates.tmp"):
        drop(zone, name)
    state = zone.scan({}, ticks=0).state
    assert state == {}


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        ("mystery", "unknown table 'mystery'"),
        ("Rates; DROP TABLE x", "is not a table name"),
        ("..hidden", "is not a table name"),
        ("rates'quote", "is not a table name"),
    ],
)
def test_files_in_unknown_or_unsafe_table_folders_are_rejected_with_the_reason(zone, folder, reason):
    path = drop(zone, "data.csv", table=folder)
    scan = zone.scan({}, ticks=0)
    assert [(p, t) for p, t, _ in scan.rejected] == [(path, folder)] and reason in scan.rejected[0][2]
    assert scan.ready == []


def test_archive_and_error_move_files_with_their_sidecars_and_keep_both_of_a_repeated_name(zone):
    first = drop(zone, "rates.csv")
    (zone.incoming / "currency_rates" / "rates.csv.yaml").write_text("mode: append\n")
    when = datetime(2026, 3, 10, tzinfo=UTC)
    archived = zone.archive_file(first, "currency_rates", when)
    assert archived == zone.archive / "currency_rates/2026/03/10/rates.csv" and not first.exists()
    assert archived.with_name("rates.csv.yaml").read_text() == "mode: append\n"
    again = zone.archive_file(drop(zone, "rates.csv"), "currency_rates", when)
    assert again != archived and again.exists() and archived.exists()

    bad = drop(zone, "broken; rm -rf.csv", b"\x00\x01")
    target = zone.reject(bad, "currency_rates", "binary file", {"offset": 0})
    assert (
        target == zone.error / "currency_rates" / "broken; rm -rf.csv" and target.read_bytes() == b"\x00\x01"
    )
    note = json.loads(target.with_name(target.name + ".error.json").read_text())
    assert (note["reason"], note["offset"], note["file"]) == ("binary file", 0, "broken; rm -rf.csv")


def test_nothing_moves_outside_the_drop_folder(zone, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("x")
    with pytest.raises(ValueError, match="not in the incoming folder"):
        zone.archive_file(outside, "currency_rates")
    with pytest.raises(ValueError, match="outside the drop folder"):
        zone.reject(drop(zone, "a.csv"), "../../escape", "test")
    assert outside.exists()


def test_content_hash_streams_and_tells_identical_files(zone):
    a, b = drop(zone, "a.csv"), drop(zone, "b.csv")
    c = drop(zone, "c.csv", b"currency,rate\nEUR,1.09\n")
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_a_table_yaml_naming_an_unknown_format_field_is_refused_when_read_naming_the_file(tmp_path):
    from dataplatform.ingest.tables import ConfigError, TableConfig

    folder = tmp_path / "currencies"
    folder.mkdir()
    (folder / "_table.yaml").write_text("format: {delimiter: ';', delimeter: ','}\n")
    with pytest.raises(ConfigError, match=r"_table.yaml: unknown format fields \['delimeter'\]"):
        TableConfig.of_folder(folder)
