"""Personal data through the real e-commerce pipeline, its e-mail pseudonymised with a secret:
no e-mail, phone or address in clear in silver or gold, stable pseudonyms that still join, no secret in the event log,
and a platform that will not load without the secret."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import replace

import dagster as dg
import pyarrow as pa
import pytest

import dataplatform.domains.ecommerce.pipeline as ecommerce
from dataplatform.defs import build_definitions
from dataplatform.settings import SettingsError
from dataplatform.transform.pii import Pseudonymise
from dataplatform.transform.silver import Column
from platform_tests.conftest import DAY, NEXT_DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

SECRET = "integration-test-pii-secret"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PSEUDONYMISED = replace(
    ecommerce.ECOMMERCE,
    silver={
        **ecommerce.ECOMMERCE.silver,
        "customers": replace(
            ecommerce.CUSTOMERS,
            columns={**ecommerce.CUSTOMERS.columns, "email": Column("VARCHAR", "lower", pii=Pseudonymise())},
        ),
    },
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Platform]:
    """Master data twice (a second run must give the same pseudonyms), two days, the summaries."""
    root = tmp_path_factory.mktemp("pii")
    with pytest.MonkeyPatch.context() as patch, real_instance(root) as instance:
        patch.setattr(ecommerce, "ECOMMERCE", PSEUDONYMISED)
        patch.setenv("DATAPLATFORM_PII_SECRET", SECRET)
        platform = Platform(small_settings(root, pii_secret=SECRET), instance)
        plan = [("ecommerce_master", None), ("ecommerce_daily", DAY.isoformat())]
        plan += [("ecommerce_daily", NEXT_DAY.isoformat()), ("ecommerce_summaries", None)]
        for job, partition in plan:
            assert platform.run(job, partition).success, (job, partition)
        platform.first_pseudonyms = pseudonyms(platform)
        assert platform.run("ecommerce_master").success
        yield platform


def pseudonyms(platform: Platform) -> dict[int, str]:
    table = platform.read("silver/ecommerce/customers").select(["customer_id", "email"])
    return dict(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))


def keyed(email: str) -> str:
    return hmac.new(SECRET.encode(), email.encode(), hashlib.sha256).hexdigest()


def ecommerce_tables(platform: Platform) -> list[str]:
    keys = platform.defs.resolve_asset_graph().get_all_asset_keys()
    return sorted(
        "/".join(k.path) for k in keys if k.path[0] in ("silver", "gold") and k.path[1] == "ecommerce"
    )


def test_no_email_in_clear_in_any_text_column_of_silver_or_gold(loaded: Platform):
    customers = loaded.read("landing/ecommerce/customers")
    landed = customers.column("email").drop_null().to_pylist()
    assert landed and all(EMAIL.search(e) for e in landed)  # the delivery holds addresses
    in_clear = {
        v.strip() for c in ("email", "phone", "address") for v in customers.column(c).drop_null().to_pylist()
    }
    scanned = 0
    for path in ecommerce_tables(loaded):
        table = loaded.read(path)
        for field in table.schema:
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                values = table.column(field.name).drop_null().to_pylist()
                found = [v for v in values if EMAIL.search(v)]
                assert not found, f"{path}.{field.name}: {len(found)} e-mail addresses in clear"
                assert not in_clear & {v.strip() for v in values}, (
                    f"{path}.{field.name}: personal data in clear"
                )
                scanned += len(values)
    assert scanned > 1_000


def test_pseudonyms_are_keyed_stable_across_runs_and_days_and_still_join(loaded: Platform):
    landed = loaded.read("landing/ecommerce/customers").to_pylist()
    silver = pseudonyms(loaded)
    assert silver == loaded.first_pseudonyms  # the master data run again: the same pseudonyms
    for row in landed:
        if row["customer_id"] in silver and row["email"] is not None:
            assert silver[row["customer_id"]] == keyed(row["email"].strip().lower())
    # a partner's list keyed with the same secret joins to the same customers
    partner = {keyed(r["email"].strip().lower()): r["customer_id"] for r in landed[:50] if r["email"]}
    matched = {silver_id for silver_id, p in silver.items() if p in partner}
    assert matched and all(partner[silver[c]] == c for c in matched)
    # the days' orders still reach their customers (joins on the key are untouched)
    for day in (DAY, NEXT_DAY):
        orders = loaded.read("silver/ecommerce/orders", day.isoformat()).column("customer_id").to_pylist()
        assert sum(c in silver for c in orders) > 0.9 * len(orders)
    value = {r["customer_id"]: r for r in loaded.read("gold/ecommerce/customer_value").to_pylist()}
    assert set(value) == set(silver)


def test_the_secret_is_in_no_event_log_or_metadata(loaded: Platform):
    records = loaded.instance.get_run_records()
    assert records
    for record in records:
        for entry in loaded.instance.all_logs(record.dagster_run.run_id):
            assert SECRET not in repr(entry), entry.dagster_event and entry.dagster_event.event_type


def test_every_table_has_the_personal_data_check_and_it_passed(loaded: Platform):
    checks = loaded.defs.resolve_asset_graph().asset_check_keys
    personal = {"/".join(k.asset_key.path) for k in checks if k.name == "no_personal_data"}
    tables = [p for p in ecommerce_tables(loaded) if not p.endswith("_quarantine")]
    assert set(tables) <= personal
    evaluated = set()
    for record in loaded.instance.get_run_records():
        run_id = record.dagster_run.run_id
        for entry in loaded.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            data = entry.dagster_event.event_specific_data
            if data.check_name == "no_personal_data":
                assert data.passed, data.asset_key
                evaluated.add("/".join(data.asset_key.path))
    assert set(tables) <= evaluated


def test_without_the_secret_the_platform_refuses_to_load_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setattr(ecommerce, "ECOMMERCE", PSEUDONYMISED)
    monkeypatch.delenv("DATAPLATFORM_PII_SECRET", raising=False)
    with pytest.raises(
        SettingsError, match=r"DATAPLATFORM_PII_SECRET is not set.*ecommerce\.customers\.email"
    ):
        build_definitions(small_settings(tmp_path, pii_secret=None))


def test_no_email_in_a_registered_dataset_or_its_export(loaded: Platform, tmp_path):
    from dataplatform.datasets.client import DatasetClient

    client = DatasetClient(tmp_path / "data")
    for source in ("silver/ecommerce/customers", "gold/ecommerce/customer_value"):
        name = source.split("/")[-1]
        client.register_table(loaded.read(source), name, source_asset=source, id_columns=["customer_id"])
        files = [p for p in client.export(name, tmp_path / "export" / name, fmt="csv") if p.is_file()]
        assert any(p.suffix == ".csv" for p in files)
        for path in files:
            found = EMAIL.search(path.read_text(errors="replace"))
            assert found is None, f"{path.name}: an e-mail address in clear"
