"""Load modes on a real Delta table: full with a restorable backup, append, upsert by key."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dataplatform.ingest.modes import LoadError, load, restore
from dataplatform.storage import TableName, open_store

RATES = TableName("reference", "files", "currency_rates")


def rates(*rows: tuple[str, float]) -> pa.Table:
    return pa.table({"currency": [r[0] for r in rows], "rate": [r[1] for r in rows]})


def stored(store) -> dict:
    return {r["currency"]: r["rate"] for r in store.read(RATES).to_pylist()}


@pytest.fixture
def store(tmp_path):
    return open_store("delta", tmp_path)


def test_full_reload_replaces_and_its_backup_restores_the_old_rows_exactly(store):
    first = load(store, RATES, rates(("EUR", 1.08), ("GBP", 1.27)), "full")
    assert first.backup_version is None
    second = load(store, RATES, rates(("EUR", 1.10)), "full")
    assert stored(store) == {"EUR": 1.10}
    assert second.backup_version == first.version
    restore(store, RATES, second.backup_version)
    assert stored(store) == {"EUR": 1.08, "GBP": 1.27}


def test_append_adds_rows_and_new_columns(store):
    load(store, RATES, rates(("EUR", 1.08)), "append")
    load(store, RATES, pa.table({"rate": [0.0067], "currency": ["JPY"], "source": ["ecb"]}), "append")
    rows = store.read(RATES).to_pylist()
    assert {(r["currency"], r["rate"], r.get("source")) for r in rows} == {
        ("EUR", 1.08, None),
        ("JPY", 0.0067, "ecb"),
    }


def test_upsert_replaces_rows_by_key_and_keeps_the_rest(store):
    load(store, RATES, rates(("EUR", 1.08), ("GBP", 1.27)), "full")
    load(store, RATES, rates(("GBP", 1.30), ("JPY", 0.0067)), "upsert", keys=("currency",))
    assert stored(store) == {"EUR": 1.08, "GBP": 1.30, "JPY": 0.0067}


@pytest.mark.parametrize(
    ("data", "mode", "keys", "reason"),
    [
        (rates(), "full", (), "no data rows; an empty delivery never replaces or truncates"),
        (rates(("EUR", 1.0), ("EUR", 2.0)), "upsert", ("currency",), "upsert keys repeat"),
        (rates(("EUR", 1.0)), "upsert", ("code",), "missing: code"),
        (rates(("EUR", 1.0)), "replace", (), "unknown mode 'replace'"),
        (pa.table({"currency": ["EUR"], "rate": ["high"]}), "append", (), "would change type"),
    ],
)
def test_a_refused_load_leaves_the_table_as_it_was(store, data, mode, keys, reason):
    load(store, RATES, rates(("EUR", 1.08), ("GBP", 1.27)), "full")
    version = store.history(RATES)[0]["version"]
    with pytest.raises(LoadError, match=reason):
        load(store, RATES, data, mode, keys)
    assert stored(store) == {"EUR": 1.08, "GBP": 1.27}
    assert store.history(RATES)[0]["version"] == version
