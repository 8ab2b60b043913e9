"""A real Dagster instance (SQLite in a temporary folder) and helpers to run the jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from dataplatform.defs import build_definitions
from dataplatform.settings import Settings


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
        self.lakehouse = self.defs.resources["lakehouse"]

    def run(self, job: str, partition: str | None = None, **kwargs) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, partition_key=partition, raise_on_error=False, **kwargs
        )

    def read(self, path: str, partition: str | None = None, column: str = "partition_date"):
        key = dg.AssetKey(path.split("/"))
        return self.lakehouse.read(key, column if partition else None, [partition] if partition else [])


@pytest.fixture
def platform(settings, instance) -> Platform:
    return Platform(settings, instance)
