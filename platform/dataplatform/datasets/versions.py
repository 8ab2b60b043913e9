"""Dataset versions: each registration's data is a version, identified by its content hash, and
earlier versions stay readable.

The current version's relations keep their plain names in the dataset's schema, so every reader
(the Dagster assets, the checks, `load` without a version) reads it as before. A write that
replaces them (a registration, or a rebuild after `update`) first renames them to
`_v<N>.<relation>` (`store.archived_name`), builds the new version under the plain names, then
`settle`s it: its splits are hashed (`contenthash`), and the same hash as a kept version means
the same data, so that version is replaced and keeps its number (registering a file again
makes no new version); any other hash is the next number. `_versions` lists every version
(number, hash, when, its spec as JSON, which one is current). All of it happens in the write's
transaction, so a failure leaves every version as it was.

Renaming keeps a version intact because nothing refers to a relation by its name: PostgreSQL
keeps features as tables, and DuckDB's views read only files (see `store`). The files of a kept
version stay, since its `_files` still names them; removing the dataset drops its schema and
with it every version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from dataplatform.datasets.contenthash import content_hash
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.spec import DatasetSpec
from dataplatform.datasets.sql import qualified, schema_ref
from dataplatform.datasets.store import archived_name, archived_version, relations
from dataplatform.engine.identifiers import quote

VERSIONS = "_versions"


@dataclass(frozen=True)
class History:
    """The versions a write found: their hashes by number, and the one it archived (None at first)."""

    hashes: dict[int, str] = field(default_factory=dict)
    archived: int | None = None


def begin(con: duckdb.DuckDBPyConnection, name: str, current: DatasetSpec | None) -> History:
    """Make room for a new version of dataset `name`: the current one's relations renamed to
    `_v<N>.*`, the schema created if there was none. `current` is the registry's spec of the
    version stored now, None when there is none (its description and tags are kept with it).

    A schema stored before versions existed becomes version 1 (`_adopt`). A schema nothing
    describes (no `_versions`, no spec: a registration that lost its spec file) is dropped.
    """
    stored = relations(con, name)
    if VERSIONS not in stored and current is None:
        con.execute(f"DROP SCHEMA IF EXISTS {schema_ref(name)} CASCADE")
        stored = {}
    if not stored:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_ref(name)}")
    plain = {t: kind for t, kind in stored.items() if t != VERSIONS and not archived_version(t)}
    if VERSIONS not in stored:
        con.execute(
            f"CREATE TABLE {qualified(name, VERSIONS)} (version INTEGER PRIMARY KEY, hash VARCHAR NOT NULL, "
            "registered_at VARCHAR NOT NULL, current BOOLEAN NOT NULL, spec VARCHAR NOT NULL)"
        )
        if plain and current is not None:
            plain = _adopt(con, current, plain)
    rows = _rows(con, name)
    number = next((row["version"] for row in rows if row["current"]), None)
    if number is not None and current is not None and current.version == number:
        # the spec file's description and tags may have changed since: keep them with the version
        con.execute(
            f"UPDATE {qualified(name, VERSIONS)} SET spec = ? WHERE version = ?",
            [json.dumps(current.to_dict()), number],
        )
    if number is not None:
        for table, kind in plain.items():
            con.execute(
                f"ALTER {kind} {qualified(name, table)} RENAME TO {quote(archived_name(table, number))}"
            )
    return History({row["version"]: row["hash"] for row in rows}, number if plain else None)


def _adopt(con: duckdb.DuckDBPyConnection, current: DatasetSpec, plain: dict[str, str]) -> dict[str, str]:
    """Record a dataset stored before versions as version 1, hashed now; the relations left to rename.

    Its feature views read the split and the fitted values by name, so renamed they would read
    the next version's: they are stored as tables of the features they compute now, under the
    version's names, once.
    """
    spec = replace(
        current,
        version=current.version or 1,
        version_hash=content_hash(con, {s: qualified(current.name, s) for s in current.splits}),
    )
    _record(con, spec)
    views = [t for t, kind in plain.items() if kind == "VIEW" and t.startswith("features_")]
    for table in views:
        kept = qualified(current.name, archived_name(table, spec.version))
        con.execute(f"CREATE TABLE {kept} AS SELECT * FROM {qualified(current.name, table)}")
        con.execute(f"DROP VIEW {qualified(current.name, table)}")
    return {t: kind for t, kind in plain.items() if t not in views}


def settle(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, history: History) -> DatasetSpec:
    """Record the version just built under the plain names; its spec with `version` and
    `version_hash` set. A kept version with the same hash is replaced by it, keeping its number."""
    digest = content_hash(con, {split: qualified(spec.name, split) for split in spec.splits})
    same = next((number for number, known in history.hashes.items() if known == digest), None)
    if same is not None:
        for relation, kind in relations(con, spec.name).items():
            if (archived_version(relation) or (None,))[0] == same:
                con.execute(f"DROP {kind} {qualified(spec.name, relation)}")
    number = same if same is not None else max(history.hashes, default=0) + 1
    settled = replace(spec, version=number, version_hash=digest)
    _record(con, settled)
    return settled


def resolve(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, version: int | None
) -> tuple[DatasetSpec, int | None]:
    """The spec of `version` of a dataset whose current spec is `spec`, and the number to read it
    by (`store.archived_name`): None for the current version. An unknown version is refused,
    naming the ones there are."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise DatasetError(f"a version is a whole number such as 1 or 2, not {version!r}")
    if version is None or version == (spec.version or 1):
        return spec, None
    rows = {row["version"]: row for row in listed(con, spec.name)}
    if version not in rows:
        known = ", ".join(str(number) for number in sorted(rows)) or str(spec.version or 1)
        raise DatasetError(f"dataset '{spec.name}' has no version {version} (versions: {known})")
    return DatasetSpec.from_dict(json.loads(rows[version]["spec"]), origin=f"version {version}"), version


def listed(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    """Every version of a dataset, oldest first: number, hash, when, whether current, its spec as JSON."""
    return _rows(con, name) if VERSIONS in relations(con, name) else []


def _rows(con: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    columns = ("version", "hash", "registered_at", "current", "spec")
    found = con.execute(
        f"SELECT {', '.join(columns)} FROM {qualified(name, VERSIONS)} ORDER BY version"
    ).fetchall()
    return [dict(zip(columns, row, strict=True)) for row in found]


def _record(con: duckdb.DuckDBPyConnection, spec: DatasetSpec) -> None:
    """`spec`'s version as the current one, in place of any row of the same number."""
    table = qualified(spec.name, VERSIONS)
    con.execute(f"DELETE FROM {table} WHERE version = ?", [spec.version])
    con.execute(f"UPDATE {table} SET current = false WHERE current")
    con.execute(
        f"INSERT INTO {table} VALUES (?, ?, ?, true, ?)",
        [spec.version, spec.version_hash, spec.registered_at, json.dumps(spec.to_dict())],
    )
