"""Gold tables for HTTP readers: which exist, and safe queries over their published rows.

The table list comes from the code location's definitions, so OpenAPI names every domain and
gold table (materialised or not) and a new gold asset is served without a line here. Rows come from the
read-only snapshot each gold write publishes (`storage/snapshots.py`) through an in-memory
DuckDB, or, under the postgres profile, from PostgreSQL attached read-only: the warehouse file
is never opened. A query's columns are checked against the table's schema and only ever reach
SQL quoted; every value is a bound parameter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataplatform import assetkeys
from dataplatform.engine.errors import EngineError
from dataplatform.engine.identifiers import quote
from dataplatform.storage.contract import TableName
from dataplatform.storage.snapshots import Snapshot, latest, published, version_file

if TYPE_CHECKING:
    import dagster as dg
    import pyarrow as pa

FILTER_OPERATORS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
SET_OPERATORS = ("in", "contains", "null", "notnull")
AGGREGATES = ("count", "sum", "avg", "min", "max")
MAX_IN_VALUES = 100
_FILTER = re.compile(r"([^:]+):([a-z]+)(?::(.*))?", re.S)


class GoldError(ValueError):
    """A query the client got wrong (unknown column, bad filter or cursor): a 400."""


class NotPublished(RuntimeError):
    """Nothing to read yet (no snapshot, or the database unreachable): a 503, try again later."""


@dataclass(frozen=True)
class GoldEntry:
    """A gold table as its pipeline declares it."""

    domain: str
    name: str
    description: str
    key: tuple[str, ...]
    partition_column: str | None

    @property
    def table(self) -> TableName:
        return assetkeys.table_name(assetkeys.medallion(assetkeys.GOLD, self.domain, self.name))


def gold_tables(definitions: dg.Definitions | None = None) -> list[GoldEntry]:
    """Every gold asset of the definitions (so a new gold table is served without a line here),
    with the key columns its pipeline spec declares, which give pages their order; without
    definitions, the pipelines' gold tables alone (cheap: no Dagster, no Arrow)."""
    from dataplatform.domains import pipelines

    specs = {
        (p.domain, g.name): GoldEntry(p.domain, g.name, g.description, g.key, g.partition_column)
        for p in pipelines().values()
        for g in p.gold
    }
    if definitions is None:
        return list(specs.values())
    graph = definitions.resolve_asset_graph()
    found = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: tuple(k.path)):
        gold = assetkeys.domain_table(key.path, assetkeys.GOLD)
        if gold is None:
            continue
        domain, name = gold
        node = graph.get(key)
        partition_column = (node.metadata or {}).get("partition_column")
        found.append(
            specs.get((domain, name)) or GoldEntry(domain, name, node.description or "", (), partition_column)
        )
    return found


@dataclass(frozen=True)
class Source:
    """Where one read takes a table's rows from: a SQL relation and what is known of it."""

    relation: str  # `read_parquet(?)` or a quoted attached table
    params: tuple[Any, ...]
    version: str | None
    columns: dict[str, str]  # name -> Arrow type, in table order
    rows: int | None
    published_at: datetime | None


@dataclass(frozen=True)
class Page:
    data: pa.Table
    source: Source
    next_cursor: str | None


