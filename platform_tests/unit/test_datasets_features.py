"""Generic features on small hand-computed inputs, fitted on train only; feature plugins and their failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.features import (
    FittedFeatures,
    feature_query,
    fit_features,
    fitted_frequencies,
    fitted_parameters,
    run_plugin,
)

TYPES = {
    "id": "id",
    "x": "numeric",
    "colour": "categorical",
    "at": "datetime",
    "note": "text",
    "y": "categorical",
}


def train_table() -> pa.Table:
    return pa.table(
        {
            "id": [1, 2, 3, 4, 5, 6, 7, 8],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "colour": ["red", "red", "blue", "red", "blue", "green", "red", None],
            "at": pa.array([datetime(2024, 3, 1, 9), datetime(2024, 3, 2, 23)] * 4),  # a Friday, a Saturday
            "note": ["good", "very good value", "", "  two  words ", "a", "b c", "d", "e"],
            "y": [0, 1, 0, 1, 0, 1, 0, 1],
        }
    )


def fitted_and_features(train: pa.Table, *others: pa.Table) -> tuple[FittedFeatures, list[pd.DataFrame]]:
    con = duckdb.connect()
    con.register("train", train)
    fitted = fit_features(con, "train", TYPES, target="y")
    frames = []
    for position, table in enumerate((train, *others)):
        con.register(f"t{position}", table)
        carried = [c for c in fitted.carried if c in table.column_names]
        frames.append(features_of(con, replace(fitted, carried=carried), f"t{position}"))
    return fitted, frames


def features_of(con: duckdb.DuckDBPyConnection, fitted: FittedFeatures, table: str) -> pd.DataFrame:
    """The feature select run as the store runs it: fitted values read from their own tables."""
    con.register("parameters", fitted_parameters(fitted))
    con.register("frequencies", fitted_frequencies(fitted))
    return con.execute(feature_query(fitted, table, "parameters", "frequencies")).df()


def test_numeric_features_by_hand():
    fitted, (features,) = fitted_and_features(train_table())
    fit = fitted.numeric["x"]
    assert fit.mean == 4.5
    assert fit.std == pytest.approx((42 / 7) ** 0.5)  # sample std of 1..8
    assert fit.quartiles == (2.75, 4.5, 6.25)
    assert features["x__zscore"].tolist() == pytest.approx([(v - 4.5) / (42 / 7) ** 0.5 for v in range(1, 9)])
    assert features["x__log1p"].tolist() == pytest.approx(
        [float(pd.Series([v]).apply("log1p")[0]) for v in range(1, 9)]
    )
    assert features["x__qbin"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_datetime_text_and_categorical_features_by_hand():
    _, (features,) = fitted_and_features(train_table())
    assert features["at__year"].tolist()[:2] == [2024, 2024]
    assert features["at__month"].tolist()[:2] == [3, 3]
    assert features["at__day"].tolist()[:2] == [1, 2]
    assert features["at__weekday"].tolist()[:2] == [4, 5]
    assert features["at__hour"].tolist()[:2] == [9, 23]
    assert features["at__weekend"].tolist()[:2] == [0, 1]
    assert features["note__length"].tolist()[:4] == [4, 15, 0, 13]
    assert features["note__words"].tolist()[:4] == [1, 3, 0, 2]
    assert features["colour__freq"].tolist() == [0.5, 0.5, 0.25, 0.5, 0.25, 0.125, 0.5, 0.125]


def test_ids_and_target_are_carried_and_never_transformed():
    _, (features,) = fitted_and_features(train_table())
    assert features["id"].tolist() == list(range(1, 9))
    assert features["y"].tolist() == [0, 1] * 4
    assert not [c for c in features.columns if c.startswith(("id__", "y__"))]


def test_test_rows_use_train_parameters_and_unseen_categories_get_zero():
    test = pa.table(
        {
            "id": [9, 10],
            "x": [0.0, 100.0],
            "colour": ["purple", "blue"],
            "at": pa.array([datetime(2024, 3, 3, 0)] * 2),
            "note": ["x", "y"],
        }
    )
    _, (_, features) = fitted_and_features(train_table(), test)
    std = (42 / 7) ** 0.5
    assert features["x__zscore"].tolist() == pytest.approx([(0 - 4.5) / std, (100 - 4.5) / std])
    assert features["x__qbin"].tolist() == [0, 3]
    assert features["colour__freq"].tolist() == [0.0, 0.25]
    assert "y" not in features.columns


def test_no_leakage_test_rows_do_not_change_what_is_fitted():
    small_test = pa.table(
        {"id": [9], "x": [1e9], "colour": ["blue"], "at": pa.array([datetime(2030, 1, 1)]), "note": ["z"]}
    )
    fitted_alone, (train_alone,) = fitted_and_features(train_table())
    fitted_with, (train_with, _) = fitted_and_features(train_table(), small_test)
    assert fitted_alone.numeric == fitted_with.numeric
    assert fitted_alone.frequencies.equals(fitted_with.frequencies)
    pd.testing.assert_frame_equal(train_alone, train_with)


def test_no_log1p_for_a_column_with_negative_train_values_and_no_spread_gives_zero():
    con = duckdb.connect()
    con.register("t", pa.table({"neg": [-2.0, 0.0, 2.0], "flat": [5, 5, 5]}))
    fitted = fit_features(con, "t", {"neg": "numeric", "flat": "numeric"})
    features = features_of(con, fitted, "t")
    assert "neg__log1p" not in features.columns
    assert features["flat__zscore"].tolist() == [0.0, 0.0, 0.0]


def write_plugin(folder: Path, body: str) -> Path:
    path = folder / "titanic.py"
    path.write_text(body)
    return path


def test_a_plugin_adds_its_columns(tmp_path):
    path = write_plugin(
        tmp_path,
        "import pandas as pd\n"
        "def features(frame: pd.DataFrame) -> pd.DataFrame:\n"
        "    return pd.DataFrame({'fare_per_person': frame['fare'] / frame['party']})\n",
    )
    added = run_plugin(path, "titanic", pd.DataFrame({"fare": [10.0, 30.0], "party": [1, 3]}))
    assert added["fare_per_person"].tolist() == [10.0, 10.0]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("def features(frame):\n    return frame['missing']\n", "KeyError"),
        ("import not_a_module\n", "ModuleNotFoundError"),
        ("x = 1\n", "defines no function features"),
        ("def features(frame):\n    return [1, 2]\n", "not a pandas DataFrame"),
        (
            "import pandas as pd\ndef features(frame):\n    return pd.DataFrame({'a': [1]})\n",
            "returned 1 rows for 2",
        ),
    ],
)
def test_a_failing_plugin_names_the_plugin_and_the_dataset(tmp_path, body, why):
    path = write_plugin(tmp_path, body)
    with pytest.raises(
        DatasetError, match=rf"feature plugin .*titanic.py of dataset 'titanic' failed: .*{why}"
    ):
        run_plugin(path, "titanic", pd.DataFrame({"fare": [10.0, 30.0]}))


def test_many_categories_are_joined_and_keep_the_row_order(monkeypatch):
    from dataplatform.datasets import features

    _, (by_map,) = fitted_and_features(train_table())
    monkeypatch.setattr(features, "MAP_LOOKUP_LIMIT", 0)
    _, (by_join,) = fitted_and_features(train_table())
    pd.testing.assert_frame_equal(by_map, by_join)


def test_categories_that_are_not_text_get_their_shares_by_map_and_by_join_alike(monkeypatch):
    """Integer and true/false categories are looked up by their text, nulls by their own share."""
    from dataplatform.datasets import features

    def shares() -> pd.DataFrame:
        con = duckdb.connect()
        con.register("train", pa.table({"n": [3, 3, 7, None], "flag": [True, False, True, True]}))
        con.register("test", pa.table({"n": [7, 9, None], "flag": [False, None, True]}))
        fitted = fit_features(con, "train", {"n": "categorical", "flag": "categorical"})
        return features_of(con, fitted, "test")

    by_map = shares()
    assert by_map["n__freq"].tolist() == [0.25, 0.0, 0.25]
    assert by_map["flag__freq"].tolist() == [0.25, 0.0, 0.75]
    monkeypatch.setattr(features, "MAP_LOOKUP_LIMIT", 0)
    pd.testing.assert_frame_equal(by_map, shares())


def test_quartile_bins_count_the_quartiles_exceeded_even_when_quartiles_tie():
    """Bins are how many of train's quartiles a value exceeds, with tied quartiles and nulls;
    z-scores are exact double arithmetic on train's mean and spread."""
    values = [1, 1, 1, 1, 1, 2, 5, None, 9]
    con = duckdb.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.int64())}))
    fitted = fit_features(con, "t", {"v": "numeric"})
    fit = fitted.numeric["v"]
    assert fit.quartiles is not None and fit.quartiles[0] == fit.quartiles[1] == 1.0
    features = features_of(con, fitted, "t")
    expected = [None if v is None else sum(v > q for q in fit.quartiles) for v in values]
    assert [None if pd.isna(b) else int(b) for b in features["v__qbin"]] == expected
    assert features["v__zscore"].tolist()[:7] == [(v - fit.mean) / fit.std for v in values[:7]]
