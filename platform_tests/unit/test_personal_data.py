"""Personal columns masked in silver by their declared rule, and the check that finds a leak."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from dataplatform.quality.evaluate import evaluate_all
from dataplatform.quality.specs import NoPersonalData
from dataplatform.transform.pii import Drop, MissingSecret, Partial, Pseudonymise
from dataplatform.transform.silver import Column, SilverSpec, clean
from platform_tests.unit.test_silver import bronze

SECRET = "a-test-secret-of-enough-length"
SPEC = SilverSpec(
    key=("id",),
    columns={
        "id": Column("BIGINT"),
        "email": Column("VARCHAR", "lower", pii=Pseudonymise()),
        "name": Column("VARCHAR", "trim", pii=Partial(keep_start=1, keep_end=1)),
        "phone": Column("VARCHAR", pii=Drop()),
        "city": Column("VARCHAR"),
    },
    required=("id", "email"),
)


def person(i: int, **overrides) -> dict:
    delivered = {"id": str(i), "email": f"Person.{i}@Example.com ", "name": f" Name{i} ", "city": "Oslo"}
    return {**delivered, "phone": "+1 555 010 1234", **overrides}


def keyed(value: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_each_rule_masks_its_column_and_the_quarantine_too():
    rows = [person(1), person(2), person(3, id="x")]  # the third is unparseable: quarantined
    result = clean(bronze(rows), SPEC, SECRET)
    kept = {r["id"]: r for r in result.table.to_pylist()}
    assert kept[1]["email"] == keyed("person.1@example.com")  # HMAC of the cleaned value
    assert kept[1]["name"] == "N***1" and "phone" not in result.table.column_names
    assert kept[1]["city"] == "Oslo"
    (dropped,) = result.quarantine.to_pylist()
    assert dropped["_drop_reason"] == "unparseable_id" and "phone" not in dropped
    assert dropped["email"] == keyed("Person.3@Example.com ")  # as delivered, never in clear
    assert dropped["name"] == " ***** "  # " Name3 " as delivered, first and last character kept


def test_pseudonyms_are_stable_keyed_and_differ_by_secret():
    first = clean(bronze([person(1), person(2)]), SPEC, SECRET).table.column("email").to_pylist()
    again = clean(bronze([person(2, _batch_id="b2"), person(1, _batch_id="b2")]), SPEC, SECRET)
    assert sorted(first) == sorted(again.table.column("email").to_pylist())
    other = clean(bronze([person(1)]), SPEC, "another-secret-of-enough-length").table
    assert other.column("email")[0].as_py() not in first
    assert hashlib.sha256(b"person.1@example.com").hexdigest() not in first  # not a plain hash


def test_a_rule_needing_the_secret_refuses_to_run_without_it():
    with pytest.raises(MissingSecret, match="DATAPLATFORM_PII_SECRET"):
        clean(bronze([person(1)]), SPEC)


def test_partial_masking_stars_short_values_whole():
    spec = SilverSpec(
        key=("id",), columns={"id": Column("BIGINT"), "name": Column("VARCHAR", pii=Partial(2, 1))}
    )
    names = clean(bronze([{"id": "1", "name": "Al"}, {"id": "2", "name": "Alexander"}]), spec).table
    assert names.sort_by("id").column("name").to_pylist() == ["**", "Al******r"]


@pytest.mark.parametrize(
    ("value", "leaks"),
    [
        ("someone@example.com", True),
        ("write to a.b+c@mail.example.org today", True),
        ("+44 20 7946 0958", True),
        ("(555) 010-1234", True),
        ("555.010.1234", True),
        ("2026-03-10", False),  # a date: too few digits
        ("2026-03-10 12:30:00", False),
        ("SKU-000123", False),
        ("P***", False),
        ("no at sign.com", False),
        (keyed("x@y.com"), False),  # a pseudonym
    ],
)
def test_the_check_finds_an_email_or_phone_in_any_text_column_and_samples_nothing(value, leaks):
    table = pa.table({"id": [1, 2], "note": ["fine", value], "_batch_id": ["someone@example.com"] * 2})
    outcome = evaluate_all([NoPersonalData()], table)["no_personal_data"]
    assert outcome.passed is not leaks, outcome.description
    assert outcome.failing_rows == int(leaks)
    assert not outcome.sample and value not in outcome.description  # personal data stays out of metadata
    safe = evaluate_all([NoPersonalData(safe=("note",))], table)["no_personal_data"]
    assert safe.passed  # declared safe; `_` lineage columns are the platform's own


def test_silver_names_the_columns_it_scans_leaving_masked_and_safe_ones_out():
    from dataclasses import replace

    spec = replace(SPEC, safe=("city",))
    assert spec.personal_data_unchecked() == ()
    assert SPEC.personal_data_unchecked() == ("city",)
    assert spec.output_columns == ["id", "email", "name", "city"]


def test_a_short_secret_is_refused_at_load_without_showing_it(monkeypatch):
    from dataplatform.settings import SettingsError, load_settings

    monkeypatch.setenv("DATAPLATFORM_PII_SECRET", "hunter2")
    with pytest.raises(SettingsError, match=r"DATAPLATFORM_PII_SECRET: .*at least 16") as error:
        load_settings()
    assert "hunter2" not in str(error.value)
