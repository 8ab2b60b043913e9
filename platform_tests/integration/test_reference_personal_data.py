"""Personal columns of a drop-folder table: masked before the table is stored (real files, real
Delta), pseudonyms equal to silver's for the same value and secret, a wrong mark or a missing
secret refused without losing the file, and the `no_personal_data` check on reference tables."""

from __future__ import annotations

import re
import shutil

import dagster as dg
import pyarrow as pa
import pytest

from dataplatform.defs import build_definitions
from dataplatform.defs.reference import table_checks
from dataplatform.ingest.dropzone import DropZone
from dataplatform.ingest.service import Ingestor, reference_table, rejects_table
from dataplatform.ingest.tables import ConfigError, TableConfig
from dataplatform.quality.evaluate import evaluate_all
from dataplatform.settings import EXAMPLES, SettingsError
from dataplatform.storage import open_store
from dataplatform.transform.pii import MissingSecret, Pseudonymise
from dataplatform.transform.silver import Column, SilverSpec, clean
from platform_tests.conftest import small_settings
from platform_tests.integration.conftest import Platform
from platform_tests.unit.test_silver import bronze

SECRET = "reference-test-pii-secret"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PARTNERS_YAML = """\
mode: upsert
keys: [partner_id]
required: [partner_id]
personal:
  email: pseudonymise
  contact: partial
  phone: {partial: {keep_start: 0, keep_end: 4}}
  address: drop
"""
PARTNERS = (
    b"partner_id,email,contact,phone,address,city\n"
    b"1,ana@example.com,Ana Lima,0612345678,1 Rua Augusta,Lisbon\n"
    b"2,bo@example.org,Bo Berg,+46 70 123 45 67,Storgatan 2,Stockholm\n"
)


def ingestor_for(root, yaml: str = PARTNERS_YAML, secret: str | None = SECRET) -> Ingestor:
    zone = DropZone(root / "dropzone")
    declare(zone.root, yaml)
    return Ingestor(zone, open_store("delta", root / "lake"), pii_secret=secret)


def declare(dropzone, yaml: str, table: str = "partners"):
    """`incoming/<table>/_table.yaml` under the drop folder `dropzone`."""
    folder = dropzone / "incoming" / table
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_table.yaml").write_text(yaml)
    return folder


def drop(ingestor: Ingestor, name: str, data: bytes):
    path = ingestor.zone.incoming / "partners" / name
    path.write_bytes(data)
    return path


def emails_in_clear(table: pa.Table) -> list[str]:
    """Every value of every string column holding an e-mail address."""
    return [
        value
        for field in table.schema
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        for value in table.column(field.name).to_pylist()
        if value is not None and EMAIL.search(value)
    ]


def silver_pseudonym(value: str, secret: str = SECRET) -> str:
    """What silver writes for `value` in a column declared `Pseudonymise()`."""
    spec = SilverSpec(
        key=("id",), columns={"id": Column("BIGINT"), "email": Column("VARCHAR", pii=Pseudonymise())}
    )
    return clean(bronze([{"id": "1", "email": value}]), spec, secret).table.column("email")[0].as_py()


def test_marked_columns_never_land_in_clear_and_pseudonyms_match_silvers(tmp_path):
    ingestor = ingestor_for(tmp_path)
    entry = ingestor.ingest(drop(ingestor, "partners.csv", PARTNERS), "partners")
    assert entry.status == "loaded", entry.error
    stored = ingestor.store.read(reference_table("partners"))
    assert stored.column_names == ["partner_id", "email", "contact", "phone", "city"]  # address dropped
    assert emails_in_clear(stored) == []
    rows = {r["partner_id"]: r for r in stored.to_pylist()}
    assert rows[1]["email"] == silver_pseudonym("ana@example.com")  # joins with silver match
    assert rows[1]["contact"] == "A*******"
    assert rows[1]["phone"] == "******5678"  # read as text: the leading zero kept
    assert rows[2]["phone"] == "************5 67"
    assert rows[1]["city"] == "Lisbon"
    # a later delivery (upsert) gives the same value the same pseudonym
    again = b"partner_id,email,contact,phone,address,city\n3,ana@example.com,Ana,0600000000,x,Porto\n"
    assert ingestor.ingest(drop(ingestor, "more.csv", again), "partners").status == "loaded"
    rows = {r["partner_id"]: r for r in ingestor.store.read(reference_table("partners")).to_pylist()}
    assert rows[3]["email"] == rows[1]["email"] and set(rows) == {1, 2, 3}


def test_quarantined_rows_of_a_personal_table_keep_no_raw_text(tmp_path):
    ingestor = ingestor_for(tmp_path, PARTNERS_YAML + "bad_rows: quarantine\n")
    ragged = PARTNERS + b"4,eve@example.net,Eve,0611111111,Street 4,Oslo,extra\n"
    assert ingestor.ingest(drop(ingestor, "partners.csv", ragged), "partners").status == "loaded"
    rejects = ingestor.store.read(rejects_table("partners"))
    assert rejects.num_rows == 1 and rejects.column("raw").to_pylist() == [None]
    assert emails_in_clear(rejects) == [] and "eve@" not in str(ingestor.ledger.entries().to_pylist())


