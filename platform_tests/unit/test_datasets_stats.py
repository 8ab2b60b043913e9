"""Statistics of a table agree with pandas computing the same figures on the same data."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dataplatform.datasets.stats import numeric_figures, table_stats


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 2_000
    amount = rng.gamma(2.0, 40.0, n)
    amount[rng.choice(n, 37, replace=False)] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "amount": amount,
            "items": rng.integers(1, 12, n),
            "channel": rng.choice(["web", "app", "store", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "churned": rng.integers(0, 2, n),
        }
    )


def stats_of(frame: pd.DataFrame, target: str | None = None) -> dict:
    con = duckdb.connect()
    con.register("t", pa.Table.from_pandas(frame, preserve_index=False))
    return table_stats(con, "t", target)


def test_numeric_figures_match_pandas(frame):
    stats = stats_of(frame)
    assert stats["rows"] == len(frame) and stats["columns"] == 5
    for column in ("amount", "items"):
        got, series = stats["column_stats"][column], frame[column]
        assert got["count"] == series.count()
        assert got["nulls"] == series.isna().sum()
        assert got["distinct"] == series.nunique()
        assert got["min"] == pytest.approx(series.min())
        assert got["max"] == pytest.approx(series.max())
        assert got["mean"] == pytest.approx(series.mean())
        assert got["std"] == pytest.approx(series.std())
        for q, value in got["quantiles"].items():
            assert value == pytest.approx(series.quantile(float(q)))


def test_categorical_figures_and_top_values_match_pandas(frame):
    got = stats_of(frame)["column_stats"]["channel"]
    series = frame["channel"]
    assert (got["count"], got["nulls"], got["distinct"]) == (
        series.count(),
        series.isna().sum(),
        series.nunique(),
    )
    expected = series.value_counts().head(5)
    assert [(t["value"], t["count"]) for t in got["top_values"]] == list(
        zip(expected.index, expected, strict=True)
    )


def test_unique_columns_have_no_top_values(frame):
    assert "top_values" not in stats_of(frame)["column_stats"]["customer_id"]


def test_target_distribution_of_a_label_counts_every_class(frame):
    distribution = stats_of(frame, "churned")["target_distribution"]
    counts = frame["churned"].value_counts()
    assert distribution["kind"] == "classes"
    assert {k: v["count"] for k, v in distribution["classes"].items()} == {
        str(k): v for k, v in counts.items()
    }
    assert sum(v["share"] for v in distribution["classes"].values()) == pytest.approx(1.0)


def test_target_distribution_of_a_quantity_gives_its_spread(frame):
    distribution = stats_of(frame, "amount")["target_distribution"]
    assert distribution["kind"] == "quantity"
    assert distribution["mean"] == pytest.approx(frame["amount"].mean())


def test_dates_have_iso_min_and_max():
    frame = pd.DataFrame({"day": pd.to_datetime(["2024-03-01", "2024-01-15", None])})
    got = stats_of(frame)["column_stats"]["day"]
    assert (got["min"], got["max"], got["nulls"]) == ("2024-01-15T00:00:00", "2024-03-01T00:00:00", 1)


def test_sorted_numeric_figures_agree_with_duckdb_and_pandas_on_awkward_values():
    """One sort per column gives the distinct count DuckDB's count(DISTINCT) gives (NaN one value,
    -0.0 equal to 0.0, nulls left out) and pandas' quartiles (NaN and nulls left out); decimals
    keep DuckDB's own distinct count."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES "
        "(1.0, 5, 1.10::DECIMAL(9, 2), NULL::DOUBLE), ('nan'::DOUBLE, NULL, 1.10, NULL), "
        "('nan'::DOUBLE, 5, 2.25, NULL), (-0.0, -3, NULL, NULL), (0.0, 7, 2.25, NULL), "
        "(NULL, 7, 9.99, NULL), (3.5, 7, 0.01, NULL)) AS v(x, n, d, empty)"
    )
    got = numeric_figures(con, "t", ["x", "n", "d", "empty"])
    exact = con.execute(
        "SELECT count(DISTINCT x), count(DISTINCT n), count(DISTINCT empty) FROM t"
    ).fetchone()
    assert (got["x"].distinct, got["n"].distinct, got["empty"].distinct) == exact == (4, 3, 0)
    assert got["d"].distinct is None
    frame = con.execute("SELECT * FROM t").df()
    for column in ("x", "n", "d"):
        series = frame[column].astype(float)
        for q, value in (got[column].quantiles or {}).items():
            assert value == pytest.approx(series.quantile(float(q)))
    assert got["empty"].quantiles is None
    # DuckDB's stddev_samp refuses NaN, so table_stats is shown the decimals without x
    assert table_stats(con, "(SELECT n, d FROM t)")["column_stats"]["d"]["distinct"] == 4


