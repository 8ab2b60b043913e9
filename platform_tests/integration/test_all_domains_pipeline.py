"""Every domain from landing to gold in one `daily` job run, as CI runs it for one partition."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from dataplatform.domains import generated
from platform_tests.conftest import DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

D1 = DAY.isoformat()  # a Tuesday: the market trades


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("all_domains")
    with real_instance(root) as instance:
        platform = Platform(small_settings(root), instance)
        for name in generated():
            assert platform.run(f"{name}_master").success, name
        result = platform.run("daily", D1)
        assert result.success
        platform.first_run = result
        summaries = [job.name for job in platform.defs.jobs if job.name.endswith("_summaries")]
        for job in [*summaries, "platform_metrics"]:
            assert platform.run(job).success, job
        yield platform


def asset_paths(platform: Platform, layer: str, domain: str) -> list[str]:
    keys = platform.defs.resolve_asset_graph().get_all_asset_keys()
    return sorted("/".join(k.path) for k in keys if k.path[0] == layer and k.path[1] == domain)


def partition_of(platform: Platform, path: str) -> str | None:
    table = platform.defs.resolve_asset_graph().get(dg.AssetKey(path.split("/")))
    return D1 if table.partitions_def is not None else None


@pytest.mark.parametrize("domain", ["market", "sensors", "weather"])
def test_each_domain_has_bronze_silver_and_gold_with_rows(loaded: Platform, domain):
    for layer in ("bronze", "silver", "gold"):
        paths = [p for p in asset_paths(loaded, layer, domain) if not p.endswith("_quarantine")]
        assert paths, f"no {layer} assets for {domain}"
        for path in paths:
            assert loaded.read(path, partition_of(loaded, path) if layer != "gold" else None).num_rows > 0, (
                path
            )


@pytest.mark.parametrize("domain", list(generated()))
def test_silver_plus_quarantine_account_for_every_bronze_row(loaded: Platform, domain):
    for path in asset_paths(loaded, "bronze", domain):
        table = path.split("/")[-1]
        partition = partition_of(loaded, path)
        bronze = loaded.read(path, partition).num_rows
        silver = loaded.read(f"silver/{domain}/{table}", partition).num_rows
        quarantine = loaded.read(f"silver/{domain}/{table}_quarantine", partition).num_rows
        assert silver + quarantine == bronze, path


def test_every_silver_and_gold_asset_was_checked_and_passed(loaded: Platform):
    evaluations = loaded.first_run.get_asset_check_evaluations()
    checked = {e.asset_key.to_user_string() for e in evaluations}
    for domain in generated():
        for layer in ("silver", "gold"):
            for path in asset_paths(loaded, layer, domain):
                if not path.endswith("_quarantine") and partition_of(loaded, path):
                    assert path in checked, path
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    errors = [
        f
        for f, e in zip(failed, [e for e in evaluations if not e.passed], strict=True)
        if e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert errors == []
    # the one expected warning: orders of customers that silver quarantined (no email)
    assert set(failed) <= {("silver/ecommerce/orders", "customer_id_references_customers")}


def test_rerunning_the_daily_job_changes_no_row_count(loaded: Platform):
    paths = [
        p
        for d in generated()
        for layer in ("landing", "bronze", "silver", "gold")
        for p in asset_paths(loaded, layer, d)
        if partition_of(loaded, p)
    ]
    before = {p: loaded.read(p, D1, _column(loaded, p)).num_rows for p in paths}
    assert loaded.run("daily", D1).success
    assert {p: loaded.read(p, D1, _column(loaded, p)).num_rows for p in paths} == before


def _column(platform: Platform, path: str) -> str:
    from dataplatform.defs.tables import PARTITION_COLUMN

    key = dg.AssetKey(path.split("/"))
    return platform.defs.resolve_asset_graph().get(key).metadata.get(PARTITION_COLUMN, "partition_date")


def test_the_defect_scorecard_of_every_silver_table_reaches_its_threshold(loaded: Platform):
    cards = {
        e.asset_key.to_user_string(): e
        for e in loaded.first_run.get_asset_check_evaluations()
        if e.check_name == "defect_scorecard"
    }
    for domain in generated():
        for path in asset_paths(loaded, "silver", domain):
            if not path.endswith("_quarantine") and partition_of(loaded, path):
                assert path in cards, path
                card = cards[path]
                assert card.passed, card.metadata["observed"].value
                assert card.metadata["clean_rows_dropped"].value == 0
                recalls = [v.value for k, v in card.metadata.items() if k.endswith("_recall")]
                assert recalls and min(recalls) >= loaded.settings.scorecard_min_recall, path


def test_pipeline_runs_collects_every_layer_of_every_domain(loaded: Platform):
    runs = loaded.read("gold/platform/pipeline_runs").to_pylist()
    seen = {(r["layer"], r["domain"]) for r in runs}
    assert {(layer, d) for d in generated() for layer in ("landing", "bronze", "silver", "gold")} <= seen
    silver_orders = [r for r in runs if r["asset"] == "silver/ecommerce/orders" and r["partition"] == D1]
    assert silver_orders, "no silver orders materialisation recorded"
    stored = loaded.read("silver/ecommerce/orders", D1).num_rows
    assert silver_orders[0]["rows_out"] == stored and silver_orders[0]["batch_id"]
    assert silver_orders[0]["rows_in"] == silver_orders[0]["rows_out"] + silver_orders[0]["rows_dropped"]


def test_sales_weather_joins_the_days_orders_with_the_weather_by_country(loaded: Platform):
    gold = loaded.read("gold/insights/sales_weather", D1, "day").to_pylist()
    orders = loaded.read("silver/ecommerce/orders", D1).select(["customer_id"])
    customers = loaded.read("silver/ecommerce/customers").select(["customer_id", "country"])
    countries = orders.join(customers, "customer_id", join_type="inner")["country"].to_pylist()
    assert gold and sum(r["orders"] for r in gold) == sum(1 for c in countries if c is not None)
    stations = {r["country"] for r in loaded.read("silver/weather/stations").to_pylist()}
    for row in gold:
        assert (row["stations"] > 0) == (row["country"] in stations), row


def test_each_run_writes_a_validation_report_linked_from_its_checks(loaded: Platform):
    from pathlib import Path

    evaluations = [e for e in loaded.first_run.get_asset_check_evaluations() if "report" in e.metadata]
    assert evaluations, "declarative checks link their run's report"
    reports = {e.metadata["report"].value for e in evaluations}
    assert len(reports) == 1  # one page per run
    page = Path(reports.pop())
    assert page.is_relative_to(loaded.settings.data_dir.resolve()) and page.exists()
    text = page.read_text()
    for e in evaluations:
        assert e.asset_key.to_user_string() in text and e.check_name in text
    assert "customer_id_references_customers" in text and "WARN" in text
