"""The drop folder: which delivered files are ready, and where each one ends up.

    <root>/incoming/<table>/<file>        delivered (a table is a folder with _table.yaml)
    <root>/archive/<table>/YYYY/MM/DD/     loaded, or a duplicate of a loaded file
    <root>/error/<table>/                  rejected, with <file>.error.json saying why

The root is a local folder (default `<data>/dropzone`) or a prefix in a bucket
(`s3://bucket/prefix`): `DropZone` holds the rules and reaches bytes only through a `Files`
seam, `LocalFiles` here and `BucketFiles` in `s3_dropzone.py`, so both behave the same way.

A file is ready once its size and modification time (and on S3 its ETag) stayed the same for
`ticks` scans in a row (a partner may still be copying it); the scan state is plain data for a
sensor cursor. Files are moved, never deleted, and never leave the drop folder: every path is
checked to stay under it, and names are data, never SQL or shell.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, BinaryIO, Protocol

from dataplatform import filelock

if TYPE_CHECKING:
    from dataplatform.ingest.tables import TableConfig

TABLE_CONFIG = "_table.yaml"
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
IGNORED_SUFFIXES = (".yaml", ".yml", ".tmp", ".part", ".crdownload", ".error.json")
HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class FileInfo:
    """What a listing says of one file: enough to tell whether it is still being written."""

    path: PurePath
    size: int
    mtime_ns: int
    etag: str = ""  # object stores only: changes with the content even within one second

    @property
    def signature(self) -> list[int | str]:
        """What must stay the same scan after scan: a local cursor keeps its old shape."""
        return [self.size, self.mtime_ns, *([self.etag] if self.etag else [])]


class Files(Protocol):
    """The file operations the drop folder needs, on a local disk or in a bucket. Paths are
    `PurePath`s: a local `Path`, or `bucket/key` as a `PurePosixPath` on S3."""

    def folders(self, folder: PurePath) -> list[PurePath]: ...

    def files(self, folder: PurePath) -> list[FileInfo]: ...

    def info(self, path: PurePath) -> FileInfo | None: ...

    def changed_at(self, path: PurePath) -> datetime: ...

    def read_bytes(self, path: PurePath) -> bytes: ...

    def write_bytes(self, path: PurePath, data: bytes) -> None: ...

    def open(self, path: PurePath) -> AbstractContextManager[BinaryIO]: ...

    def local(self, path: PurePath) -> AbstractContextManager[Path]: ...

    def upload(self, source: Path, target: PurePath, keep_times: bool = False) -> None: ...

    def move(self, source: PurePath, target: PurePath) -> None: ...

    def lock(self, folder: PurePath) -> AbstractContextManager[None]: ...

    def resolve(self, path: PurePath) -> PurePath: ...

    def inside(self, path: PurePath, root: PurePath) -> PurePath: ...

    def location(self, path: PurePath) -> str: ...


class LocalFiles:
    """The drop folder on a local (or mounted) file system."""

    def folders(self, folder: PurePath) -> list[PurePath]:
        folder = Path(folder)
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def files(self, folder: PurePath) -> list[FileInfo]:
        folder = Path(folder)
        paths = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        return [info for info in map(self.info, paths) if info is not None]

    def info(self, path: PurePath) -> FileInfo | None:
        path = Path(path)
        if not path.is_file():
            return None
        stat = path.stat()
        return FileInfo(path, stat.st_size, stat.st_mtime_ns)

    def changed_at(self, path: PurePath) -> datetime:
        """The inode's change time: a file moved back into incoming/ has a new one."""
        return datetime.fromtimestamp(Path(path).stat().st_ctime, UTC)

    def read_bytes(self, path: PurePath) -> bytes:
        return Path(path).read_bytes()

    def write_bytes(self, path: PurePath, data: bytes) -> None:
        Path(path).write_bytes(data)

    def open(self, path: PurePath) -> AbstractContextManager[BinaryIO]:
        return Path(path).open("rb")

    @contextmanager
    def local(self, path: PurePath) -> Iterator[Path]:
        yield Path(path)

    def upload(self, source: Path, target: PurePath, keep_times: bool = False) -> None:
        import shutil

        (shutil.copy2 if keep_times else shutil.copyfile)(source, target)

    def move(self, source: PurePath, target: PurePath) -> None:
        Path(source).replace(target)

    def lock(self, folder: PurePath) -> AbstractContextManager[None]:
        """An OS lock on `<folder>/.lock`, released if the holder dies."""
        return filelock.held(Path(folder) / ".lock")

    def resolve(self, path: PurePath) -> Path:
        """`path` as the zone compares paths: absolute, symlinks followed."""
        return Path(path).resolve()

    def inside(self, path: PurePath, root: PurePath) -> Path:
        """`path` resolved (symlinks followed), refused outside `root`, created as a folder."""
        resolved = self.resolve(path)
        if not resolved.is_relative_to(root):
            raise ValueError(f"{path} is outside the drop folder")
        resolved.mkdir(parents=True, exist_ok=True)
        return resolved

    def location(self, path: PurePath) -> str:
        return str(path)


