"""PostgreSQL tables: SQLAlchemy for DDL and pooling, psycopg COPY for data.

Tables live in schema `<layer>_<domain>` with column types from the Arrow schema (bigint,
numeric(p,s), text, boolean, date, timestamptz, text[] ...). Every write is one transaction
(DDL, DELETE of the slice or table, COPY of the new rows), so a killed writer leaves the previous
version. Data moves as CSV produced and parsed by Arrow: COPY is ~25x faster than batched
INSERTs. Values are bound by the driver, identifiers quoted by SQLAlchemy's dialect; the URL's
credentials never appear in a location, a log or an error this module raises.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dataplatform.engine.identifiers import quote
from dataplatform.engine.scans import DEFAULT_BATCH_ROWS
from dataplatform.storage.contract import (
    Slice,
    StorageError,
    TableName,
    WholeTables,
    check_slice_covers,
    missing,
    tables_in_namespaces,
)
from dataplatform.storage.schema import WritePlan

if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa
    from typing_extensions import Buffer

    from dataplatform.storage.backends import Place

T = TypeVar("T")
RETRIES = 3
_LIST_SEPARATOR = "\x1f"  # unit separator: joins text[] elements on the way out
_CSV_BLOCK = 8 << 20


def open_store(place: Place) -> PostgresStore:
    """Tables in the PostgreSQL server at DATAPLATFORM_POSTGRES_URL."""
    if not place.postgres_url:
        raise StorageError("the postgres backend needs DATAPLATFORM_POSTGRES_URL")
    return PostgresStore(place.postgres_url)


class PostgresStore(WholeTables):
    backend = "postgres"

    def __init__(self, url: str) -> None:
        self._url = url

    def location(self, table: TableName) -> str:
        url = _engine(self._url).url
        return f"postgresql://{url.host}:{url.port or 5432}/{url.database}::{_qualified(table)}"

    def exists(self, table: TableName) -> bool:
        return bool(
            _retry(lambda: self._query(_EXISTS, {"schema": table.namespace, "table": table.name})[0][0])
        )

    def schema(self, table: TableName) -> pa.Schema:
        def fetch() -> pa.Schema:
            with _engine(self._url).connect() as conn:
                return self._schema(conn, table)

        return _retry(fetch)

    def write(self, table: TableName, data: pa.Table, replace: Slice | None = None) -> None:
        if replace is not None:
            check_slice_covers(table, data, replace)

        def attempt() -> None:
            with self._transaction(table, data) as (conn, plan):
                if replace is None:
                    # transactional in PostgreSQL, and unlike DELETE leaves no dead rows behind
                    conn.exec_driver_sql(f"TRUNCATE {_qualified(table)}")
                else:
                    conn.exec_driver_sql(
                        f"DELETE FROM {_qualified(table)} WHERE {quote(replace.column)} = ANY(%(values)s)",
                        {"values": list(replace.values)},
                    )
                _copy_in(conn, table, plan.data)

        _retry(attempt)  # replacing is idempotent: a retry after a lost commit changes nothing

    def append(self, table: TableName, data: pa.Table) -> None:
        with self._transaction(table, data) as (conn, plan):
            _copy_in(conn, table, plan.data)

    def read(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        def fetch() -> pa.Table:
            # all of it, then one multi-threaded parse: the fastest way from COPY to Arrow. Each
            # row is copied out as it arrives: holding psycopg's million row buffers for one
            # join costs three times as long
            buffer = io.BytesIO()
            with self._copy_out(table, columns, where, limit) as (copy, schema):
                for row in copy:
                    buffer.write(row)
            if not buffer.getbuffer().nbytes:  # no rows: Arrow's CSV reader refuses empty input
                return schema.empty_table()
            data = pa.py_buffer(buffer.getbuffer())
            return _restore(pacsv.read_csv(pa.BufferReader(data), **_csv_options(schema)), schema)

        return _retry(fetch)

    def read_batches(
        self,
        table: TableName,
        columns: Sequence[str] | None = None,
        where: Slice | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        with self._copy_out(table, columns, where, None) as (copy, schema):
            stream = _CopyStream(copy)
            if not stream.peek():  # no rows: Arrow's CSV reader refuses empty input
                return
            reader = pacsv.open_csv(stream, **_csv_options(schema))
            for batch in reader:
                yield from _restore(batch, schema).to_batches(max_chunksize=batch_rows)

    def row_count(self, table: TableName) -> int:
        if not self.exists(table):
            raise missing(table, "PostgreSQL")
        return int(_retry(lambda: self._query(f"SELECT count(*) FROM {_qualified(table)}", {})[0][0]))

    def list_tables(self, layer: str | None = None) -> list[TableName]:
        rows = _retry(lambda: self._query(_TABLES, {}))
        return tables_in_namespaces(rows, layer)

    def drop(self, table: TableName) -> None:
        with _engine(self._url).begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_qualified(table)}")

    # -- internals ------------------------------------------------------------------------------

    def _query(self, sql: str, params: dict[str, object]) -> list[tuple[Any, ...]]:
        with _engine(self._url).connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql, params)]

    @contextmanager
    def _transaction(self, table: TableName, data: pa.Table) -> Iterator[tuple[sa.Connection, WritePlan]]:
        """A transaction in which the table exists with a schema that fits `data`."""
        import sqlalchemy as sa

        with _engine(self._url).begin() as conn:
            existing = self._schema(conn, table) if _table_exists(conn, table) else None
            plan = WritePlan(table, existing, data)
            if existing is None or plan.added:
                # DDL of one table is serialised; writers of existing tables never wait here
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(t)s))", {"t": str(table)})
                if _table_exists(conn, table):
                    existing = self._schema(conn, table)
                    plan = WritePlan(table, existing, data)
                conn.execute(sa.schema.CreateSchema(table.namespace, if_not_exists=True))
                if existing is None:
                    sa.Table(
                        table.name,
                        sa.MetaData(schema=table.namespace),
                        *[sa.Column(f.name, _sql_type(table, f), nullable=f.nullable) for f in plan.schema],
                    ).create(conn)
                for field in plan.added:
                    column = conn.dialect.identifier_preparer.quote(field.name)
                    sql_type = _sql_type(table, field).compile(dialect=conn.dialect)
                    conn.exec_driver_sql(f"ALTER TABLE {_qualified(table)} ADD COLUMN {column} {sql_type}")
            yield conn, plan

    def _schema(self, conn: sa.Connection, table: TableName) -> pa.Schema:
        rows = conn.exec_driver_sql(_COLUMNS, {"schema": table.namespace, "table": table.name}).fetchall()
        if not rows:
            raise missing(table, "PostgreSQL")
        return pa.schema(
            pa.field(name, _arrow_type(table, name, kind, udt, precision, scale), nullable == "YES")
            for name, kind, udt, precision, scale, nullable in rows
        )

    @contextmanager
    def _copy_out(
        self, table: TableName, columns: Sequence[str] | None, where: Slice | None, limit: int | None
    ) -> Iterator[tuple[psycopg.Copy, pa.Schema]]:
        """COPY of the selected rows as CSV (an iterator of chunks), and the Arrow schema they parse into."""
        with _engine(self._url).connect() as conn:
            full = self._schema(conn, table)
            schema = pa.schema([full.field(c) for c in columns]) if columns else full
            sql = f"SELECT {', '.join(_select_expression(f) for f in schema)} FROM {_qualified(table)}"
            params: dict[str, object] = {}
            if where is not None:
                sql += f" WHERE {quote(where.column)} = ANY(%(values)s)"
                params["values"] = list(where.values)
            if limit is not None:
                sql += " LIMIT %(limit)s"
                params["limit"] = limit
            raw = conn.connection.driver_connection
            assert raw is not None  # an open connection has its driver's
            with raw.cursor() as cursor:
                cursor.execute("SET LOCAL TimeZone = 'UTC'")
                with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
                    yield copy, schema


# -- type mapping ---------------------------------------------------------------------------------


def _sql_type(table: TableName, field: pa.Field) -> sa.types.TypeEngine[Any]:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql as pg

    t = field.type
    if pa.types.is_list(t) and pa.types.is_string(t.value_type):
        return pg.ARRAY(sa.Text)
    simple: dict[pa.DataType, type[sa.types.TypeEngine[Any]]] = {
        pa.int8(): sa.SmallInteger,
        pa.int16(): sa.SmallInteger,
        pa.int32(): sa.Integer,
        pa.int64(): sa.BigInteger,
        pa.float32(): sa.REAL,
        pa.float64(): pg.DOUBLE_PRECISION,
        pa.string(): sa.Text,
        pa.large_string(): sa.Text,
        pa.bool_(): sa.Boolean,
        pa.date32(): sa.Date,
    }
    if t in simple:
        return simple[t]()
    if pa.types.is_decimal(t):
        return sa.Numeric(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return sa.TIMESTAMP(timezone=t.tz is not None)
    raise StorageError(
        f"{table}: column {field.name!r} has type {t}, which the postgres backend does not store"
    )


def _arrow_type(
    table: TableName, name: str, kind: str, udt: str, precision: int | None, scale: int | None
) -> pa.DataType:
    mapping = {
        "smallint": pa.int16(),
        "integer": pa.int32(),
        "bigint": pa.int64(),
        "real": pa.float32(),
        "double precision": pa.float64(),
        "text": pa.string(),
        "character varying": pa.string(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "timestamp without time zone": pa.timestamp("us"),
    }
    if kind in mapping:
        return mapping[kind]
    if kind == "numeric":
        return pa.decimal128(precision or 38, scale or 0)
    if kind == "ARRAY" and udt == "_text":
        return pa.list_(pa.string())
    raise StorageError(
        f"{table}: column {name!r} has PostgreSQL type {kind}, which this backend does not read"
    )


# -- data in: Arrow -> CSV -> COPY ----------------------------------------------------------------


def _copy_in(conn: sa.Connection, table: TableName, data: pa.Table) -> None:
    if not data.num_rows:
        return
    columns = ", ".join(quote(name) for name in data.column_names)
    raw = conn.connection.driver_connection
    assert raw is not None  # an open connection has its driver's
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {_qualified(table)} ({columns}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for batch in data.to_batches(max_chunksize=DEFAULT_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(_as_csv_ready(batch), buffer, pacsv.WriteOptions(include_header=False))
            copy.write(buffer.getbuffer())


def _as_csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text arrays as PostgreSQL array literals ({"a","b"}); everything else CSV writes as is."""
    columns = [
        _array_literal(column) if pa.types.is_list(column.type) else column for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _array_literal(lists: pa.ListArray) -> pa.Array:
    values = lists.flatten()
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    quoted = pc.fill_null(pc.binary_join_element_wise('"', escaped, '"', ""), "NULL")
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    rebuilt = pa.ListArray.from_arrays(offsets, quoted, mask=lists.is_null())
    return pc.binary_join_element_wise("{", pc.binary_join(rebuilt, ","), "}", "")


# -- data out: COPY -> CSV -> Arrow ---------------------------------------------------------------


def _select_expression(field: pa.Field) -> str:
    """How a column leaves PostgreSQL so that Arrow's CSV reader parses it exactly."""
    column = quote(field.name)
    if pa.types.is_timestamp(field.type) and field.type.tz:
        return f"({column} AT TIME ZONE 'UTC')"
    if pa.types.is_list(field.type):
        # cardinality tells an empty array from one holding a single empty string
        return f"array_to_string({column}, E'\\x1f'), cardinality({column})"
    return column


def _csv_options(schema: pa.Schema) -> dict[str, object]:
    """How Arrow's CSV reader parses COPY's output back into `schema` (see `_select_expression`)."""
    names, types = [], {}
    for field in schema:
        if pa.types.is_list(field.type):
            names += [field.name, f"{field.name}\x00n"]
            types.update({field.name: pa.string(), f"{field.name}\x00n": pa.int32()})
        else:
            names.append(field.name)
            types[field.name] = pa.timestamp("us") if pa.types.is_timestamp(field.type) else field.type
    return {
        "read_options": pacsv.ReadOptions(column_names=names, block_size=_CSV_BLOCK),
        "parse_options": pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        "convert_options": pacsv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            # only PostgreSQL's NULL (an unquoted empty field) is null: text like 'N/A' or
            # 'NULL' and the float NaN must come back as they went in
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    }


def _restore(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        column = batch.column(field.name)
        if pa.types.is_list(field.type):
            count = batch.column(f"{field.name}\x00n")
            split = pc.split_pattern(column, _LIST_SEPARATOR)
            empty = pa.array([[]] * len(column), field.type)
            column = pc.if_else(pc.equal(count, 0), empty, split.cast(field.type))
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


class _CopyStream(io.RawIOBase):
    """COPY TO STDOUT as a file Arrow's streaming CSV reader can pull from.

    psycopg hands COPY out a row at a time; each read fills the reader's whole buffer, so Arrow
    parses large blocks instead of one batch per row.
    """

    def __init__(self, copy: psycopg.Copy) -> None:
        self._chunks = iter(copy)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def peek(self) -> bool:
        """Whether any data is left, without consuming it."""
        if not self._pending:
            chunk = next(self._chunks, None)
            self._pending = memoryview(chunk).cast("B") if chunk is not None else memoryview(b"")
        return bool(self._pending)

    def readinto(self, buffer: Buffer) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target):
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk).cast("B")
            size = min(len(target) - filled, len(self._pending))
            target[filled : filled + size] = self._pending[:size]
            self._pending = self._pending[size:]
            filled += size
        return filled