class GoldReader:
    """Runs the API's queries; one in-memory DuckDB, a cursor per query (thread-safe)."""

    def __init__(self, snapshots: Path, postgres_url: str | None = None) -> None:
        import duckdb

        self.snapshots = snapshots
        self.postgres_url = postgres_url
        self._db = duckdb.connect()
        self._db.execute("SET TimeZone = 'UTC'")
        self._attached = False
        self._attach_lock = threading.Lock()

    def source(self, entry: GoldEntry, version: str | None = None) -> Source:
        """The table as it can be read now (or the pinned `version` of a page cursor)."""
        if self.postgres_url is not None:
            return self._postgres_source(entry)
        try:
            snapshot = latest(self.snapshots, entry.table)
        except EngineError as error:
            raise NotPublished(str(error)) from None
        if snapshot is None:
            raise NotPublished(f"{entry.table} has not been published yet: materialise it first")
        if version is not None and version != snapshot.version:
            path = version_file(self.snapshots, entry.table, version)
            if path is None:
                raise GoldError("the cursor's snapshot is no longer kept: start again without a cursor")
            return _parquet_source(path, version, None, None, self._schema_of(path))
        return _parquet_source(
            snapshot.path, snapshot.version, snapshot.rows, snapshot.published_at, dict(snapshot.columns)
        )

    def count_published(self) -> int:
        """Gold tables readable now (snapshots, or tables in PostgreSQL); raises `NotPublished`
        when PostgreSQL cannot be reached."""
        if self.postgres_url is None:
            return len(published(self.snapshots))
        import duckdb

        try:
            self._attach()
            found = self._query(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'pg' AND schema_name LIKE 'gold\\_%' ESCAPE '\\'",
                [],
            )
        except duckdb.Error as error:
            raise NotPublished(f"PostgreSQL is unreachable: {type(error).__name__}") from None
        return int(found.column(0)[0].as_py())

    def snapshot(self, entry: GoldEntry) -> Snapshot | None:
        return None if self.postgres_url is not None else latest(self.snapshots, entry.table)

    def rows(
        self,
        entry: GoldEntry,
        limit: int,
        columns: list[str] | None = None,
        filters: list[str] | None = None,
        partition: tuple[date | None, date | None] = (None, None),
        cursor: str | None = None,
    ) -> Page:
        """One page of rows in key order; `next_cursor` continues on the same snapshot."""
        pinned = _decode_cursor(cursor) if cursor else None
        source = self.source(entry, pinned["v"] if pinned else None)
        selected = _checked_columns(columns, source.columns) if columns else list(source.columns)
        where, params = _conditions(entry, source.columns, filters or [], partition)
        fingerprint = _fingerprint(selected, filters or [], partition)
        offset = 0
        if pinned:
            if pinned["q"] != fingerprint:
                raise GoldError("the cursor belongs to another query: send the same columns and filters")
            offset = pinned["o"]
        order = [c for c in entry.key if c in source.columns] or list(source.columns)
        sql = (
            f"SELECT {', '.join(map(quote, selected))} FROM {source.relation}{where} "
            f"ORDER BY {', '.join(map(quote, order))} LIMIT ? OFFSET ?"
        )
        data = self._query(sql, [*source.params, *params, limit + 1, offset])
        more = data.num_rows > limit
        data = data.slice(0, limit)
        next_cursor = (
            _encode_cursor({"v": source.version, "o": offset + limit, "q": fingerprint}) if more else None
        )
        return Page(data, source, next_cursor)

    def aggregate(
        self,
        entry: GoldEntry,
        group_by: list[str],
        metrics: list[str],
        filters: list[str],
        partition: tuple[date | None, date | None],
        limit: int,
    ) -> Page:
        """Grouped aggregates (`count:*`, `sum:<column>`...) over the filtered rows."""
        source = self.source(entry)
        groups = _checked_columns(group_by, source.columns) if group_by else []
        selects = [quote(c) for c in groups]
        for metric in metrics or ["count:*"]:
            function, _, column = metric.partition(":")
            if function not in AGGREGATES:
                raise GoldError(f"unknown aggregate {function!r}: use {', '.join(AGGREGATES)}")
            if function == "count" and column in ("", "*"):
                selects.append('count(*) AS "count"')
                continue
            _checked_columns([column], source.columns)
            if function in ("sum", "avg") and _kind(source.columns[column]) not in ("int", "float"):
                raise GoldError(f"{function} needs a numeric column; {column!r} is {source.columns[column]}")
            alias = quote(f"{function}_{column}")
            selects.append(f"{function}({quote(column)}) AS {alias}")
        where, params = _conditions(entry, source.columns, filters, partition)
        grouping = ""
        if groups:
            quoted = ", ".join(map(quote, groups))
            grouping = f" GROUP BY {quoted} ORDER BY {quoted}"
        sql = f"SELECT {', '.join(selects)} FROM {source.relation}{where}{grouping} LIMIT ?"
        return Page(self._query(sql, [*source.params, *params, limit]), source, None)

    def _query(self, sql: str, params: list[Any]) -> pa.Table:
        """Run one query. A snapshot file pruned between reading the manifest and reading the
        file (a reader slower than `KEEP_VERSIONS` publications), or PostgreSQL going away, is
        `NotPublished`: the client is told to retry, never given a 500."""
        import duckdb

        cursor = self._db.cursor()
        try:
            return cursor.execute(sql, params).to_arrow_table()
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            raise NotPublished(
                f"the table could not be read just now ({type(error).__name__}); retry"
            ) from None
        finally:
            cursor.close()

    def _schema_of(self, path: Path) -> dict[str, str]:
        import pyarrow.parquet as pq

        return {f.name: str(f.type) for f in pq.read_schema(path)}

    def _postgres_source(self, entry: GoldEntry) -> Source:
        import duckdb

        try:
            self._attach()
            relation = f"pg.{quote(entry.table.namespace)}.{quote(entry.name)}"
            schema = self._query(f"SELECT * FROM {relation} LIMIT 0", []).schema
            rows = self._query(f"SELECT count(*) AS n FROM {relation}", []).column(0)[0].as_py()
        except duckdb.CatalogException:
            raise NotPublished(f"{entry.table} has not been written to PostgreSQL yet") from None
        except duckdb.Error as error:
            raise NotPublished(f"PostgreSQL is unreachable: {type(error).__name__}") from None
        return Source(relation, (), None, {f.name: str(f.type) for f in schema}, rows, None)

    def _attach(self) -> None:
        """PostgreSQL attached read-only once; the URL never reaches an error message."""
        from dataplatform.engine.extensions import load_extension
        from dataplatform.engine.identifiers import string_literal

        with self._attach_lock:
            if self._attached:
                return
            load_extension(self._db, "postgres_scanner")
            self._db.execute(
                f"ATTACH {string_literal(self.postgres_url or '')} AS pg (TYPE postgres, READ_ONLY)"
            )
            self._attached = True


