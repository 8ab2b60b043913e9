"""Runs whose process is gone: marked failed, and the concurrency slots they held given back.

Without a daemon (`make run`, `dagster job execute`, CI) nothing notices a run whose process was
killed: it stays STARTED for ever, and the pool slot its step held is never given back. The
DuckDB warehouse pool has one slot, so every later run then waits for it for ever ("Step blocked
by limit for pool duckdb_warehouse"). `clean_dead_runs` finds such runs, marks them failed (their
event log says why) and frees their slots, and frees those finished runs whose processes are
gone still hold. It runs before `dataplatform run`, as `dataplatform runs clean`, and as every
run of the code location starts (`cleaning_dead_runs`, whatever launched it: `dagster job
execute`, the UI, a schedule).

A run's process is known from the tag `PROCESS_TAG` that `dataplatform run` writes (host, process
id and the process's start time) and, on the embedded SQLite instance, which lives on one
machine, from the process ids Dagster records on the run's RUN_START event and on each step
subprocess's STEP_WORKER_STARTED event. A process is gone when no live process has its id, or the
one that has it started after the run did (the id was reused). A run whose process cannot be
judged (another host, no process recorded yet, a queued run) is left alone, so a live run is
never marked failed; a deployment with a daemon has Dagster's own run monitoring for those.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from dataplatform.defs.executors import before_each_run

PROCESS_TAG = "dataplatform/process"
# a start time read back from /proc/stat's boot time and ticks may be off by a second
CLOCK_SLACK_SECONDS = 2.0
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
_PROCESS_EVENTS = {dg.DagsterEventType.RUN_START, dg.DagsterEventType.STEP_WORKER_STARTED}
_ENDED = {
    dg.DagsterRunStatus.SUCCESS: "succeeded",
    dg.DagsterRunStatus.FAILURE: "failed",
    dg.DagsterRunStatus.CANCELED: "been canceled",
}


@dataclass(frozen=True)
class CleanedRun:
    """A run cleaned up: `status` is what it is now, `reason` why, `pools` whose slots it held."""

    run_id: str
    job_name: str
    partition: str | None
    status: str
    reason: str
    pools: tuple[str, ...]

    def describe(self) -> str:
        label = f"{self.job_name}{' ' + self.partition if self.partition else ''} (run {self.run_id[:8]})"
        freed = f"; freed its {' and '.join(self.pools)} slot" if self.pools else ""
        return f"{label} {self.status}: {self.reason}{freed}"


def clean_dead_runs(instance: dg.DagsterInstance) -> list[CleanedRun]:
    """Mark every run whose process is gone failed (canceled if it was being canceled), free
    the concurrency slots of those and of finished runs whose processes are gone but still
    hold some; returns them."""
    cleaned = []
    for run in instance.get_runs(dg.RunsFilter(statuses=_UNFINISHED)):
        reason = _gone(instance, run)
        current = instance.get_run_by_id(run.run_id) if reason else None
        if reason is None or current is None or current.status not in _UNFINISHED:
            continue  # alive, or finished or cleaned up by someone else meanwhile
        if current.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(current, message=f"Marked canceled: {reason}.")
        else:
            instance.report_run_failed(current, message=f"Marked failed: {reason}.")
        status = "canceled" if current.status == dg.DagsterRunStatus.CANCELING else "failed"
        cleaned.append(_free(instance, current, f"marked {status}", reason))
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holding = storage.get_concurrency_run_ids() - {c.run_id for c in cleaned}
        if holding:
            # a finished run may still have a step process at work (a multiprocess run stopped
            # half way): its slot is freed only once that is gone too
            finished = dg.RunsFilter(run_ids=list(holding), statuses=FINISHED_STATUSES)
            for run in instance.get_runs(finished):
                reason = _gone(instance, run)
                if reason is not None:
                    cleaned.append(_free(instance, run, f"had {_ENDED[run.status]}", reason))
    return cleaned


def say(cleaned: Sequence[CleanedRun]) -> str:
    """What was cleaned up, in one line."""
    runs = "; ".join(c.describe() for c in cleaned)
    return f"cleaned up {len(cleaned)} dead run{'s' if len(cleaned) != 1 else ''}: {runs}"


def process_tag(run_id: str) -> dict[str, str]:
    """The tag naming this process, for the run `run_id` it creates and executes itself. It names
    the run too: a re-execution launched from the UI copies its parent's tags, and runs elsewhere."""
    me = _running(os.getpid())
    process = {"run": run_id, "host": socket.gethostname(), "pid": os.getpid()}
    return {PROCESS_TAG: json.dumps({**process, "started": me.start_ticks if me else None})}