def test_top_values_of_numbers_and_dates_are_text_with_ties_broken_by_that_text():
    """Values are grouped as stored, then shown as text; equal counts are ordered by the text."""
    frame = pd.DataFrame(
        {
            "n": pd.array([10, 9, 9, 10, 2, None], dtype="Int64"),
            "day": pd.to_datetime(["2024-01-02", "2024-01-02", "2023-12-31", None, None, "2023-12-31"]),
        }
    )
    got = stats_of(frame)["column_stats"]
    assert [(t["value"], t["count"]) for t in got["n"]["top_values"]] == [("10", 2), ("9", 2), ("2", 1)]
    assert [(t["value"], t["count"]) for t in got["day"]["top_values"]] == [
        ("2023-12-31 00:00:00", 2),
        ("2024-01-02 00:00:00", 2),
    ]


def test_a_csv_with_literal_nan_registers_and_its_figures_leave_nan_out_as_pandas_does(tmp_path):
    from dataplatform.datasets.client import DatasetClient

    path = tmp_path / "readings.csv"
    path.write_text("id,x,label\n1,1.5,a\n2,nan,b\n3,2.5,a\n4,inf,b\n5,4.0,a\n6,nan,b\n")
    client = DatasetClient(tmp_path / "data")
    client.register(path, name="readings", target="label")
    x = client.stats("readings")["train"]["column_stats"]["x"]
    finite = pd.read_csv(path)["x"].replace(np.inf, np.nan)
    assert x["mean"] == pytest.approx(finite.mean())
    assert x["std"] == pytest.approx(finite.std())
    features = client.load("readings", features=True)
    assert features.filter(like="x").notna().any().all()  # features built, z-scores from finite values


@pytest.mark.parametrize("spread", [10, 10**12], ids=["counted over their range", "sorted"])
def test_integer_distinct_counts_and_quartiles_match_pandas_whether_counted_or_sorted(spread):
    """Integers spanning few values per row are counted over their range, others sorted: the
    figures are pandas' either way, negatives and nulls included."""
    rng = np.random.default_rng(4)
    values = pd.Series(rng.integers(-spread, spread, 999), dtype="Int64")
    values[rng.choice(999, 50, replace=False)] = pd.NA
    con = duckdb.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.int64())}))
    got = numeric_figures(con, "t", ["v"])["v"]
    assert got.distinct == values.nunique()
    as_floats = values.astype(float)
    assert got.quantiles == {str(q): as_floats.quantile(q) for q in (0.25, 0.5, 0.75)}


def test_counts_ranges_means_and_spreads_are_duckdbs_aggregates_on_awkward_values():
    """Numeric columns are summed up by numpy beside their sort, with DuckDB's meaning: NaN the
    largest value, infinities in the range, mean and spread of finite values only, a lone value
    without a spread; floats of 4 bytes summed as doubles."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES "
        "(1.5, 'nan'::DOUBLE, 7, 2.5::FLOAT, NULL::DOUBLE, 1.0::DOUBLE), (2.5, 3.0, NULL, 0.1::FLOAT, NULL, NULL), "
        "('inf'::DOUBLE, NULL, -4, 1e30::FLOAT, NULL, NULL), ('-inf'::DOUBLE, 'nan'::DOUBLE, 9, NULL, NULL, NULL), "
        "(NULL, -2.0, 7, 3.25::FLOAT, NULL, NULL)) AS v(x, n, i, f, empty, lone)"
    )
    columns = ["x", "n", "i", "f", "empty", "lone"]
    got = table_stats(con, "t")["column_stats"]
    for column in columns:
        q = f'"{column}"'
        finite = f"CASE WHEN isfinite({q}::DOUBLE) THEN {q} END"
        expected = con.execute(
            f"SELECT count({q}), min({q}), max({q}), avg({finite}), stddev_samp({finite}) FROM t"
        ).fetchone()
        figures = got[column]
        actual = (figures["count"], figures["min"], figures["max"], figures["mean"], figures["std"])
        for have, want in zip(actual, expected, strict=True):
            if want is None:
                assert have is None, (column, actual, expected)
            elif isinstance(want, float) and np.isnan(want):
                assert isinstance(have, float) and np.isnan(have), (column, actual, expected)
            else:
                assert have == pytest.approx(want, rel=1e-12), (column, actual, expected)
