"""`dataplatform generate --writer iceberg|ducklake` to s3://, run as a user runs it, against a
real S3 server (SeaweedFS, platform_tests/s3.py).

Each table is read back by a reader that is not the platform's (pyiceberg's catalog, DuckDB's
DuckLake) and must equal the Parquet writer's local output for the same request. The catalog
stays on this machine (<DATAPLATFORM_DATA_DIR>/catalogs/<bucket>/<prefix>), the data in the bucket;
table files a catalog does not know (another machine's, or a lost catalog's) are refused, in the
bucket and in a local folder alike.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from platform_tests.e2e.conftest import BIN, run
from platform_tests.integration.test_generate_writers import SMALL, assert_same, read_back
from platform_tests.s3 import S3Server, s3_env

GENERATE = [str(BIN / "dataplatform"), "generate", "ecommerce"]
KNOBS = [arg for name, value in SMALL["ecommerce"].items() for arg in ("--knob", f"{name}={value}")]
TABLES = ("customers", "products", "master_defects", "orders", "order_items", "defects")
CATALOG_FILES = {"iceberg": "catalog.db", "ducklake": "metadata.ducklake"}
PREFIX = "generated"


@pytest.fixture
def env(user_env: dict[str, str], s3_server: S3Server) -> dict[str, str]:
    return user_env | s3_env(s3_server)


def generate(
    env: dict[str, str], writer: str, output: str, start: str, end: str
) -> subprocess.CompletedProcess:
    command = [*GENERATE, output, "--writer", writer, "--start", start, "--end", end, "--seed", "7", *KNOBS]
    return run([*command, "--format", "json"], env)


def read_s3(writer: str, server: S3Server, catalog: Path, output: str, table: str) -> pa.Table:
    if writer == "iceberg":
        from pyiceberg.catalog.sql import SqlCatalog

        properties = {
            "s3.endpoint": server.endpoint_url,
            "s3.access-key-id": server.access_key_id,
            "s3.secret-access-key": server.secret_access_key,
            "s3.region": server.region,
        }
        stored = SqlCatalog("dataplatform", uri=f"sqlite:///{catalog}", warehouse=output, **properties)
        return stored.load_table(("ecommerce", table)).scan().to_arrow()
    from dataplatform.engine.extensions import extension_path
    from dataplatform.engine.identifiers import string_literal

    with duckdb.connect() as con:
        for extension in ("ducklake", "httpfs"):
            con.execute(f"LOAD {string_literal(str(extension_path(extension)))}")
        con.execute("SET TimeZone = 'UTC'")
        key, secret, region, endpoint = (
            string_literal(value)
            for value in (
                server.access_key_id,
                server.secret_access_key,
                server.region,
                server.endpoint_url.removeprefix("http://"),
            )
        )
        con.execute(
            f"CREATE SECRET (TYPE s3, KEY_ID {key}, SECRET {secret}, REGION {region}, "
            f"ENDPOINT {endpoint}, URL_STYLE 'path', USE_SSL false)"
        )
        con.execute(f"ATTACH {string_literal(f'ducklake:{catalog}')} AS lake (READ_ONLY)")
        return con.execute(f'SELECT * FROM lake.ecommerce."{table}"').to_arrow_table()


def client(server: S3Server):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
    )


def bucket_keys(server: S3Server, bucket: str) -> list[str]:
    pages = client(server).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def local_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
def test_two_days_on_s3_equal_the_parquet_writers_local_output_and_a_rerun_replaces_its_day(
    env, s3_server, tmp_path, writer
):
    bucket = s3_server.create_bucket()
    output = f"s3://{bucket}/{PREFIX}"
    catalog = tmp_path / "data" / "catalogs" / bucket / PREFIX / CATALOG_FILES[writer]
    local = tmp_path / "local"
    runs = [generate(env, "parquet", str(local), "2025-01-01", "2025-01-02")]
    runs.append(generate(env, writer, output, "2025-01-01", "2025-01-02"))
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    want = {table: read_back("parquet", local, "ecommerce", table) for table in TABLES}

    for table in TABLES:
        assert_same(read_s3(writer, s3_server, catalog, output, table), want[table], f"{writer} {table}")
    runs.append(generate(env, writer, output, "2025-01-02", "2025-01-02"))
    assert runs[-1].returncode == 0, runs[-1].stderr
    for table in TABLES:  # the day replaced, not added: every table still equals parquet's
        assert_same(read_s3(writer, s3_server, catalog, output, table), want[table], f"rerun {table}")

    keys = bucket_keys(s3_server, bucket)
    for table in ("customers", "products", "orders", "order_items"):
        assert any(f"/ecommerce/{table}/" in key and key.endswith(".parquet") for key in keys), (table, keys)
    assert all(key.startswith(f"{PREFIX}/") for key in keys)
    assert local_files(tmp_path / "data") == [str(catalog.relative_to(tmp_path / "data"))]
    shown = "".join(r.stdout + r.stderr for r in runs)
    stored = [catalog.read_bytes()] + [
        client(s3_server).get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys
    ]
    for secret in (s3_server.secret_access_key, s3_server.access_key_id):
        assert secret not in shown
        assert not any(secret.encode() in content for content in stored)


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("s3:///generated", "bad S3 output: the bucket must be 3-63 lower-case letters"),
        (
            "s3://{missing}/generated",
            "bucket '{missing}' does not exist (or these credentials cannot see it)",
        ),
        ("s3://{bucket}/a//b", "a prefix with an empty, '.' or '..' part names no folder"),
    ],
)
def test_a_bad_s3_output_is_one_line_with_nothing_written(env, s3_server, tmp_path, writer, output, message):
    bucket, missing = s3_server.create_bucket(), f"missing-{uuid.uuid4().hex[:12]}"
    output, message = (text.format(bucket=bucket, missing=missing) for text in (output, message))
    result = generate(env, writer, output, "2025-01-01", "2025-01-01")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr  # one line
    assert message in result.stderr and "Traceback" not in result.stderr
    assert s3_server.secret_access_key not in result.stderr + result.stdout
    assert local_files(tmp_path / "data") == [] and bucket_keys(s3_server, bucket) == []


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
def test_wrong_credentials_are_refused_without_being_shown(env, s3_server, tmp_path, writer):
    bucket = s3_server.create_bucket()
    env["AWS_SECRET_ACCESS_KEY"] = wrong = f"wrong-{uuid.uuid4().hex}"
    result = generate(env, writer, f"s3://{bucket}/{PREFIX}", "2025-01-01", "2025-01-01")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert "Traceback" not in result.stderr and wrong not in result.stderr + result.stdout
    assert local_files(tmp_path / "data") == [] and bucket_keys(s3_server, bucket) == []


def test_list_shows_every_writer_takes_object_storage(user_env):
    import json

    result = run([str(BIN / "dataplatform"), "generate", "--list", "--format", "json"], user_env)
    assert result.returncode == 0, result.stderr
    shown = {w["writer"]: w["object_storage"] for w in json.loads(result.stdout)["writers"]}
    assert shown == {"parquet": True, "delta": True, "iceberg": True, "ducklake": True}


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
def test_tables_in_the_bucket_that_this_machines_catalog_does_not_know_are_refused(
    env, s3_server, tmp_path, writer
):
    """Another machine (or a lost catalog) wrote them: writing anew would orphan or mix them."""
    bucket = s3_server.create_bucket()
    output = f"s3://{bucket}/{PREFIX}"
    assert generate(env, writer, output, "2025-01-01", "2025-01-01").returncode == 0
    before = bucket_keys(s3_server, bucket)
    env["DATAPLATFORM_DATA_DIR"] = str(tmp_path / "elsewhere")

    result = generate(env, writer, output, "2025-01-02", "2025-01-02")

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{output}/" in result.stderr and "holds files that" in result.stderr
    assert "does not know: write to another output or remove them" in result.stderr
    assert bucket_keys(s3_server, bucket) == before and local_files(tmp_path / "elsewhere") == []


@pytest.mark.parametrize("writer", ["iceberg", "ducklake"])
def test_a_local_output_whose_catalog_was_lost_is_refused_too(user_env, tmp_path, writer):
    out = tmp_path / "out"
    assert generate(user_env, writer, str(out), "2025-01-01", "2025-01-01").returncode == 0
    (out / CATALOG_FILES[writer]).unlink()
    before = local_files(out)

    result = generate(user_env, writer, str(out), "2025-01-01", "2025-01-01")

    assert result.returncode == 1 and "holds files that" in result.stderr, result.stderr
    assert local_files(out) == before
