"""The pools steps wait in, given their limit before any step of a run claims a slot.

Dagster creates a pool's limit (from `concurrency.pools.default_limit`) when a step first claims
a slot in it. On a fresh PostgreSQL instance, runs started together (a backfill, or Celery's
runs of several days) each find the pool missing and insert it; the loser's transaction is
aborted and its run fails with `UniqueViolation` on `concurrency_limits`. Created once as each
run starts, a run losing that race sees the winner's row and goes on; the steps then find the
pool and create nothing.
"""

from __future__ import annotations

import dagster as dg

from dataplatform.defs.datasets import DATASETS_POOL
from dataplatform.settings import STORAGE_BACKENDS

# the files that take one writer at a time: a backend's (the DuckDB warehouse, a DuckLake catalog)
# and the dataset store's
POOLS = (*(b.pool for b in STORAGE_BACKENDS.values() if b.pool is not None), DATASETS_POOL)


def ensure_pools(instance: dg.DagsterInstance, pools: tuple[str, ...] = POOLS) -> None:
    """Give every pool of `pools` the instance's default limit unless it has a limit already."""
    from sqlalchemy.exc import SQLAlchemyError

    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or instance.global_op_concurrency_default_limit is None:
        return
    missing = [pool for pool in pools if pool not in storage.get_concurrency_keys()]
    for pool in missing:
        try:
            storage.initialize_concurrency_limit_to_default(pool)
        except SQLAlchemyError:
            if pool not in storage.get_concurrency_keys():  # not another run's row: a real failure
                raise
