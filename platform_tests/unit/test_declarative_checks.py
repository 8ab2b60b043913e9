"""Each declarative check kind on a small frame: failing on a seeded defect with metadata a
person can act on, passing on clean data; and Great Expectations agreeing with the SQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from dataplatform.quality import evaluate as evaluate_module
from dataplatform.quality.evaluate import CheckContext, evaluate, evaluate_all
from dataplatform.quality.specs import (
    AcceptedValues,
    ColumnsMatch,
    DistributionDrift,
    Freshness,
    InRange,
    MatchesRegex,
    NotNull,
    References,
    RowCountAnomaly,
    TableChecks,
    Unique,
    columns_read,
)

DAY = date(2026, 3, 10)


def clean() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "shop": ["a", "a", "b", "b"],
            "status": ["paid", "paid", "shipped", "paid"],
            "amount": [10.0, 12.0, 11.0, 9.0],
            "email": ["x@y.com", "a.b@c.org", "q@r.io", "m@n.net"],
            "customer_id": pa.array([7, 7, 8, 9], pa.int64()),
            "ts": pa.array(
                [datetime(2026, 3, 10, h, tzinfo=UTC) for h in (1, 5, 20, 23)], pa.timestamp("us", "UTC")
            ),
        }
    )


def seeded(column: str, row: int, value) -> pa.Table:
    table = clean()
    values = table.column(column).to_pylist()
    values[row] = value
    return table.set_column(
        table.schema.get_field_index(column), column, pa.array(values, table.schema.field(column).type)
    )


CUSTOMERS = pa.table({"customer_id": pa.array([7, 8, 9], pa.int64())})
CASES = [
    # spec, a defect that breaks it (column, row, value), failing rows expected
    (NotNull(columns=("id", "status")), ("status", 2, None), 1),
    (Unique(columns=("id",)), ("id", 3, 1), 1),
    (Unique(columns=("shop", "email"), label="shop_email_unique"), ("email", 3, "q@r.io"), 1),
    (AcceptedValues(column="status", values=("paid", "shipped")), ("status", 0, "lost"), 1),
    (InRange(column="amount", min=0, max=100), ("amount", 1, -5.0), 1),
    (MatchesRegex(column="email", pattern=r"[^@\s]+@[^@\s]+\.[a-z]+"), ("email", 2, "not an email"), 1),
    (
        References(column="customer_id", target="silver/shop/customers", target_column="customer_id"),
        ("customer_id", 0, 99),
        1,
    ),
]
CONTEXT = CheckContext(partition=DAY, targets={"silver/shop/customers": CUSTOMERS})


@pytest.mark.parametrize(("spec", "defect", "failing"), CASES, ids=[c[0].name for c in CASES])
def test_each_check_passes_on_clean_data_and_fails_on_its_defect(spec, defect, failing):
    assert evaluate(spec, clean(), CONTEXT).passed
    outcome = evaluate(spec, seeded(*defect), CONTEXT)
    assert not outcome.passed
    assert (outcome.failing_rows, outcome.total_rows) == (failing, 4)
    metadata = outcome.metadata
    assert (metadata["failing_percent"], metadata["expected"]) == (25.0, spec.description)
    assert metadata["observed"]
    assert outcome.sample, "a failing check shows the rows that fail"


def test_references_to_a_table_not_yet_written_fail_with_the_reason():
    spec = References(column="customer_id", target="silver/shop/customers", target_column="customer_id")
    outcome = evaluate(spec, clean(), CheckContext(targets={"silver/shop/customers": None}))
    assert not outcome.passed and "does not exist yet" in outcome.description and spec.severity == "WARN"


def test_schema_check_names_each_difference():
    spec = ColumnsMatch(columns={"id": "int64", "status": "string", "gone": "double"})
    outcome = evaluate(
        spec,
        clean()
        .select(["id", "status", "amount"])
        .cast(pa.schema([("id", pa.int32()), ("status", pa.string()), ("amount", pa.float64())])),
    )
    assert not outcome.passed
    assert outcome.description == "gone: missing; id: int32, not int64; amount: unexpected (double)"
    assert evaluate(ColumnsMatch(columns={"id": "int64"}), clean().select(["id"])).passed


def test_a_schema_check_compares_list_types_whatever_their_items_are_called():
    flags = pa.table({"flags": pa.array([["a"]], pa.list_(pa.field("element", pa.string())))})
    assert evaluate(ColumnsMatch(columns={"flags": "list<l: string>"}), flags).passed
    assert not evaluate(ColumnsMatch(columns={"flags": "list<l: int64>"}), flags).passed


def test_checks_of_a_table_read_column_by_column_see_the_whole_schema():
    """A streamed asset's checks read only the columns they look at; the schema check still
    judges every column of the table as stored."""
    specs = (
        ColumnsMatch(columns={"id": "int64", "status": "string", "amount": "double"}),
        NotNull(columns=("id",)),
        InRange(column="amount", min=0),
    )
    assert columns_read(specs) == ["id", "amount"]
    table = pa.table({"id": [1, 2], "status": ["a", None], "amount": [1.0, 2.0]})
    read = table.select(columns_read(specs))
    outcomes = evaluate_all(specs, read, CheckContext(schema=table.schema))
    assert all(o.passed for o in outcomes.values())
    wrong = CheckContext(schema=table.schema.set(1, pa.field("status", pa.int32())))
    assert evaluate_all(specs, read, wrong)["schema"].description == "status: int32, not string"


def history(counts: list[int], mean: float = 10.0, sd: float = 1.0) -> pa.Table:
    """Earlier partitions: `counts[i]` rows on day DAY - (i + 1), amounts around `mean`."""
    days, amounts = [], []
    for i, n in enumerate(counts):
        days += [DAY - timedelta(days=i + 1)] * n
        amounts += [mean + sd * (1 if j % 2 else -1) for j in range(n)]
    return pa.table({"partition_date": pa.array(days, pa.date32()), "amount": amounts})


def test_row_count_anomaly_against_the_trailing_partitions():
    spec = RowCountAnomaly(trailing=3, tolerance=0.5)
    normal = CheckContext(partition=DAY, partition_column="partition_date", trailing=history([4, 5, 3]))
    assert evaluate(spec, clean(), normal).passed
    busy = CheckContext(partition=DAY, partition_column="partition_date", trailing=history([20, 20, 20, 1]))
    outcome = evaluate(spec, clean(), busy)  # only the 3 latest count: mean 20, 4 rows is too few
    assert not outcome.passed and outcome.expected == "between 10 and 30 rows"
    assert "mean of 20.0 over 3 earlier partitions" in outcome.description
    assert evaluate(spec, clean(), CheckContext(partition=DAY, partition_column="partition_date")).passed


def test_distribution_drift_of_mean_and_spread():
    spec = DistributionDrift(column="amount", trailing=7, max_shift=0.5, max_spread_ratio=2.0)
    similar = CheckContext(
        partition=DAY, partition_column="partition_date", trailing=history([8, 8], mean=10.5, sd=1.3)
    )
    assert evaluate(spec, clean(), similar).passed
    shifted = CheckContext(
        partition=DAY, partition_column="partition_date", trailing=history([8, 8], mean=20.0, sd=1.3)
    )
    outcome = evaluate(spec, clean(), shifted)
    assert not outcome.passed and "shift" in outcome.description
    wider = CheckContext(
        partition=DAY, partition_column="partition_date", trailing=history([8, 8], mean=10.5, sd=0.2)
    )
    assert not evaluate(spec, clean(), wider).passed  # today's spread is far wider than before


def test_freshness_against_the_end_of_the_partition():
    assert evaluate(Freshness(column="ts", max_age_hours=6), clean(), CheckContext(partition=DAY)).passed
    stale = evaluate(
        Freshness(column="ts", max_age_hours=6), clean(), CheckContext(partition=DAY + timedelta(days=1))
    )
    assert not stale.passed and stale.expected == "at or after 2026-03-11T18:00:00+00:00"


def test_two_checks_with_one_name_are_refused():
    with pytest.raises(ValueError, match="key_unique"):
        TableChecks((Unique(columns=("id",)), Unique(columns=("shop",))))


@pytest.mark.parametrize(
    ("spec", "defect", "failing"),
    [c for c in CASES if not isinstance(c[0], References)],
    ids=[c[0].name for c in CASES if not isinstance(c[0], References)],
)
def test_great_expectations_agrees_with_sql(spec, defect, failing):
    pytest.importorskip("great_expectations")
    from dataplatform.quality.great_expectations import evaluate_suite

    for table in (clean(), seeded(*defect)):
        sql = evaluate(spec, table, CONTEXT)
        ge = evaluate_suite("things", [spec], table)[spec.name]
        assert ge.passed == sql.passed
        if not isinstance(spec, Unique):  # GE counts every row of a repeated key, SQL the extra copies
            assert ge.failing_rows == sql.failing_rows


def every_kind(trailing: int = 3) -> tuple:
    """One check of each kind; the two trailing comparisons look back over different windows."""
    return (
        *(case[0] for case in CASES),
        ColumnsMatch(columns={"id": "int64"}),
        RowCountAnomaly(trailing=trailing, tolerance=0.5),
        DistributionDrift(column="amount", trailing=7),
        Freshness(column="ts", max_age_hours=6),
        Unique(columns=("email",), label="email_unique"),  # a text key: counted in the shared pass
    )


@pytest.mark.parametrize("defect", [None, *(c[1] for c in CASES)], ids=["clean", *(c[0].name for c in CASES)])
def test_evaluating_every_check_together_gives_each_ones_outcome(defect):
    table = clean() if defect is None else seeded(*defect)
    context = CheckContext(
        partition=DAY,
        partition_column="partition_date",
        trailing=history([20, 20, 20, 1, 4, 4, 4], mean=10.5, sd=1.3),
        targets={"silver/shop/customers": CUSTOMERS},
    )
    specs = every_kind()
    together = evaluate_all(specs, table, context)
    assert list(together) == [s.name for s in specs]
    assert together == {s.name: evaluate(s, table, context) for s in specs}
    # row_count_anomaly compares with the 3 latest partitions (mean 20), drift with all 7
    assert "over 3 earlier partitions" in together["row_count_anomaly"].description
    assert "over 7 earlier partitions" in together["amount_distribution_drift"].description


@pytest.mark.parametrize("defect", [None, *(c[1] for c in CASES)], ids=["clean", *(c[0].name for c in CASES)])
def test_a_stored_table_scanned_lazily_gets_the_outcomes_it_gets_in_memory(tmp_path, defect):
    """A streamed asset's checks let DuckDB read the stored day and the trailing days (a
    `SqlScan` or an Arrow dataset) instead of reading them into Arrow: every outcome, sample
    included, is the same."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from dataplatform.engine.scans import SqlScan

    table = clean() if defect is None else seeded(*defect)
    pq.write_table(table, tmp_path / "day.parquet")
    pq.write_table(history([20, 20, 20, 1, 4, 4, 4], mean=10.5, sd=1.3), tmp_path / "history.parquet")
    context = CheckContext(
        partition=DAY,
        partition_column="partition_date",
        trailing=pq.read_table(tmp_path / "history.parquet"),
        targets={"silver/shop/customers": CUSTOMERS},
        schema=table.schema,
    )
    specs = every_kind()
    in_memory = evaluate_all(specs, table, context)

    def sql_scan(name: str) -> SqlScan:
        return SqlScan(f"SELECT * FROM read_parquet('{tmp_path / name}.parquet')")

    def dataset(name: str) -> ds.Dataset:
        return ds.dataset(tmp_path / f"{name}.parquet")

    for lazily in (sql_scan, dataset):
        assert evaluate_all(specs, lazily("day"), replace(context, trailing=lazily("history"))) == in_memory
    if defect is not None:
        assert not all(o.passed for o in in_memory.values())


