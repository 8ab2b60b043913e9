"""Detection of ids, target, problem type and column types from names and data together, with reasons."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from dataplatform.datasets.detect import Detection, Overrides, detect, is_id_name
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.stats import table_stats

RNG = np.random.default_rng(3)


def run(train: dict, test: dict | None = None, submission: list[str] | None = None, **overrides) -> Detection:
    """Detection by its own profile of train, checked to be the one made from train's statistics
    (as registration does)."""
    con = duckdb.connect()
    con.register("train_t", pa.table(train))
    tables = {"train": "train_t"}
    if test is not None:
        con.register("test_t", pa.table(test))
        tables["test"] = "test_t"
    found = detect(con, tables, submission, Overrides(**overrides))
    train_stats = table_stats(con, "train_t")
    assert detect(con, tables, submission, Overrides(**overrides), train_stats=train_stats) == found
    return found


def titanic(n: int = 400) -> dict:
    return {
        "PassengerId": np.arange(1, n + 1),
        "Survived": RNG.integers(0, 2, n),
        "Pclass": RNG.integers(1, 4, n),
        "Name": [f"Passenger, Mr. Number {i} Smith" for i in range(n)],
        "Sex": RNG.choice(["male", "female"], n),
        "Age": RNG.normal(30, 12, n),
        "Fare": RNG.gamma(2.0, 15.0, n),
    }


def test_titanic_like_file_id_target_and_binary_problem():
    found = run(titanic())
    assert found.id_columns == ["PassengerId"]
    assert found.target == "Survived"
    assert (found.problem_type, found.class_count) == ("binary", 2)
    assert found.column_types["Name"] == "text"
    assert found.column_types["Sex"] == "categorical"
    assert found.column_types["Age"] == "numeric"
    assert "named like a target" in found.reasons["target"]
    assert "unique" in found.reasons["id_columns"]


@pytest.mark.parametrize("name", ["paid", "valid", "idea", "void"])
def test_words_ending_in_id_are_not_id_names(name):
    assert not is_id_name(name)


@pytest.mark.parametrize(
    "name", ["id", "ID", "PassengerId", "customer_id", "customerID", "id_user", "row-uuid"]
)
def test_id_names(name):
    assert is_id_name(name)


def test_paid_and_valid_unique_integers_are_not_ids():
    n = 200
    found = run({"paid": np.arange(n), "valid": np.arange(n) * 2, "amount": RNG.normal(size=n)})
    assert found.id_columns == []
    assert found.column_types["paid"] == "numeric"


def test_a_column_called_id_whose_values_repeat_is_not_an_id():
    n = 300
    found = run({"ID": RNG.integers(0, 40, n), "label": RNG.choice(["a", "b", "c"], n)})
    assert found.id_columns == []
    assert "ID: named like an id but values repeat" in found.reasons["id_columns"]


def test_an_unnamed_row_number_column_is_an_index_not_an_id_or_feature():
    n = 150
    found = run(
        {"column0": np.arange(n), "sepal": RNG.normal(size=n), "species": RNG.choice(["x", "y", "z"], n)}
    )
    assert found.column_types["column0"] == "index"
    assert found.id_columns == []
    assert found.target == "species"
    assert (found.problem_type, found.class_count) == ("multiclass", 3)


def test_target_from_sample_submission_in_a_kaggle_folder():
    n = 300
    train = {"key": np.arange(n), "f1": RNG.normal(size=n), "answer": RNG.normal(size=n) * 10}
    test = {"key": np.arange(n, n + 50), "f1": RNG.normal(size=50)}
    found = run(train, test, submission=["key", "answer"])
    assert found.target == "answer"
    assert found.id_columns == ["key"]
    assert found.problem_type == "regression" and found.class_count is None
    assert "sample_submission" in found.reasons["target"]


def test_regression_target_named_price():
    n = 500
    found = run(
        {"sqft": RNG.integers(400, 4000, n), "rooms": RNG.integers(1, 8, n), "price": RNG.normal(3e5, 5e4, n)}
    )
    assert found.target == "price"
    assert found.problem_type == "regression"


def test_integer_labels_with_few_values_are_classes():
    n = 600
    found = run({"f": RNG.normal(size=n), "label": RNG.integers(0, 5, n)})
    assert (found.problem_type, found.class_count) == ("multiclass", 5)


def test_integer_target_with_many_values_is_a_quantity():
    n = 600
    found = run({"f": RNG.normal(size=n), "target": RNG.integers(0, 10_000, n)})
    assert found.problem_type == "regression"


def test_last_column_is_the_target_when_it_looks_like_a_label():
    n = 240
    found = run(
        {"width": RNG.normal(size=n), "length": RNG.normal(size=n), "variety": RNG.choice(["a", "b", "c"], n)}
    )
    assert found.target == "variety"
    assert "the last column" in found.reasons["target"]


def test_a_last_0_1_feature_is_not_taken_as_the_target():
    n = 240
    found = run({"amount": RNG.normal(size=n), "is_weekend": RNG.integers(0, 2, n)})
    assert found.target is None and found.problem_type is None
    assert "0/1" in found.reasons["target"]
    assert found.column_types["is_weekend"] == "numeric"


def test_datetime_text_is_detected_and_dates_are_datetime():
    n = 100
    days = np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[D]")
    found = run(
        {
            "when": [f"{d} 08:30:00" for d in days.astype(str)],
            "day": pa.array(days),
            "y": RNG.normal(size=n),
        }
    )
    assert found.column_types["when"] == "datetime"
    assert found.column_types["day"] == "datetime"
    assert found.datetime_columns == ["when", "day"]


def test_every_override_is_honoured():
    found = run(
        titanic(),
        target="Pclass",
        id_columns=["Name"],
        problem_type="regression",
        column_types={"Sex": "text", "Fare": "categorical"},
    )
    assert found.target == "Pclass"
    assert found.id_columns == ["Name"]
    assert found.problem_type == "regression" and found.class_count is None
    assert found.column_types["Sex"] == "text" and found.column_types["Fare"] == "categorical"
    assert found.reasons["target"] == found.reasons["id_columns"] == "given by the user"


def test_a_target_that_does_not_exist_is_refused_naming_the_columns():
    with pytest.raises(
        DatasetError, match=r"target 'Outcome' is not a column of train; columns: PassengerId"
    ):
        run(titanic(), target="Outcome")


def test_an_unknown_problem_type_is_refused():
    with pytest.raises(DatasetError, match="problem type 'ranking'"):
        run(titanic(), problem_type="ranking")
