"""The reference corpus: real-world-like delivered files, each taken through the real Ingestor
into a real Delta store, with the outcome a person expects of it written beside it.

Each folder of `platform_tests/data/reference_corpus/` is one case, and its name is the table
it is delivered to. It holds the delivered file, optionally `_table.yaml` (`mode: full` when
absent), a sidecar `<file>.yaml`, a `before/<file>` delivered and loaded first, and
`expect.yaml`:

    description: what real-world file this imitates and what it tests
    file: airports.csv
    status: loaded                    # or rejected
    rows: 42                          # the table's row count afterwards (0: no table)
    rows_loaded: 0                    # the ledger's rows_loaded
    columns: [iata, name, country]    # safe names, in order
    cells:                            # spot checks; rows are found by `match`, never by position
      - match: {iata: WDH}
        expect: {country: "NA"}
    error: ["line 7", "3 fields"]     # what the ledger's error must say (rejected)
    warnings: ["quarantined", 3]      # what the ledger's warnings must say
    bad_rows: 1                       # rows in <table>_rejects (quarantine)
    rejects:                          # spot checks of <table>_rejects, found by line
      - {line: 9, raw: "AQ\\t-7824+10654\\tAntarctica/Vostok"}
    unchanged: true                   # with before/: the table exactly as `before/` left it

In `error` and `warnings` a string must occur as it is, a number as a whole number (3 is
found in "3 rows" and "lines 3, 9", not in "13"): counts, line numbers and byte offsets are
checked without assuming the sentence around them.

Values are compared with their types: an int matches only an integer, a float only a decimal,
a date only a date, a string only text, so `"007"` never matches 7.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from dataplatform.ingest.dropzone import TABLE_NAME, DropZone
from dataplatform.ingest.service import Ingestor, reference_table
from dataplatform.storage import open_store

CORPUS = Path(__file__).resolve().parents[1] / "data" / "reference_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
KEYS = {
    "description", "file", "status", "rows", "rows_loaded", "columns", "cells", "error",
    "warnings", "bad_rows", "rejects", "unchanged",
}  # fmt: skip


def test_the_corpus_is_large_and_every_case_is_a_table_folder_with_its_file_and_expectations():
    assert len(CASES) >= 35
    for case in CASES:
        folder = CORPUS / case
        assert TABLE_NAME.fullmatch(case), f"{case} is not a table name"
        expect = yaml.safe_load((folder / "expect.yaml").read_text(encoding="utf-8"))
        name = expect["file"]
        allowed = {"expect.yaml", "_table.yaml", "before", name, f"{name}.yaml"}
        assert {p.name for p in folder.iterdir()} <= allowed, f"{case}: unexpected files"
        assert (folder / name).is_file(), f"{case}: {name} is missing"
        if (folder / "before").is_dir():
            assert [p.name for p in (folder / "before").iterdir()] == [name], (
                f"{case}: before/ holds {name} only"
            )


@pytest.mark.parametrize("case", CASES)
def test_reference_file(case, tmp_path):
    folder = CORPUS / case
    expect = yaml.safe_load((folder / "expect.yaml").read_text(encoding="utf-8"))
    assert set(expect) <= KEYS, f"unknown keys in expect.yaml: {sorted(set(expect) - KEYS)}"
    assert expect["description"] and expect["status"] in ("loaded", "rejected")
    name = expect["file"]
    ingestor = Ingestor(DropZone(tmp_path / "dropzone"), open_store("delta", tmp_path / "lake"))
    incoming = ingestor.zone.incoming / case
    incoming.mkdir(parents=True)
    if (folder / "_table.yaml").is_file():
        shutil.copyfile(folder / "_table.yaml", incoming / "_table.yaml")
    else:
        (incoming / "_table.yaml").write_text("mode: full\n")
    table = reference_table(case)

    before = None
    if (folder / "before").is_dir():
        shutil.copyfile(folder / "before" / name, incoming / name)
        first = ingestor.ingest(incoming / name, case)
        assert first.status == "loaded", f"before/ must load: {first.error}"
        before = _snapshot(ingestor, table)

    shutil.copyfile(folder / name, incoming / name)
    sidecar = folder / f"{name}.yaml"
    if sidecar.is_file():
        shutil.copyfile(sidecar, incoming / sidecar.name)
    returned = ingestor.ingest(incoming / name, case)
    entry = _ledger_row(ingestor, returned.content_hash, case)

    assert entry["status"] == expect["status"], f"error: {entry['error']}"
    assert not (incoming / name).exists(), "the delivered file is still in incoming/"
    moved = ingestor.zone.root / entry["moved_to"]
    if expect["status"] == "rejected":
        assert moved == ingestor.zone.error / case / name and moved.is_file()
        assert moved.with_name(name + ".error.json").is_file()
        if before is None:
            assert not ingestor.store.exists(table), "a rejected file created its table"
    else:
        assert moved.is_relative_to(ingestor.zone.archive / case) and moved.is_file()

    exists = ingestor.store.exists(table)
    rows = ingestor.store.read(table).to_pylist() if exists else []
    if "rows" in expect:
        assert len(rows) == expect["rows"], f"{len(rows)} rows, the first: {rows[:2]}"
    if "columns" in expect:
        assert exists and ingestor.store.schema(table).names == expect["columns"]
    for check in expect.get("cells", []):
        _check_cells(rows, check["match"], check["expect"])

    if "bad_rows" in expect or "rejects" in expect:
        rejects_table = reference_table(f"{case}_rejects")
        assert ingestor.store.exists(rejects_table), f"no table {case}_rejects"
        assert {"line", "raw", "reason"} <= set(ingestor.store.schema(rejects_table).names)
        rejects = ingestor.store.read(rejects_table).to_pylist()
        if "bad_rows" in expect:
            assert len(rejects) == expect["bad_rows"], [r.get("line") for r in rejects]
        for spot in expect.get("rejects", []):
            found = [r for r in rejects if r["line"] == spot["line"]]
            assert len(found) == 1, f"line {spot['line']} not among {[r['line'] for r in rejects]}"
            if "raw" in spot:
                assert found[0]["raw"].rstrip("\r\n") == spot["raw"]

    if expect.get("unchanged"):
        assert before is not None, "unchanged needs before/"
        assert _snapshot(ingestor, table) == before

    # what the ledger says, once the table is known right
    for part in expect.get("error", []):
        assert _says(entry["error"], part), f"{part!r} not in the error: {entry['error']!r}"
    if "warnings" in expect:
        assert "warnings" in entry, "the ledger has no warnings column"
        for part in expect["warnings"]:
            assert _says(entry["warnings"], part), f"{part!r} not in the warnings: {entry['warnings']!r}"
    if "rows_loaded" in expect:
        assert entry["rows_loaded"] == expect["rows_loaded"]


def _snapshot(ingestor: Ingestor, table) -> tuple[int, int, list]:
    version = ingestor.store.history(table)[0]["version"]
    rows = ingestor.store.read(table).to_pylist()
    return version, len(rows), sorted((sorted(r.items(), key=str) for r in rows), key=repr)


def _ledger_row(ingestor: Ingestor, content_hash: str, table: str) -> dict:
    mine = [
        e
        for e in ingestor.ledger.entries().to_pylist()
        if e["content_hash"] == content_hash and e["table"] == table
    ]
    assert mine, "the file is not in the ledger"
    return max(mine, key=lambda e: e["processed_at"])


def _says(text: str | None, part: str | int) -> bool:
    """Whether `text` holds `part`: a string as it is, a number as a whole number."""
    if isinstance(part, int):
        return re.search(rf"(?<![0-9]){part}(?![0-9])", text or "") is not None
    return part in (text or "")


def _check_cells(rows: list[dict], match: dict, expect: dict) -> None:
    columns = set(rows[0]) if rows else set()
    unknown = sorted((set(match) | set(expect)) - columns)
    assert not unknown, f"columns {unknown} are not in the table's {sorted(columns)}"
    found = [r for r in rows if all(_same(r[c], v) for c, v in match.items())]
    assert len(found) == 1, f"{len(found)} rows match {match}"
    got = {c: found[0][c] for c in expect}
    assert all(_same(got[c], v) for c, v in expect.items()), f"{match}: got {got!r}, expected {expect!r}"


def _same(actual: object, expected: object) -> bool:
    """Equal in value and in kind: text, integer, decimal, boolean, date, timestamp or null."""
    if expected is None or isinstance(expected, str):
        return actual == expected and type(actual) is type(expected)
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if isinstance(expected, float):
        return isinstance(actual, float | Decimal) and math.isclose(float(actual), expected, rel_tol=1e-9)
    if isinstance(expected, datetime):
        return isinstance(actual, datetime) and _utc(actual) == _utc(expected)
    if isinstance(expected, date):
        return isinstance(actual, date) and not isinstance(actual, datetime) and actual == expected
    raise TypeError(f"expect.yaml holds a value of unknown kind: {expected!r}")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
