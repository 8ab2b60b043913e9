"""The e-commerce path with its layers on each backend, and the PostgreSQL profile."""

from __future__ import annotations

import dagster as dg
import pyarrow.compute as pc
import pytest
from sqlalchemy.engine import make_url

from dataplatform.settings import LAYERS, STORAGE_BACKENDS, LayerStorage, load_settings
from dataplatform.storage import TableName, open_store
from platform_tests.conftest import DAY, small_settings
from platform_tests.integration.conftest import Platform

D1 = DAY.isoformat()


@pytest.fixture(params=list(STORAGE_BACKENDS))
def every_layer_on(request, monkeypatch):
    """Settings with landing, bronze, silver and gold all on one backend."""
    backend = request.param
    url = None
    if backend == "postgres":
        url = request.getfixturevalue("postgres_database")
        monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", url)
    return backend, url


def test_the_path_runs_with_every_layer_on_each_backend(every_layer_on, tmp_path, instance):
    backend, url = every_layer_on
    storage = LayerStorage(**dict.fromkeys(LAYERS, backend))
    platform = Platform(small_settings(tmp_path, storage=storage, postgres_url=url), instance)
    for job, partition in [
        ("ecommerce_master", None),
        ("ecommerce_daily", D1),
        ("ecommerce_summaries", None),
    ]:
        assert platform.run(job, partition).success, f"{job} on {backend}"
    orders = platform.read("silver/ecommerce/orders", D1)
    sales = platform.read("gold/ecommerce/daily_sales", D1, "order_date")
    assert orders.num_rows > 300
    assert pc.sum(sales["revenue"]).as_py() == pc.sum(orders["order_total"]).as_py()
    assert platform.read("gold/ecommerce/customer_value").num_rows > 0

    assert platform.run("ecommerce_daily", D1).success  # a re-run replaces, never duplicates
    assert platform.read("silver/ecommerce/orders", D1).num_rows == orders.num_rows


def test_postgres_profile_moves_silver_and_gold_and_keeps_the_url_secret(
    postgres_database, tmp_path, instance, monkeypatch
):
    # trust authentication accepts any password: this one must never show up anywhere
    url = make_url(postgres_database).set(password="s3cret-token").render_as_string(hide_password=False)
    monkeypatch.setenv("DATAPLATFORM_PROFILE", "postgres")
    monkeypatch.setenv("DATAPLATFORM_POSTGRES_URL", url)
    monkeypatch.setenv("DATAPLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATAPLATFORM_ECOMMERCE__ORDERS_PER_DAY", "300")
    monkeypatch.setenv("DATAPLATFORM_START_DATE", "2026-01-01")
    settings = load_settings()
    assert [settings.layer_backend(layer) for layer in LAYERS] == ["parquet", "delta", "postgres", "postgres"]

    platform = Platform(settings, instance)
    results = [
        platform.run(job, partition)
        for job, partition in [("ecommerce_master", None), ("ecommerce_daily", D1)]
    ]
    assert all(r.success for r in results)

    postgres = open_store("postgres", "", url)
    assert postgres.exists(TableName("silver", "ecommerce", "orders"))
    assert postgres.exists(TableName("gold", "ecommerce", "daily_sales"))
    assert not open_store("duckdb", settings.data_dir).exists(TableName("gold", "ecommerce", "daily_sales"))
    assert open_store("parquet", settings.data_dir).exists(TableName("landing", "ecommerce", "orders"))

    for result in results:
        for record in instance.all_logs(result.run_id):
            assert "s3cret-token" not in str(record), record
    event = instance.get_latest_materialization_event(dg.AssetKey(["silver", "ecommerce", "orders"]))
    location = event.asset_materialization.metadata["storage_location"].value
    assert location.startswith("postgresql://127.0.0.1:5432/") and "s3cret" not in location
