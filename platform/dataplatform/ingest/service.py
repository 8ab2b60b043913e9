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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dataplatform.ingest.detect import FormatError, detect
from dataplatform.ingest.dropzone import DropZone, content_hash
from dataplatform.ingest.ledger import Ledger, LedgerEntry, Status
from dataplatform.ingest.modes import LoadError, load, version_loaded_from
from dataplatform.ingest.tables import RESERVED, ConfigError, TableConfig
from dataplatform.storage.contract import TableName
from dataplatform.storage.delta_store import DeltaStore

USER_ERRORS = (FormatError, LoadError, ConfigError)


def reference_table(name: str) -> TableName:
    return TableName("reference", "files", name)


@dataclass(frozen=True)
class Ingestor:
    zone: DropZone
    store: DeltaStore

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.store)

    def ingest(
        self, path: Path, table: str, run_id: str | None = None, digest: str | None = None
    ) -> LedgerEntry:
        """Load, archive as a duplicate, or reject `incoming/<table>/<file>`; returns its entry."""
        path, base = self._delivered(path, table, digest)
        earlier = self.ledger.find(base["content_hash"], table)
        unfinished = [
            e for e in earlier if e["file"] == path.name and not (self.zone.root / e["moved_to"]).exists()
        ]
        if unfinished:  # recorded, then interrupted before the move: finish it
            entry = unfinished[-1]
            self.zone.move(path, self.zone.root / entry["moved_to"])
            return LedgerEntry(**{k: entry[k] for k in LedgerEntry.__dataclass_fields__})
        if any(e["status"] == "loaded" for e in earlier):
            return self._finish(path, "duplicate", run_id, base, error="identical to a file loaded before")
        try:
            return self._load(path, table, run_id, base)
        except USER_ERRORS as error:
            return self._finish(path, "rejected", run_id, base, error=str(error))

    def ingest_copy(self, source: Path, table: str, mode: str | None = None) -> LedgerEntry:
        """A user's file copied into the drop folder and taken the sensor's way, holding the
        table's lock throughout (`dataplatform ingest`)."""
        _check_table_name(table)  # before the lock creates the table's folder
        with self.zone.lock(table):
            return self.ingest(deliver(self.zone, source, table, mode), table)

    def restore(self, table: str, version: int | None = None) -> tuple[int, int]:
        """Write back the version the last full reload replaced (or `version`): the backup a
        bad delivery is undone with. Returns (version restored, the table's new version)."""
        from dataplatform.ingest.modes import restore

        name = reference_table(table)
        if not self.store.exists(name):
            raise LoadError(f"reference/{table} has no data to restore")
        if version is None:
            backups = [
                e["backup_version"]
                for e in self.ledger.entries().to_pylist()
                if e["table"] == table and e["backup_version"] is not None
            ]
            if not backups:
                raise LoadError(f"reference/{table} has no backup: no full reload replaced it yet")
            version = backups[-1]
        history = {c["version"] for c in self.store.history(name)}
        if version not in history:
            raise LoadError(f"reference/{table} has no version {version}; versions: {sorted(history)}")
        with self.zone.lock(table):
            return version, restore(self.store, name, version)

    def reject(self, path: Path, table: str, reason: str, run_id: str | None = None) -> LedgerEntry:
        """Send a file to `error/` with `reason`, recorded like any other outcome."""
        path, base = self._delivered(path, table)
        return self._finish(path, "rejected", run_id, base, error=reason)

    def _delivered(self, path: Path, table: str, digest: str | None = None) -> tuple[Path, dict]:
        path = path.resolve()
        if path.parent != (self.zone.incoming / table).resolve() or not path.is_file():
            raise FileNotFoundError(f"{path} is not a delivered file of table {table!r}")
        stat = path.stat()
        received = datetime.fromtimestamp(stat.st_mtime, UTC)
        digest = digest or content_hash(path)
        return path, dict(
            file=path.name, table=table, size=stat.st_size, content_hash=digest, received_at=received
        )

    def _load(self, path: Path, table: str, run_id: str | None, base: dict) -> LedgerEntry:
        if table in RESERVED:
            raise ConfigError(f"{table!r} is reserved for the platform's own records")
        config = TableConfig.of_folder(path.parent).for_file(path)
        name = reference_table(table)
        done = version_loaded_from(self.store, name, base["content_hash"])
        if done is not None:  # loaded, then interrupted before the ledger: record, never reload
            return self._finish(path, "loaded", run_id, base, mode=config.mode, table_version=done)
        detected = config.applied_to(detect(path))
        from dataplatform.ingest.read import batches

        with batches(path, detected) as stream:
            loaded = load(
                self.store,
                name,
                _with_required(stream, config),
                config.mode,
                config.keys,
                base["content_hash"],
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
        )

    def _finish(self, path: Path, status: Status, run_id: str | None, base: dict, **facts) -> LedgerEntry:
        target = self.zone.destination(path, base["table"], "error" if status == "rejected" else "archive")
        entry = LedgerEntry(
            **base,
            status=status,
            moved_to=str(target.relative_to(self.zone.root)),
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


def deliver(zone: DropZone, source: Path, table: str, mode: str | None = None) -> Path:
    """Put a user's file into `incoming/<table>/` as a partner would: a copy (the user's file
    stays where it was), declaring the table on first use and noting `mode` in a sidecar when
    it differs from the table's. `dataplatform ingest` then takes it like the sensor does."""
    import shutil

    from dataplatform.ingest.dropzone import TABLE_CONFIG
    from dataplatform.ingest.modes import MODES

    _check_table_name(table)
    if mode is not None and mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file")
    folder = zone.incoming / table
    declared = (folder / TABLE_CONFIG).is_file()
    config = TableConfig.of_folder(folder) if declared else None
    folder.mkdir(parents=True, exist_ok=True)
    if not declared:
        (folder / TABLE_CONFIG).write_text(f"mode: {mode or 'full'}\n")
    target = zone.destination_in(folder, source.name)
    shutil.copyfile(source, target)
    if config is not None and mode is not None and mode != config.mode:
        target.with_name(target.name + ".yaml").write_text(f"mode: {mode}\n")
    return target


def _check_table_name(table: str) -> None:
    from dataplatform.ingest.dropzone import TABLE_NAME

    if not TABLE_NAME.fullmatch(table) or table in RESERVED:
        raise ConfigError(
            f"{table!r} is not a table name: use lower-case letters, digits and underscores, starting with a letter"
        )
