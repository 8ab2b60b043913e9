"""Registering a dataset: its splits loaded into the store, detected, parsed, described and featurised, all or nothing.

Columns the user marks as personal data are masked (`transform/pii.py`, the rules silver uses)
as each split is stored, so the statistics, features and exports, which read the stored
splits, never see them in clear.

Everything happens inside one store transaction, and the spec file is written inside it too:
any failure (a bad file, a target that does not exist, a failing plugin) rolls the store back
(the split files it wrote are removed, see `store`) and puts the previous spec file back, so a
dataset is never half-registered. The same steps
(`describe_splits`) also rebuild a registered dataset when its target or ids change. Either
write keeps the version it replaces readable and records the new one by its content hash
(`versions`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from dataplatform.datasets import versions
from dataplatform.datasets.detect import Detection, Overrides, column_kinds, detect
from dataplatform.datasets.errors import DatasetError
from dataplatform.datasets.features import (
    feature_query,
    fit_features,
    fitted_frequencies,
    fitted_parameters,
    plugin_path,
    run_plugin,
    with_plugin_columns,
)
from dataplatform.datasets.sources import SUBMISSION_SPLIT, CsvParts, SourceFile, csv_in_parts, reading_error
from dataplatform.datasets.spec import DatasetSpec, SpecRegistry, normalise_name
from dataplatform.datasets.sql import qualified
from dataplatform.datasets.stats import SortedFigures, arrow_numeric_figures, table_stats, target_distribution
from dataplatform.datasets.store import DatasetStore
from dataplatform.engine.identifiers import quote
from dataplatform.transform.pii import (
    MissingSecret,
    PiiRule,
    bind_secret,
    check_columns,
    mark_text,
    masked_star,
    masked_stream,
    pseudonymised,
)

Progress = Callable[[str], None]
USER = "given by the user"


@dataclass
class SplitTarget:
    """Where a loader stores one split: the store, inside the registration's transaction.

    `counted` holds the numeric columns' figures of a split read into memory (`csv`), for the
    statistics, which then need not read those columns back. `personal` masks the columns the
    user marked, those the split has, before anything is stored (`masked` says which it had);
    `con` holds the pseudonyms' key (`pii.bind_secret`), and `secret` is it for `csv`'s parts.
    """

    store: DatasetStore
    con: duckdb.DuckDBPyConnection
    name: str
    split: str
    counted: dict[str, SortedFigures] | None = None
    personal: dict[str, PiiRule] = field(default_factory=dict)
    secret: str | None = field(default=None, repr=False)
    masked: set[str] = field(default_factory=set)

    def query(self, select: str, params: list[object]) -> int:
        """Store the rows of a select (with its parameters), marked columns masked; their number."""
        if self.personal:  # its columns are asked for only then: a CSV reader's sniffing costs
            columns = [
                d[0] for d in self.con.execute(f"SELECT * FROM ({select}) LIMIT 0", params).description
            ]
            rules = self._rules(columns)
            if rules:
                select = f"SELECT {masked_star(rules)} FROM ({select})"
        return self.store.write_split(self.con, self.name, self.split, select, params)

    def _rules(self, columns: list[str]) -> dict[str, PiiRule]:
        """The rules of the marked columns among `columns`, noted as met."""
        rules = {c: rule for c, rule in self.personal.items() if c in columns}
        self.masked |= set(rules)
        return rules

    def csv(self, parts: CsvParts) -> int:
        """Store a CSV file pyarrow reads (`sources.csv_in_parts`); its number of rows.

        Its parts are parsed on every core and written one after another by this thread as
        they come; once all are parsed, the numeric columns are counted and sorted on the
        parsers' threads (`stats.arrow_numeric_figures`) while the last parts are written.
        """
        rules = self._rules(parts.schema.names)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, ExitStack() as masking:
            parsing = [pool.submit(read) for read in parts.readers]
            # queued after every part: it starts once they all have, and waits for them
            counting = pool.submit(
                lambda: arrow_numeric_figures(pa.concat_tables(future.result() for future in parsing))
            )
            schema, tables = parts.schema, (future.result() for future in parsing)
            if rules:  # a part a batch, masked as it comes
                batches = (b for table in tables for b in table.combine_chunks().to_batches())
                stream = masking.enter_context(
                    masked_stream(
                        pa.RecordBatchReader.from_batches(schema, batches),
                        rules,
                        self.secret,
                        f"dataset {self.name}",
                    )
                )
                schema, tables = stream.schema, (pa.Table.from_batches([b]) for b in stream)
            try:
                rows = self.store.write_split_parts(self.con, self.name, self.split, schema, tables)
                # figures of values in clear are never kept: masked columns are described as stored
                self.counted = {c: f for c, f in counting.result().items() if c not in rules}
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return rows


SplitLoader = Callable[[duckdb.DuckDBPyConnection, SplitTarget], None]


@dataclass(frozen=True)
class Request:
    """What to register besides the data: where it came from, what the user stated, how to store it."""

    name: str
    source_kind: str
    source: str
    overrides: Overrides = field(default_factory=Overrides)
    description: str = ""
    tags: list[str] = field(default_factory=list)
    features: bool = True
    force: bool = False
    personal: dict[str, PiiRule] = field(default_factory=dict)  # column -> the rule masking it
    safe: list[str] = field(default_factory=list)  # text columns the personal-data check leaves alone
    pii_secret: str | None = field(default=None, repr=False)  # keys `Pseudonymise` columns


def register(
    store: DatasetStore,
    registry: SpecRegistry,
    request: Request,
    loaders: dict[str, SplitLoader],
    plugins: Path | None = None,
    progress: Progress | None = None,
) -> DatasetSpec:
    """Load every split with its loader (`train` first) and describe the dataset; return its spec,
    a new version unless the splits are those of a kept version (see `versions`)."""
    name = normalise_name(request.name)
    if registry.exists(name) and not request.force:
        raise DatasetError(
            f"dataset '{name}' is already registered; pass force to replace it (CLI: --force) or choose another name"
        )
    report = progress or (lambda _step: None)
    with _spec_restored_on_failure(registry, name), store.writing(name) as con:
        history = versions.begin(con, name, _current_spec(registry, name))
        try:
            bind_secret(
                con, request.pii_secret, [f"dataset {name}.{c}" for c in pseudonymised(request.personal)]
            )
        except MissingSecret as error:
            raise DatasetError(str(error)) from None
        counted: dict[str, dict[str, SortedFigures]] = {}
        masked: set[str] = set()
        for split, load in loaders.items():
            report(f"reading {split}")
            target = SplitTarget(
                store, con, name, split, personal=request.personal, secret=request.pii_secret
            )
            load(con, target)
            masked |= target.masked
            if target.counted is not None:
                counted[split] = target.counted
        _every_mark_met(con, name, list(loaders), request.personal, masked)
        spec = DatasetSpec(
            name=name,
            source_kind=request.source_kind,  # type: ignore[arg-type]
            source=request.source,
            splits=list(loaders),
            description=request.description,
            tags=list(request.tags),
            features=request.features,
            personal={c: mark_text(rule) for c, rule in request.personal.items()},
            safe=list(request.safe),
        )
        spec = describe_splits(con, store, spec, request.overrides, plugins, report, counted)
        report("saving the version")
        spec = versions.settle(con, spec, history)
        registry.save(spec, force=True)
    return spec


def rebuild(
    store: DatasetStore,
    registry: SpecRegistry,
    spec: DatasetSpec,
    overrides: Overrides,
    plugins: Path | None = None,
) -> DatasetSpec:
    """Detect, describe and featurise a registered dataset again from its stored splits, with new
    overrides. It stays the same version unless a new column type changed the stored values."""
    with _spec_restored_on_failure(registry, spec.name), store.writing(spec.name) as con:
        history = versions.begin(con, spec.name, spec)
        if history.archived is None:
            raise DatasetError(f"dataset '{spec.name}' has no stored data; register it again")
        for split in spec.splits:
            store.share_split(con, spec.name, split, history.archived)
        spec = describe_splits(con, store, spec, overrides, plugins, lambda _step: None)
        spec = versions.settle(con, spec, history)
        registry.save(spec, force=True)
    return spec


def _every_mark_met(
    con: duckdb.DuckDBPyConnection,
    name: str,
    splits: list[str],
    personal: dict[str, PiiRule],
    masked: set[str],
) -> None:
    """Refuse marks naming a column no split has (a typo would leave the column it meant in
    clear); raised inside the transaction, so nothing of this registration is kept."""
    if set(personal) <= masked:
        return
    from dataplatform.datasets.detect import column_kinds

    columns = list(dict.fromkeys(c for split in splits for c in column_kinds(con, qualified(name, split))))
    try:
        check_columns({c: r for c, r in personal.items() if c not in masked}, columns, f"dataset {name!r}")
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _current_spec(registry: SpecRegistry, name: str) -> DatasetSpec | None:
    """The registered spec, if it can be read: a spec file broken by hand is replaced, not kept."""
    try:
        return registry.load(name) if registry.exists(name) else None
    except DatasetError:
        return None


def user_overrides(spec: DatasetSpec) -> Overrides:
    """What the user stated at registration, read back from the reasons, so a rebuild keeps it."""
    reasons = spec.reasons
    return Overrides(
        target=spec.target if reasons.get("target") == USER else None,
        id_columns=spec.id_columns if reasons.get("id_columns") == USER else None,
        problem_type=spec.problem_type if reasons.get("problem_type") == USER else None,
        column_types={
            c: t for c, t in spec.column_types.items() if reasons.get(f"column {c}") == f"{t}: {USER}"
        },
    )


def file_loader(file: SourceFile) -> SplitLoader:
    """Read a file into the store: a CSV or TSV file that pyarrow can parse as DuckDB would
    through memory (`sources.csv_in_parts`), any other straight from DuckDB's reader into the
    store, never passing through Python."""

    def load(con: duckdb.DuckDBPyConnection, target: SplitTarget) -> None:
        parts = csv_in_parts(con, file)
        rows = None
        if parts is not None:
            with suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):  # DuckDB's reader will tell
                rows = target.csv(parts)
        if rows is None:
            sql, params = file.reader()
            try:
                rows = target.query(sql, params)
            except duckdb.Error as error:
                raise reading_error(file, error) from error
        if rows == 0:
            raise DatasetError(f"{file.path}: the file has a header but no rows")

    return load


def arrow_loader(data: pa.Table, origin: str) -> SplitLoader:
    """Store an Arrow table handed in by the caller (a platform asset, a frame the user built)."""

    def load(con: duckdb.DuckDBPyConnection, target: SplitTarget) -> None:
        if data.num_rows == 0:
            raise DatasetError(f"{origin}: the table has no rows")
        con.register("_incoming", data)
        try:
            target.query("SELECT * FROM _incoming", [])
        finally:
            con.unregister("_incoming")

    return load


def describe_splits(
    con: duckdb.DuckDBPyConnection,
    store: DatasetStore,
    spec: DatasetSpec,
    overrides: Overrides,
    plugins: Path | None,
    report: Progress,
    counted: dict[str, dict[str, SortedFigures]] | None = None,
) -> DatasetSpec:
    """Statistics, detection, timestamp parsing and features of the splits already in the schema
    (features are tables in a store that cannot keep DuckDB views). `counted` are the numeric
    columns' figures of splits computed as they were stored (see `SplitTarget.table`)."""
    refs = {split: qualified(spec.name, split) for split in spec.splits}
    submission = column_kinds(con, refs[SUBMISSION_SPLIT]) if SUBMISSION_SPLIT in refs else None
    report("computing statistics")
    counted = counted or {}
    stats = {split: table_stats(con, ref, counted=counted.get(split)) for split, ref in refs.items()}
    report("detecting ids, target and column types")
    detection = detect(
        con,
        {s: r for s, r in refs.items() if s in ("train", "test")},
        list(submission or []),
        overrides,
        train_stats=stats["train"],
    )
    detection, cast = _store_declared_types(con, store, spec.name, refs, detection, overrides)
    for split in cast:  # their columns changed type: figures of the stored values
        stats[split] = table_stats(con, refs[split])
    if detection.target is not None:
        for split, ref in refs.items():
            figures = stats[split]["column_stats"].get(detection.target)
            if figures is not None:
                stats[split]["target_distribution"] = target_distribution(con, ref, detection.target, figures)
    meta: dict[str, object] = {"stats": stats}  # each kept as JSON
    if spec.features:
        report("building features")
        meta["features"] = _build_features(con, store, spec.name, refs, detection, stats["train"], plugins)
    con.execute(f"CREATE TABLE {qualified(spec.name, '_meta')} (key VARCHAR, value VARCHAR)")
    con.executemany(
        f"INSERT INTO {qualified(spec.name, '_meta')} VALUES (?, ?)",
        [[key, json.dumps(value, default=str)] for key, value in meta.items()],
    )
    return replace(
        spec,
        id_columns=detection.id_columns,
        target=detection.target,
        problem_type=detection.problem_type,  # type: ignore[arg-type]
        class_count=detection.class_count,
        datetime_columns=detection.datetime_columns,
        column_types=detection.column_types,  # type: ignore[arg-type]
        reasons=detection.reasons,
        registered_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


# column type -> (DuckDB type text is cast to, the kinds already stored that way)
CASTS = {"datetime": ("TIMESTAMP", ("temporal",)), "numeric": ("DOUBLE", ("integer", "float"))}


def _store_declared_types(
    con: duckdb.DuckDBPyConnection,
    store: DatasetStore,
    name: str,
    refs: dict[str, str],
    detection: Detection,
    overrides: Overrides,
) -> tuple[Detection, set[str]]:
    """Store datetime and numeric columns held as text as real timestamps and numbers, in every
    split; the detection as it stands then, and the splits whose columns were cast.

    A detected datetime column (judged on a sample) whose full data does not parse stays
    categorical; a column the user declared must parse entirely, or registration stops naming
    a value that does not.
    """
    types, reasons = dict(detection.column_types), dict(detection.reasons)
    kinds = {split: column_kinds(con, ref) for split, ref in refs.items()}
    casts: dict[str, dict[str, str]] = {}  # split -> column -> type, so a split is stored again once
    for column, declared in detection.column_types.items():
        if declared not in CASTS:
            continue
        sql_type, stored = CASTS[declared]
        holders = [s for s in refs if kinds[s].get(column) not in (None, *stored)]
        if not holders:
            continue
        wrong = sorted({kinds[s][column] for s in holders} - {"string"})
        if wrong:
            raise DatasetError(
                f"column {column!r} is declared {declared} but holds {wrong[0]} values; drop the override"
            )
        bad = _unparsed(con, [refs[s] for s in holders], column, sql_type)
        if bad is not None and column in overrides.column_types:
            raise DatasetError(
                f"column {column!r} is declared {declared} but {bad!r} is not a {sql_type.lower()}"
            )
        if bad is not None:
            types[column] = "categorical"
            reasons[f"column {column}"] = (
                f"categorical: looked like {declared} values, but {bad!r} is not one"
            )
            continue
        for split in holders:
            casts.setdefault(split, {})[column] = sql_type
    for split, columns in casts.items():
        store.cast_split(con, name, split, columns)
    return replace(detection, column_types=types, reasons=reasons), set(casts)


def _unparsed(con: duckdb.DuckDBPyConnection, tables: list[str], column: str, sql_type: str) -> str | None:
    q = quote(column)
    for table in tables:
        row = con.execute(
            f"SELECT {q} FROM {table} WHERE {q} IS NOT NULL AND TRY_CAST({q} AS {sql_type}) IS NULL LIMIT 1"
        ).fetchone()
        if row is not None:
            return str(row[0])
    return None


def _build_features(
    con: duckdb.DuckDBPyConnection,
    store: DatasetStore,
    name: str,
    refs: dict[str, str],
    detection: Detection,
    train_stats: dict[str, Any],
    plugins: Path | None,
) -> dict[str, object]:
    """`features_<split>` for train and every split that has train's feature inputs (test, usually).

    Only the fitted values are stored (`_parameters`, `_frequencies`); each `features_<split>`
    is a view computing the features from its split when read. Writing them as tables took
    longer than everything else in a registration (1M rows x 41 columns: 1.7 s of 4.2 s), and
    reading the view costs about what computing them did. The view reads the split's file and
    the fitted values' files, never another relation, so it survives its version being renamed
    (`versions`). Tables are written instead for a dataset with a feature plugin (its plugin's
    columns exist only as Python's answer) and in a store that cannot keep DuckDB views
    (PostgreSQL); the parameters (maps and structs) are then only read while writing them.
    """
    fitted = fit_features(con, refs["train"], detection.column_types, detection.target, train_stats)
    plugin = plugin_path(plugins, name)
    views = store.feature_views and plugin is None
    if views:
        frequencies = store.write_fitted(con, name, "_frequencies", fitted_frequencies(fitted))
        parameters = store.write_fitted(con, name, "_parameters", fitted_parameters(fitted))
    else:
        frequencies = qualified(name, "_frequencies")
        _store_arrow(con, frequencies, fitted_frequencies(fitted))
        parameters = "_fitted_parameters"
        con.register(parameters, fitted_parameters(fitted))
    inputs = set(fitted.numeric) | set(fitted.datetime) | set(fitted.text) | set(fitted.categorical)
    built = []
    for split, ref in refs.items():
        present = column_kinds(con, ref)
        if split == SUBMISSION_SPLIT or not inputs <= set(present):
            continue
        carry = [c for c in fitted.carried if c in present]
        source = store.split_reader(con, name, split) if views else ref
        sql = feature_query(replace(fitted, carried=carry), source, parameters, frequencies)
        target = qualified(name, f"features_{split}")
        if views:
            con.execute(f"CREATE VIEW {target} AS {sql}")
        elif plugin is None:
            con.execute(f"CREATE TABLE {target} AS {sql}")
        else:
            _store_with_plugin_columns(con, plugin, name, ref, sql, target)
        built.append(split)
    if not views:
        con.unregister(parameters)
    return {"splits": built, "plugin": None if plugin is None else str(plugin), **fitted.to_dict()}


def _store_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    con.register("_incoming", data)
    try:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def _store_with_plugin_columns(
    con: duckdb.DuckDBPyConnection, plugin: Path, name: str, source: str, sql: str, target: str
) -> None:
    frame = con.execute(f"SELECT * FROM {source}").df()
    added = run_plugin(plugin, name, frame)
    _store_arrow(con, target, with_plugin_columns(con.execute(sql).to_arrow_table(), plugin, name, added))


@contextmanager
def _spec_restored_on_failure(registry: SpecRegistry, name: str) -> Iterator[None]:
    """Put a spec file back as it was (or away, if there was none) when the block raises.

    The spec is written just before the store commits; if the commit itself fails, the store
    rolls back and the spec must follow it.
    """
    path = registry.path_for(name)
    previous = path.read_bytes() if path.is_file() else None
    try:
        yield
    except BaseException:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)
        raise
