"""Runs started together on a fresh PostgreSQL instance (a backfill, Celery's runs of several
days) each give the pools their limit as they start: whoever loses the race to create a pool's
row goes on with the winner's, and no run fails with `UniqueViolation` on `concurrency_limits`
(what a backfill of 8 days on 2 Celery workers hit before `defs/pools.py`). Through Dagster's
own first-claim path, 7 of these 8 racers failed, in each of 3 tries."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import dagster as dg

from dataplatform.defs.pools import POOLS
from platform_tests.e2e.conftest import PROJECT, team_instance_env

RACERS = 8
# each racer is a process of its own, as a run's process is; all wait for one moment, then go
RACER = """
import sys, time
import dagster as dg
from dataplatform.defs.pools import ensure_pools

with dg.DagsterInstance.get() as instance:
    time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
    ensure_pools(instance)
"""


def test_runs_starting_together_on_a_fresh_instance_all_get_the_pools(
    tmp_path, postgres_database, monkeypatch
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "POSTGRES_"))}
    env |= team_instance_env(tmp_path / "dagster", postgres_database)
    moment = str(time.time() + 15)  # time enough for every racer to import Dagster and connect
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, moment], env=env, cwd=PROJECT, stderr=subprocess.PIPE, text=True
        )
        for _ in range(RACERS)
    ]
    failures = []
    for racer in racers:
        try:
            _, stderr = racer.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            racer.kill()
            _, stderr = racer.communicate()
        if racer.returncode != 0:
            failures.append(stderr.strip().splitlines()[-1:] if stderr.strip() else racer.returncode)
    assert failures == []
    for name, value in env.items():
        if name.startswith(("DAGSTER_", "POSTGRES_")):
            monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count for pool in POOLS}
    assert limits == dict.fromkeys(POOLS, 1)  # docker/dagster.yaml's default_limit
