"""A real Dagster instance (SQLite in a temporary folder) and helpers to run the jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from dataplatform.defs import build_definitions
from dataplatform.defs.tables import daily_slice
from dataplatform.settings import Settings
from dataplatform.storage import TableName, store_for_layer


@pytest.fixture
def instance(tmp_path):
    with real_instance(tmp_path) as instance:
        yield instance


@contextmanager
def real_instance(root: Path) -> Iterator[dg.DagsterInstance]:
    """A SQLite-backed instance in `root`, as the embedded default uses."""
    home = root / "instance"
    home.mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        yield instance


class Platform:
    """The code location built over temporary folders, with one call per job run."""

    def __init__(self, settings: Settings, instance: dg.DagsterInstance) -> None:
        self.settings = settings
        self.instance = instance
        self.defs = build_definitions(settings)

    def run(self, job: str, partition: str | None = None, **kwargs) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, partition_key=partition, raise_on_error=False, **kwargs
        )

    def read(self, path: str, partition: str | None = None, column: str = "partition_date"):
        """An asset's table (or one partition of it), read straight from its layer's store."""
        table = TableName(*path.split("/"))
        where = daily_slice(column, [partition]) if partition else None
        return store_for_layer(self.settings, table.layer).read(table, where=where)


@pytest.fixture
def platform(settings, instance) -> Platform:
    return Platform(settings, instance)
