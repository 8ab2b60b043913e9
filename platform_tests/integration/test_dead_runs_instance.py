"""Runs whose process is gone, on a real SQLite instance configured like the embedded default: what
is cleaned up, what is left alone (a live process, another host, a re-execution's copied tag),
and the executor that cleans up as every run starts."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import DagsterEvent
from dagster._core.events.log import EventLogEntry
from dagster._core.utils import make_new_run_id

from dataplatform.defs.dead_runs import PROCESS_TAG, clean_dead_runs, cleaning_dead_runs, process_tag, say

PROJECT = Path(__file__).resolve().parents[2]
POOL = "duckdb_warehouse"


@pytest.fixture
def instance(tmp_path):
    config = yaml.safe_load((PROJECT / "dagster.yaml").read_text())  # the embedded default's pools
    with dg.instance_for_test(overrides=config, temp_dir=str(tmp_path)) as instance:
        yield instance


@pytest.fixture
def gone_pid() -> int:
    """The id of a process that ran and exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def started_run(instance, pid: int, tags: dict[str, str] | None = None, at: float | None = None) -> str:
    """A run of `ecommerce_daily` that process `pid` started (its RUN_START event, at `at`)."""
    run_id = make_new_run_id()
    instance.add_run(dg.DagsterRun(job_name="ecommerce_daily", run_id=run_id, tags=tags or {}))
    event = DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name="ecommerce_daily", pid=pid)
    instance.handle_new_event(
        EventLogEntry(
            error_info=None,
            level=logging.DEBUG,
            user_message="",
            run_id=run_id,
            timestamp=time.time() if at is None else at,
            dagster_event=event,
        )
    )
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    return run_id


def hold_slot(instance, run_id: str, step: str = "gold__ecommerce__daily_sales", pool: str = POOL) -> None:
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(pool)
    assert storage.claim_concurrency_slot(pool, run_id, step).is_claimed


def holders(instance, pool: str = POOL) -> list[str]:
    return [slot.run_id for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots]


def test_a_dead_run_holding_the_warehouse_slot_is_marked_failed_and_its_slot_freed(instance, gone_pid):
    dead = started_run(instance, gone_pid)
    hold_slot(instance, dead)

    cleaned = clean_dead_runs(instance)

    assert [(c.run_id, c.status, c.pools) for c in cleaned] == [(dead, "marked failed", (POOL,))]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    failure = instance.get_records_for_run(dead, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    assert f"its process {gone_pid} on {socket.gethostname()} is gone" in failure.event_log_entry.message
    assert holders(instance) == []
    assert say(cleaned) == (
        f"cleaned up 1 dead run: ecommerce_daily (run {dead[:8]}) marked failed: its process {gone_pid} "
        f"on {socket.gethostname()} is gone; freed its {POOL} slot"
    )
    hold_slot(instance, started_run(instance, os.getpid()))  # the next run gets the slot
    assert clean_dead_runs(instance) == []


def test_a_live_run_is_left_alone(instance):
    live = started_run(instance, os.getpid())
    hold_slot(instance, live)
    assert clean_dead_runs(instance) == []
    assert instance.get_run_by_id(live).status == dg.DagsterRunStatus.STARTED
    assert holders(instance) == [live]


def test_a_process_id_reused_since_the_run_started_is_not_the_run_s_process(instance):
    """Recorded by a process with this test's id ten years ago: the id was reused since."""
    long_ago = time.time() - 10 * 365 * 86400
    old = started_run(instance, os.getpid(), at=long_ago)
    assert [c.run_id for c in clean_dead_runs(instance)] == [old]


def test_a_killed_process_not_yet_reaped_is_gone(instance):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not waited for: a zombie
        assert time.monotonic() < deadline
        time.sleep(0.02)
    zombie = started_run(instance, child.pid)
    assert [c.run_id for c in clean_dead_runs(instance)] == [zombie]
    child.wait()


def starting_run(instance, tags_for) -> str:
    """A run launched but not started yet (no process logged anything for it), with the tags
    `tags_for(run_id)` gives."""
    run_id = make_new_run_id()
    status = dg.DagsterRunStatus.STARTING
    instance.add_run(
        dg.DagsterRun(job_name="ecommerce_daily", run_id=run_id, tags=tags_for(run_id), status=status)
    )
    return run_id


def tagged(run_id: str, pid: int, started: int | None, host: str | None = None) -> dict[str, str]:
    process = {"run": run_id, "host": host or socket.gethostname(), "pid": pid, "started": started}
    return {PROCESS_TAG: json.dumps(process)}


def test_the_process_tag_names_the_process_of_its_own_run_on_its_own_host(instance, gone_pid):
    me = json.loads(process_tag("any")[PROCESS_TAG])
    assert (me["pid"], me["host"]) == (os.getpid(), socket.gethostname())
    mine = starting_run(instance, lambda run_id: process_tag(run_id))
    unknown = starting_run(instance, lambda run_id: {})
    # this process's id, but the tag's process started a tick earlier: the id was reused since
    reused = starting_run(instance, lambda run_id: tagged(run_id, os.getpid(), me["started"] - 1))
    # a re-execution launched from the UI copies its parent's tags, which name the parent run and
    # its process (gone), not the run worker about to start
    copied = starting_run(instance, lambda run_id: tagged(make_new_run_id(), gone_pid, 1))
    elsewhere = started_run(instance, gone_pid)  # another host's process, with an id dead here
    instance.add_run_tags(elsewhere, tagged(elsewhere, gone_pid, 1, host=f"not-{socket.gethostname()}"))

    assert [c.run_id for c in clean_dead_runs(instance)] == [reused]
    for left_alone in (mine, unknown, copied):
        assert instance.get_run_by_id(left_alone).status == dg.DagsterRunStatus.STARTING
    assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED


def test_a_run_being_canceled_whose_process_is_gone_is_canceled(instance, gone_pid):
    run_id = started_run(instance, gone_pid)
    instance.report_run_canceling(instance.get_run_by_id(run_id))
    assert [c.status for c in clean_dead_runs(instance)] == ["marked canceled"]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELED


def test_a_finished_run_still_holding_a_slot_gives_it_back_once_its_processes_are_gone(instance, gone_pid):
    finished = started_run(instance, gone_pid)
    hold_slot(instance, finished)
    instance.report_run_failed(instance.get_run_by_id(finished))
    working = started_run(instance, os.getpid())  # a step process still at work after its run ended
    hold_slot(instance, working, "datasets__customer_value", "duckdb_datasets")
    instance.report_run_canceled(instance.get_run_by_id(working))

    cleaned = clean_dead_runs(instance)

    assert [(c.run_id, c.status, c.pools) for c in cleaned] == [(finished, "had failed", (POOL,))]
    assert holders(instance) == []
    assert holders(instance, "duckdb_datasets") == [working]


@dg.op
def step() -> int:
    return 1


@dg.job(executor_def=cleaning_dead_runs(dg.in_process_executor))
def tiny():
    step()


def test_every_run_cleans_up_dead_runs_as_it_starts(instance, gone_pid, capfd):
    dead = started_run(instance, gone_pid)
    hold_slot(instance, dead)
    # the executor's own options are still accepted
    run_config = {"execution": {"config": {"retries": {"disabled": {}}}}}
    result = dg.execute_job(dg.reconstructable(tiny), instance, run_config=run_config)
    assert result.success
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert holders(instance) == []
    assert f"cleaned up 1 dead run: ecommerce_daily (run {dead[:8]})" in capfd.readouterr().err
