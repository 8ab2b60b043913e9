"""The medallion path with the lake on a real S3 server (SeaweedFS): the same assets, nothing
changed in their code, give the same tables as on local disk; gold stays in the local warehouse."""

from __future__ import annotations

import pytest

from dataplatform.storage import TableName, store_for_layer
from platform_tests.conftest import DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

TABLES = [
    f"{layer}/ecommerce/{name}"
    for layer in ("landing", "bronze", "silver")
    for name in ("customers", "products", "orders", "order_items")
] + ["gold/ecommerce/daily_sales"]


def test_a_daily_run_on_s3_gives_the_same_tables_as_on_local_disk(tmp_path, s3_lake, monkeypatch):
    counts = {}
    for where in ("local", "s3"):
        if where == "s3":
            monkeypatch.setenv("DATAPLATFORM_LAKE_URI", s3_lake)
        root = tmp_path / where
        root.mkdir()
        settings = small_settings(root)
        assert settings.lake_root == (s3_lake if where == "s3" else str(root / "data" / "lake"))
        with real_instance(root) as instance:
            platform = Platform(settings, instance)
            for job, partition in [
                ("ecommerce_master", None),
                ("ecommerce_daily", DAY.isoformat()),
                ("ecommerce_summaries", None),
            ]:
                assert platform.run(job, partition).success, f"{job} failed with the lake {where}"
            counts[where] = {path: _rows(settings, path) for path in TABLES}
        if where == "s3":
            assert not (root / "data" / "lake").exists(), "nothing of the lake is on local disk"
            silver = store_for_layer(settings, "silver")
            assert silver.location(TableName("silver", "ecommerce", "orders")).startswith(s3_lake)
    assert all(counts["local"].values()), counts["local"]
    assert counts["s3"] == counts["local"]


def _rows(settings, path: str) -> int:
    table = TableName(*path.split("/"))
    return store_for_layer(settings, table.layer).row_count(table)


@pytest.fixture(autouse=True)
def _no_lake_from_outside(monkeypatch):
    monkeypatch.delenv("DATAPLATFORM_LAKE_URI", raising=False)
