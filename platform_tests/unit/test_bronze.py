from datetime import UTC, datetime

import pyarrow as pa

from dataplatform.transform.bronze import LINEAGE_COLUMNS, with_batch_metadata

AT = datetime(2026, 3, 10, 6, tzinfo=UTC)


def test_rows_keep_their_values_and_gain_lineage():
    landing = pa.table({"id": [1, 2], "name": ["a", None]})
    bronze = with_batch_metadata(landing, "generator:ecommerce/customers", AT)
    assert bronze.column_names == ["id", "name", *LINEAGE_COLUMNS]
    assert bronze.select(["id", "name"]).equals(landing)
    assert set(bronze["_source"].to_pylist()) == {"generator:ecommerce/customers"}
    assert set(bronze["_ingested_at"].to_pylist()) == {AT}
    assert len(set(bronze["_checksum"].to_pylist())) == 2


def test_batch_id_depends_on_content_only():
    a = pa.table({"id": [1, 2], "name": ["a", "b"]})
    shuffled = pa.table({"id": [2, 1], "name": ["b", "a"]})
    changed = pa.table({"id": [1, 2], "name": ["a", "c"]})
    batch = lambda t, at=AT: with_batch_metadata(t, "s", at)["_batch_id"][0].as_py()  # noqa: E731
    assert batch(a) == batch(shuffled) == batch(a, datetime(2030, 1, 1, tzinfo=UTC))
    assert batch(a) != batch(changed)


def test_null_and_empty_string_rows_have_different_checksums():
    rows = pa.table({"a": ["", None], "b": [None, ""]})
    checksums = with_batch_metadata(rows, "s", AT)["_checksum"].to_pylist()
    assert checksums[0] != checksums[1]
