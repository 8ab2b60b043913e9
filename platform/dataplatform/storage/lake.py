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

from dataplatform.storage.contract import StorageError

if TYPE_CHECKING:
    import duckdb
    import pyarrow.fs as pafs

S3 = "s3://"
DEFAULT_REGION = "us-east-1"


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
        "AWS_ACCESS_KEY_ID": _required("AWS_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": _required("AWS_SECRET_ACCESS_KEY"),
        "AWS_REGION": _region(),
    }
    if os.environ.get("AWS_SESSION_TOKEN"):
        options["AWS_SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
    if (endpoint and _plain_http(endpoint)) or os.environ.get("AWS_ALLOW_HTTP", "").lower() == "true":
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
        "access_key": _required("AWS_ACCESS_KEY_ID"),
        "secret_key": _required("AWS_SECRET_ACCESS_KEY"),
        "session_token": os.environ.get("AWS_SESSION_TOKEN") or None,
        "region": _region(),
    }
    if endpoint:
        url = urlsplit(endpoint)
        options |= {"endpoint_override": url.netloc, "scheme": url.scheme}
    return pafs.S3FileSystem(**options), root.removeprefix(S3).rstrip("/")


def delete_folder(fs: pafs.FileSystem, path: str) -> None:
    """Delete a folder (a prefix, in object storage) and all in it; a missing one is fine."""
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        return


def duckdb_secret(connection: duckdb.DuckDBPyConnection) -> None:
    """Let a DuckDB database read and write s3:// paths: load httpfs and create one S3 secret
    from the AWS_* variables. The values reach DuckDB as bound parameters (through variables,
    reset at once), never inside SQL text that DuckDB could log or show in an error."""
    from dataplatform.storage.duckdb_extensions import load_extension

    load_extension(connection, "httpfs")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    values = {
        "lake_key_id": _required("AWS_ACCESS_KEY_ID"),
        "lake_secret": _required("AWS_SECRET_ACCESS_KEY"),
        "lake_session_token": os.environ.get("AWS_SESSION_TOKEN", ""),
        "lake_region": _region(),
        "lake_endpoint": urlsplit(endpoint).netloc if endpoint else "s3.amazonaws.com",
    }
    use_ssl = "false" if endpoint and _plain_http(endpoint) else "true"
    try:
        for name, value in values.items():
            connection.execute(f"SET VARIABLE {name} = ?", [value])
        connection.execute(
            "CREATE OR REPLACE SECRET dataplatform_lake (TYPE s3, KEY_ID getvariable('lake_key_id'), "
            "SECRET getvariable('lake_secret'), SESSION_TOKEN getvariable('lake_session_token'), "
            "REGION getvariable('lake_region'), ENDPOINT getvariable('lake_endpoint'), "
            f"URL_STYLE 'path', USE_SSL {use_ssl})"
        )
    finally:
        for name in values:
            connection.execute(f"RESET VARIABLE {name}")


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise StorageError(f"the lake is on S3 but {name} is not set: set the AWS_* variables")
    return value


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _plain_http(endpoint: str) -> bool:
    return endpoint.startswith("http://")
