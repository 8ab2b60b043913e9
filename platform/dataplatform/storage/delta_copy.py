"""DuckDB writes a Delta commit's Parquet files itself; delta-rs only commits them.

Handing delta-rs DuckDB's rows as a stream of Arrow batches converts every batch and writes
the files with one Parquet writer. When the rows come from a DuckDB query (`SqlRows`), DuckDB's
`COPY ... PARTITION_BY` writes the same Hive layout Delta uses, in parallel, and
`create_write_transaction` commits the files as one version: the same replace-a-slice commit as
a predicate overwrite, since the slice column is the partition column. Each file's add action
carries its row count, null counts and the minimum and maximum of integer and date columns
(what readers prune by), taken from the statistics DuckDB returns as it writes.

A file that is not in the log does not exist for any reader, so a write that fails leaves the
previous version as it was; its files are deleted (and `vacuum` removes any left behind).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from dataplatform.engine.identifiers import quote, string_literal
from dataplatform.engine.s3 import duckdb_secret
from dataplatform.engine.scans import SqlRows
from dataplatform.storage.contract import Slice, StorageError, TableName, slice_value_text
from dataplatform.storage.lake import filesystem

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import CommitProperties
    from deltalake.transaction import RemoveAction

_FOLDER_TEXT = re.compile(r"[A-Za-z0-9_.\-]+")  # a partition value DuckDB and Delta spell alike


def copyable(rows: SqlRows, schema: pa.Schema, partition_by: list[str], replace: Slice | None) -> bool:
    """Whether DuckDB can write these rows as the table's files: exactly the table's columns and
    types (schema evolution and conversions stay with delta-rs), partitioned by the slice column
    (or not at all), with slice values that are plain folder names."""
    import pyarrow as pa

    if [(f.name, f.type) for f in rows.schema] != [(f.name, f.type) for f in schema]:
        return False
    if replace is None:
        return not partition_by
    column_type = schema.field(replace.column).type if replace.column in schema.names else None
    return (
        partition_by == [replace.column]
        and column_type is not None
        and (
            pa.types.is_date32(column_type)
            or pa.types.is_integer(column_type)
            or pa.types.is_string(column_type)
        )
        and all(_FOLDER_TEXT.fullmatch(slice_value_text(v)) for v in replace.values)
    )


def copy_and_commit(
    folder: str,
    storage_options: dict[str, str] | None,
    table: TableName,
    rows: SqlRows,
    schema: pa.Schema,
    replace: Slice | None,
    mode: str,
    commit_properties: CommitProperties | None,
) -> int:
    """Write `rows` into `folder` (an existing Delta table: a local path or an s3:// URI) and
    commit them with `mode` ("overwrite": the slice, or the whole table; "append"). Returns the
    rows written."""
    from deltalake import DeltaTable
    from deltalake.transaction import AddAction

    token = uuid.uuid4().hex
    try:
        if storage_options is not None:
            duckdb_secret(rows.connection)
        files = _copy(folder, rows, replace, token)
        if replace is not None:
            _refuse_rows_outside(table, replace, files)
        now = int(time.time() * 1000)
        actions: list[AddAction | RemoveAction] = [
            AddAction(
                _relative(file.path, folder),
                file.size,
                file.partition,
                now,
                True,
                _statistics(file.rows, file.statistics, schema),
            )
            for file in files
        ]
        filters = [(replace.column, "in", [slice_value_text(v) for v in replace.values])] if replace else None
        DeltaTable(folder, storage_options=storage_options).create_write_transaction(
            actions,
            mode,
            schema,
            partition_by=[replace.column] if replace else None,
            partition_filters=filters,
            commit_properties=commit_properties,
        )
    except BaseException:
        _delete(folder, token)
        raise
    return sum(file.rows for file in files)


@dataclass(frozen=True)
class _Written:
    """A file DuckDB wrote, as its COPY ... RETURN_STATS reports it."""

    path: str
    rows: int
    size: int
    statistics: Mapping[str, Mapping[str, str]]  # per quoted column path: min, max, null_count...
    partition: dict[str, str]


def _copy(folder: str, rows: SqlRows, replace: Slice | None, token: str) -> list[_Written]:
    options = ["FORMAT parquet", "RETURN_STATS"]
    target = f"{folder}/part-{token}.parquet"
    if replace is not None:
        options += [f"PARTITION_BY ({quote(replace.column)})", "OVERWRITE_OR_IGNORE"]
        options.append(f"FILENAME_PATTERN 'part-{token}-{{i}}'")
        target = folder
    written = rows.connection.execute(
        f"COPY ({rows.sql}) TO {string_literal(target)} ({', '.join(options)})"
    ).fetchall()
    return [
        _Written(path, n, size, stats or {}, dict(keys or {})) for path, n, size, _, stats, keys in written
    ]


def _refuse_rows_outside(table: TableName, replace: Slice, files: list[_Written]) -> None:
    """Rows outside the slice would survive the next replacement as duplicates."""
    wanted = {slice_value_text(v) for v in replace.values}
    outside = sum(file.rows for file in files if file.partition.get(replace.column) not in wanted)
    if outside:
        raise StorageError(
            f"{table}: {outside} rows have {replace.column} outside {list(map(str, replace.values))}"
        )


def _statistics(count: int, columns: Mapping[str, Mapping[str, str]], schema: pa.Schema) -> str:
    """Delta's per-file statistics from DuckDB's: row count, null counts of top-level columns,
    and the range of integer and date columns (text and timestamps would need Delta's own
    truncation and formatting rules; readers do without them)."""
    import pyarrow as pa

    minimum: dict[str, int | str] = {}
    maximum: dict[str, int | str] = {}
    nulls: dict[str, int] = {}
    for field in schema:
        found = columns.get(quote(field.name))
        if found is None:  # a nested column's leaves, or the partition column (not in the file)
            continue
        if "null_count" in found:
            nulls[field.name] = int(found["null_count"])
        if "min" not in found or "max" not in found:
            continue
        if pa.types.is_integer(field.type):
            minimum[field.name], maximum[field.name] = int(found["min"]), int(found["max"])
        elif pa.types.is_date32(field.type):
            minimum[field.name], maximum[field.name] = found["min"], found["max"]
    return json.dumps({"numRecords": count, "minValues": minimum, "maxValues": maximum, "nullCount": nulls})


def _relative(path: str, folder: str) -> str:
    """A written file's path inside the table, as Delta's log records it."""
    relative = PurePosixPath(path.removeprefix(folder.rstrip("/") + "/"))
    if relative.is_absolute() or relative.as_posix() == path:
        raise StorageError(f"DuckDB wrote {path!r} outside the table at {folder!r}")
    return relative.as_posix()


def _delete(folder: str, token: str) -> None:
    import pyarrow.fs as pafs

    fs, base = filesystem(folder)
    for info in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        if info.base_name.startswith(f"part-{token}") and info.base_name.endswith(".parquet"):
            fs.delete_file(info.path)
