"""The one table contract every backend implements.

A table is addressed by (layer, domain, name). A write either replaces the whole table or
replaces one *slice*: the rows whose slice column holds one of the given values (a daily
partition, or a bronze batch). Replacing a slice deletes exactly those rows and inserts the new
ones in one step, so re-running a partition never duplicates a row and never touches another
partition. Every write is all-or-nothing: a writer killed half way leaves the previous version
readable. Schemas evolve by the rules in `schema.py`.

Empty data: writing an empty table creates the table (with the data's schema) or, for a slice,
empties that slice; appending an empty table changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dataplatform.engine.errors import EngineError
from dataplatform.engine.identifiers import quote
from dataplatform.engine.scans import DEFAULT_BATCH_ROWS, SqlRows, as_reader

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

    from dataplatform.engine.scans import Scannable

SliceValue = date | datetime | str | int
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LAYER = re.compile(r"[a-z][a-z0-9]{0,30}")
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")


class StorageError(EngineError):
    """A storage operation cannot be done as asked; the message says which table and why."""


def validate_identifier(name: str, what: str = "name") -> str:
    """Identifiers reach SQL, paths and Delta predicates: only a safe, lower-case form passes."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise StorageError(
            f"invalid {what} {name!r}: use lower-case letters, digits and underscores, "
            "starting with a letter or underscore (at most 63 characters)"
        )
    return name


@dataclass(frozen=True)
class TableName:
    layer: str
    domain: str
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.layer, str) or not _LAYER.fullmatch(self.layer):
            raise StorageError(f"invalid layer {self.layer!r}: use lower-case letters and digits")
        validate_identifier(self.domain, "domain")
        validate_identifier(self.name, "table name")

    @property
    def namespace(self) -> str:
        """The SQL schema holding the table: `<layer>_<domain>` (layers have no underscore)."""
        return f"{self.layer}_{self.domain}"

    @classmethod
    def from_namespace(cls, namespace: str, name: str) -> TableName:
        layer, _, domain = namespace.partition("_")
        return cls(layer, domain, name)

    def __str__(self) -> str:
        return f"{self.layer}/{self.domain}/{self.name}"


@dataclass(frozen=True)
class Slice:
    """The rows of a table whose `column` holds one of `values`.

    Values become folder names and Delta predicate literals, so every backend accepts only
    dates, integers and plain text (see `slice_value_text`).
    """

    column: str
    values: tuple[SliceValue, ...]

    def __post_init__(self) -> None:
        validate_identifier(self.column, "slice column")
        if not self.values:
            raise StorageError("a slice needs at least one value")
        for value in self.values:
            slice_value_text(value)

    def mask(self, data: pa.Table) -> pa.ChunkedArray:
        import pyarrow as pa
        import pyarrow.compute as pc

        column = data.column(self.column)
        return pc.is_in(column, value_set=pa.array(self.values, column.type))


def slice_predicate(where: Slice) -> str:
    """The slice as a SQL condition (values are validated literals; see `slice_value_text`)."""
    literals = ", ".join(f"'{slice_value_text(v)}'" for v in where.values)
    return f"{quote(where.column)} IN ({literals})"


