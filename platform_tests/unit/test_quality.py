import pyarrow as pa

from dataplatform.quality.checks import sorted_duplicates, totals_match
from dataplatform.quality.evaluate import evaluate
from dataplatform.quality.specs import NotNull, Unique


def test_unique_passes_on_distinct_keys_and_reports_duplicates():
    assert evaluate(Unique(columns=("a",)), pa.table({"a": [1, 2], "b": [1, 1]})).passed
    outcome = evaluate(Unique(columns=("a", "b")), pa.table({"a": [1, 1, 1, 2], "b": [1, 1, 2, 3]}))
    assert not outcome.passed
    assert outcome.failing_rows == 1
    assert outcome.sample == [{"a": 1, "b": 1, "copies": 2}]
    assert outcome.metadata["failing_percent"] == 25.0


def test_an_integer_key_is_checked_by_sorting_with_the_same_counts():
    table = pa.table({"a": pa.array([3, 1, 3, None, None, 2], pa.int32()), "b": ["x"] * 6})
    assert sorted_duplicates(table, ["a"]) == 2  # one extra 3, one extra null
    assert sorted_duplicates(table, ["b"]) is None and sorted_duplicates(table, ["a", "b"]) is None
    assert sorted_duplicates(table.slice(0, 0), ["a"]) == 0
    outcome = evaluate(Unique(columns=("a",)), table)
    assert (outcome.passed, outcome.failing_rows) == (False, 2)
    assert (
        evaluate(Unique(columns=("a",)), table.slice(0, 2)).description == "0 keys (a) appear more than once"
    )


def test_not_null_counts_nulls_per_column():
    table = pa.table({"a": [1, None, 3], "b": ["x", "y", None], "c": [None] * 3})
    assert evaluate(NotNull(columns=("a",)), table).passed is False
    outcome = evaluate(NotNull(columns=("a", "b")), table)
    assert outcome.failing_rows == 2
    assert outcome.description == "a: 1 nulls, b: 1 nulls"
    assert len(outcome.sample) == 2
    assert evaluate(NotNull(columns=("a",)), pa.table({"a": [1]})).passed


def test_totals_match_ignores_parents_with_missing_children():
    orders = pa.table({"order_id": [1, 2, 3], "order_total": [10.0, 5.0, 7.0], "item_count": [2, 1, 2]})
    items = pa.table({"order_id": [1, 1, 2, 3], "line_total": [4.0, 6.0, 5.0, 1.0]})
    assert totals_match(
        orders,
        items,
        key="order_id",
        total="order_total",
        count="item_count",
        amount="line_total",
        tolerance=0.01,
    ).passed
    wrong = pa.table({"order_id": [1, 1, 2], "line_total": [4.0, 6.5, 5.0]})
    outcome = totals_match(
        orders,
        wrong,
        key="order_id",
        total="order_total",
        count="item_count",
        amount="line_total",
        tolerance=0.01,
    )
    assert not outcome.passed and outcome.failing_rows == 1
    assert outcome.sample[0]["order_id"] == 1
