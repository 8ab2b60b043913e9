"""Where the lake is: a local folder or a prefix in S3-compatible object storage.

A lake root is a string: a local path, or `s3://bucket/prefix`. Credentials never travel with
it: every library that reaches S3 takes them from the usual AWS_* variables of the process
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`, `AWS_REGION`,
`AWS_ENDPOINT_URL` for a server other than AWS, `AWS_ALLOW_HTTP` for a plain-HTTP one), so a
URI can be logged and shown as a table's location, and a secret cannot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dataplatform.engine.s3 import plain_http, region, required_variable

if TYPE_CHECKING:
    import pyarrow.fs as pafs

S3 = "s3://"


def is_remote(root: str | Path) -> bool:
    """Whether `root` is in object storage rather than on a local file system."""
    return str(root).startswith(S3)


def join(root: str, *parts: str) -> str:
    """`root` and `parts` as one location: an s3:// URI or a local path."""
    if is_remote(root):
        return "/".join([root.rstrip("/"), *parts])
    return str(Path(root, *parts))


def delta_options(root: str) -> dict[str, str] | None:
    """delta-rs's `storage_options` for tables under `root` (None on a local disk).

    No locking provider is needed: delta-rs 1.x commits a version with a conditional PUT
    (`If-None-Match: *`), so of two writers racing for one version the store lets one win and
    the other retries on top of it. S3 and SeaweedFS honour it; a server that ignores it would
    let one commit overwrite the other.
    """
    if not is_remote(root):
        return None
    options = {
        "AWS_ACCESS_KEY_ID": required_variable("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": required_variable("AWS_SECRET_ACCESS_KEY"),
        "AWS_REGION": region(),
    }
    if os.environ.get("AWS_SESSION_TOKEN"):
        options["AWS_SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
    if (endpoint and plain_http(endpoint)) or os.environ.get("AWS_ALLOW_HTTP", "").lower() == "true":
        options["AWS_ALLOW_HTTP"] = "true"
    return options


def filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    """Arrow's file system for `root` and `root` as that file system's path (`bucket/prefix`
    on S3): listing, reading and deleting files the same way on both."""
    import pyarrow.fs as pafs

    if not is_remote(root):
        return pafs.LocalFileSystem(), str(Path(root).resolve())
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, str | None] = {
        "access_key": required_variable("AWS_ACCESS_KEY_ID"),
        "secret_key": required_variable("AWS_SECRET_ACCESS_KEY"),
        "session_token": os.environ.get("AWS_SESSION_TOKEN") or None,
        "region": region(),
    }
    if endpoint:
        url = urlsplit(endpoint)
        options |= {"endpoint_override": url.netloc, "scheme": url.scheme}
    return pafs.S3FileSystem(**options), root.removeprefix(S3).rstrip("/")


def holds_files(location: str) -> bool:
    """Whether anything is under `location` (a folder, or a prefix in object storage, which
    exists only while files are in it)."""
    import pyarrow.fs as pafs

    fs, path = filesystem(location)
    return bool(fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)))


def delete_folder(fs: pafs.FileSystem, path: str) -> None:
    """Delete a folder (a prefix, in object storage) and all in it; a missing one is fine."""
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        return
