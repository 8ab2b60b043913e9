"""Load a reference file's rows into its table: full, append or upsert, matching columns by name.

Reference tables live in Delta, whose history is the backup: before a full reload replaces a
table, the version it replaces is recorded as the backup, and `restore` writes that version
back, so the old rows return exactly. Each load's commit records the file it came from, its
mode and that backup, so a load interrupted before the ledger heard of it is recorded whole.

A delivery with no rows never touches an existing table: an empty export is far more often a
broken export than an emptied table. Into a new table it creates the table, with no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.storage.contract import TableName
    from dataplatform.storage.delta_store import DeltaStore

Mode = Literal["full", "append", "upsert"]
MODES: tuple[Mode, ...] = ("full", "append", "upsert")


class LoadError(ValueError):
    """The rows cannot go into the table as asked; the message says why, and nothing changed."""


@dataclass(frozen=True)
class Loaded:
    rows: int
    mode: Mode
    backup_version: int | None  # the version a full reload replaced: restore it to undo the load
    version: int  # the table's version after the load


SOURCE_HASH = "dataplatform.content_hash"  # commit metadata: the file a load came from
SOURCE_MODE = "dataplatform.mode"
SOURCE_BACKUP = "dataplatform.backup_version"
SOURCE_ROWS = "dataplatform.rows"  # in-memory loads (upsert), whose commit rewrites the table
SOURCE_CONFIG = "dataplatform.config"  # how the file was read: the same bytes read otherwise differ


def load(
    store: DeltaStore,
    table: TableName,
    data: pa.Table | pa.RecordBatchReader,
    mode: Mode,
    keys: Sequence[str] = (),
    content_hash: str | None = None,
    config: str | None = None,
) -> Loaded:
    """Load `data` (a table, or a stream for files of any size); with `content_hash`, the
    commit records the file it came from, so a load interrupted after its commit is recognised
    (`version_loaded_from`) and never repeated."""
    import pyarrow as pa

    if mode not in MODES:
        raise LoadError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    exists = store.exists(table)
    if isinstance(data, pa.RecordBatchReader):
        schema = data.schema
        data = _first_rows_ahead(data) if mode != "upsert" else data.read_all()  # upsert joins in memory
        data = schema.empty_table() if data is None else data
    if isinstance(data, pa.Table) and data.num_rows == 0:
        if exists:
            raise LoadError(
                "the file has no data rows; an empty delivery never replaces or truncates a table"
            )
        store.write(table, data, commit_metadata={SOURCE_HASH: content_hash} if content_hash else None)
        return Loaded(0, mode, None, _version(store, table))
    from dataplatform.storage.schema import SchemaMismatch

    before = _version(store, table) if exists else None
    backup = before if mode == "full" else None
    metadata = {SOURCE_MODE: mode} | ({SOURCE_HASH: content_hash} if content_hash else {})
    metadata |= {SOURCE_CONFIG: config} if config else {}
    metadata |= {SOURCE_BACKUP: str(backup)} if backup is not None else {}
    try:
        if isinstance(data, pa.Table):
            metadata |= {SOURCE_ROWS: str(data.num_rows)}
            _write(store, table, data, mode, keys, exists, metadata)
            rows = data.num_rows
        else:
            rows = store.write_stream(
                table, data, append=mode == "append" and exists, commit_metadata=metadata
            )
    except SchemaMismatch as error:  # a changed type or a missing required column
        raise LoadError(str(error)) from None
    return Loaded(rows, mode, backup, _version(store, table))


def _first_rows_ahead(reader: pa.RecordBatchReader) -> pa.RecordBatchReader | None:
    """The stream again with its first rows read, or None when it holds no row at all."""
    import itertools

    import pyarrow as pa

    for batch in reader:
        if batch.num_rows:
            return pa.RecordBatchReader.from_batches(reader.schema, itertools.chain([batch], reader))
    return None


def _write(
    store: DeltaStore,
    table: TableName,
    data: pa.Table,
    mode: Mode,
    keys: Sequence[str],
    exists: bool,
    metadata: dict[str, str] | None,
) -> None:
    if mode == "upsert":
        missing = [k for k in keys if k not in data.column_names]
        if not keys or missing:
            raise LoadError(
                f"upsert needs key columns present in the file; missing: {', '.join(missing) or 'no keys declared'}"
            )
        _refuse_duplicate_keys(data, keys)
        if exists:
            data = _upserted(store.read(table), data, keys)
        store.write(table, data, commit_metadata=metadata)
    elif mode == "append" and exists:
        store.append(table, data, commit_metadata=metadata)
    else:
        store.write(table, data, commit_metadata=metadata)


def restore(store: DeltaStore, table: TableName, version: int) -> int:
    """Write `version` of the table back as its newest version; returns the new version."""
    store.write(table, store.read_version(table, version))
    return _version(store, table)


def unrecorded_load(
    store: DeltaStore, table: TableName, content_hash: str, recorded: set[int]
) -> Loaded | None:
    """A commit that loaded the file with `content_hash` at a version the ledger has not
    recorded: a load interrupted between its commit and its ledger entry, told back from the
    commit itself (rows, mode, the backup it made) so nothing is loaded twice or lost."""
    if not store.exists(table):
        return None
    for commit in store.history(table):
        if commit.get(SOURCE_HASH) == content_hash and commit["version"] not in recorded:
            metrics = commit.get("operationMetrics") or {}
            rows = commit.get(SOURCE_ROWS, metrics.get("num_added_rows", 0))
            backup = commit.get(SOURCE_BACKUP)
            mode = commit.get(SOURCE_MODE, "full")
            return Loaded(int(rows), mode, None if backup is None else int(backup), commit["version"])
    return None


def holds(store: DeltaStore, table: TableName, content_hash: str, config: str | None = None) -> bool:
    """Whether the table's newest version is the load of the file with `content_hash`, read
    with the same `config`: the same bytes read the same way again would change nothing."""
    if not store.exists(table):
        return False
    newest = store.history(table)[0]
    return newest.get(SOURCE_HASH) == content_hash and newest.get(SOURCE_CONFIG) == config


def _version(store: DeltaStore, table: TableName) -> int:
    return store.history(table)[0]["version"]


def _refuse_duplicate_keys(data: pa.Table, keys: Sequence[str]) -> None:
    from dataplatform.engine.identifiers import quote
    from dataplatform.engine.sql import query

    columns = ", ".join(quote(k) for k in keys)
    repeated = query(
        f"SELECT {columns}, count(*) AS n FROM t GROUP BY ALL HAVING n > 1 LIMIT 3", t=data.select(list(keys))
    )
    if repeated.num_rows:
        raise LoadError(f"upsert keys repeat within the file, e.g. {repeated.to_pylist()}")


def _upserted(existing: pa.Table, incoming: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Existing rows whose key is not in `incoming`, then every incoming row (columns by name;
    a column either side lacks is null on the other)."""
    from dataplatform.engine.identifiers import quote
    from dataplatform.engine.sql import query

    on = " AND ".join(f"e.{quote(k)} IS NOT DISTINCT FROM i.{quote(k)}" for k in keys)
    kept = query(
        f"SELECT e.* FROM existing e WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE {on})",
        existing=existing,
        incoming=incoming,
    )
    return query("SELECT * FROM kept UNION ALL BY NAME SELECT * FROM incoming", kept=kept, incoming=incoming)
