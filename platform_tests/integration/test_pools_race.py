"""Runs started together on a fresh PostgreSQL instance (a backfill, Celery's runs of several
days) each give the pools their limit as they start: whoever loses the race to create a pool's
row goes on with the winner's, and no run fails with `UniqueViolation` on `concurrency_limits`
(what a backfill of 8 days on 2 Celery workers hit before `defs/pools.py`). Through Dagster's
own first-claim path, 7 of these 8 racers failed, in each of 3 tries."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import dagster as dg

from dataplatform.defs.pools import POOLS
from platform_tests.e2e.conftest import team_instance_env

RACERS = 8


def _race(env: dict[str, str], start) -> str:
    """In a process of its own, as a run's process: wait for the others, then create the pools."""
    os.environ.update(env)
    from dataplatform.defs.pools import ensure_pools

    with dg.DagsterInstance.get() as instance:
        start.wait()
        try:
            ensure_pools(instance)
        except Exception as error:  # reported to the test, which names the failures
            return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return "ok"


def _racing(tmp_path: Path, database: str) -> tuple[list[str], dict[str, int]]:
    env = team_instance_env(tmp_path / "dagster", database)
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(RACERS)
    with context.Pool(RACERS) as pool:
        outcomes = pool.starmap(_race, [(env, start)] * RACERS)
    os.environ.update(env)
    with dg.DagsterInstance.get() as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count for pool in POOLS}
    return outcomes, limits


def test_runs_starting_together_on_a_fresh_instance_all_get_the_pools(
    tmp_path, postgres_database, monkeypatch
):
    for name in [n for n in os.environ if n.startswith(("DAGSTER_", "POSTGRES_"))]:
        monkeypatch.delenv(name)
    outcomes, limits = _racing(tmp_path, postgres_database)
    assert outcomes == ["ok"] * RACERS
    assert limits == dict.fromkeys(POOLS, 1)  # docker/dagster.yaml's default_limit
