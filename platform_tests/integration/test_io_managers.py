"""The IO managers on their own: partitions, several partitions at once, column selection.

No `from __future__ import annotations`: Dagster reads the context annotation at definition.
"""

from datetime import date

import dagster as dg
import pyarrow as pa
import pytest

from dataplatform.defs.io_managers import TableIOManager
from dataplatform.defs.tables import PARTITION_COLUMN
from dataplatform.settings import STORAGE_BACKENDS

DAILY = dg.DailyPartitionsDefinition(start_date="2026-03-01")


@pytest.fixture(params=sorted(STORAGE_BACKENDS))
def io_manager(request, tmp_path):
    backend = request.param
    if backend == "postgres":
        return TableIOManager(backend=backend, url=request.getfixturevalue("postgres_database"))
    return TableIOManager(backend=backend, data_dir=str(tmp_path))


@dg.asset(
    key=["silver", "shop", "events"], partitions_def=DAILY, metadata={PARTITION_COLUMN: "partition_date"}
)
def events(context: dg.AssetExecutionContext):
    day = date.fromisoformat(context.partition_key)
    return pa.table(
        {"id": [day.day * 10 + i for i in range(3)], "note": ["x"] * 3, "partition_date": [day] * 3}
    )


@dg.asset(
    key=["gold", "shop", "two_days"],
    partitions_def=DAILY,
    metadata={PARTITION_COLUMN: "partition_date"},
    ins={
        "events": dg.AssetIn(
            key=["silver", "shop", "events"], partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1)
        )
    },
)
def two_days(context: dg.AssetExecutionContext, events):
    day = date.fromisoformat(context.partition_key)
    return pa.table(
        {
            "seen": [events.num_rows],
            "days": [len(set(events["partition_date"].to_pylist()))],
            "partition_date": [day],
        }
    )


@dg.asset(
    key=["gold", "shop", "ids"],
    ins={"events": dg.AssetIn(key=["silver", "shop", "events"], metadata={"columns": ["id"]})},
)
def ids(events):
    return pa.table({"columns": [",".join(events.column_names)], "rows": [events.num_rows]})


def test_partitions_several_partitions_and_column_selection(io_manager):
    resources = {"io_manager": io_manager}
    for day in ("2026-03-10", "2026-03-11"):
        assert dg.materialize([events], partition_key=day, resources=resources).success
    result = dg.materialize(
        [events, two_days], partition_key="2026-03-11", resources=resources, selection=[two_days.key]
    )
    assert result.success
    store = io_manager.store()
    from dataplatform.storage import TableName

    assert store.read(TableName("gold", "shop", "two_days")).to_pylist()[0]["seen"] == 6
    assert dg.materialize([events, ids], resources=resources, selection=[ids.key]).success
    assert store.read(TableName("gold", "shop", "ids")).to_pylist() == [{"columns": "id", "rows": 6}]
