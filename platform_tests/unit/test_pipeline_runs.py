"""gold/platform/pipeline_runs from hand-made materialisation events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dataplatform.transform.metrics import (
    FinishedRun,
    Materialisation,
    StepFailure,
    job_success,
    pipeline_runs,
)

T0 = datetime(2026, 3, 10, 1, tzinfo=UTC).timestamp()


def test_one_row_per_materialisation_with_its_figures_in_time_order():
    events = [
        Materialisation(
            ("silver", "ecommerce", "orders"),
            "run-2",
            T0 + 60,
            "2026-03-09",
            {
                "rows_in": 100,
                "rows_out": 90,
                "rows_dropped": 10,
                "dropped_duplicate": 7,
                "dropped_missing_id": 3,
                "duration_s": 0.5,
                "rows_per_s": 200,
                "batch_id": "abc",
                "preview": "| a |",
            },
        ),
        Materialisation(("landing", "market", "ohlcv"), "run-1", T0, None, {"rows_out": 5}),
    ]
    rows = pipeline_runs(events).to_pylist()
    assert [r["asset"] for r in rows] == ["landing/market/ohlcv", "silver/ecommerce/orders"]
    first, second = rows
    assert (first["layer"], first["domain"], first["table"], first["partition"]) == (
        "landing",
        "market",
        "ohlcv",
        None,
    )
    assert first["rows_out"] == 5 and first["rows_in"] is None and first["dropped_by_reason"] is None
    assert second["materialized_at"] == datetime(2026, 3, 10, 1, 1, tzinfo=UTC)
    assert (second["rows_in"], second["rows_out"], second["rows_dropped"]) == (100, 90, 10)
    assert json.loads(second["dropped_by_reason"]) == {"duplicate": 7, "missing_id": 3}
    assert (second["batch_id"], second["run_id"], second["partition"]) == ("abc", "run-2", "2026-03-09")


def test_no_events_give_an_empty_table_with_the_full_schema():
    table = pipeline_runs([])
    assert table.num_rows == 0 and "rows_per_s" in table.column_names


def test_a_run_that_did_not_succeed_is_a_row_per_failed_step_or_one_for_the_run():
    runs = [
        FinishedRun("ok", "weather_daily", "SUCCESS", "2026-03-09", T0, T0 + 10),
        FinishedRun(
            "bad",
            "ecommerce_daily",
            "FAILURE",
            "2026-03-09",
            T0,
            T0 + 30,
            (
                StepFailure(
                    "silver_ecommerce_orders", ("silver", "ecommerce", "orders"), "StorageError", T0 + 29
                ),
            ),
        ),
        FinishedRun("died", "market_daily", "FAILURE", None, T0, T0 + 5, error_class="DagsterRunWorkerDied"),
        FinishedRun("stopped", "daily", "CANCELED", None, None, T0 + 7),
    ]
    events = [
        Materialisation(("landing", "weather", "observations"), "ok", T0 + 5, "2026-03-09", {}, "landing")
    ]
    rows = {r["run_id"]: r for r in pipeline_runs(events, runs).to_pylist()}
    assert set(rows) == {"ok", "bad", "died", "stopped"}
    assert (rows["ok"]["event"], rows["ok"]["job"], rows["ok"]["run_status"], rows["ok"]["step"]) == (
        "materialization",
        "weather_daily",
        "SUCCESS",
        "landing",
    )
    bad = rows["bad"]
    assert (bad["event"], bad["asset"], bad["layer"], bad["step"], bad["error_class"]) == (
        "step_failure",
        "silver/ecommerce/orders",
        "silver",
        "silver_ecommerce_orders",
        "StorageError",
    )
    assert bad["materialized_at"] == datetime.fromtimestamp(T0 + 29, UTC) and bad["rows_in"] is None
    assert (rows["died"]["event"], rows["died"]["error_class"], rows["died"]["asset"]) == (
        "run_failure",
        "DagsterRunWorkerDied",
        None,
    )
    assert (rows["stopped"]["event"], rows["stopped"]["run_status"]) == ("run_canceled", "CANCELED")
    assert rows["stopped"]["materialized_at"] == datetime.fromtimestamp(T0 + 7, UTC)


def test_job_success_per_job_and_day_with_mean_and_p95_duration():
    day = 86_400
    runs = [
        *(
            FinishedRun(f"s{i}", "daily", "SUCCESS", None, T0 + i, T0 + i + d)
            for i, d in enumerate((10, 20, 30))
        ),
        FinishedRun("f", "daily", "FAILURE", None, T0 + 5, T0 + 45),
        FinishedRun("next", "daily", "SUCCESS", None, T0 + day, T0 + day + 12),
        FinishedRun("c", "models", "CANCELED", None, None, T0 + 3),  # canceled while queued
    ]
    rows = job_success(runs).to_pylist()
    assert [(r["day"].isoformat(), r["job"]) for r in rows] == [
        ("2026-03-10", "daily"),
        ("2026-03-10", "models"),
        ("2026-03-11", "daily"),
    ]
    first, models, second = rows
    assert (first["runs"], first["succeeded"], first["failed"], first["canceled"]) == (4, 3, 1, 0)
    assert first["success_rate"] == 0.75 and first["mean_duration_s"] == 25.0
    assert first["p95_duration_s"] == 38.5  # linear between 30 and 40 at 0.95 of 3 gaps
    assert (models["runs"], models["canceled"], models["success_rate"], models["mean_duration_s"]) == (
        1,
        1,
        0.0,
        None,
    )
    assert (second["runs"], second["success_rate"], second["p95_duration_s"]) == (1, 1.0, 12.0)
    assert job_success([]).num_rows == 0
