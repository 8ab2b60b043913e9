"""The drop-folder sensor on a real instance: which runs it asks for, with which keys, and what
its cursor remembers; then those runs, executed, and what became of every file."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import pytest

from dataplatform.defs.reference import HASH_TAG, MAX_ATTEMPTS
from dataplatform.defs.resources import build_resources
from dataplatform.defs.retries import LOAD_RETRY
from dataplatform.ingest.dropzone import content_hash
from dataplatform.settings import EXAMPLES
from platform_tests.conftest import small_settings
from platform_tests.integration.conftest import Platform

RATES = b"currency;usd_per_unit;valid_from\nUSD;1,0;01.11.2026\nEUR;1,10;01.11.2026\n"


@pytest.fixture
def platform(tmp_path, instance) -> Platform:
    settings = small_settings(tmp_path)
    incoming = settings.dropzone / "incoming" / "currency_rates"
    incoming.mkdir(parents=True)
    shutil.copy(EXAMPLES / "currency_rates" / "_table.yaml", incoming)
    return Platform(settings, instance)


def tick(platform: Platform, cursor: str | None) -> dg.SensorResult:
    sensor = platform.defs.resolve_sensor_def("reference_dropzone")
    context = dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        resources={"dropzone": build_resources(platform.settings)["dropzone"]},  # as the daemon gives it
    )
    return sensor(context)


def execute(platform: Platform, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    return platform.defs.resolve_job_def("reference").execute_in_process(
        instance=platform.instance,
        run_config=request.run_config,
        tags={**request.tags, "dagster/run_key": request.run_key},
        asset_selection=request.asset_selection,
    )


def drop(platform: Platform, name: str, data: bytes, table: str = "currency_rates"):
    folder = platform.settings.dropzone / "incoming" / table
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def ledger(platform: Platform) -> list[tuple[str, str]]:
    rows = platform.read("reference/files/file_ledger").sort_by("processed_at").to_pylist()
    return [(r["file"], r["status"]) for r in rows]


def test_a_stable_file_gets_one_run_keyed_by_its_hash_and_the_same_bytes_again_a_duplicate(platform):
    digest = content_hash(drop(platform, "rates.csv", RATES))
    first = tick(platform, None)
    assert first.run_requests == []  # seen once: maybe still being copied
    second = tick(platform, first.cursor)
    assert second.run_requests == []
    third = tick(platform, second.cursor)
    [request] = third.run_requests
    assert request.run_key == f"currency_rates:{digest}"
    assert request.tags[HASH_TAG] == digest
    assert request.asset_selection == [
        dg.AssetKey(["reference", "currency_rates"]),
        dg.AssetKey(["reference", "file_ledger"]),
    ]
    assert "currency_rates/rates.csv" in third.cursor

    result = execute(platform, request)
    assert result.success
    assert platform.read("reference/files/currency_rates").column("usd_per_unit").to_pylist() == [1.0, 1.1]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"key_unique": True, "required_not_null": True, "no_personal_data": True}
    assert tick(platform, third.cursor).run_requests == []  # archived: nothing left to take

    drop(platform, "rates_again.csv", RATES)
    cursor = None
    for _ in range(3):
        result_tick = tick(platform, cursor)
        cursor = result_tick.cursor
    [again] = result_tick.run_requests
    assert again.run_key == f"currency_rates:{digest}:1"  # a new delivery: its own key
    assert execute(platform, again).success
    assert ledger(platform) == [("rates.csv", "loaded"), ("rates_again.csv", "duplicate")]
    archive = platform.settings.dropzone / "archive" / "currency_rates"
    assert sorted(p.name for p in archive.rglob("*.csv")) == ["rates.csv", "rates_again.csv"]


def test_a_file_still_growing_is_not_taken(platform):
    path = drop(platform, "rates.csv", RATES)
    cursor = tick(platform, None).cursor
    with path.open("ab") as file:
        file.write(b"GBP;1,27;01.11.2026\n")
    cursor = tick(platform, cursor).cursor
    assert tick(platform, cursor).run_requests == []  # changed one tick ago
    assert len(tick(platform, tick(platform, cursor).cursor).run_requests) == 1


def test_files_in_an_unknown_or_unsafe_folder_are_rejected_by_the_tick_and_never_retried(platform):
    drop(platform, "x.csv", RATES, table="no_such_table")
    drop(platform, "y.csv", RATES, table="Bad;Name")
    result = tick(platform, None)
    assert result.run_requests == []
    error = platform.settings.dropzone / "error"
    assert sorted(p.name for p in error.rglob("*.csv")) == ["x.csv", "y.csv"]
    assert sorted(p.name for p in error.rglob("*.error.json")) == ["x.csv.error.json", "y.csv.error.json"]
    assert sorted(ledger(platform)) == [("x.csv", "rejected"), ("y.csv", "rejected")]
    assert tick(platform, result.cursor).run_requests == []


def test_a_failed_run_leaves_its_file_for_a_retry_under_a_new_key(platform):
    path = drop(platform, "rates.csv", RATES)
    cursor = None
    for _ in range(3):
        result = tick(platform, cursor)
        cursor = result.cursor
    [request] = result.run_requests
    platform.instance.add_run(
        dg.DagsterRun(
            job_name="reference",
            run_id="0" * 8 + "-dead-run",
            status=dg.DagsterRunStatus.FAILURE,
            tags={**request.tags, "dagster/run_key": request.run_key},
        )
    )
    [retry] = tick(platform, cursor).run_requests
    assert retry.run_key == f"currency_rates:{content_hash(path)}:retry:1"
    assert execute(platform, retry).success
    assert ledger(platform) == [("rates.csv", "failed"), ("rates.csv", "loaded")]  # every attempt


def test_identical_bytes_for_two_tables_load_into_each_once(platform):
    other = platform.settings.dropzone / "incoming" / "rates_copy"
    other.mkdir(parents=True)
    shutil.copy(EXAMPLES / "currency_rates" / "_table.yaml", other)
    platform = Platform(platform.settings, platform.instance)  # the code location sees the new table
    drop(platform, "rates.csv", RATES)
    drop(platform, "rates.csv", RATES, table="rates_copy")
    cursor = None
    for _ in range(3):
        result = tick(platform, cursor)
        cursor = result.cursor
    assert len({r.run_key for r in result.run_requests}) == 2
    for request in result.run_requests:
        assert execute(platform, request).success
    for _ in range(3):  # both archived: nothing is asked for again, however often the sensor ticks
        result = tick(platform, result.cursor)
        assert result.run_requests == []
    assert sorted(ledger(platform)) == [("rates.csv", "loaded"), ("rates.csv", "loaded")]
    for table in ("currency_rates", "rates_copy"):
        assert platform.read(f"reference/files/{table}").column("currency").to_pylist() == ["USD", "EUR"]


def test_exhausted_retries_reject_the_file_with_the_real_error_and_every_attempt_in_the_ledger(platform):
    broken = platform.settings.data_dir / "lake" / "delta" / "reference" / "files" / "currency_rates"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a Delta table: a file where its folder should be")  # storage, not the file, fails
    path = drop(platform, "rates.csv", RATES)
    cursor = None
    for attempt in range(MAX_ATTEMPTS):
        for _ in range(3 if attempt == 0 else 1):
            result = tick(platform, cursor)
            cursor = result.cursor
        [request] = result.run_requests
        run = platform.defs.resolve_job_def("reference").execute_in_process(
            instance=platform.instance,
            run_config=request.run_config,
            tags={**request.tags, "dagster/run_key": request.run_key},
            asset_selection=request.asset_selection,
            raise_on_error=False,
        )
        assert not run.success and path.is_file()  # the file waits for the next attempt
    result = tick(platform, cursor)
    assert result.run_requests == []
    [note] = (platform.settings.dropzone / "error" / "currency_rates").glob("*.error.json")
    reason = json.loads(note.read_text())["reason"]
    assert reason.startswith(f"{MAX_ATTEMPTS} runs failed on this file; the last: ")
    assert "see their logs" not in reason and "Error" in reason
    entries = platform.read("reference/files/file_ledger").sort_by("processed_at").to_pylist()
    tries = MAX_ATTEMPTS * (1 + LOAD_RETRY.max_retries)  # each run retries its step first
    assert [e["status"] for e in entries] == ["failed"] * tries + ["rejected"]
    assert all(e["error"] and e["run_id"] for e in entries[:tries])
    assert len({e["run_id"] for e in entries[:tries]}) == MAX_ATTEMPTS


def test_one_tick_takes_every_ready_file_and_a_bad_one_does_not_stop_the_others(platform):
    drop(platform, "a_bad.csv", b"currency;usd_per_unit\n")
    drop(platform, "b_good.csv", RATES)
    cursor = None
    for _ in range(3):
        result = tick(platform, cursor)
        cursor = result.cursor
    assert sorted(r.tags["dataplatform/file"] for r in result.run_requests) == [
        "currency_rates/a_bad.csv",
        "currency_rates/b_good.csv",
    ]
    for request in sorted(result.run_requests, key=lambda r: "a_bad" in r.tags["dataplatform/file"]):
        assert execute(platform, request).success  # one file per run: the bad one stops nothing
    assert sorted(ledger(platform)) == [("a_bad.csv", "rejected"), ("b_good.csv", "loaded")]
    assert platform.read("reference/files/currency_rates").num_rows == 2


def test_the_reference_job_takes_every_waiting_file_in_one_run(platform):
    drop(platform, "a_bad.csv", b"")
    drop(platform, "b_good.csv", RATES)
    assert platform.run("reference").success
    mine = [
        row for row in ledger(platform) if row[0] != "countries.csv"
    ]  # country_codes: the shipped example
    assert sorted(mine) == [("a_bad.csv", "rejected"), ("b_good.csv", "loaded")]
    assert platform.read("reference/files/currency_rates").num_rows == 2


def test_tables_gold_reads_are_in_the_graph_even_undeclared_and_say_what_to_deliver(tmp_path, instance):
    bare = Platform(small_settings(tmp_path, reference_examples=None), instance)
    keys = {k.to_user_string() for k in bare.defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"reference/currency_rates", "reference/country_codes"} <= keys
    result = bare.defs.resolve_job_def("reference").execute_in_process(
        instance=instance,
        raise_on_error=False,
        asset_selection=[dg.AssetKey(["reference", "currency_rates"])],
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "reference/currency_rates has no data: no file delivered yet" in str(
        failure.step_failure_data.error
    )
