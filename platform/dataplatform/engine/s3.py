"""The lake's S3 credentials, as every library that reaches S3 takes them: from the process's
AWS_* variables (see `storage/lake.py`), and for DuckDB as one secret of its database."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dataplatform.engine.errors import EngineError
from dataplatform.engine.extensions import load_extension

if TYPE_CHECKING:
    import duckdb

DEFAULT_REGION = "us-east-1"


def duckdb_secret(connection: duckdb.DuckDBPyConnection) -> None:
    """Let a DuckDB database read and write s3:// paths: load httpfs and create one S3 secret
    from the AWS_* variables. The values reach DuckDB as bound parameters (through variables,
    reset at once), never inside SQL text that DuckDB could log or show in an error."""
    load_extension(connection, "httpfs")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    values = {
        "lake_key_id": required_variable("AWS_ACCESS_KEY_ID"),
        "lake_secret": required_variable("AWS_SECRET_ACCESS_KEY"),
        "lake_session_token": os.environ.get("AWS_SESSION_TOKEN", ""),
        "lake_region": region(),
        "lake_endpoint": urlsplit(endpoint).netloc if endpoint else "s3.amazonaws.com",
    }
    use_ssl = "false" if endpoint and plain_http(endpoint) else "true"
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


def required_variable(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise EngineError(f"the lake is on S3 but {name} is not set: set the AWS_* variables")
    return value


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def plain_http(endpoint: str) -> bool:
    return endpoint.startswith("http://")
