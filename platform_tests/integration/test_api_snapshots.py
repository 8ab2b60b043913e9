"""Gold snapshots as the API reads them: published whole by rename, earlier versions kept for
cursors, a failed publication leaving the previous one readable, cursors unable to name files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.storage import TableName, open_store
from dataplatform.storage.snapshots import (
    KEEP_VERSIONS,
    latest,
    publish,
    published,
    snapshot_root,
    version_file,
)

TABLE = TableName("gold", "ecommerce", "daily_sales")


def test_each_publication_is_a_whole_file_named_by_the_manifest_and_old_ones_are_pruned(tmp_path):
    store = open_store("duckdb", tmp_path)
    root = snapshot_root(tmp_path)
    versions = []
    for rows in range(1, KEEP_VERSIONS + 3):
        store.write(TABLE, pa.table({"n": list(range(rows))}))
        versions.append(publish(store, TABLE, root).version)
    current = latest(root, TABLE)
    assert current.version == versions[-1] and current.rows == KEEP_VERSIONS + 2
    assert pq.read_table(current.path).num_rows == current.rows
    kept = sorted(p.stem for p in current.path.parent.glob("*.parquet"))
    assert kept == versions[-KEEP_VERSIONS:]
    assert version_file(root, TABLE, versions[0]) is None and version_file(root, TABLE, versions[-2])
    assert not list(current.path.parent.glob(".*.tmp"))
    assert published(root) == [TABLE]
    manifest = json.loads((current.path.parent / "manifest.json").read_text())
    assert manifest["columns"] == [{"name": "n", "type": "int64"}]


def test_a_publication_that_fails_half_way_leaves_the_previous_snapshot(tmp_path):
    store = open_store("duckdb", tmp_path)
    root = snapshot_root(tmp_path)
    store.write(TABLE, pa.table({"n": [1, 2, 3]}))
    before = publish(store, TABLE, root)

    class Failing:
        def read_batches(self, table):
            yield pa.record_batch({"n": [9]})
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        publish(Failing(), TABLE, root)
    after = latest(root, TABLE)
    assert after == before and pq.read_table(after.path).column("n").to_pylist() == [1, 2, 3]
    assert not list(after.path.parent.glob(".*.tmp"))


def test_an_empty_table_publishes_its_columns(tmp_path):
    store = open_store("duckdb", tmp_path)
    store.write(TABLE, pa.table({"n": pa.array([], pa.int64()), "s": pa.array([], pa.string())}))
    snapshot = publish(store, TABLE, snapshot_root(tmp_path))
    assert snapshot.rows == 0 and [c for c, _ in snapshot.columns] == ["n", "s"]


@pytest.mark.parametrize("version", ["../../../etc/passwd", "manifest", "0" * 20 + "-zzzzzzzz", ""])
def test_a_version_from_a_cursor_never_names_another_file(tmp_path, version):
    assert version_file(snapshot_root(tmp_path), TABLE, version) is None


def test_publish_gold_publishes_a_warehouse_written_before_the_api(tmp_path):
    from typer.testing import CliRunner

    from dataplatform.cli.api import app

    store = open_store("duckdb", tmp_path)
    store.write(TABLE, pa.table({"n": [1, 2]}))
    store.write(TableName("silver", "ecommerce", "orders"), pa.table({"n": [1]}))
    done = CliRunner().invoke(
        app, ["publish-gold", "--format", "json"], env={"DATAPLATFORM_DATA_DIR": str(tmp_path)}
    )
    assert done.exit_code == 0, done.output
    assert [(p["table"], p["rows"]) for p in json.loads(done.output)] == [("gold/ecommerce/daily_sales", 2)]
    assert published(snapshot_root(tmp_path)) == [TABLE]
