"""The drop folder: which delivered files are ready, and where each one ends up.

    <data>/dropzone/incoming/<table>/<file>        delivered (a table is a folder with _table.yaml)
    <data>/dropzone/archive/<table>/YYYY/MM/DD/     loaded, or a duplicate of a loaded file
    <data>/dropzone/error/<table>/                  rejected, with <file>.error.json saying why

A file is ready once its size and modification time stayed the same for `ticks` scans in a
row (a partner may still be copying it); the scan state is plain data for a sensor cursor.
Files are moved, never deleted, and never leave the drop folder: every path is resolved and
checked to stay under it, and names are data, never SQL or shell.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TABLE_CONFIG = "_table.yaml"
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
IGNORED_SUFFIXES = (".yaml", ".yml", ".tmp", ".part", ".crdownload", ".error.json")
HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class DropFile:
    table: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return f"{self.table}/{self.path.name}"


@dataclass(frozen=True)
class Scan:
    ready: list[DropFile]
    rejected: list[tuple[Path, str, str]]  # path, table folder, reason
    state: dict[str, list[int]]  # file key -> [size, mtime_ns, unchanged scans]: the next cursor


class DropZone:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.incoming = self.root / "incoming"
        self.archive = self.root / "archive"
        self.error = self.root / "error"

    def scan(self, state: dict[str, list[int]], ticks: int = 2) -> Scan:
        """Files ready to load, files to reject at once, and the state for the next scan."""
        ready, rejected, seen = [], [], {}
        if not self.incoming.is_dir():
            return Scan([], [], {})
        for folder in sorted(p for p in self.incoming.iterdir() if p.is_dir()):
            files = sorted(p for p in folder.iterdir() if p.is_file() and not _ignored(p.name))
            problem = self._table_problem(folder)
            for path in files:
                if problem:
                    rejected.append((path, folder.name, problem))
                    continue
                stat = path.stat()
                drop = DropFile(folder.name, path, stat.st_size, stat.st_mtime_ns)
                size, mtime, unchanged = state.get(drop.key, [-1, -1, 0])
                unchanged = unchanged + 1 if (size, mtime) == (drop.size, drop.mtime_ns) else 0
                seen[drop.key] = [drop.size, drop.mtime_ns, unchanged]
                if unchanged >= ticks:
                    ready.append(drop)
        return Scan(ready, rejected, seen)

    def _table_problem(self, folder: Path) -> str | None:
        if not TABLE_NAME.fullmatch(folder.name):
            return (
                f"the folder name {folder.name!r} is not a table name: use lower-case letters, digits "
                "and underscores, starting with a letter"
            )
        if not (folder / TABLE_CONFIG).is_file():
            return f"unknown table {folder.name!r}: declare it with incoming/{folder.name}/{TABLE_CONFIG}"
        from dataplatform.ingest.tables import ConfigError, TableConfig

        try:
            TableConfig.of_folder(folder)
        except ConfigError as error:
            return str(error)
        return None

    @contextmanager
    def lock(self, table: str) -> Iterator[None]:
        """Hold the table's folder for one taker at a time: two runs (or a run and the CLI)
        never load, move or seed the same files at once. An OS lock, released if the holder dies."""
        import fcntl

        folder = self._inside(self.incoming / table)
        with (folder / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def pending(self, table: str) -> list[Path]:
        """The files waiting in `incoming/<table>/`, oldest first."""
        folder = self.incoming / table
        if not folder.is_dir():
            return []
        files = [p for p in folder.iterdir() if p.is_file() and not _ignored(p.name)]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def deliver_examples(self, table: str, examples: Path) -> list[Path]:
        """Copy a shipped example table (its `_table.yaml` and files) into `incoming/<table>/`,
        keeping modification times: how a fresh platform gets reference data before any partner
        delivers. Nothing is copied over an existing file."""
        import shutil

        source = examples / table
        target = self._inside(self.incoming / table)
        copied = []
        for path in sorted(source.iterdir()) if source.is_dir() else []:
            if path.is_file() and not (target / path.name).exists():
                copied.append(Path(shutil.copy2(path, target / path.name)))
        return copied

    def archive_file(self, path: Path, table: str, when: datetime | None = None) -> Path:
        """Move a loaded (or duplicate) file, and its sidecar, to the day's archive folder."""
        return self.move(path, self.destination(path, table, "archive", when))

    def reject(self, path: Path, table: str, reason: str, details: dict | None = None) -> Path:
        """Move a file to the error folder with `<file>.error.json` beside it saying why."""
        target = self.destination(path, table, "error")
        self.note_error(target, table, reason, details)
        return self.move(path, target)

    def destination(self, path: Path, table: str, outcome: str, when: datetime | None = None) -> Path:
        """Where `path` goes: `archive/<table>/YYYY/MM/DD/` or `error/<table>/`, under a name not
        taken yet (the same name delivered again keeps both, told apart by time). Deciding it
        before moving lets the ledger record it first, so a crash in between is resumable."""
        when = when or datetime.now(UTC)
        folder = self.archive / table / f"{when:%Y/%m/%d}" if outcome == "archive" else self.error / table
        return self.destination_in(folder, path.name, when)

    def destination_in(self, folder: Path, name: str, when: datetime | None = None) -> Path:
        """`folder/name`, or a name told apart by time when that one is taken."""
        when = when or datetime.now(UTC)
        folder = self._inside(folder)
        target = folder / name
        if target.exists() or target.with_name(target.name + ".error.json").exists():
            stem, dot, suffix = name.partition(".")
            target = folder / f"{stem}.{when:%H%M%S%f}{dot}{suffix}"
        return target

    def note_error(self, target: Path, table: str, reason: str, details: dict | None = None) -> None:
        record = {
            "file": target.name,
            "table": table,
            "reason": reason,
            "rejected_at": datetime.now(UTC).isoformat(),
        }
        note = target.with_name(target.name + ".error.json")
        note.write_text(json.dumps({**record, **(details or {})}, indent=2, default=str))

    def move(self, path: Path, target: Path) -> Path:
        """Move `path` and its sidecar to `target` (inside the drop folder); files are never deleted."""
        source = path.resolve()
        if not source.is_relative_to(self.incoming):
            raise ValueError(f"{path} is not in the incoming folder")
        target = self._inside(target.parent) / target.name
        source.replace(target)
        sidecar = source.with_name(source.name + ".yaml")
        if sidecar.is_file():
            sidecar.replace(target.with_name(target.name + ".yaml"))
        return target

    def _inside(self, folder: Path) -> Path:
        resolved = folder.resolve()
        if not resolved.is_relative_to(self.root):
            raise ValueError(f"{folder} is outside the drop folder")
        resolved.mkdir(parents=True, exist_ok=True)
        return resolved


def content_hash(path: Path) -> str:
    """sha256 of the bytes, streamed: a 1 GB file costs time, not memory."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == TABLE_CONFIG or name.endswith(IGNORED_SUFFIXES)
