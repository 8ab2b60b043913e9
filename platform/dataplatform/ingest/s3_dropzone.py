"""The drop folder on a bucket prefix (`DATAPLATFORM_DROPZONE_DIR=s3://bucket/prefix`).

`BucketFiles` gives `DropZone` the file operations it needs in S3-compatible object storage,
so the sensor, the service and the ledger treat a bucket's files exactly as a folder's. What an
object store changes, and how it is kept as safe as a disk:

* there is no rename: a move is a copy, verified (same size, and the same ETag where both are
  plain MD5s), then the delete of the source, and only if the source still has the ETag that
  was copied; a failed or short copy leaves the source where it was, so no file is ever lost;
* a file is still being written while its size, last-modified time or ETag change: the scan
  compares all three;
* detection and strict reading need a seekable file: a delivered file is streamed to a
  temporary local copy for the load, and deleted with it;
* a key is never normalised, so a key part `..` or `.` is refused rather than followed;
* there is no OS lock: a table is held by a lock object created with a conditional write
  (`If-None-Match: *`), which only one taker can win; a lock left by a dead holder for longer
  than `LOCK_LEASE` is taken over.

Credentials come from boto3's usual chain (the AWS_* variables, a profile, an instance role),
`AWS_ENDPOINT_URL` names a server other than AWS; nothing here ever logs or shows them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from dataplatform.ingest.dropzone import DropZone, FileInfo, safe_part
from dataplatform.storage.contract import StorageError

if TYPE_CHECKING:
    from botocore.client import BaseClient

LOCK_LEASE = timedelta(hours=1)  # longer than any load: a lock this old has no living holder
LOCK_POLL_SECONDS = 0.5
TAKEN = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def bucket_zone(uri: str) -> DropZone:
    """The drop folder at `s3://bucket/prefix`."""
    url = urlsplit(uri)
    prefix = [part for part in url.path.split("/") if part]
    return DropZone(PurePosixPath(url.netloc, *prefix), BucketFiles())


class BucketFiles:
    """A bucket's objects as the drop folder's files; a path is `bucket/key` (a PurePosixPath)."""

    def __init__(self) -> None:
        self.client = _client()

    def folders(self, folder: PurePath) -> list[PurePath]:
        bucket, prefix = _split(folder)
        found = []
        for page in self._pages(bucket, prefix + "/"):
            found += [PurePosixPath(bucket, p["Prefix"].rstrip("/")) for p in page.get("CommonPrefixes", [])]
        return sorted(found)

    def files(self, folder: PurePath) -> list[FileInfo]:
        bucket, prefix = _split(folder)
        found = []
        for page in self._pages(bucket, prefix + "/"):
            found += [
                FileInfo(
                    PurePosixPath(bucket, o["Key"]), o["Size"], _ns(o["LastModified"]), o["ETag"].strip('"')
                )
                for o in page.get("Contents", [])
                if not o["Key"].endswith("/")  # a folder marker some tools create
            ]
        return sorted(found, key=lambda f: f.path)

    def info(self, path: PurePath) -> FileInfo | None:
        bucket, key = _split(path)
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as error:
            if _code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return FileInfo(path, head["ContentLength"], _ns(head["LastModified"]), head["ETag"].strip('"'))

    def changed_at(self, path: PurePath) -> datetime:
        """Its last-modified time: a file moved back into incoming/ is a new object, with a new one."""
        info = self._existing(path)
        return datetime.fromtimestamp(info.mtime_ns / 1e9, UTC)

    def read_bytes(self, path: PurePath) -> bytes:
        with self.open(path) as body:
            return body.read()

    def write_bytes(self, path: PurePath, data: bytes) -> None:
        bucket, key = _split(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    @contextmanager
    def open(self, path: PurePath) -> Iterator[BinaryIO]:
        bucket, key = _split(path)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"s3://{path}: no such object") from None
        try:
            yield body
        finally:
            body.close()

    @contextmanager
    def local(self, path: PurePath) -> Iterator[Path]:
        """The object streamed to a temporary file of the same name, removed afterwards."""
        import tempfile

        bucket, key = _split(path)
        with tempfile.TemporaryDirectory(prefix="dropzone-") as folder:
            copy = Path(folder) / path.name
            self.client.download_file(bucket, key, str(copy))
            yield copy

    def upload(self, source: Path, target: PurePath, keep_times: bool = False) -> None:
        """Upload a local file (the store sets its time: `keep_times` cannot be honoured)."""
        bucket, key = _split(target)
        self.client.upload_file(str(source), bucket, key)

    def move(self, source: PurePath, target: PurePath) -> None:
        """Copy, verify, then delete the source: object stores have no rename. The source is
        deleted only once the copy has its size (and ETag), and only if the source still has the
        ETag that was copied: bytes written over it meanwhile stay, a new delivery."""
        before = self._existing(source)
        source_bucket, source_key = _split(source)
        bucket, key = _split(target)
        self.client.copy(
            {"Bucket": source_bucket, "Key": source_key},
            bucket,
            key,
            ExtraArgs={"CopySourceIfMatch": f'"{before.etag}"'},
        )
        after = self.info(target)
        if after is None or after.size != before.size or not _same_etag(before.etag, after.etag):
            raise OSError(
                f"copying s3://{source} to s3://{target} did not give the same object; the source is kept"
            )
        now = self.info(source)
        if now is not None and now.etag == before.etag:
            self.client.delete_object(Bucket=source_bucket, Key=source_key)

    @contextmanager
    def lock(self, folder: PurePath) -> Iterator[None]:
        """`<folder>/.lock`, created only if absent (a conditional write) and deleted at the end
        if it is still ours. Waits while another taker holds it; takes over one older than
        `LOCK_LEASE`, whose holder is gone."""
        bucket, key = _split(folder / ".lock")
        token = uuid.uuid4().hex.encode()
        while not self._create(bucket, key, token):
            held = self.info(folder / ".lock")
            if (
                held is not None
                and datetime.now(UTC).timestamp() - held.mtime_ns / 1e9 > LOCK_LEASE.total_seconds()
            ):
                self.client.delete_object(Bucket=bucket, Key=key)
                continue
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            try:
                mine = self.read_bytes(folder / ".lock") == token
            except FileNotFoundError:
                mine = False
            if mine:
                self.client.delete_object(Bucket=bucket, Key=key)

    def resolve(self, path: PurePath) -> PurePath:
        """`path` itself: a key is never normalised, so a part `..` or `.` is refused."""
        if not all(safe_part(part) for part in path.parts):
            raise ValueError(f"s3://{path} is outside the drop folder")
        return path

    def inside(self, path: PurePath, root: PurePath) -> PurePath:
        """`path`, refused outside `root` (a prefix needs no creating)."""
        resolved = self.resolve(path)
        if not resolved.is_relative_to(root):
            raise ValueError(f"s3://{path} is outside the drop folder")
        return resolved

    def location(self, path: PurePath) -> str:
        return f"s3://{path}"

    def _create(self, bucket: str, key: str, body: bytes) -> bool:
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
        except self.client.exceptions.ClientError as error:
            if _code(error) in TAKEN:
                return False
            raise
        return True

    def _existing(self, path: PurePath) -> FileInfo:
        info = self.info(path)
        if info is None:
            raise FileNotFoundError(f"s3://{path}: no such object")
        return info

    def _pages(self, bucket: str, prefix: str) -> Iterator[dict]:
        pages = self.client.get_paginator("list_objects_v2")
        yield from pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")


def _client() -> BaseClient:
    """boto3's S3 client from the process's AWS settings; refused at once without credentials."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StorageError("the drop folder on S3 needs boto3: pip install 'dataplatform[s3]'") from None
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    if session.get_credentials() is None:
        raise StorageError(
            "the drop folder is on S3 but no credentials are set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    # a server other than AWS (SeaweedFS, MinIO) is addressed by path, not by a bucket host name
    config = Config(s3={"addressing_style": "path"}) if endpoint else None
    return session.client("s3", endpoint_url=endpoint, config=config)


def _split(path: PurePath) -> tuple[str, str]:
    bucket, *key = path.parts
    return bucket, "/".join(key)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _same_etag(source: str, copy: str) -> bool:
    """Equal ETags, where both can be compared: a multipart object's ETag (`<md5>-<parts>`) is
    not its content's MD5, and a copy may be made of different parts; the size decides then."""
    return source == copy or "-" in source or "-" in copy
