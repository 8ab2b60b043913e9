"""What the Dagster UI shows, asked through its GraphQL API over the project's workspace.yaml
(the code location runs as a separate process, as under `dagster dev`)."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from platform_tests.e2e.conftest import PROJECT

ASSETS_WITH_CHECKS = """
{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name description blocking } } } } }
"""


@pytest.fixture
def asset_nodes(user_env, monkeypatch):
    from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

    for name in [n for n in os.environ if n.startswith("DATAPLATFORM_")]:
        monkeypatch.delenv(name)
    for name, value in user_env.items():
        if name.startswith("DATAPLATFORM_"):
            monkeypatch.setenv(name, value)
    with (
        dg.instance_for_test() as instance,
        define_out_of_process_context(str(PROJECT / "workspace.yaml"), None, instance) as context,
    ):
        result = execute_dagster_graphql(context, ASSETS_WITH_CHECKS)
    assert not result.errors, result.errors
    return {
        tuple(n["assetKey"]["path"]): n["assetChecksOrError"]["checks"] for n in result.data["assetNodes"]
    }


def test_every_silver_and_gold_asset_shows_its_checks_with_descriptions(asset_nodes):
    checked = {key: checks for key, checks in asset_nodes.items() if key[0] in ("silver", "gold")}
    assert len(checked) > 30
    for key, checks in checked.items():
        names = {c["name"] for c in checks}
        assert "required_not_null" in names, key
        assert all(c["description"] for c in checks), key
        if not key[-1].endswith("_quarantine") and key != ("gold", "platform", "pipeline_runs"):
            assert "key_unique" in names, key
    orders = {c["name"]: c for c in asset_nodes[("silver", "ecommerce", "orders")]}
    assert orders["key_unique"]["blocking"] and orders["order_total_in_range"]["blocking"]
    assert not orders["order_total_distribution_drift"]["blocking"]  # WARN
    assert "defect_scorecard" in orders and "order_totals_match_items" in orders
