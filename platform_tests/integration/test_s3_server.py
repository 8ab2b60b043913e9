"""The S3 test server itself: it answers with the test credentials and refuses an overwrite
under `If-None-Match: *`, the conditional put delta-rs's concurrent commits rely on."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import ClientError

from platform_tests.s3 import S3Server


def test_a_conditional_put_never_overwrites(s3_server: S3Server) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
        region_name=s3_server.region,
    )
    bucket = s3_server.create_bucket()
    client.put_object(Bucket=bucket, Key="commit/00001.json", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="commit/00001.json", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=bucket, Key="commit/00001.json")["Body"].read() == b"first"


def test_a_lake_is_a_fresh_bucket_with_the_environment_set(s3_lake: str, s3_server: S3Server) -> None:
    assert s3_lake.startswith("s3://test-") and s3_lake.endswith("/lake")
    assert os.environ["AWS_ENDPOINT_URL"] == s3_server.endpoint_url
