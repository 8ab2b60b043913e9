"""Runs of the code location's jobs launched from the command line, as the UI would launch them.

`launch` creates a run of a job of `dataplatform.definitions` with the code location's origin, so
the UI lists it with every other run (Overview, the job's runs, the assets' pages) and can
re-execute it, and executes it here against the instance. `execute_in_process` runs made no such
record: the UI showed them nowhere but the runs list. Each run carries `PROCESS_TAG`, which lets a
later command tell that the run died with this process (see `dead_runs`). Dagster's console logger
is silenced: the event log is kept in the instance, where the UI shows it, not printed (it was
1,400 DEBUG lines for one `make run`).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from dataplatform.defs.dead_runs import process_tag

if TYPE_CHECKING:
    from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
    from dagster._core.remote_origin import RemoteJobOrigin

MODULE = "dataplatform.definitions"
CODE_LOCATION = "dataplatform"  # the location name workspace.yaml gives the module
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # where `dataplatform` is imported from


def current_instance() -> dg.DagsterInstance:
    """The instance DAGSTER_HOME names, found as every Dagster command finds it."""
    return dg.DagsterInstance.get()


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: its failed steps, the first line of each error (of the run's, if it
    failed before any step did), and the asset checks that did not pass (asset, description)."""

    run_id: str
    job_name: str
    partition: str | None
    success: bool
    seconds: float
    failed_steps: tuple[str, ...]
    errors: tuple[str, ...]
    failed_checks: tuple[tuple[str, str], ...]
    only_checks_failed: bool  # every failed step failed because a blocking check did not pass


def launch(
    instance: dg.DagsterInstance,
    job_name: str,
    partition: str | None = None,
    asset_selection: Collection[dg.AssetKey] | None = None,
) -> RunOutcome:
    """Create a run of `job_name` (one partition of it, or only `asset_selection`) as a run of the
    code location and execute it in this process, with the job's executor."""
    from dagster._core.execution.api import execute_run
    from dagster._core.utils import make_new_run_id

    started = time.perf_counter()
    job = _repository().get_reconstructable_job(job_name)
    if asset_selection:  # the subset `execute_run` makes again: equal, so the code location loads once
        job = job.get_subset(asset_selection=frozenset(asset_selection))
    definition = job.get_definition()
    run_id = make_new_run_id()
    tags = process_tag(run_id)
    if partition is not None:
        tags |= definition.get_tags_for_partition_key(partition, selected_asset_keys=asset_selection)
    run = instance.create_run_for_job(
        job_def=definition,
        run_id=run_id,
        run_config=QUIET,
        tags=tags,
        asset_selection=frozenset(asset_selection) if asset_selection else None,
        job_code_origin=job.get_python_origin(),
        remote_job_origin=_remote_origin(job),
    )
    result = execute_run(job, run, instance)
    failures = [e for e in result.all_events if e.is_step_failure]
    errors = [e.step_failure_data.error for e in failures]
    messages = [_first_line(e.message) for e in errors if e is not None]
    if not failures:
        messages = [_first_line(e.message or "") for e in result.all_events if e.is_run_failure]
    refused = [c for c in result.get_asset_check_evaluations() if not c.passed]
    return RunOutcome(
        run_id=result.run_id,
        job_name=job_name,
        partition=partition,
        success=result.success,
        seconds=time.perf_counter() - started,
        failed_steps=tuple(e.step_key or "" for e in failures),
        errors=tuple(messages),
        failed_checks=tuple((c.asset_key.to_user_string(), c.description or "") for c in refused),
        only_checks_failed=bool(refused)
        and all(e is not None and e.cls_name == "DagsterAssetCheckFailedError" for e in errors),
    )


def run_plan(
    job_names: Collection[str], domains: Sequence[str], partitions: Sequence[str]
) -> list[tuple[str, str | None]]:
    """The runs of `dataplatform run`, in order, as (job, partition): every domain's master data;
    then each day of every domain, and after them that day's gold across domains (a `_daily` job
    of no domain, e.g. `insights_daily`); then each domain's summaries over all history; last
    `platform_metrics`, which gathers the metrics of everything before it."""
    of_domains = {f"{d}_daily" for d in domains}
    across = sorted(n for n in job_names if n.endswith("_daily") and n not in of_domains)
    plan: list[tuple[str, str | None]] = [(f"{d}_master", None) for d in domains]
    for partition in partitions:
        plan += [(f"{d}_daily", partition) for d in domains]
        plan += [(name, partition) for name in across]
    plan += [(f"{d}_summaries", None) for d in domains if f"{d}_summaries" in job_names]
    plan.append(("platform_metrics", None))
    return plan


def _repository() -> ReconstructableRepository:
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    return ReconstructableRepository.for_module(MODULE, "defs", working_directory=str(SOURCE_ROOT))


def _remote_origin(job: ReconstructableJob) -> RemoteJobOrigin:
    """The origin a run launched from the UI has: the code location, as workspace.yaml names it."""
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origin_from_module_name

    location = location_origin_from_module_name(MODULE, None, str(SOURCE_ROOT), CODE_LOCATION)
    repository = job.get_repository_definition()
    assert repository is not None
    return RemoteRepositoryOrigin(location, repository.name).get_job_origin(job.job_name)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
