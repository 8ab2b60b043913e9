"""One delivered file, start to end: loaded, duplicate or rejected, always in the ledger and in
exactly one of archive or error, and safe to repeat after a crash at any step."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplatform.ingest.dropzone import DropZone
from dataplatform.ingest.modes import load
from dataplatform.ingest.service import Ingestor, reference_table
from dataplatform.storage import open_store

RATES = b"currency,usd_per_unit\nEUR,1.08\nGBP,1.27\n"


@pytest.fixture
def ingestor(tmp_path):
    zone = DropZone(tmp_path / "dropzone")
    folder = zone.incoming / "currency_rates"
    folder.mkdir(parents=True)
    (folder / "_table.yaml").write_text(
        "mode: full\nkeys: [currency]\nrequired: [currency, usd_per_unit]\ntypes: {usd_per_unit: decimal}\n"
    )
    return Ingestor(zone, open_store("delta", tmp_path / "lake"))


def drop(ingestor, name: str, data: bytes, table: str = "currency_rates"):
    folder = ingestor.zone.incoming / table
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def rows(ingestor, table: str = "currency_rates") -> dict:
    return {r["currency"]: r["usd_per_unit"] for r in ingestor.store.read(reference_table(table)).to_pylist()}


def fingerprint(ingestor, table: str = "currency_rates") -> tuple[int, int, str]:
    """(version, rows, a hash of the sorted rows): what "the table is unchanged" means."""
    import hashlib

    name = reference_table(table)
    data = ingestor.store.read(name)
    content = sorted(json.dumps(row, sort_keys=True, default=str) for row in data.to_pylist())
    digest = hashlib.sha256("\n".join(content).encode()).hexdigest()
    return ingestor.store.history(name)[0]["version"], data.num_rows, digest


def where_files_are(ingestor) -> dict[str, list[str]]:
    root = ingestor.zone.root
    found: dict[str, list[str]] = {"incoming": [], "archive": [], "error": []}
    for place in found:
        for path in sorted((root / place).rglob("*")):
            if path.is_file() and not path.name.endswith((".yaml", ".error.json")):
                found[place].append(path.name)
    return found


def test_a_file_is_loaded_archived_and_recorded(ingestor):
    entry = ingestor.ingest(drop(ingestor, "rates.csv", RATES), "currency_rates", run_id="r1")
    assert (entry.status, entry.rows_loaded, entry.mode, entry.run_id) == ("loaded", 2, "full", "r1")
    assert rows(ingestor) == {"EUR": 1.08, "GBP": 1.27}
    assert (ingestor.zone.root / entry.moved_to).is_file()
    assert where_files_are(ingestor) == {"incoming": [], "archive": ["rates.csv"], "error": []}
    assert json.loads(entry.format)["delimiter"] == ","
    ledger = ingestor.ledger.entries().to_pylist()
    assert [(e["file"], e["status"], e["content_hash"]) for e in ledger] == [
        ("rates.csv", "loaded", entry.content_hash)
    ]


def test_the_same_bytes_again_are_archived_as_a_duplicate_without_reloading(ingestor):
    ingestor.ingest(drop(ingestor, "rates.csv", RATES), "currency_rates")
    version = ingestor.store.history(reference_table("currency_rates"))[0]["version"]
    again = ingestor.ingest(drop(ingestor, "rates_copy.csv", RATES), "currency_rates")
    assert again.status == "duplicate"
    assert ingestor.store.history(reference_table("currency_rates"))[0]["version"] == version
    assert where_files_are(ingestor)["archive"] == ["rates.csv", "rates_copy.csv"]


def test_a_full_reload_keeps_the_replaced_version_as_its_backup(ingestor):
    ingestor.ingest(drop(ingestor, "a.csv", RATES), "currency_rates")
    second = ingestor.ingest(
        drop(ingestor, "b.csv", b"currency,usd_per_unit\nJPY,0.0067\n"), "currency_rates"
    )
    assert rows(ingestor) == {"JPY": 0.0067}
    backup = ingestor.store.read_version(reference_table("currency_rates"), second.backup_version)
    assert sorted(backup.column("currency").to_pylist()) == ["EUR", "GBP"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n", "blank"),
        ("header_only.csv", b"currency,usd_per_unit\n", "no data rows; an empty delivery never replaces"),
        ("binary.csv", bytes(range(256)) * 4, "binary"),
        ("truncated.csv.gz", gzip.compress(RATES * 2000)[:-40], "gzip"),
        ("missing_required.csv", b"currency,rate\nEUR,1.08\n", "required columns missing: usd_per_unit"),
        ("null_required.csv", b"currency,usd_per_unit\nEUR,\nGBP,1.27\n", "'usd_per_unit' is empty in 1 row"),
        ("bad_value.csv", b"currency,usd_per_unit\nEUR,1.08\nGBP,abc\n", "line 3 'abc'"),
        ("type_conflict.csv", b"currency,usd_per_unit\n1,1.0\n2,2.0\n", "'currency' would change type"),
        (
            "ragged.csv",
            b"currency,usd_per_unit\nEUR,1.08\nGBP,1.27,extra\nUSD,1\n",
            "line 3: 3 fields where the header has 2",
        ),
        (
            "short_row.csv",
            b"currency,usd_per_unit\nEUR,1.08\nGBP\nUSD,1\n",
            "line 3: 1 fields where the header has 2",
        ),
        (
            "commented.tsv",
            b"# rates export\n# generated nightly\ncurrency\tusd_per_unit\nEUR\t1.08\nNA\nGBP\t1.27\n",
            "line 5: 1 fields where the header has 2",
        ),
        (
            "latin1_fallback.csv",
            "currency,usd_per_unit\nEUR,1.08\nZ\u00e9,2\n".encode() + b"\xff\n",
            "invalid UTF-8",
        ),
    ],
)
def test_bad_files_go_to_error_with_their_reason_and_the_table_is_untouched(ingestor, name, data, reason):
    ingestor.ingest(drop(ingestor, "good.csv", RATES), "currency_rates")
    before = fingerprint(ingestor)
    entry = ingestor.ingest(drop(ingestor, name, data), "currency_rates")
    assert fingerprint(ingestor) == before
    assert entry.status == "rejected"
    assert reason in entry.error
    note = json.loads((ingestor.zone.root / (entry.moved_to + ".error.json")).read_text())
    assert reason in note["reason"]
    assert rows(ingestor) == {"EUR": 1.08, "GBP": 1.27}
    assert where_files_are(ingestor) == {"incoming": [], "archive": ["good.csv"], "error": [name]}


def test_a_crash_after_the_load_commit_records_it_without_loading_twice(ingestor):
    path = drop(ingestor, "rates.csv", RATES)
    from dataplatform.ingest.detect import detect
    from dataplatform.ingest.dropzone import content_hash
    from dataplatform.ingest.read import read

    # the run got as far as the commit, then died: no ledger entry, the file still in incoming
    load(
        ingestor.store,
        reference_table("currency_rates"),
        read(path, detect(path)),
        "full",
        (),
        content_hash(path),
    )
    entry = ingestor.ingest(path, "currency_rates")
    assert entry.status == "loaded" and entry.table_version == 0
    assert len(ingestor.store.history(reference_table("currency_rates"))) == 1
    assert where_files_are(ingestor)["archive"] == ["rates.csv"]


def test_restore_works_after_a_crash_between_a_full_reload_and_its_ledger_entry(ingestor, monkeypatch):
    ingestor.ingest(drop(ingestor, "a.csv", RATES), "currency_rates")
    path = drop(ingestor, "b.csv", b"currency,usd_per_unit\nJPY,0.0067\n")
    monkeypatch.setattr(
        ingestor.ledger.__class__, "record", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())
    )
    with pytest.raises(KeyboardInterrupt):  # killed after the Delta commit, before the ledger
        ingestor.ingest(path, "currency_rates")
    monkeypatch.undo()
    assert rows(ingestor) == {"JPY": 0.0067} and path.is_file()
    entry = ingestor.ingest(path, "currency_rates")
    assert (entry.status, entry.rows_loaded, entry.mode, entry.backup_version) == ("loaded", 1, "full", 0)
    assert len(ingestor.store.history(reference_table("currency_rates"))) == 2  # not loaded twice
    restored, _ = ingestor.restore("currency_rates")
    assert restored == 0 and rows(ingestor) == {"EUR": 1.08, "GBP": 1.27}


def test_a_header_only_file_creates_a_new_table_with_no_rows_and_never_truncates_one(ingestor):
    first = ingestor.ingest(drop(ingestor, "header.csv", b"currency,usd_per_unit\n"), "currency_rates")
    assert (first.status, first.rows_loaded) == ("loaded", 0)
    table = ingestor.store.read(reference_table("currency_rates"))
    assert (table.column_names, table.num_rows) == (["currency", "usd_per_unit"], 0)
    ingestor.ingest(drop(ingestor, "good.csv", RATES), "currency_rates")
    before = fingerprint(ingestor)
    again = ingestor.ingest(drop(ingestor, "header_again.csv", b"currency,usd_per_unit\n"), "currency_rates")
    assert (again.status, again.rows_loaded) == ("rejected", None)
    assert "never replaces or truncates" in again.error
    assert fingerprint(ingestor) == before


def test_broken_utf8_is_rejected_with_offset_and_line_unless_the_encoding_is_named(ingestor):
    data = (
        "currency,usd_per_unit,name\nEUR,1.08,Euro — single currency\nGBP,1.27,Pfund\xa0Sterling\n".encode()
    )
    bad = data.replace("Pfund\xa0".encode(), b"Pfund\xa0".replace(b"\xa0", b"\xe9 "))
    ingestor.ingest(drop(ingestor, "good.csv", RATES), "currency_rates")
    before = fingerprint(ingestor)
    entry = ingestor.ingest(drop(ingestor, "broken.csv", bad), "currency_rates")
    offset = bad.index(b"\xe9")
    assert entry.status == "rejected"
    assert f"invalid UTF-8 at byte offset {offset} (0xe9), line 3" in entry.error
    assert fingerprint(ingestor) == before
    named = drop(ingestor, "named.csv", bad)
    named.with_name("named.csv.yaml").write_text("format: {encoding: latin-1}\nschema_change: evolve\n")
    loaded = ingestor.ingest(named, "currency_rates")
    assert loaded.status == "loaded", loaded.error
    assert (
        "Pfund\u00e9 Sterling"
        in ingestor.store.read(reference_table("currency_rates")).column("name").to_pylist()
    )


def test_a_redelivered_earlier_file_rolls_a_full_table_back_and_says_so(ingestor):
    first = ingestor.ingest(drop(ingestor, "monday.csv", RATES), "currency_rates")
    ingestor.ingest(drop(ingestor, "tuesday.csv", b"currency,usd_per_unit\nJPY,0.0067\n"), "currency_rates")
    again = ingestor.ingest(drop(ingestor, "monday_again.csv", RATES), "currency_rates")
    assert again.status == "loaded"
    assert rows(ingestor) == {"EUR": 1.08, "GBP": 1.27}
    assert "redelivery of the file first loaded" in again.warnings
    assert f"(version {first.table_version})" in again.warnings
    same = ingestor.ingest(drop(ingestor, "monday_third.csv", RATES), "currency_rates")
    assert (
        same.status == "duplicate" and "identical to what reference/currency_rates holds now" in same.warnings
    )


DRIFTED = b"currency,rate_usd,source\nEUR,1.08,ECB\n"


def test_schema_drift_is_rejected_with_a_report_by_column_and_evolves_only_when_declared(ingestor):
    ingestor.ingest(
        drop(ingestor, "good.csv", b"currency,usd_per_unit,as_of\nEUR,1.08,2026-01-02\n"), "currency_rates"
    )
    folder = ingestor.zone.incoming / "currency_rates"
    (folder / "_table.yaml").write_text("mode: full\nkeys: [currency]\n")
    before = fingerprint(ingestor)
    entry = ingestor.ingest(drop(ingestor, "v2.csv", DRIFTED), "currency_rates")
    assert entry.status == "rejected"
    assert "removed: as_of" in entry.error
    assert "added: source" in entry.error
    assert "renamed?: usd_per_unit -> rate_usd" in entry.error
    assert "schema_change: evolve" in entry.error
    assert fingerprint(ingestor) == before
    (folder / "_table.yaml").write_text("mode: full\nkeys: [currency]\nschema_change: evolve\n")
    evolved = ingestor.ingest(drop(ingestor, "v2_again.csv", DRIFTED), "currency_rates")
    assert evolved.status == "loaded"
    table = ingestor.store.read(reference_table("currency_rates"))
    assert {"rate_usd", "source", "usd_per_unit"} <= set(table.column_names)


def test_a_crash_after_the_ledger_finishes_the_move_without_a_second_entry(ingestor, monkeypatch):
    path = drop(ingestor, "rates.csv", RATES)
    original = ingestor.zone.move
    monkeypatch.setattr(ingestor.zone, "move", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        ingestor.ingest(path, "currency_rates")
    monkeypatch.setattr(ingestor.zone, "move", original)
    entry = ingestor.ingest(path, "currency_rates")
    assert entry.status == "loaded"
    assert ingestor.ledger.entries().num_rows == 1
    assert len(ingestor.store.history(reference_table("currency_rates"))) == 1
    assert where_files_are(ingestor) == {"incoming": [], "archive": ["rates.csv"], "error": []}


def test_a_sidecar_overrides_mode_and_detection_for_its_file(ingestor):
    ingestor.ingest(drop(ingestor, "a.csv", RATES), "currency_rates")
    path = drop(ingestor, "b.csv", b"currency;usd_per_unit\nJPY;0,0067\n")
    path.with_name("b.csv.yaml").write_text("mode: append\n")
    entry = ingestor.ingest(path, "currency_rates")
    assert entry.mode == "append"
    assert rows(ingestor) == {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}
    assert (ingestor.zone.root / (entry.moved_to + ".yaml")).is_file()  # the sidecar travels with it


@pytest.mark.parametrize(
    "name", ["rates'; DROP TABLE x; --.csv", "rates $(rm -rf ~) `x`.csv", 'quote"d name.csv']
)
def test_file_names_with_quotes_semicolons_or_shell_characters_are_just_names(ingestor, name):
    entry = ingestor.ingest(drop(ingestor, name, RATES), "currency_rates")
    assert entry.status == "loaded"
    assert (ingestor.zone.root / entry.moved_to).name == name
    assert rows(ingestor) == {"EUR": 1.08, "GBP": 1.27}


DELIVERIES = {
    "good": RATES,
    "other": b"currency,usd_per_unit\nJPY,0.0067\n",
    "empty": b"",
    "header": b"currency,usd_per_unit\n",
    "broken": b"currency,usd_per_unit\nEUR,abc\n",
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.sampled_from(sorted(DELIVERIES)), min_size=1, max_size=6))
def test_after_any_sequence_of_drops_every_file_is_in_one_place_and_in_the_ledger(tmp_path_factory, sequence):
    zone = DropZone(tmp_path_factory.mktemp("drops") / "dropzone")
    folder = zone.incoming / "currency_rates"
    folder.mkdir(parents=True)
    (folder / "_table.yaml").write_text("mode: full\ntypes: {usd_per_unit: decimal}\n")
    ingestor = Ingestor(zone, open_store("delta", zone.root.parent / "lake"))
    for position, kind in enumerate(sequence):
        (folder / f"{position}_{kind}.csv").write_bytes(DELIVERIES[kind])
        ingestor.ingest(folder / f"{position}_{kind}.csv", "currency_rates")
    places = where_files_are(ingestor)
    assert places["incoming"] == []
    assert sorted(places["archive"] + places["error"]) == sorted(
        f"{i}_{k}.csv" for i, k in enumerate(sequence)
    )
    assert set(places["archive"]).isdisjoint(places["error"])
    ledger = {e["file"]: e["status"] for e in ingestor.ledger.entries().to_pylist()}
    assert set(ledger) == {f"{i}_{k}.csv" for i, k in enumerate(sequence)}
    assert {f for f, s in ledger.items() if s == "rejected"} == set(places["error"])
    table = reference_table("currency_rates")
    commits = len(ingestor.store.history(table)) if ingestor.store.exists(table) else 0
    assert commits == sum(s == "loaded" for s in ledger.values())  # each load one commit, none twice
