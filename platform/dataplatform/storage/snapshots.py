"""Read-only snapshots of gold tables, published atomically by every gold write.

DuckDB lets no other process write `warehouse.duckdb` while any connection holds it, and refuses
read-only opens while a writer holds it. A reader that must never disturb the pipeline (the REST
API) therefore never opens the warehouse: each gold write publishes the whole table as one
Parquet file, `<data_dir>/snapshots/<layer>/<domain>/<table>/<version>.parquet`, written under a
temporary name and renamed into place, and then swaps `manifest.json` (also by rename) to name
it, with the schema, row count and publication time. A reader reads the manifest, then the file
it names: it sees the table before a write or after it, never half of it.

The previous versions stay (`KEEP_VERSIONS`) so a reader that took the manifest just before a
swap, or a page cursor pinned to a version, still finds its file. Publishers of one table take
an exclusive lock around "read the table, write the file, swap the manifest", so the last
manifest always describes the table as of the last write, whichever writer finishes first.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataplatform import filelock
from dataplatform.storage.contract import StorageError, TableName

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.storage.contract import TableStore

SNAPSHOT_FOLDER = "snapshots"
MANIFEST = "manifest.json"
KEEP_VERSIONS = 3
ROW_GROUP_ROWS = 64 * 1024
_VERSION = re.compile(r"[0-9]{20}-[0-9a-f]{8}")


@dataclass(frozen=True)
class Snapshot:
    """One published version of a table: its Parquet file and what the manifest says of it."""

    table: TableName
    version: str
    path: Path
    rows: int
    columns: tuple[tuple[str, str], ...]  # (name, Arrow type) in table order
    published_at: datetime

    def to_manifest(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "version": self.version,
            "file": self.path.name,
            "rows": self.rows,
            "columns": [{"name": name, "type": kind} for name, kind in self.columns],
            "published_at": self.published_at.isoformat(),
        }


def snapshot_root(data_dir: Path | str) -> Path:
    """Where snapshots of the tables stored under `data_dir` are published."""
    return Path(data_dir) / SNAPSHOT_FOLDER


def publish(store: TableStore, table: TableName, root: Path) -> Snapshot:
    """Publish `table` as `store` holds it now; returns the snapshot the manifest names."""
    import pyarrow.parquet as pq

    folder = _folder(root, table)
    folder.mkdir(parents=True, exist_ok=True)
    with filelock.held(folder / ".lock"):
        version = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        target = folder / f"{version}.parquet"
        partial = folder / f".{version}.parquet.tmp"
        rows = 0
        try:
            writer = None
            for batch in store.read_batches(table):
                if writer is None:
                    writer = pq.ParquetWriter(partial, batch.schema)
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows
            if writer is None:  # an empty table still has its columns
                schema = store.schema(table)
                writer = pq.ParquetWriter(partial, schema)
                writer.write_table(schema.empty_table())
            writer.close()
            schema = writer.schema
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        snapshot = Snapshot(
            table, version, target, rows, _columns(schema), datetime.now(UTC).replace(microsecond=0)
        )
        _write_atomically(folder / MANIFEST, json.dumps(snapshot.to_manifest(), indent=1))
        _prune(folder, keep=version)
    return snapshot


def latest(root: Path, table: TableName) -> Snapshot | None:
    """The snapshot the manifest names, or None when none was published (or its file is gone)."""
    folder = _folder(root, table)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise StorageError(f"{table}: unreadable snapshot manifest: {error}") from None
    path = folder / manifest["file"]
    if not path.exists():
        return None
    return Snapshot(
        table,
        manifest["version"],
        path,
        int(manifest["rows"]),
        tuple((c["name"], c["type"]) for c in manifest["columns"]),
        datetime.fromisoformat(manifest["published_at"]),
    )


def version_file(root: Path, table: TableName, version: str) -> Path | None:
    """The file of an earlier `version` (a page cursor's), while it is kept; None once pruned."""
    if not _VERSION.fullmatch(version):
        return None
    path = _folder(root, table) / f"{version}.parquet"
    return path if path.exists() else None


def published(root: Path, layer: str = "gold") -> list[TableName]:
    """Tables with a manifest under `root`."""
    found = []
    for manifest in sorted((root / layer).glob(f"*/*/{MANIFEST}")):
        try:
            found.append(TableName(layer, manifest.parent.parent.name, manifest.parent.name))
        except StorageError:
            continue
    return found


def _folder(root: Path, table: TableName) -> Path:
    return root / table.layer / table.domain / table.name


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _prune(folder: Path, keep: str) -> None:
    """Remove all but the newest `KEEP_VERSIONS` files (never the one just published)."""
    versions = sorted(p for p in folder.glob("*.parquet") if _VERSION.fullmatch(p.stem))
    for old in versions[:-KEEP_VERSIONS]:
        if old.stem != keep:
            old.unlink(missing_ok=True)


def _columns(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    return tuple((field.name, str(field.type)) for field in schema)
