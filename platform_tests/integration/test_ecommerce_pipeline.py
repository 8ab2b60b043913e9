"""The e-commerce path through Dagster into temporary folders, as `make run` drives it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataplatform.storage import Slice, TableName, open_store
from platform_tests.conftest import DAY, NEXT_DAY, small_settings
from platform_tests.integration.conftest import Platform, real_instance

D1, D2 = DAY.isoformat(), NEXT_DAY.isoformat()
TABLES = ("customers", "products", "orders", "order_items")


def run_all(platform: Platform, partitions=(D1, D2)) -> Platform:
    plan = [("ecommerce_master", None), *(("ecommerce_daily", p) for p in partitions)]
    for job, partition in [*plan, ("ecommerce_summaries", None)]:
        result = platform.run(job, partition)
        assert result.success, f"{job} {partition} failed"
    return platform


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Platform]:
    """Master data, two days and the summaries, shared by the tests that only read (or re-run,
    which must change nothing)."""
    root = tmp_path_factory.mktemp("loaded")
    with real_instance(root) as instance:
        yield run_all(Platform(small_settings(root), instance))


def test_every_asset_is_materialised_in_its_configured_backend(loaded: Platform):
    data = loaded.settings.data_dir
    assert (data / "lake/parquet/landing/ecommerce/orders/partition_date=2026-03-10/part-0.parquet").exists()
    assert (data / "lake/delta/bronze/ecommerce/orders/_delta_log").is_dir()
    assert (data / "lake/delta/silver/ecommerce/customers/_delta_log").is_dir()
    assert open_store("duckdb", data).exists(TableName("gold", "ecommerce", "daily_sales"))
    for key in loaded.defs.resolve_asset_graph().get_all_asset_keys():
        if key.path[1] != "ecommerce":
            continue
        table = loaded.read("/".join(key.path))  # raises if the asset's table does not exist
        if not key.path[-1].endswith("quarantine"):  # a clean delivery may quarantine nothing
            assert table.num_rows > 0, key


def test_silver_plus_quarantine_account_for_every_bronze_row(loaded: Platform):
    for table in TABLES:
        partition = D1 if table in ("orders", "order_items") else None
        bronze = loaded.read(f"bronze/ecommerce/{table}", partition)
        silver = loaded.read(f"silver/ecommerce/{table}", partition)
        quarantine = loaded.read(f"silver/ecommerce/{table}_quarantine", partition)
        assert silver.num_rows + quarantine.num_rows == bronze.num_rows, table
        assert silver.num_rows > 0.9 * bronze.num_rows


def test_gold_daily_sales_adds_up_to_silver_orders(loaded: Platform):
    orders = loaded.read("silver/ecommerce/orders", D1)
    sales = loaded.read("gold/ecommerce/daily_sales", D1, column="order_date")
    assert pc.sum(sales["orders"]).as_py() == orders.num_rows
    assert pc.sum(sales["revenue"]).as_py() == pc.sum(orders["order_total"]).as_py()
    assert set(sales["order_date"].to_pylist()) == {DAY}


def test_summaries_cover_every_silver_customer_and_product(loaded: Platform):
    value = loaded.read("gold/ecommerce/customer_value")
    customers = loaded.read("silver/ecommerce/customers")
    assert sorted(value["customer_id"].to_pylist()) == sorted(customers["customer_id"].to_pylist())
    buyers = pc.count_distinct(loaded.read("silver/ecommerce/orders")["customer_id"]).as_py()
    assert 0 < pc.sum(pc.greater(value["orders"], 0)).as_py() <= buyers
    performance = loaded.read("gold/ecommerce/product_performance")
    assert performance.num_rows == loaded.read("silver/ecommerce/products").num_rows


def test_materialisations_record_rows_schema_preview_location_and_metrics(loaded: Platform):
    event = loaded.instance.get_latest_materialization_event(dg.AssetKey(["silver", "ecommerce", "orders"]))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value > 0
    names = [c.name for c in metadata["dagster/column_schema"].schema.columns]
    assert names[:3] == ["order_id", "customer_id", "order_ts"] and "_quality_flags" in names
    preview = metadata["preview"].value.splitlines()
    assert "order_id" in preview[0] and len(preview) == 2 + 5  # header, rule, five rows
    assert "lake/delta/silver/ecommerce/orders" in metadata["storage_location"].value
    for metric in ("rows_in", "rows_out", "rows_dropped", "duration_s", "rows_per_s"):
        assert metric in metadata, metric
    assert metadata["rows_in"].value - metadata["rows_dropped"].value == metadata["rows_out"].value


def test_every_check_ran_and_passed_per_partition(loaded: Platform):
    result = loaded.run("ecommerce_daily", D1)
    evaluations = result.get_asset_check_evaluations()
    checked = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    assert ("silver/ecommerce/orders", "order_totals_match_items") in checked
    assert ("gold/ecommerce/daily_sales", "key_unique") in checked
    failed = {e.check_name for e in evaluations if not e.passed}
    assert failed <= {"customer_id_references_customers"}  # a warning: some customers are quarantined
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations if not e.passed)
    assert {e.metadata["partition"].value for e in evaluations} == {D1}


def test_great_expectations_judges_the_stored_day_as_the_sql_engine_does(loaded: Platform):
    """The engine setting changes how silver's checks read the stored day (into Arrow for GE,
    into DuckDB for SQL), not what they find; kinds GE has no expectation for stay SQL."""

    def outcomes(platform: Platform) -> dict:
        result = platform.run("ecommerce_daily", D1)
        assert result.success
        return {
            (e.asset_key.to_user_string(), e.check_name): (
                e.passed,
                e.metadata["total_rows"].value,
                e.metadata["engine"].value,
            )
            for e in result.get_asset_check_evaluations()
            if e.asset_key.path[0] == "silver" and "engine" in e.metadata
        }

    by_sql = outcomes(loaded)
    settings = loaded.settings.model_copy(update={"quality_engine": "great_expectations"})
    by_ge = outcomes(Platform(settings, loaded.instance))
    assert {k: v[:2] for k, v in by_ge.items()} == {k: v[:2] for k, v in by_sql.items()}
    assert {engine for _, _, engine in by_sql.values()} == {"sql"}
    assert {check for (_, check), (_, _, engine) in by_ge.items() if engine == "sql"} == {
        "customer_id_references_customers",
        "product_id_references_products",
        "row_count_anomaly",
        "order_total_distribution_drift",
        "order_ts_freshness",
        "schema",
        "no_personal_data",  # GE has no expectation that samples nothing
    }
    in_ge = {check for (_, check), (_, _, engine) in by_ge.items() if engine == "great_expectations"}
    assert in_ge >= {"key_unique", "required_not_null", "quantity_in_range", "currency_accepted_values"}


def test_the_row_count_check_compares_a_day_with_the_stored_days_before_it(loaded: Platform):
    result = loaded.run("ecommerce_daily", D2)
    check = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "silver/ecommerce/orders" and e.check_name == "row_count_anomaly"
    )
    day_before = loaded.read("silver/ecommerce/orders", D1).num_rows
    rows = loaded.read("silver/ecommerce/orders", D2).num_rows
    assert check.metadata["observed"].value == (
        f"{rows} rows against a mean of {day_before:.1f} over 1 earlier partitions"
    )


def test_rerunning_a_partition_replaces_it_and_leaves_others_untouched(loaded: Platform):
    def snapshot():
        return {
            path: loaded.read(path, partition, column).num_rows
            for path, column in [
                ("bronze/ecommerce/orders", "partition_date"),
                ("silver/ecommerce/order_items", "partition_date"),
                ("gold/ecommerce/daily_sales", "order_date"),
            ]
            for partition in (D1, D2)
        }

    before = snapshot()
    other_day = loaded.read("silver/ecommerce/orders", D2)
    assert loaded.run("ecommerce_daily", D1).success
    assert loaded.run("ecommerce_master").success
    assert snapshot() == before
    assert loaded.read("silver/ecommerce/orders", D2).equals(other_day)
    assert (
        loaded.read("bronze/ecommerce/customers").num_rows
        == loaded.read("landing/ecommerce/customers").num_rows
    )


@pytest.mark.parametrize(
    ("job", "table", "partition"),
    [("ecommerce_master", "customers", None), ("ecommerce_daily", "orders", D1)],
)
def test_a_changed_delivery_is_appended_to_bronze_history(tmp_path, instance, job, table, partition):
    first = Platform(small_settings(tmp_path), instance)
    assert first.run(job, partition).success
    delivered = first.read(f"landing/ecommerce/{table}", partition).num_rows

    reseeded = Platform(small_settings(tmp_path, seed=8), instance)
    assert reseeded.run(job, partition).success
    bronze = reseeded.read(f"bronze/ecommerce/{table}", partition)
    assert pc.count_distinct(bronze["_batch_id"]).as_py() == 2
    assert bronze.num_rows == delivered + reseeded.read(f"landing/ecommerce/{table}", partition).num_rows
    silver = reseeded.read(f"silver/ecommerce/{table}", partition)
    key = f"{table.removesuffix('s')}_id"
    assert pc.count_distinct(silver[key]).as_py() == silver.num_rows  # latest per key only
    assert set(silver["_batch_id"].to_pylist()) <= set(bronze["_batch_id"].to_pylist())
    reasons = reseeded.read(f"silver/ecommerce/{table}_quarantine", partition)["_drop_reason"].to_pylist()
    assert reasons.count("superseded") >= 0.8 * silver.num_rows  # the first delivery, replaced


def test_a_failing_blocking_check_stops_gold(platform: Platform):
    loaded = run_all(platform, partitions=(D1,))
    revenue_before = pc.sum(loaded.read("gold/ecommerce/daily_sales", D1, "order_date")["revenue"]).as_py()

    # A broken delivery: every order total doubled, so totals no longer match their items.
    landing_store = open_store("parquet", loaded.settings.data_dir)
    orders_table = TableName("landing", "ecommerce", "orders")
    orders = landing_store.read(orders_table, where=Slice("partition_date", (DAY,)))
    doubled = orders.set_column(
        orders.schema.get_field_index("order_total"), "order_total", pc.multiply(orders["order_total"], 2)
    )
    landing_store.write(orders_table, doubled, Slice("partition_date", (DAY,)))

    downstream = [
        dg.AssetKey([layer, "ecommerce", t])
        for layer in ("bronze", "silver")
        for t in ("orders", "order_items")
    ]
    downstream += [dg.AssetKey(["silver", "ecommerce", f"{t}_quarantine"]) for t in ("orders", "order_items")]
    downstream.append(dg.AssetKey(["gold", "ecommerce", "daily_sales"]))
    result = loaded.run("ecommerce_daily", D1, asset_selection=downstream)

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed if e.severity == dg.AssetCheckSeverity.ERROR] == [
        "order_totals_match_items"
    ]
    assert (
        next(e for e in failed if e.check_name == "order_totals_match_items").metadata["failing_rows"].value
        > 0
    )
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["gold", "ecommerce", "daily_sales"]) not in materialised
    gold = loaded.read("gold/ecommerce/daily_sales", D1, "order_date")
    assert pc.sum(gold["revenue"]).as_py() == revenue_before
    assert isinstance(revenue_before, Decimal)


def test_partition_columns_are_dates_so_delta_replaces_only_one_partition(loaded: Platform):
    silver = loaded.read("silver/ecommerce/orders")
    assert silver.schema.field("partition_date").type == pa.date32()
    assert set(silver["partition_date"].to_pylist()) == {DAY, NEXT_DAY}


def test_automation_waits_for_upstream_blocking_checks(platform: Platform):
    """Declarative automation would rebuild gold once silver changes, but not while a blocking
    check of silver has failed; once a good delivery passes them, it does."""
    from datetime import UTC, datetime, time

    loaded = run_all(platform, partitions=(D1,))
    gold = dg.AssetKey(["gold", "ecommerce", "daily_sales"])
    at = datetime.combine(NEXT_DAY, time(2), UTC)  # D1 is the latest complete day
    baseline = dg.evaluate_automation_conditions(
        defs=loaded.defs, instance=loaded.instance, evaluation_time=at
    )

    landing_store = open_store("parquet", loaded.settings.data_dir)
    orders_table = TableName("landing", "ecommerce", "orders")
    good = landing_store.read(orders_table, where=Slice("partition_date", (DAY,)))
    silver_path = [
        dg.AssetKey([layer, "ecommerce", t])
        for layer in ("bronze", "silver")
        for t in ("orders", "order_items")
    ] + [dg.AssetKey(["silver", "ecommerce", f"{t}_quarantine"]) for t in ("orders", "order_items")]

    def deliver(orders: pa.Table, after):
        landing_store.write(orders_table, orders, Slice("partition_date", (DAY,)))
        loaded.run("ecommerce_daily", D1, asset_selection=silver_path)
        result = dg.evaluate_automation_conditions(
            defs=loaded.defs, instance=loaded.instance, evaluation_time=at, cursor=after.cursor
        )
        return result, result.get_requested_partitions(gold)

    broken = good.set_column(
        good.schema.get_field_index("order_total"), "order_total", pc.multiply(good["order_total"], 2)
    )
    after_broken, requested = deliver(broken, baseline)
    assert requested == set()
    _, requested = deliver(good, after_broken)
    assert requested == {D1}
