"""The content hash of a version's splits: the same rows give the same hash however they are stored
or batched; any change a model would see (a value, an empty value, the order, a type, a name) another."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from dataplatform.datasets import contenthash
from dataplatform.datasets.contenthash import content_hash


def table(**changes: pa.Array) -> pa.Table:
    columns = {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "amount": pa.array([1.5, None, 3.25, 4.0]),
        "label": pa.array(["Yes", "No", None, "No"]),
        "flag": pa.array([True, None, False, True]),
        "day": pa.array([dt.date(2024, 1, d) for d in (1, 2, 3, 4)]),
        "at": pa.array([dt.datetime(2024, 1, 1, h) for h in (1, 2, 3, 4)], pa.timestamp("us")),
        "tags": pa.array([["a"], [], None, ["b", "c"]]),
    }
    return pa.table({**columns, **changes})


def hashed(**splits: pa.Table) -> str:
    with duckdb.connect() as con:
        for name, data in splits.items():
            con.register(name, data)
        return content_hash(con, {name: name for name in splits})


def test_the_same_rows_hash_alike_however_they_are_batched_or_what_empty_slots_hold(monkeypatch):
    base = hashed(train=table())
    assert base == hashed(train=table()) and len(base) == 64
    monkeypatch.setattr(contenthash, "BATCH_ROWS", 1)  # one row per batch
    assert hashed(train=table()) == base
    chunked = pa.Table.from_batches(table().to_batches(max_chunksize=3))
    assert hashed(train=chunked) == base
    # an empty value is empty, whatever bytes sit under it
    garbage = pa.Array.from_buffers(
        pa.float64(),
        4,
        [pa.array([True, False, True, True]).buffers()[1], pa.array([1.5, 99.0, 3.25, 4.0]).buffers()[1]],
    )
    assert hashed(train=table(amount=garbage)) == base
    assert hashed(train=table(label=pa.array(["Yes", "No", None, "No"]).dictionary_encode())) == base
    assert hashed(train=table(label=pa.array(["Yes", "No", None, "No"], pa.large_string()))) == base


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"amount": pa.array([1.5, 0.0, 3.25, 4.0])}, id="an empty value filled"),
        pytest.param({"label": pa.array(["Yes", "No", "", "No"])}, id="an empty text made blank"),
        pytest.param({"label": pa.array(["Yes", "No", None, "no"])}, id="a label's case"),
        pytest.param({"label": pa.array(["YesNo", "", None, "No"])}, id="text moved between rows"),
        pytest.param({"id": pa.array([1, 2, 3, 4], pa.int32())}, id="a type"),
        pytest.param({"flag": pa.array([True, None, True, True])}, id="a boolean"),
        pytest.param({"tags": pa.array([["a"], [], [], ["b", "c"]])}, id="a nested value"),
    ],
)
def test_any_change_a_model_would_see_is_another_hash(changed):
    assert hashed(train=table(**changed)) != hashed(train=table())


def test_order_names_and_splits_count():
    base = hashed(train=table())
    assert hashed(train=table().take([1, 0, 2, 3])) != base  # a seeded model depends on row order
    assert hashed(train=table().rename_columns(["ID", *table().column_names[1:]])) != base
    assert hashed(train=table(), test=table()) != base
    assert hashed(other=table()) != base
