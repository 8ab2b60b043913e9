"""The dataset store: a schema per dataset holding its splits, their features and metadata.

It is one DuckDB file by default, or a PostgreSQL database under the `postgres` profile. Both
are reached through DuckDB, which attaches the PostgreSQL database (its postgres extension) under
the same catalog name, so every query, the transaction and the quoting are the same for both.
PostgreSQL cannot run DuckDB's SQL in a view, so there features are stored as tables.

Layout of schema `<name>`: a table per split (`train`, `test`, `sample_submission`, extra
tables), `features_<split>` for the splits features were built for (views computing them from
the split, or tables for a dataset with a feature plugin), `_meta` (key, JSON value:
statistics, fitted feature parameters), `_parameters` and `_frequencies` (the fitted values
the features read). Names starting with `_` are the store's own, never a split's.

Writes happen in one transaction (`writing`), a PostgreSQL transaction on that backend: a failed
registration rolls back and leaves the previous version, or nothing, behind. DuckDB allows one
writing process per file; readers open the file read-only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import duckdb

from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.sql import CATALOG, qualified, quote, schema_ref

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_SEED = 42


class DatasetStore:
    def __init__(self, folder: Path, postgres_url: str | None = None) -> None:
        """The store is `<folder>/dataset_store.duckdb`, or the PostgreSQL database at `postgres_url`
        when given. DuckDB names the file's catalog after the file and attaches PostgreSQL under
        that name, and every table is named through that catalog (see `sql.CATALOG`)."""
        self.path = Path(folder) / f"{CATALOG}.duckdb"
        self._postgres_url = None if postgres_url is None else _libpq_url(postgres_url)

    @property
    def backend(self) -> str:
        return "duckdb" if self._postgres_url is None else "postgres"

    @property
    def feature_views(self) -> bool:
        """Whether features can be views: DuckDB keeps a view's SQL, PostgreSQL would have to run it."""
        return self._postgres_url is None

    @property
    def location(self) -> str:
        """Where the data lives, for people and metadata: the file, or the server and database
        without user or password."""
        if self._postgres_url is None:
            return str(self.path)
        url = urlsplit(self._postgres_url)
        return f"postgresql://{url.hostname or 'localhost'}:{url.port or 5432}{url.path or '/'}"

    def exists(self) -> bool:
        """Whether anything can have been stored: the file exists (a database always does)."""
        return self._postgres_url is not None or self.path.exists()

    @contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside a transaction: committed when the block ends, rolled back if it raises."""
        if self._postgres_url is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.exists():
            raise DatasetError(f"no dataset has been stored yet ({self.path} does not exist)")
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if self._postgres_url is not None:
            con = self._attach_postgres(self._postgres_url, read_only)
        else:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as error:
                raise DatasetError(
                    f"the dataset store {self.path} is in use by another process; retry when it has finished "
                    f"({str(error).splitlines()[0]})"
                ) from error
        # Timestamps with a time zone become local times in features: UTC makes them the same everywhere.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        return con

    def _attach_postgres(self, url: str, read_only: bool) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with the database attached as the store's catalog. ATTACH takes no
        parameters, so the URL goes in as a quoted literal; it never reaches an error message."""
        from dataplatform.storage.duckdb_extensions import load_extension, string_literal

        con = duckdb.connect()
        try:
            load_extension(con, "postgres_scanner")
            options = "TYPE postgres, READ_ONLY" if read_only else "TYPE postgres"
            con.execute(f"ATTACH {string_literal(url)} AS {quote(CATALOG)} ({options})")
        except Exception as error:
            con.close()
            reason = str(error).strip().splitlines()[0].replace(url, "<DATAPLATFORM_POSTGRES_URL>")
            password = urlsplit(url).password
            if password:
                reason = reason.replace(password, "***")
            raise DatasetError(
                f"cannot open the dataset store in PostgreSQL at {self.location}: {reason}"
            ) from None
        return con

    def tables(self, name: str) -> dict[str, int]:
        """Rows of every data table of a dataset (splits and features), metadata tables left out."""
        with self.reading() as con:
            return {table: _count(con, qualified(name, table)) for table in _data_tables(con, name)}

    def meta(self, name: str, key: str) -> Any:
        with self.reading() as con:
            try:  # a few rows, picked here: a parameter would import pandas (see `relations`)
                rows = dict(con.execute(f"SELECT key, value FROM {qualified(name, '_meta')}").fetchall())
            except duckdb.CatalogException as error:
                raise DatasetError(f"dataset '{name}' has no stored data; register it again") from error
        return None if key not in rows else json.loads(rows[key])

    def frame(
        self, name: str, table: str, columns: list[str] | None = None, sample: int | None = None
    ) -> pd.DataFrame:
        """A table as pandas, optionally only some columns and a reproducible random sample of rows."""
        with self.reading() as con:
            select = self._select(con, name, table, columns)
            if sample is not None:
                # One thread so the seeded sample is the same on every call; DuckDB takes only a
                # constant here, so the validated integer is written into the clause.
                con.execute("SET threads = 1")
                select += (
                    f" USING SAMPLE reservoir({_positive(sample, 'sample')} ROWS) REPEATABLE ({SAMPLE_SEED})"
                )
            return con.execute(select).df()

    def frames(
        self, name: str, table: str, chunk_size: int, columns: list[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """The table in frames of `chunk_size` rows, so a table larger than memory can be walked."""
        size = _positive(chunk_size, "chunk_size")
        with self.reading() as con:
            reader = con.execute(self._select(con, name, table, columns)).to_arrow_reader(size)
            buffered = []
            rows = 0
            for batch in reader:
                buffered.append(batch)
                rows += batch.num_rows
                while rows >= size:
                    chunk, buffered, rows = _take(buffered, size)
                    yield chunk.to_pandas()
            if rows:
                yield _take(buffered, rows)[0].to_pandas()

    def drop(self, name: str) -> list[str]:
        """Drop the dataset's schema; the tables it held, empty when there was none."""
        with self.writing() as con:
            listed = _data_tables(con, name)
            con.execute(f"DROP SCHEMA IF EXISTS {schema_ref(name)} CASCADE")
        return listed

    def _select(
        self, con: duckdb.DuckDBPyConnection, name: str, table: str, columns: list[str] | None
    ) -> str:
        available = [] if table.startswith("_") else _columns(con, qualified(name, table))
        if not available:
            tables = ", ".join(_data_tables(con, name))
            raise DatasetError(f"dataset '{name}' has no table '{table}' (tables: {tables or 'none'})")
        chosen = available if columns is None else list(columns)
        unknown = [c for c in chosen if c not in available]
        if unknown:
            raise DatasetError(
                f"{', '.join(unknown)}: not column(s) of {name}/{table}; columns: {', '.join(available)}"
            )
        return f"SELECT {', '.join(quote(c) for c in chosen)} FROM {qualified(name, table)}"


def relations(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """Every table and view of a dataset's schema, by name: `TABLE` or `VIEW`.

    The store's tables are listed and filtered here rather than by a parameter: DuckDB imports
    pandas for its first parameterised query, 0.2-0.4 s of every `dataplatform datasets info`.
    """
    listed = con.execute(
        f"SELECT schema_name, table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = '{CATALOG}' "
        f"UNION ALL SELECT schema_name, view_name, 'VIEW' FROM duckdb_views() WHERE database_name = '{CATALOG}' "
        "ORDER BY 2"
    ).fetchall()
    return {table: kind for schema, table, kind in listed if schema == name}


def _data_tables(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The splits and their features; the fitted values and metadata (`_`-named) left out."""
    return [table for table in relations(con, name) if not table.startswith("_")]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A table's column names, none when there is no such table. Binding a query reads one
    catalog entry, where listing `duckdb_columns()` walks the whole catalog (1 ms against 18 ms
    on a freshly opened store, paid by every `load`)."""
    try:
        return [column[0] for column in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    except duckdb.CatalogException:
        return []


def _libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://...`) as libpq, which DuckDB's extension speaks, takes it."""
    scheme, separator, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{separator}{rest}"


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int((con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0])


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DatasetError(f"{what} must be a whole number of rows of at least 1, not {value!r}")
    return value


def _take(batches: list, size: int) -> tuple[Any, list, int]:
    """The first `size` rows of the buffered batches as one table, and what is left over."""
    import pyarrow as pa

    table = pa.Table.from_batches(batches)
    rest = table.slice(size)
    return table.slice(0, size), rest.to_batches(), rest.num_rows
