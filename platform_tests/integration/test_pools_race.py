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
# each racer is a process of its own, as a run's process is; each says it is ready (Dagster
# imported, the instance open), then all wait for one signal and go
RACER = """
import sys, time
from pathlib import Path
import dagster as dg
from dataplatform.defs.pools import ensure_pools

ready, go = Path(sys.argv[1]), Path(sys.argv[2])
with dg.DagsterInstance.get() as instance:
    instance.event_log_storage.get_concurrency_keys()  # connected
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    ensure_pools(instance)
"""


def test_runs_starting_together_on_a_fresh_instance_all_get_the_pools(
    tmp_path, postgres_database, monkeypatch
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "POSTGRES_"))}
    env |= team_instance_env(tmp_path / "dagster", postgres_database)
    for name, value in env.items():
        if name.startswith(("DAGSTER_", "POSTGRES_")):
            monkeypatch.setenv(name, value)
    # team_instance_env created the instance's tables, as the deployment does before any run
    # starts, so the race here is the pools' rows alone: none exists yet
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_keys() == set()
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(RACERS)]
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(ready[i]), str(go)],
            env=env,
            cwd=PROJECT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(RACERS)
    ]
    _wait_until_ready(racers, ready, timeout=120)
    go.touch()
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
    with dg.DagsterInstance.get() as instance:
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count for pool in POOLS}
    assert limits == dict.fromkeys(POOLS, 1)  # docker/dagster.yaml's default_limit


def _wait_until_ready(racers: list[subprocess.Popen], ready: list, timeout: float) -> None:
    """Every racer has said it is ready; one that died or a timeout fails the test, saying which."""
    deadline = time.monotonic() + timeout
    while not all(path.exists() for path in ready):
        dead = [i for i, racer in enumerate(racers) if racer.poll() is not None and not ready[i].exists()]
        if dead or time.monotonic() > deadline:
            for racer in racers:
                racer.kill()
            stderr = racers[dead[0]].communicate()[1].strip().splitlines()[-1:] if dead else ""
            waiting = sum(not path.exists() for path in ready)
            raise AssertionError(
                f"{waiting} of {len(ready)} racers not ready within {timeout:.0f} s {stderr}"
            )
        time.sleep(0.05)
