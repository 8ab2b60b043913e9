"""The defect scorecard on a hand-made delivery whose defects and fates are known."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from dataplatform.quality.scorecard import score
from dataplatform.transform.silver import Column, Rule, SilverSpec, clean
from platform_tests.unit.test_silver import bronze

SPEC = SilverSpec(
    key=("id",),
    columns={"id": Column("BIGINT"), "colour": Column("VARCHAR", "lower"), "size": Column("INTEGER")},
    required=("id",),
    rules=(Rule("negative_size", "size >= 0"),),
)


def defects(*rows: tuple[str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"table": "things", "partition_date": date(2026, 3, 10), "kind": kind, "key": key, "column": None}
            for kind, key in rows
        ]
        + [{"table": "other", "partition_date": None, "kind": "negative_size", "key": "1", "column": None}]
    )


def card(delivery: list[dict], log: pa.Table):
    delivered = bronze(delivery)
    result = clean(delivered, SPEC)
    return score("things", SPEC.key, log, delivered, result.table, result.quarantine)


def test_detected_missed_and_false_alarms_per_kind():
    delivery = [
        {"id": 1, "colour": "red", "size": 3},
        {"id": 2, "colour": "RED", "size": 3},  # mangled case: flagged
        {"id": 3, "colour": "red", "size": -1},  # negative size: quarantined
        {"id": 4, "colour": "red", "size": 4},  # recorded as a defect, but nothing is wrong with it
        {"id": 5, "colour": "Blue", "size": 2},  # flagged, yet no defect recorded: a false alarm
    ]
    log = defects(("inconsistent_categorical", "2"), ("negative_size", "3"), ("negative_size", "4"))
    result = card(delivery, log)
    assert {k: (s.detected, s.injected) for k, s in result.kinds.items()} == {
        "inconsistent_categorical": (1, 1),
        "negative_size": (1, 2),
    }
    assert (result.false_alarms, result.clean_rows_dropped) == (1, 0)
    outcome = result.outcome(min_recall=0.95)
    assert not outcome.passed and "recall of negative_size 0.500 < 0.95" in outcome.description
    assert outcome.sample == [{"kind": "negative_size", "missed_keys": ["4"]}]
    assert result.outcome(min_recall=0.5).passed


def test_a_clean_row_dropped_fails_the_score():
    delivery = [{"id": 1, "colour": "red", "size": -5}, {"id": 2, "colour": "red", "size": 1}]
    result = card(delivery, defects(("negative_size", "2")))  # the log names the wrong row
    assert result.clean_rows_dropped == 1
    outcome = result.outcome(min_recall=0.0)
    assert not outcome.passed and "1 clean rows dropped" in outcome.description


def test_duplicates_count_as_detected_through_the_dropped_copy():
    delivery = [{"id": 7, "colour": "red", "size": 1}, {"id": 7, "colour": "red", "size": 1}]
    result = card(delivery, defects(("exact_duplicate", "7")))
    assert result.kinds["exact_duplicate"].recall == 1.0 and result.outcome(0.95).passed
