"""The drop folder on a bucket prefix (DATAPLATFORM_DROPZONE_DIR=s3://...), on a real S3 server
(SeaweedFS): the same sensor, runs and ledger as a local folder; files moved by verified copy
and delete, never lost; a file still being written not taken; no key outside the prefix."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import PurePosixPath

import dagster as dg
import pytest

from dataplatform.defs.resources import S3DropZone, build_resources
from dataplatform.ingest.service import Ingestor
from dataplatform.settings import EXAMPLES, SettingsError, load_settings
from dataplatform.storage import open_store
from platform_tests.conftest import small_settings
from platform_tests.integration.conftest import Platform

RATES = b"currency;usd_per_unit;valid_from\nUSD;1,0;01.11.2026\nEUR;1,10;01.11.2026\n"


@pytest.fixture
def bucket(s3_lake: str) -> str:
    """A fresh bucket on the test server, with AWS_* set for this process."""
    return s3_lake.removeprefix("s3://").split("/")[0]


@pytest.fixture
def s3(bucket: str, s3_server):
    """A plain client, as a partner's upload tool would be."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
        region_name=s3_server.region,
    )


@pytest.fixture
def platform(tmp_path, instance, bucket, s3) -> Platform:
    settings = small_settings(tmp_path, dropzone_dir=f"s3://{bucket}/dropzone")
    table_yaml = (EXAMPLES / "currency_rates" / "_table.yaml").read_bytes()
    s3.put_object(Bucket=bucket, Key="dropzone/incoming/currency_rates/_table.yaml", Body=table_yaml)
    return Platform(settings, instance)


def keys(s3, bucket: str, prefix: str = "dropzone/") -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"].removeprefix(prefix) for o in listed)


def tick(platform: Platform, cursor: str | None) -> dg.SensorResult:
    sensor = platform.defs.resolve_sensor_def("reference_dropzone")
    context = dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        resources={"dropzone": build_resources(platform.settings)["dropzone"]},
    )
    return sensor(context)


def ticks(platform: Platform, count: int, cursor: str | None = None) -> dg.SensorResult:
    for _ in range(count):
        result = tick(platform, cursor)
        cursor = result.cursor
    return result