def cleaning_dead_runs(executor: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`executor`, cleaning dead runs up as each run starts: the one hook every launch path
    goes through (`dagster job execute`, the UI, schedules, `dataplatform run`), so a run killed
    earlier never blocks this one. What it cleaned is said on stderr, and in each dead run's
    event log. The same hook gives the pools their limits before any step claims a slot
    (`defs/pools.py`)."""

    def clean(init_context: dg.InitExecutorContext) -> None:
        from dataplatform.defs.pools import ensure_pools

        cleaned = clean_dead_runs(init_context.instance)
        if cleaned:
            print(say(cleaned), file=sys.stderr)
        ensure_pools(init_context.instance)  # before any step claims a slot: see defs/pools.py

    return before_each_run(executor, clean)


def _gone(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why the run's processes are known to be gone, or None (alive, or not to be judged here)."""
    tagged = json.loads(run.tags[PROCESS_TAG]) if PROCESS_TAG in run.tags else None
    if tagged is not None and tagged.get("run") != run.run_id:  # copied from the run it re-executes
        tagged = None
    if tagged is not None and tagged.get("host") != socket.gethostname():
        return None
    if tagged is None and not _one_machine(instance):
        return None
    owners = [] if tagged is None else [_Owner(int(tagged["pid"]), tagged.get("started"), None)]
    for record in instance.get_records_for_run(run.run_id, of_type=_PROCESS_EVENTS).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.pid is not None:
            owners.append(_Owner(event.pid, None, record.event_log_entry.timestamp))
    if not owners or any(owner.alive() for owner in owners):
        return None
    pids = ", ".join(str(pid) for pid in dict.fromkeys(o.pid for o in owners))
    return f"its process {pids} on {socket.gethostname()} is gone"


@dataclass(frozen=True)
class _Owner:
    """A process that ran (part of) a run: its id, and either its exact start in clock ticks
    after boot (from the tag) or the time of an event it logged, which it started before."""

    pid: int
    start_ticks: int | None
    logged_at: float | None

    def alive(self) -> bool:
        running = _running(self.pid)
        if running is None:
            return False
        if running.start_ticks is None:  # no /proc here: the id runs, so it may be this one
            return True
        if self.start_ticks is not None:
            return running.start_ticks == self.start_ticks
        if self.logged_at is not None:
            started = _boot_time() + running.start_ticks / os.sysconf("SC_CLK_TCK")
            return started <= self.logged_at + CLOCK_SLACK_SECONDS
        return True


@dataclass(frozen=True)
class _Running:
    start_ticks: int | None  # None where there is no /proc to read it from


def _running(pid: int) -> _Running | None:
    """The process with this id, if one runs (a zombie, killed but not yet reaped, does not)."""
    if Path("/proc/self/stat").exists():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return None
        return None if fields[0] == "Z" else _Running(int(fields[19]))  # state, starttime (field 22)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process
        pass
    return _Running(None)


@cache
def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("/proc/stat has no btime")


def _free(instance: dg.DagsterInstance, run: dg.DagsterRun, status: str, reason: str) -> CleanedRun:
    storage = instance.event_log_storage
    pools: tuple[str, ...] = ()
    if storage.supports_global_concurrency_limits:
        pools = tuple(
            sorted(
                key
                for key in storage.get_concurrency_keys()
                if any(s.run_id == run.run_id for s in storage.get_concurrency_info(key).claimed_slots)
            )
        )
        storage.free_concurrency_slots_for_run(run.run_id)
    return CleanedRun(run.run_id, run.job_name, run.tags.get("dagster/partition"), status, reason, pools)


def _one_machine(instance: dg.DagsterInstance) -> bool:
    """Whether every run of the instance ran on this machine: SQLite storage is a local file."""
    storage = instance.run_storage
    storage = getattr(storage, "_storage", storage)  # `storage: sqlite:` in dagster.yaml wraps it
    return "sqlite" in type(storage).__module__