@pytest.mark.parametrize("key_rows", [evaluate_module.IN_MEMORY_KEY_ROWS, 2], ids=["in memory", "grouped"])
def test_a_key_repeated_or_null_counts_its_extra_copies_in_any_column_type(key_rows, monkeypatch):
    # a key of more than IN_MEMORY_KEY_ROWS rows is grouped by DuckDB (spilling), not sorted or
    # counted DISTINCT in memory: the same counts either way
    monkeypatch.setattr(evaluate_module, "IN_MEMORY_KEY_ROWS", key_rows)
    ids = pa.array([1, 1, None, None, None, 2], pa.int64())
    table = pa.table({"id": ids, "code": pa.array(["a", "a", None, None, None, "b"])})
    for column in ("id", "code"):  # sorted in numpy (integers) or counted in SQL (text)
        spec = Unique(columns=(column,))
        outcome = evaluate_all([spec], table)[spec.name]
        assert (outcome.passed, outcome.failing_rows) == (False, 3)  # one extra 1 or 'a', two extra nulls
        assert outcome.description == f"2 keys ({column}) appear more than once"
        assert outcome.sample[0]["copies"] == 3
    assert evaluate(Unique(columns=("id",)), table.slice(0, 3)).failing_rows == 1
    assert evaluate(Unique(columns=("id",)), table.slice(1, 2)).passed  # one null and one 1


def test_no_checks_and_an_empty_table(tmp_path):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    assert evaluate_all([], clean()) == {}
    empty = clean().slice(0, 0)
    pq.write_table(empty, tmp_path / "empty.parquet")
    for table in (empty, ds.dataset(tmp_path / "empty.parquet")):
        outcomes = evaluate_all(every_kind(), table, CONTEXT)
        assert all(o.total_rows == 0 for name, o in outcomes.items() if name != "schema")
        assert not outcomes["ts_freshness"].passed  # nothing is fresh in an empty table
    only_the_count = evaluate_all([RowCountAnomaly()], ds.dataset(tmp_path / "empty.parquet"))
    assert only_the_count["row_count_anomaly"].total_rows == 0