def execute(platform: Platform, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    return platform.defs.resolve_job_def("reference").execute_in_process(
        instance=platform.instance,
        run_config=request.run_config,
        tags={**request.tags, "dagster/run_key": request.run_key},
        asset_selection=request.asset_selection,
        raise_on_error=False,
    )


def ledger(platform: Platform) -> list[tuple[str, str, str]]:
    rows = platform.read("reference/files/file_ledger").sort_by("processed_at").to_pylist()
    return [(r["file"], r["status"], r["moved_to"]) for r in rows]


def test_the_resource_is_the_bucket_zone_and_holds_no_credentials(platform, bucket):
    resource = build_resources(platform.settings)["dropzone"]
    assert resource == S3DropZone(uri=f"s3://{bucket}/dropzone")
    assert "dataplatform-test-secret" not in json.dumps(resource.model_dump())


def test_a_dropped_file_is_loaded_once_archived_by_day_and_gone_from_incoming(platform, bucket, s3):
    s3.put_object(Bucket=bucket, Key="dropzone/incoming/currency_rates/rates.csv", Body=RATES)
    assert tick(platform, None).run_requests == []  # seen once: maybe still being written
    result = ticks(platform, 2, tick(platform, None).cursor)
    [request] = result.run_requests
    assert execute(platform, request).success
    assert platform.read("reference/files/currency_rates").column("usd_per_unit").to_pylist() == [1.0, 1.1]

    day = f"{datetime.now(UTC):%Y/%m/%d}"
    assert keys(s3, bucket) == [
        f"archive/currency_rates/{day}/rates.csv",
        "incoming/currency_rates/_table.yaml",
    ]
    archived = s3.get_object(Bucket=bucket, Key=f"dropzone/archive/currency_rates/{day}/rates.csv")
    assert archived["Body"].read() == RATES  # the bytes as delivered
    assert ledger(platform) == [("rates.csv", "loaded", f"archive/currency_rates/{day}/rates.csv")]
    assert ticks(platform, 3, result.cursor).run_requests == []  # loaded exactly once

    s3.put_object(Bucket=bucket, Key="dropzone/incoming/currency_rates/rates_again.csv", Body=RATES)
    [again] = ticks(platform, 3).run_requests
    assert again.run_key.endswith(":1")  # the same ledger tells a new delivery of known bytes
    assert execute(platform, again).success
    assert [status for _, status, _ in ledger(platform)] == ["loaded", "duplicate"]


def test_a_bad_file_goes_to_error_with_its_reason_and_the_table_is_untouched(platform, bucket, s3):
    s3.put_object(
        Bucket=bucket, Key="dropzone/incoming/currency_rates/bad.csv", Body=b"currency;usd_per_unit\n;1,0\n"
    )
    [request] = ticks(platform, 3).run_requests
    assert not execute(platform, request).success  # the table has no data yet: the run says so
    assert keys(s3, bucket, "dropzone/error/") == [
        "currency_rates/bad.csv",
        "currency_rates/bad.csv.error.json",
    ]
    note = s3.get_object(Bucket=bucket, Key="dropzone/error/currency_rates/bad.csv.error.json")
    assert "required column 'currency' is empty" in json.loads(note["Body"].read())["reason"]
    assert ledger(platform) == [("bad.csv", "rejected", "error/currency_rates/bad.csv")]
    assert keys(s3, bucket, "dropzone/incoming/") == ["currency_rates/_table.yaml"]


def test_a_file_of_an_undeclared_table_is_rejected_by_the_tick(platform, bucket, s3):
    s3.put_object(Bucket=bucket, Key="dropzone/incoming/mystery/x.csv", Body=RATES)
    assert tick(platform, None).run_requests == []
    assert keys(s3, bucket, "dropzone/error/") == ["mystery/x.csv", "mystery/x.csv.error.json"]
    assert ledger(platform) == [("x.csv", "rejected", "error/mystery/x.csv")]


def test_a_file_still_being_written_is_not_taken(platform, bucket, s3):
    key = "dropzone/incoming/currency_rates/rates.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=RATES)
    cursor = tick(platform, None).cursor
    s3.put_object(Bucket=bucket, Key=key, Body=RATES + b"GBP;1,27;01.11.2026\n")  # the upload goes on
    cursor = tick(platform, cursor).cursor
    assert tick(platform, cursor).run_requests == []  # changed one scan ago
    [request] = ticks(platform, 2, cursor).run_requests
    assert execute(platform, request).success
    assert platform.read("reference/files/currency_rates").num_rows == 3


def test_a_same_size_rewrite_is_seen_by_its_etag(platform, bucket, s3):
    key = "dropzone/incoming/currency_rates/rates.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=RATES)
    cursor = ticks(platform, 2).cursor
    s3.put_object(Bucket=bucket, Key=key, Body=RATES.replace(b"1,10", b"1,20"))  # same size
    assert tick(platform, cursor).run_requests == []


def test_no_key_leaves_the_prefix(platform, bucket, s3):
    zone = build_resources(platform.settings)["dropzone"].zone()
    with pytest.raises(ValueError, match="not a file of the drop folder"):
        zone.delivered("currency_rates", "../../outside.csv")  # a run's config names the file
    with pytest.raises(ValueError, match="not a file of the drop folder"):
        zone.delivered("..", "x.csv")
    with pytest.raises(ValueError, match="outside the drop folder"):
        zone.destination(PurePosixPath(bucket, "dropzone", "incoming", "..", "x.csv"), "..", "error")
    with pytest.raises(ValueError, match="outside the drop folder"):
        zone.move(zone.incoming / "currency_rates" / "x.csv", zone.root / ".." / "x.csv")
    # a folder whose name is not a table name is refused into error/<its name>/, inside the prefix
    # (SeaweedFS itself refuses a key with a `..` part; AWS would store it, and the zone refuses it)
    s3.put_object(Bucket=bucket, Key="dropzone/incoming/.../x.csv", Body=RATES)
    assert ticks(platform, 3).run_requests == []
    assert keys(s3, bucket, "") == [
        "dropzone/error/.../x.csv",
        "dropzone/error/.../x.csv.error.json",
        "dropzone/incoming/currency_rates/_table.yaml",
    ]


def test_dataplatform_ingest_uploads_under_a_hidden_name_and_loads_like_the_sensor(
    platform, bucket, s3, tmp_path
):
    source = tmp_path / "rates.csv"
    source.write_bytes(RATES)
    settings = platform.settings
    zone = build_resources(settings)["dropzone"].zone()
    ingestor = Ingestor(
        zone, open_store("delta", settings.data_dir.resolve(), lake=settings.lake_root), EXAMPLES
    )
    entry, created = ingestor.ingest_copy(source, "currency_rates")
    assert (entry.status, created) == ("loaded", False)
    assert source.read_bytes() == RATES  # the user's file stays
    assert [
        k for k in keys(s3, bucket) if ".part" in k or k.startswith("incoming/currency_rates/rates")
    ] == []

    s3.put_object(Bucket=bucket, Key="dropzone/incoming/currency_rates/.big.csv.part", Body=RATES[:20])
    assert ticks(platform, 3).run_requests == []  # a half-uploaded file is never taken


def test_a_table_lock_is_held_by_one_taker_at_a_time(platform):
    zone = build_resources(platform.settings)["dropzone"].zone()
    taken = threading.Event()

    def second_taker() -> None:
        with zone.lock("currency_rates"):
            taken.set()

    with zone.lock("currency_rates"):
        other = threading.Thread(target=second_taker)
        other.start()
        assert not taken.wait(1.5)
    assert taken.wait(10)
    other.join()
    assert zone.files.info(zone.incoming / "currency_rates" / ".lock") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gs://bucket/dropzone", "unsupported scheme 'gs'"),
        ("s3://key:hunter2secret@bucket/dropzone", "credentials go in AWS_ACCESS_KEY_ID"),
        ("s3://B/dropzone", "the bucket must be"),
    ],
)
def test_a_bad_drop_folder_uri_is_refused_at_load_without_being_shown(monkeypatch, value, message):
    monkeypatch.setenv("DATAPLATFORM_DROPZONE_DIR", value)
    with pytest.raises(SettingsError, match=message) as error:
        load_settings()
    assert "DATAPLATFORM_DROPZONE_DIR" in str(error.value) and value not in str(error.value)
