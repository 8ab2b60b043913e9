"""Step retries in a deployment: a drop-folder load that fails for a moment loads in the same run,
a load waiting for a delivery is not retried, and every step writing to PostgreSQL retries with
exponential backoff and jitter while steps on local files do not."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

import dagster as dg

from dataplatform.defs import build_definitions
from dataplatform.defs.retries import LOAD_RETRY, STORAGE_RETRY
from dataplatform.settings import EXAMPLES
from platform_tests.conftest import small_settings
from platform_tests.integration.conftest import Platform

RATES = b"currency;usd_per_unit;valid_from\nUSD;1,0;01.11.2026\nEUR;1,10;01.11.2026\n"
RATES_KEY = dg.AssetKey(["reference", "currency_rates"])


def test_a_load_failing_for_a_moment_is_retried_in_its_run_and_loads(tmp_path, instance):
    platform = Platform(small_settings(tmp_path), instance)
    incoming = platform.settings.dropzone / "incoming" / "currency_rates"
    incoming.mkdir(parents=True)
    shutil.copy(EXAMPLES / "currency_rates" / "_table.yaml", incoming)
    (incoming / "rates.csv").write_bytes(RATES)
    # the table's folder is unusable (a file stands where it belongs) until the first attempt failed
    blocker = platform.settings.data_dir / "lake" / "delta" / "reference" / "files" / "currency_rates"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    run_id = str(uuid.uuid4())
    repaired = threading.Event()
    watcher = threading.Thread(target=_unblock_after_a_retry, args=(instance, run_id, blocker, repaired))
    watcher.start()
    try:
        result = platform.defs.resolve_job_def("reference").execute_in_process(
            instance=instance,
            run_id=run_id,
            run_config=dg.RunConfig(
                ops={RATES_KEY.to_python_identifier(): {"config": {"file": "rates.csv"}}}
            ),
            asset_selection=[RATES_KEY],
            raise_on_error=False,
        )
    finally:
        repaired.set()
        watcher.join()

    assert result.success
    retries = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert 1 <= len(retries) <= LOAD_RETRY.max_retries
    assert platform.read("reference/files/currency_rates").num_rows == 2
    statuses = [
        row["status"]
        for row in platform.read("reference/files/file_ledger").sort_by("processed_at").to_pylist()
    ]
    assert statuses == ["failed"] * len(retries) + ["loaded"]  # every try is in the ledger


def test_a_load_waiting_for_its_first_delivery_fails_at_once(tmp_path, instance):
    platform = Platform(small_settings(tmp_path, reference_examples=None), instance)
    result = platform.defs.resolve_job_def("reference").execute_in_process(
        instance=instance, asset_selection=[RATES_KEY], raise_on_error=False
    )
    assert not result.success
    assert not instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_steps_writing_to_postgres_and_drop_folder_loads_retry_with_backoff_and_jitter(tmp_path):
    settings = small_settings(
        tmp_path, profile="postgres", postgres_url="postgresql://user:pw@db.invalid:5432/platform"
    )
    graph = build_definitions(settings).resolve_asset_graph()
    policies = {key.path[0]: set() for key in graph.get_all_asset_keys()}
    for key in graph.get_all_asset_keys():
        policies[key.path[0]].add(graph.get(key).assets_def.op.retry_policy)
    assert policies["silver"] == policies["gold"] == {STORAGE_RETRY}  # the postgres profile's layers
    assert policies["landing"] == policies["bronze"] == {None}  # Parquet and Delta on the local disk
    assert policies["reference"] == {LOAD_RETRY}
    for policy in (STORAGE_RETRY, LOAD_RETRY):
        assert (policy.backoff, policy.jitter) == (dg.Backoff.EXPONENTIAL, dg.Jitter.PLUS_MINUS)
        assert policy.max_retries >= 2

    local = build_definitions(small_settings(tmp_path)).resolve_asset_graph()
    assert {
        local.get(k).assets_def.op.retry_policy for k in local.get_all_asset_keys() if k.path[0] == "gold"
    } == {None}


def _unblock_after_a_retry(instance: dg.DagsterInstance, run_id: str, blocker: Path, done: threading.Event):
    """Removes what blocks the table once the run has put its step up for retry: the failure was
    real, and the retry finds the storage working again, as after a server restart."""
    while not done.wait(0.05):
        if instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY):
            blocker.unlink()
            return