def test_a_mark_naming_a_column_the_file_lacks_is_refused_and_loses_nothing(tmp_path):
    ingestor = ingestor_for(tmp_path)
    assert ingestor.ingest(drop(ingestor, "partners.csv", PARTNERS), "partners").status == "loaded"
    before = ingestor.store.history(reference_table("partners"))[0]["version"]
    (ingestor.zone.incoming / "partners" / "_table.yaml").write_text(PARTNERS_YAML + "  e_mail: drop\n")
    later = PARTNERS.replace(b"Lisbon", b"Faro")
    entry = ingestor.ingest(drop(ingestor, "later.csv", later), "partners")
    assert entry.status == "rejected"
    assert entry.error == (
        "reference/partners: personal column e_mail not in the data (its columns: partner_id, email, "
        "contact, phone, address, city); fix the mark or the data"
    )
    assert ingestor.store.history(reference_table("partners"))[0]["version"] == before  # table unchanged
    kept = ingestor.zone.root / entry.moved_to
    assert kept.read_bytes() == later  # moved to error/ whole, with its reason beside it
    assert "e_mail" in kept.with_name(kept.name + ".error.json").read_text()
    statuses = [(e["file"], e["status"]) for e in ingestor.ledger.of_table("partners")]
    assert statuses == [("partners.csv", "loaded"), ("later.csv", "rejected")]


def test_a_pseudonymise_mark_without_the_secret_fails_naming_it_and_the_file_waits(tmp_path):
    ingestor = ingestor_for(tmp_path, secret=None)
    path = drop(ingestor, "partners.csv", PARTNERS)
    with pytest.raises(MissingSecret, match=r"DATAPLATFORM_PII_SECRET is not set .*partners.*email"):
        ingestor.ingest(path, "partners")
    assert path.read_bytes() == PARTNERS  # still in incoming/, taken again once the secret is set
    assert not ingestor.store.exists(reference_table("partners"))
    assert [e["status"] for e in ingestor.ledger.of_table("partners")] == ["failed"]
    keyed = ingestor_for(tmp_path, secret=SECRET)
    assert keyed.ingest(path, "partners").status == "loaded"


@pytest.mark.parametrize(
    ("personal", "error"),
    [
        ("personal: {email: hash}", r"'hash' is not a rule; use pseudonymise, partial, drop"),
        ("personal: {email: {partial: {keep_start: -1}}}", "is not a rule"),
        ("personal: [email]", "personal must map column names to rules"),
        ("personal: {email: drop}\ntypes: {email: integer}", r"read as text; remove \['email'\] from types"),
        ("keys: [email]\npersonal: {email: drop}", "cannot be dropped; pseudonymise it instead"),
    ],
)
def test_a_bad_mark_in_the_yaml_is_a_config_error_naming_the_file(tmp_path, personal, error):
    (tmp_path / "_table.yaml").write_text(f"mode: full\n{personal}\n")
    with pytest.raises(ConfigError, match=error) as raised:
        TableConfig.of_folder(tmp_path)
    assert str(raised.value).startswith("_table.yaml: ")


def test_a_changed_mark_is_a_new_delivery_of_the_same_bytes(tmp_path):
    (tmp_path / "_table.yaml").write_text("personal: {email: pseudonymise}\n")
    pseudonymise = TableConfig.of_folder(tmp_path).fingerprint()
    (tmp_path / "_table.yaml").write_text("personal: {email: drop}\n")
    assert TableConfig.of_folder(tmp_path).fingerprint() != pseudonymise


def test_the_check_fails_on_an_email_or_phone_in_a_column_not_declared_safe(tmp_path):
    table = pa.table({"code": ["a", "b"], "support": ["help@example.com", "+44 20 7946 0958"]})
    config = TableConfig("partners")
    outcome = evaluate_all(table_checks(config), table)["no_personal_data"]
    assert not outcome.passed and outcome.failing_rows == 2
    safe = TableConfig.of_folder(declare(tmp_path, "safe: [support]\n"))
    assert evaluate_all(table_checks(safe), table)["no_personal_data"].passed


def test_the_platform_refuses_to_load_without_the_secret_a_reference_table_needs(tmp_path):
    settings = small_settings(tmp_path)
    declare(settings.dropzone, PARTNERS_YAML)
    with pytest.raises(
        SettingsError, match=r"DATAPLATFORM_PII_SECRET is not set .*reference/partners\.email"
    ):
        build_definitions(settings)


def test_a_reference_run_masks_with_the_secret_from_its_envvar_and_checks_the_table(
    tmp_path, instance, monkeypatch
):
    monkeypatch.setenv("DATAPLATFORM_PII_SECRET", SECRET)
    settings = small_settings(tmp_path, pii_secret=SECRET)
    (declare(settings.dropzone, PARTNERS_YAML) / "partners.csv").write_bytes(PARTNERS)
    shutil.copytree(EXAMPLES / "currency_rates", settings.dropzone / "incoming" / "currency_rates")
    platform = Platform(settings, instance)
    result = platform.defs.resolve_job_def("reference").execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey(["reference", "partners"])],
    )
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"key_unique": True, "required_not_null": True, "no_personal_data": True}
    stored = platform.read("reference/files/partners")
    assert emails_in_clear(stored) == []
    assert stored.column("email")[0].as_py() in {
        silver_pseudonym("ana@example.com"),
        silver_pseudonym("bo@example.org"),
    }
    events = str([r.dagster_event for r in instance.all_logs(result.run_id)])
    assert SECRET not in events and "ana@example.com" not in events