# -- connections ----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    """One pooled engine per URL for the whole process."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_size=2, max_overflow=4, pool_pre_ping=True)


def _retry(operation: Callable[[], T]) -> T:
    """Retry an idempotent operation when the server or the network fails transiently."""
    import sqlalchemy.exc

    for attempt in range(RETRIES):
        try:
            return operation()
        except sqlalchemy.exc.OperationalError as error:
            if attempt == RETRIES - 1:
                raise StorageError(
                    f"PostgreSQL unreachable after {RETRIES} attempts: {_reason(error)}"
                ) from None
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def _reason(error: Exception) -> str:
    """The driver's message without the connection string (it may hold a password)."""
    original = getattr(error, "orig", None) or error
    return str(original).splitlines()[0]


def _table_exists(conn: sa.Connection, table: TableName) -> bool:
    return bool(conn.exec_driver_sql(_EXISTS, {"schema": table.namespace, "table": table.name}).scalar())


def _qualified(table: TableName) -> str:
    return f'"{table.namespace}"."{table.name}"'


_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM information_schema.tables "
    "WHERE table_schema = %(schema)s AND table_name = %(table)s)"
)
_COLUMNS = (
    "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale, is_nullable "
    "FROM information_schema.columns WHERE table_schema = %(schema)s AND table_name = %(table)s "
    "ORDER BY ordinal_position"
)
_TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
)