LOCAL_FILES = LocalFiles()


def open_dropzone(root: str | Path) -> DropZone:
    """The drop folder at `root`: a local folder, or `s3://bucket/prefix`."""
    from dataplatform.storage.lake import is_remote

    if is_remote(root):
        from dataplatform.ingest.s3_dropzone import bucket_zone

        return bucket_zone(str(root))
    return DropZone(Path(root))


@dataclass(frozen=True)
class DropFile:
    table: str
    path: PurePath
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return f"{self.table}/{self.path.name}"


@dataclass(frozen=True)
class Scan:
    ready: list[DropFile]
    rejected: list[tuple[PurePath, str, str]]  # path, table folder, reason
    state: dict[str, list[int | str]]  # file key -> [*signature, unchanged scans]: the next cursor
    # folders whose name cannot be a key part under the drop folder (`..` in a bucket): their
    # files are never read, moved or loaded, only reported
    refused: list[tuple[PurePath, str]] = field(default_factory=list)


class DropZone:
    def __init__(self, root: PurePath, files: Files = LOCAL_FILES) -> None:
        self.files = files
        self.root = files.resolve(root)
        self.incoming = self.root / "incoming"
        self.archive = self.root / "archive"
        self.error = self.root / "error"

    def scan(self, state: dict[str, list], ticks: int = 2) -> Scan:
        """Files ready to load, files to reject at once, and the state for the next scan."""
        ready, rejected, refused, seen = [], [], [], {}
        for folder in self.files.folders(self.incoming):
            if not safe_part(folder.name):
                refused.append((folder, f"the folder name {folder.name!r} would leave the drop folder"))
                continue
            files = [f for f in self.files.files(folder) if not _ignored(f.path.name)]
            problem = self._table_problem(folder) if files else None
            for info in files:
                if problem:
                    rejected.append((info.path, folder.name, problem))
                    continue
                drop = DropFile(folder.name, info.path, info.size, info.mtime_ns)
                *before, unchanged = state.get(drop.key, [-1])
                unchanged = unchanged + 1 if before == info.signature else 0
                seen[drop.key] = [*info.signature, unchanged]
                if unchanged >= ticks:
                    ready.append(drop)
        return Scan(ready, rejected, seen, refused)

    def _table_problem(self, folder: PurePath) -> str | None:
        if not TABLE_NAME.fullmatch(folder.name):
            return (
                f"the folder name {folder.name!r} is not a table name: use lower-case letters, digits "
                "and underscores, starting with a letter"
            )
        if self.files.info(folder / TABLE_CONFIG) is None:
            return f"unknown table {folder.name!r}: declare it with incoming/{folder.name}/{TABLE_CONFIG}"
        from dataplatform.ingest.tables import ConfigError, TableConfig

        try:
            TableConfig.of_folder(folder, self.files)
        except ConfigError as error:
            return str(error)
        return None

    @contextmanager
    def lock(self, table: str) -> Iterator[None]:
        """Hold the table's folder for one taker at a time: two runs (or a run and the CLI)
        never load, move or seed the same files at once."""
        with self.files.lock(self.table_folder(table)):
            yield

    def table_folder(self, table: str) -> PurePath:
        """`incoming/<table>/`, checked to stay inside (and created, on a disk)."""
        return self._inside(self.incoming / table)

    def delivered(self, table: str, name: str) -> PurePath:
        """`incoming/<table>/<name>`, refused when either is not one plain name (a run's config
        is typed by people: `../x` must not reach a key or a path outside the folder)."""
        if not safe_part(table) or not safe_part(name):
            raise ValueError(f"{table}/{name} is not a file of the drop folder")
        return self.incoming / table / name

    def config(self, path: PurePath) -> TableConfig:
        """The config a delivered file is read with: its table's `_table.yaml`, its sidecar on top."""
        from dataplatform.ingest.tables import TableConfig

        return TableConfig.of_folder(path.parent, self.files).for_file(path, self.files)

    def pending(self, table: str) -> list[PurePath]:
        """The files waiting in `incoming/<table>/`, oldest first."""
        files = [f for f in self.files.files(self.incoming / table) if not _ignored(f.path.name)]
        return [f.path for f in sorted(files, key=lambda f: (f.mtime_ns, f.path.name))]

    def deliver_examples(self, table: str, examples: Path) -> list[PurePath]:
        """Copy a shipped example table (its `_table.yaml` and files) into `incoming/<table>/`,
        keeping modification times where the store lets us: how a fresh platform gets reference
        data before any partner delivers. Nothing is copied over an existing file."""
        source = examples / table
        target = self.table_folder(table)
        copied = []
        for path in sorted(source.iterdir()) if source.is_dir() else []:
            if path.is_file() and self.files.info(target / path.name) is None:
                self.files.upload(path, target / path.name, keep_times=True)
                copied.append(target / path.name)
        return copied

    def archive_file(self, path: PurePath, table: str, when: datetime | None = None) -> PurePath:
        """Move a loaded (or duplicate) file, and its sidecar, to the day's archive folder."""
        return self.move(path, self.destination(path, table, "archive", when))

    def reject(self, path: PurePath, table: str, reason: str, details: dict | None = None) -> PurePath:
        """Move a file to the error folder with `<file>.error.json` beside it saying why."""
        target = self.destination(path, table, "error")
        self.note_error(target, table, reason, details)
        return self.move(path, target)

    def destination(self, path: PurePath, table: str, outcome: str, when: datetime | None = None) -> PurePath:
        """Where `path` goes: `archive/<table>/YYYY/MM/DD/` or `error/<table>/`, under a name not
        taken yet (the same name delivered again keeps both, told apart by time). Deciding it
        before moving lets the ledger record it first, so a crash in between is resumable."""
        when = when or datetime.now(UTC)
        folder = self.archive / table / f"{when:%Y/%m/%d}" if outcome == "archive" else self.error / table
        return self.destination_in(folder, path.name, when)

    def destination_in(self, folder: PurePath, name: str, when: datetime | None = None) -> PurePath:
        """`folder/name`, or a name told apart by time when that one is taken."""
        when = when or datetime.now(UTC)
        folder = self._inside(folder)
        target = folder / name
        if self.files.info(target) or self.files.info(target.with_name(target.name + ".error.json")):
            stem, dot, suffix = name.partition(".")
            target = folder / f"{stem}.{when:%H%M%S%f}{dot}{suffix}"
        return target

    def note_error(self, target: PurePath, table: str, reason: str, details: dict | None = None) -> None:
        record = {
            "file": target.name,
            "table": table,
            "reason": reason,
            "rejected_at": datetime.now(UTC).isoformat(),
        }
        note = target.with_name(target.name + ".error.json")
        self.files.write_bytes(
            note, json.dumps({**record, **(details or {})}, indent=2, default=str).encode()
        )

    def move(self, path: PurePath, target: PurePath) -> PurePath:
        """Move `path` and its sidecar to `target` (inside the drop folder); files are never deleted."""
        source = self.files.resolve(path)
        if not source.is_relative_to(self.incoming):
            raise ValueError(f"{path} is not in the incoming folder")
        target = self._inside(target.parent) / target.name
        self.files.move(source, target)
        sidecar = source.with_name(source.name + ".yaml")
        if self.files.info(sidecar) is not None:
            self.files.move(sidecar, target.with_name(target.name + ".yaml"))
        return target

    def relative(self, path: PurePath) -> str:
        """Where `path` lies, relative to the root: what the ledger records."""
        return str(self.files.resolve(path).relative_to(self.root))

    def content_hash(self, path: PurePath) -> str:
        """sha256 of the bytes, streamed: a 1 GB file costs time, not memory."""
        with self.files.open(path) as file:
            return _sha256(file)

    def _inside(self, folder: PurePath) -> PurePath:
        return self.files.inside(folder, self.root)


def content_hash(path: Path) -> str:
    """sha256 of a local file's bytes, streamed."""
    with path.open("rb") as file:
        return _sha256(file)


def _sha256(file: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := file.read(HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def safe_part(name: str) -> bool:
    """One plain name: no separator, and not a step to the same or the parent folder."""
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == TABLE_CONFIG or name.endswith(IGNORED_SUFFIXES)