class TableStore(Protocol):
    """Where a layer's tables live. Implementations: one module per backend, registered in
    `settings.STORAGE_BACKENDS` and opened by `storage.backends`."""

    backend: str

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        """Replace the whole table, or only the rows in `replace` (created if missing)."""

    def append(self, table: TableName, data: pa.Table) -> None:
        """Add rows to the table (created if missing)."""

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """The table's rows, optionally only some columns, the rows of one slice, the first `limit`."""

    def read_batches(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """The same rows as `read`, a batch at a time, for tables larger than memory."""

    def write_stream(
        self, table: TableName, batches: pa.RecordBatchReader | SqlRows, replace: Slice | None = None
    ) -> int:
        """`write` from a stream of batches or a DuckDB query's rows, all or nothing; returns
        the rows written. Backends that can hold one batch at a time do (or let DuckDB write
        their files); the others collect the stream first."""

    def scan(
        self, table: TableName, where: Slice | None = None, columns: Sequence[str] | None = None
    ) -> Scannable:
        """The rows of `read` as something DuckDB scans lazily where the backend allows it (a
        `SqlScan` through DuckDB's own reader, or an Arrow dataset, into which DuckDB pushes its
        projection itself), so a consumer reads only the columns and row groups it needs;
        otherwise the table itself, only `columns` when given."""

    def exists(self, table: TableName) -> bool: ...

    def schema(self, table: TableName) -> pa.Schema: ...

    def row_count(self, table: TableName) -> int:
        """Rows in the table, counted by the backend without reading the data."""

    def list_tables(self, layer: str | None = None) -> list[TableName]: ...

    def drop(self, table: TableName) -> None:
        """Remove the table; dropping a missing table does nothing."""

    def location(self, table: TableName) -> str:
        """Where a person finds the table: a folder, or a database plus a qualified table name."""


class WholeTables:
    """`write_stream` and `scan` for backends that write and read whole tables: a stream is
    collected before it is written, and a scan is the table read."""

    def write_stream(
        self, table: TableName, batches: pa.RecordBatchReader | SqlRows, replace: Slice | None = None
    ) -> int:
        data = as_reader(batches).read_all()
        self.write(table, data, replace)  # type: ignore[attr-defined]
        return int(data.num_rows)

    def scan(
        self, table: TableName, where: Slice | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table:
        return self.read(table, columns=columns, where=where)  # type: ignore[attr-defined]


class TableFolders:
    """For backends that keep each table in its own folder: `<root>/<layer>/<domain>/<name>`,
    where `root` is a local folder or an s3:// prefix (see `storage/lake.py`). A root given a
    `layer` holds only that layer's tables, as `<root>/<domain>/<name>`: the folder
    `dataplatform generate` writes."""

    def __init__(self, root: Path | str, layer: str | None = None) -> None:
        from dataplatform.storage.lake import is_remote

        self.remote = is_remote(root)
        self.root: Path | str = str(root).rstrip("/") if self.remote else Path(root)
        self.layer = layer

    def parts(self, table: TableName) -> tuple[str, ...]:
        """The table's folder below the root."""
        if self.layer is None:
            return (table.layer, table.domain, table.name)
        if table.layer != self.layer:
            raise StorageError(f"{table}: {self.root} holds {self.layer} tables only")
        return (table.domain, table.name)

    def folder(self, table: TableName) -> Path:
        """The table's local folder (a local lake only: in object storage there are no folders)."""
        if not isinstance(self.root, Path):  # a remote lake's root is its URI
            raise StorageError(f"{table}: the lake is in object storage, not in a local folder")
        return self.root.joinpath(*self.parts(table))

    def uri(self, table: TableName) -> str:
        """The table's location as every library takes it: an absolute path, or an s3:// URI."""
        from dataplatform.storage.lake import join

        if self.remote:
            return join(str(self.root), *self.parts(table))
        return str(self.folder(table).resolve())

    def location(self, table: TableName) -> str:
        return self.uri(table)

    def table_folders(self, layer: str | None, marker: str) -> list[TableName]:
        """Tables found in the lake: folders three levels down that contain `marker` (names
        starting with a dot are a writer's work in progress, never a table)."""
        from dataplatform.storage.lake import filesystem

        fs, base = filesystem(str(self.root))
        if self.layer is not None:  # one layer's tables, directly under the root
            layers = [""] if layer in (None, self.layer) else []
        else:
            layers = [layer] if layer else _subfolders(fs, base)
        found = []
        for layer_dir in layers:
            here = f"{base}/{layer_dir}" if layer_dir else base
            for domain_dir in _subfolders(fs, here):
                for name_dir in _subfolders(fs, f"{here}/{domain_dir}"):
                    if not _is_file(fs, f"{here}/{domain_dir}/{name_dir}/{marker}"):
                        continue
                    try:
                        found.append(TableName(layer_dir or str(self.layer), domain_dir, name_dir))
                    except StorageError:
                        continue  # not a table this platform wrote
        return found


def _subfolders(fs: pafs.FileSystem, path: str) -> list[str]:
    import pyarrow.fs as pafs

    listed = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(
        info.base_name
        for info in listed
        if info.type == pafs.FileType.Directory and not info.base_name.startswith(".")
    )


def _is_file(fs: pafs.FileSystem, path: str) -> bool:
    import pyarrow.fs as pafs

    return bool(fs.get_file_info(path).type != pafs.FileType.NotFound)


def tables_in_namespaces(
    rows: Sequence[tuple[str, str]], layer: str | None, only_layer: str | None = None
) -> list[TableName]:
    """Tables of a SQL catalogue from (schema, table) rows, keeping those the platform names;
    in a catalogue holding `only_layer`'s tables alone, each schema is a domain."""
    found = []
    for namespace, name in rows:
        try:
            if only_layer is None:
                table = TableName.from_namespace(namespace, name)
            else:
                table = TableName(only_layer, namespace, name)
        except StorageError:
            continue  # a schema or table the platform did not create
        if layer is None or table.layer == layer:
            found.append(table)
    return found


def missing(table: TableName, where: str) -> StorageError:
    return StorageError(f"{table}: no such table in {where}")


def check_slice_covers(table: TableName, data: pa.Table, replace: Slice) -> None:
    """Rows outside the slice would survive the next replacement as duplicates: refuse them."""
    import pyarrow.compute as pc

    if replace.column not in data.column_names:
        raise StorageError(f"{table}: slice column {replace.column!r} is not in the data")
    outside = pc.sum(pc.invert(replace.mask(data))).as_py() or 0
    if outside:
        raise StorageError(
            f"{table}: {outside} rows have {replace.column} outside {list(map(str, replace.values))}"
        )


def slice_value_text(value: SliceValue) -> str:
    """A slice value as text for a folder name or a Delta predicate literal.

    Delta predicates take no bound parameters, so values are restricted to dates, UTC
    timestamps, integers and a conservative set of characters instead of being escaped.
    """
    if isinstance(value, bool):
        raise StorageError(f"unsupported slice value {value!r}")
    if isinstance(value, datetime):
        if value.utcoffset() != UTC.utcoffset(None):
            raise StorageError(
                f"unsupported slice value {value!r}: timestamp slices must be UTC (a naive timestamp "
                "would make Delta replace the whole table)"
            )
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (date, int)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value) and ".." not in value:
        return value
    raise StorageError(
        f"unsupported slice value {value!r}: use a date, a UTC timestamp, an integer or letters, digits and _.:-"
    )
