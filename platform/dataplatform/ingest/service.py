"""Take one delivered file from the drop folder to its end: loaded, duplicate or rejected.

The sensor's runs and `dataplatform ingest` both come here, so a file is treated the same way
whichever path brought it. Every outcome is written to the ledger *before* the file moves, to
a destination decided up front; each step can therefore be repeated after a crash:

* killed before the load commits: the table is at its previous version, the file is still in
  `incoming/`, and the next attempt loads it;
* killed after the commit but before the ledger: the commit carries the file's hash, so the
  next attempt records the load it finds instead of loading again;
* killed after the ledger but before the move: the next attempt finds the entry and finishes
  the move to the recorded place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath

from dataplatform.ingest.detect import FormatError
from dataplatform.ingest.dropzone import DropZone
from dataplatform.ingest.ledger import Ledger, LedgerEntry, Status
from dataplatform.ingest.modes import LoadError, holds, load, unrecorded_load
from dataplatform.ingest.tables import REJECTS_SUFFIX, ConfigError, TableConfig, reserved
from dataplatform.storage.contract import TableName
from dataplatform.storage.delta_store import DeltaStore
from dataplatform.transform.pii import BadMark, masked_stream

# the file's or its table's config's fault: the file is rejected. A missing secret is not one
# of them: the file waits in `incoming/` until the platform has it.
USER_ERRORS = (FormatError, LoadError, ConfigError, BadMark)


def reference_table(name: str) -> TableName:
    return TableName("reference", "files", name)


def rejects_table(name: str) -> TableName:
    """Where the rows a table's files delivered without the header's field count are kept."""
    return TableName("reference", "files", name + REJECTS_SUFFIX)


@dataclass(frozen=True)
class Ingestor:
    zone: DropZone
    store: DeltaStore
    examples: Path | None = None  # shipped table declarations, for `deliver`
    # keys the pseudonyms of columns a table marks `pseudonymise` (DATAPLATFORM_PII_SECRET)
    pii_secret: str | None = field(default=None, repr=False)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.store)

    def ingest(
        self, path: PurePath, table: str, run_id: str | None = None, digest: str | None = None
    ) -> LedgerEntry:
        """Load, archive as a duplicate, or reject `incoming/<table>/<file>`; returns its entry.

        An error that is not the file's fault (storage, a bug, a killed dependency) is recorded
        in the ledger as a `failed` attempt and raised: the file waits in `incoming/` for the
        next attempt, and every attempt is in the ledger, not only in the run's logs."""
        path, base = self._delivered(path, table, digest)
        earlier = self.ledger.find(base["content_hash"], table)
        changed = self.zone.files.changed_at(path)  # a move back into incoming changes it
        unfinished = [
            e
            for e in earlier
            if e["file"] == path.name
            and e["status"] != "failed"
            and self.zone.files.info(self.zone.root / e["moved_to"]) is None
            and changed < e["processed_at"]
        ]
        if unfinished:  # recorded, then interrupted before the move: finish it
            entry = unfinished[-1]
            self.zone.move(path, self.zone.root / entry["moved_to"])
            return LedgerEntry(**{k: entry[k] for k in LedgerEntry.__dataclass_fields__})
        try:
            return self._load(path, table, run_id, base, earlier)
        except USER_ERRORS as error:
            return self._finish(path, "rejected", run_id, base, error=str(error))
        except Exception as error:
            self.record_failure(path, table, f"{type(error).__name__}: {_first_line(error)}", run_id, base)
            raise

    def record_failure(
        self, path: PurePath, table: str, error: str, run_id: str | None, base: dict | None = None
    ) -> LedgerEntry:
        """A failed attempt at a file that stays where it is, for the next attempt."""
        base = base or self._delivered(path, table)[1]
        entry = LedgerEntry(
            **base,
            status="failed",
            moved_to=self.zone.relative(path),
            processed_at=datetime.now(UTC),
            run_id=run_id,
            error=error,
        )
        self.ledger.record(entry)
        return entry

    def ingest_copy(
        self, source: Path, table: str, mode: str | None = None, create: bool = False
    ) -> tuple[LedgerEntry, bool]:
        """A user's file copied into the drop folder and taken the sensor's way, holding the
        table's lock throughout (`dataplatform ingest`). Returns the entry and whether the
        table was declared by this call (only with `create`)."""
        _check_table_name(table)  # before the lock creates the table's folder
        _check_mode(mode)
        created = not self.declared(table)
        if created and not create:
            known = ", ".join(sorted(self.declared_tables())) or "none yet"
            raise ConfigError(
                f"unknown reference table {table!r} (declared: {known}); check the name, or pass "
                "--create to declare a new table"
            )
        with self.zone.lock(table):
            return self.ingest(deliver(self.zone, source, table, mode, self.examples), table), created

    def declared(self, table: str) -> bool:
        return table in self.declared_tables()

    def declared_tables(self) -> dict[str, TableConfig]:
        from dataplatform.ingest.tables import declared_tables

        return declared_tables(self.zone.incoming, self.examples, self.zone.files)

    def restore(self, table: str, version: int | None = None) -> tuple[int, int]:
        """Write back the version the last full reload replaced (or `version`): the backup a
        bad delivery is undone with. Returns (version restored, the table's new version)."""
        from dataplatform.ingest.modes import restore

        name = reference_table(table)
        if not self.store.exists(name):
            raise LoadError(f"reference/{table} has no data to restore")
        if version is None:
            backups = [
                e["backup_version"] for e in self.ledger.of_table(table) if e["backup_version"] is not None
            ]
            if not backups:
                raise LoadError(f"reference/{table} has no backup: no full reload replaced it yet")
            version = backups[-1]
        history = {c["version"] for c in self.store.history(name)}
        if version not in history:
            raise LoadError(f"reference/{table} has no version {version}; versions: {sorted(history)}")
        with self.zone.lock(table):
            return version, restore(self.store, name, version)

    def reject(self, path: PurePath, table: str, reason: str, run_id: str | None = None) -> LedgerEntry:
        """Send a file to `error/` with `reason`, recorded like any other outcome."""
        path, base = self._delivered(path, table)
        return self._finish(path, "rejected", run_id, base, error=reason)

    def _delivered(self, path: PurePath, table: str, digest: str | None = None) -> tuple[PurePath, dict]:
        path = self.zone.files.resolve(path)
        info = self.zone.files.info(path)
        if path.parent != self.zone.files.resolve(self.zone.incoming / table) or info is None:
            raise FileNotFoundError(
                f"{self.zone.files.location(path)} is not a delivered file of table {table!r}"
            )
        received = datetime.fromtimestamp(info.mtime_ns / 1e9, UTC)
        digest = digest or self.zone.content_hash(path)
        return path, dict(
            file=path.name, table=table, size=info.size, content_hash=digest, received_at=received
        )

    def _load(
        self, path: PurePath, table: str, run_id: str | None, base: dict, earlier: list[dict]
    ) -> LedgerEntry:
        if reserved(table):
            raise ConfigError(f"{table!r} is reserved for the platform's own records")
        config = self.zone.config(path)
        name = reference_table(table)
        loads = [e for e in self.ledger.of_table(table) if e["status"] == "loaded"]
        recorded = {e["table_version"] for e in loads if e["table_version"] is not None}
        done = unrecorded_load(self.store, name, base["content_hash"], recorded)
        if done is not None:  # loaded, then interrupted before the ledger: record, never reload
            notes = [
                "recorded from its commit after an interrupted run",
                *self._reread(path, table, config, run_id, base),
            ]
            return self._finish(
                path,
                "loaded",
                run_id,
                base,
                mode=done.mode,
                rows_loaded=done.rows,
                table_version=done.version,
                backup_version=done.backup_version,
                warnings="; ".join(notes),
            )
        before = [e for e in earlier if e["status"] == "loaded"]
        if holds(self.store, name, base["content_hash"], config.fingerprint()) or (
            config.mode == "append" and before
        ):
            return self._finish(
                path, "duplicate", run_id, base, warnings=f"identical to what reference/{table} holds now"
            )
        existing = self.store.schema(name) if self.store.exists(name) else None
        from dataplatform.ingest.read import batches

        with self.zone.files.local(path) as local:  # a bucket's file is streamed to a temporary copy
            detected = config.detect(local, existing.names if existing is not None else None)
            with (
                batches(local, detected, config.bad_rows) as reading,
                masked_stream(
                    _with_required(reading.stream, config),
                    config.personal,
                    self.pii_secret,
                    f"reference/{table}",
                ) as stream,
            ):
                if existing is not None and config.schema_change != "evolve":
                    _refuse_drift(table, existing, stream.schema)
                loaded = load(
                    self.store,
                    name,
                    stream,
                    config.mode,
                    config.keys,
                    base["content_hash"],
                    config.fingerprint(),
                )
        if reading.bad_rows:
            self._keep_rejects(table, base, reading.bad_rows, run_id, config)
        notes = list(reading.warnings)
        if before:
            notes.append(
                f"a redelivery of the file first loaded at {before[0]['processed_at']:%Y-%m-%d %H:%M} UTC "
                f"(version {before[0]['table_version']})"
            )
        return self._finish(
            path,
            "loaded",
            run_id,
            base,
            format=json.dumps(detected.to_dict()),
            mode=loaded.mode,
            rows_loaded=loaded.rows,
            table_version=loaded.version,
            backup_version=loaded.backup_version,
            warnings="; ".join(notes) or None,
        )

    def _reread(
        self, path: PurePath, table: str, config: TableConfig, run_id: str | None, base: dict
    ) -> list[str]:
        """Read a file whose load committed before its run died, without loading it: its warnings
        and quarantined rows (kept after the commit) are what the dead run did not get to keep."""
        from dataplatform.ingest.read import batches

        name = reference_table(table)
        try:
            with self.zone.files.local(path) as local:
                detected = config.detect(local, self.store.schema(name).names)
                with batches(local, detected, config.bad_rows) as reading:
                    for _ in reading.stream:
                        pass
        except USER_ERRORS:
            return []
        if reading.bad_rows:
            self._keep_rejects(table, base, reading.bad_rows, run_id, config)
        return reading.warnings

    def _keep_rejects(
        self, table: str, base: dict, bad: list, run_id: str | None, config: TableConfig
    ) -> None:
        """The file's bad rows in `<table>_rejects`, replacing any an earlier attempt kept. A
        table with personal columns keeps no raw text: a row that does not split cannot be
        masked column by column (the archived file holds it at its line)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        now = datetime.now(UTC)
        rows = [
            dict(
                file=base["file"],
                content_hash=base["content_hash"],
                line=row.line,
                raw=None if config.personal else row.raw,
                reason=row.reason,
                rejected_at=now,
                run_id=run_id,
            )
            for row in bad
        ]
        schema = pa.schema(
            [
                ("file", pa.string()),
                ("content_hash", pa.string()),
                ("line", pa.int64()),
                ("raw", pa.string()),
                ("reason", pa.string()),
                ("rejected_at", pa.timestamp("us", "UTC")),
                ("run_id", pa.string()),
            ]
        )
        kept = pa.Table.from_pylist(rows, schema=schema)
        name = rejects_table(table)
        if self.store.exists(name):
            earlier = self.store.read(name)
            others = earlier.filter(pc.invert(pc.equal(earlier["content_hash"], base["content_hash"])))
            kept = pa.concat_tables([others.select(schema.names).cast(schema), kept])
        self.store.write(name, kept)

    def _finish(self, path: PurePath, status: Status, run_id: str | None, base: dict, **facts) -> LedgerEntry:
        target = self.zone.destination(path, base["table"], "error" if status == "rejected" else "archive")
        entry = LedgerEntry(
            **base,
            status=status,
            moved_to=self.zone.relative(target),
            processed_at=datetime.now(UTC),
            run_id=run_id,
            **facts,
        )
        if status == "rejected":
            self.zone.note_error(
                target, base["table"], entry.error or "", {"content_hash": entry.content_hash}
            )
        self.ledger.record(entry)
        self.zone.move(path, target)
        return entry


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def _refuse_drift(table: str, existing, incoming) -> None:
    """Refuse a file whose columns are not the table's, saying which went, which came, and
    which look renamed: a later edition of a table loaded silently leaves its old columns null."""
    import difflib

    removed = [n for n in existing.names if n not in incoming.names]
    added = [n for n in incoming.names if n not in existing.names]
    if not removed and not added:
        return
    renamed = []
    for old in list(removed):
        close = difflib.get_close_matches(old, added, n=1, cutoff=0.6)
        same_place = [
            n
            for n in added
            if existing.names.index(old) == incoming.names.index(n)
            and existing.field(old).type == incoming.field(n).type
        ]
        new = (close or same_place or [None])[0]
        if new is not None:
            renamed.append(f"{old} -> {new}")
            removed.remove(old)
            added.remove(new)
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (("removed", removed), ("added", added), ("renamed?", renamed))
        if names
    ]
    raise LoadError(
        f"the file's columns differ from reference/{table}'s ({'; '.join(parts)}); the table is "
        "unchanged. Send the columns the table has, or set schema_change: evolve in its _table.yaml"
    )


def _with_required(stream, config: TableConfig):
    """The stream, refused when a required column is missing or, batch by batch, empty."""
    import pyarrow as pa

    missing = [c for c in config.required if c not in stream.schema.names]
    if missing:
        raise LoadError(
            f"required columns missing: {', '.join(missing)} (the file has {', '.join(stream.schema.names)})"
        )

    def checked():
        seen = 0
        for batch in stream:
            for column in config.required:
                nulls = batch.column(column).null_count
                if nulls:
                    raise LoadError(
                        f"required column {column!r} is empty in {nulls} row(s) from data row {seen + 1} on"
                    )
            seen += batch.num_rows
            yield batch

    return pa.RecordBatchReader.from_batches(stream.schema, checked())


def deliver(
    zone: DropZone, source: Path, table: str, mode: str | None = None, examples: Path | None = None
) -> PurePath:
    """Put a user's file into `incoming/<table>/` as a partner would: a copy (the user's file
    stays where it was) under a hidden name the sensor ignores, moved into place once whole
    (renamed on a disk; copied, verified, then deleted in a bucket), so a copy killed half way
    is never taken for a delivery. Declares the table on first use (from the shipped example's
    `_table.yaml` where there is one) and notes `mode` in a sidecar when it differs from the
    table's. `dataplatform ingest` then takes it like the sensor does."""
    from dataplatform.ingest.dropzone import TABLE_CONFIG

    _check_table_name(table)
    _check_mode(mode)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    folder = zone.table_folder(table)
    declared = zone.files.info(folder / TABLE_CONFIG) is not None
    shipped = examples / table / TABLE_CONFIG if examples is not None else None
    if not declared and shipped is not None and shipped.is_file():
        zone.files.upload(shipped, folder / TABLE_CONFIG)
        declared = True
    config = TableConfig.of_folder(folder, zone.files) if declared else None
    if not declared:
        zone.files.write_bytes(folder / TABLE_CONFIG, f"mode: {mode or 'full'}\n".encode())
    target = zone.destination_in(folder, source.name)
    partial = target.with_name(f".{target.name}.part")
    zone.files.upload(source, partial)
    if config is not None and mode is not None and mode != config.mode:
        zone.files.write_bytes(target.with_name(target.name + ".yaml"), f"mode: {mode}\n".encode())
    zone.files.move(partial, target)
    return target


def _check_table_name(table: str) -> None:
    from dataplatform.ingest.dropzone import TABLE_NAME

    if not TABLE_NAME.fullmatch(table) or reserved(table):
        raise ConfigError(
            f"{table!r} is not a table name: use lower-case letters, digits and underscores, starting with a letter"
        )


def _check_mode(mode: str | None) -> None:
    from dataplatform.ingest.modes import MODES

    if mode is not None and mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