def _parquet_source(
    path: Path, version: str, rows: int | None, published_at: datetime | None, columns: dict[str, str]
) -> Source:
    return Source("read_parquet(?)", (str(path),), version, columns, rows, published_at)


def _checked_columns(names: list[str], columns: dict[str, str]) -> list[str]:
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise GoldError(f"unknown column {unknown[0]!r}; the table's columns: {', '.join(columns)}")
    return list(dict.fromkeys(names))


def _conditions(
    entry: GoldEntry, columns: dict[str, str], filters: list[str], partition: tuple[date | None, date | None]
) -> tuple[str, list[Any]]:
    """` WHERE ...` with `?` for every value, and the values, parsed to the column's type."""
    parts: list[str] = []
    params: list[Any] = []
    for text in filters:
        match = _FILTER.fullmatch(text)
        if not match:
            raise GoldError(f"filter {text!r} is not column:operator:value")
        column, operator, raw = match.group(1), match.group(2), match.group(3)
        _checked_columns([column], columns)
        quoted, kind = quote(column), columns[column]
        if operator in FILTER_OPERATORS:
            parts.append(f"{quoted} {FILTER_OPERATORS[operator]} ?")
            params.append(_typed(raw, kind, column))
        elif operator == "in":
            values = (raw or "").split(",")
            if not 1 <= len(values) <= MAX_IN_VALUES:
                raise GoldError(f"'in' takes 1 to {MAX_IN_VALUES} comma-separated values")
            parts.append(f"{quoted} IN ({', '.join('?' for _ in values)})")
            params.extend(_typed(v, kind, column) for v in values)
        elif operator == "contains":
            if _kind(kind) != "text":
                raise GoldError(f"'contains' needs a text column; {column!r} is {kind}")
            parts.append(f"contains({quoted}, ?)")
            params.append(raw or "")
        elif operator in ("null", "notnull"):
            parts.append(f"{quoted} IS {'' if operator == 'null' else 'NOT '}NULL")
        else:
            known = ", ".join([*FILTER_OPERATORS, *SET_OPERATORS])
            raise GoldError(f"unknown filter operator {operator!r}: use {known}")
    first, last = partition
    if first or last:
        if entry.partition_column is None:
            raise GoldError(f"{entry.table} is not partitioned: drop partition_from/partition_to")
        column = quote(entry.partition_column)
        if first:
            parts.append(f"{column} >= ?")
            params.append(first)
        if last:
            parts.append(f"{column} <= ?")
            params.append(last)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _kind(arrow_type: str) -> str:
    if arrow_type.startswith(("int", "uint")):
        return "int"
    if arrow_type.startswith(("double", "float", "halffloat", "decimal")):
        return "float"
    if arrow_type.startswith("date"):
        return "date"
    if arrow_type.startswith("timestamp"):
        return "timestamp"
    if arrow_type == "bool":
        return "bool"
    if arrow_type in ("string", "large_string", "string_view"):
        return "text"
    return "other"


def _typed(raw: str | None, arrow_type: str, column: str) -> Any:
    """A filter value parsed to its column's type, so a value is compared, never interpreted."""
    if raw is None:
        raise GoldError(f"the filter on {column!r} needs a value (column:operator:value)")
    kind = _kind(arrow_type)
    try:
        if kind == "int":
            number = int(raw)
            if not -(2**63) <= number < 2**63:
                raise ValueError("out of the 64-bit range")
            return number
        if kind == "float":
            real = float(raw)
            if real != real or real in (float("inf"), float("-inf")):
                raise ValueError("not a finite number")
            return real
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "timestamp":
            return datetime.fromisoformat(raw)
        if kind == "bool":
            if raw.lower() not in ("true", "false"):
                raise ValueError("use true or false")
            return raw.lower() == "true"
        if kind == "text":
            return raw
    except ValueError as error:
        raise GoldError(f"{raw!r} is not a valid value for {column!r} ({arrow_type}): {error}") from None
    raise GoldError(f"column {column!r} ({arrow_type}) cannot be filtered")


def _fingerprint(columns: list[str], filters: list[str], partition: tuple[date | None, date | None]) -> str:
    text = json.dumps([columns, filters, [str(p) for p in partition]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            isinstance(state, dict)
            and isinstance(state.get("o"), int)
            and state["o"] >= 0
            and isinstance(state.get("q"), str)
            and (state.get("v") is None or isinstance(state.get("v"), str))
        ):
            return state
    except (ValueError, UnicodeDecodeError):
        pass
    raise GoldError("invalid cursor: pass next_cursor exactly as a previous page returned it")


def json_rows(data: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts. Columns are converted in Arrow first, vectorised, because a Python
    call per value (a `Decimal` or `date` through `json.dumps`' default) would take most of a
    page's time: decimals become doubles, dates ISO text, NaN and infinities null (JSON has none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(data.schema):
        column = data.column(i)
        if pa.types.is_decimal(field.type):
            column = pc.cast(column, pa.float64())
        elif pa.types.is_date(field.type):
            column = pc.cast(column, pa.string())
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_finite(column), column, pa.scalar(None, column.type))
        if column is not data.column(i):
            data = data.set_column(i, pa.field(field.name, column.type), column)
    return data.to_pylist()
