"""gold/platform/pipeline_runs from hand-made materialisation events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dataplatform.transform.metrics import Materialisation, pipeline_runs

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
