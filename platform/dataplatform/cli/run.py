"""`dataplatform run` and `dataplatform runs`: run the platform's jobs in the Dagster instance,
see what they made, clean up runs whose process is gone.

Dagster is imported inside the commands, so `dataplatform --help` stays fast."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from dataplatform import assetkeys
from dataplatform.cli._output import (
    Format,
    console,
    current_settings,
    errors,
    fail,
    print_json,
    use_dagster_home,
)
from dataplatform.domains import generated
from dataplatform.settings import Settings

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance, Definitions

    from dataplatform.defs.dead_runs import CleanedRun
    from dataplatform.defs.runs import RunOutcome

UI_URL = "http://127.0.0.1:3000"

runs_app = typer.Typer(no_args_is_help=True, add_completion=False)


def run(
    days: Annotated[int | None, typer.Option(help="Daily partitions to run, ending yesterday (UTC).")] = None,
    output: Format = "table",
) -> None:
    """Materialise every domain's master data, its last few daily partitions, the gold across
    domains and the summaries, then train the default models. Each job is a run of the code
    location in the Dagster instance, listed in the UI like any other; its event log stays there."""
    settings = current_settings()
    partitions = _recent_partitions(settings, days or settings.recent_days)
    instance = _instance(settings)
    cleaned = _clean_dead_runs(instance)

    from dataplatform.defs import build_definitions
    from dataplatform.defs.runs import run_plan

    defs = build_definitions(settings)
    plan = run_plan({job.name for job in defs.jobs or ()}, list(generated()), partitions)
    started = time.perf_counter()
    outcomes = []
    with console.status("") as status:
        for job_name, partition in plan:
            status.update(f"running {job_name}" + (f" for {partition}" if partition else ""))
            outcomes.append(_run_job(instance, job_name, partition, output))
        status.update("training the default models")
        defs, trained = _with_default_models(settings, instance, output)
    outcomes += trained
    seconds = time.perf_counter() - started
    _show_summary(settings, defs, output, outcomes, cleaned, seconds)


@runs_app.command("clean")
def clean_runs(output: Format = "table") -> None:
    """Mark runs whose process is gone failed and free the concurrency slots they held, so they
    block no later run. `dataplatform run`, and every run as it starts, do this first."""
    from dataplatform.defs.dead_runs import clean_dead_runs, say

    cleaned = clean_dead_runs(_instance(current_settings()))
    if output == "json":
        print_json({"cleaned": [vars(c) for c in cleaned]})
    elif cleaned:
        console.print(say(cleaned), highlight=False, soft_wrap=True)
    else:
        console.print(
            "no dead run: every unfinished run's process is alive, and no finished run holds a slot"
        )


def _run_job(
    instance: DagsterInstance,
    job_name: str,
    partition: str | None,
    output: str,
    selection: list[AssetKey] | None = None,
) -> RunOutcome:
    """Launch one run and say how it went; a failed run stops `dataplatform run`, except a
    model the promotion check kept from champion (`selection`: the models run), which is said."""
    from dataplatform.defs.runs import launch

    outcome = launch(instance, job_name, partition, selection)
    label = f"{job_name}{' ' + partition if partition else ''}"
    if not outcome.success and selection is not None and outcome.only_checks_failed:
        for asset, description in outcome.failed_checks:
            errors.print(f"[yellow]{asset}: {description}[/]", highlight=False)
    elif not outcome.success:
        where = ", ".join(outcome.failed_steps) or "run level"
        error = next((e for e in outcome.errors if e), "")
        fail(
            f"{label} failed at {where}{': ' + error if error else ''} (run {outcome.run_id}); "
            f"its event log is in the UI at {UI_URL}/runs/{outcome.run_id}"
        )
    if output == "table":
        console.print(f"[green]done[/] {label} in {outcome.seconds:.1f}s", highlight=False)
    return outcome


def _with_default_models(
    settings: Settings, instance: DagsterInstance, output: str
) -> tuple[Definitions, list[RunOutcome]]:
    """Register the default dataset from gold again and train its models in the `models` job;
    returns the definitions with the dataset's assets (rebuilt, since registering adds them) and
    the run, if there was one."""
    from dataplatform.defs import build_definitions
    from dataplatform.models.defaults import register_default

    name = register_default(settings)
    defs = build_definitions(settings)
    models = assetkeys.models_of(name)
    selection = [
        k for k in defs.resolve_asset_graph().get_all_asset_keys() if assetkeys.under(k.path, models)
    ]
    if not selection:
        return defs, []
    return defs, [_run_job(instance, "models", None, output, selection)]


def _clean_dead_runs(instance: DagsterInstance) -> list[CleanedRun]:
    """Runs whose process is gone, marked failed and their concurrency slots freed (see
    `defs.dead_runs`), said in one line on stderr: a note before the runs to come."""
    from dataplatform.defs.dead_runs import clean_dead_runs, say

    cleaned = clean_dead_runs(instance)
    if cleaned:
        errors.print(f"[yellow]{say(cleaned)}[/]", highlight=False, soft_wrap=True)
    return cleaned


def _show_summary(
    settings: Settings,
    defs: Definitions,
    output: str,
    outcomes: list[RunOutcome],
    cleaned: list[CleanedRun],
    seconds: float,
) -> None:
    from dataplatform.defs.tables import table_for
    from dataplatform.storage import store_for_layer

    data_dir = settings.data_dir.resolve()
    rows: list[dict[str, Any]] = []
    for key in sorted(defs.resolve_asset_graph().get_all_asset_keys(), key=lambda k: tuple(k.path)):
        if not assetkeys.is_lake_table(key.path):  # registered datasets keep a store of their own
            continue
        table = table_for(key)
        store = store_for_layer(settings, table.layer)
        if store.exists(table):
            rows.append(
                {
                    "asset": str(table),
                    "rows": store.row_count(table),
                    "backend": store.backend,
                    "location": store.location(table),
                }
            )
    if output == "json":
        runs = [
            {
                "job": o.job_name,
                "partition": o.partition,
                "run_id": o.run_id,
                "success": o.success,
                "seconds": round(o.seconds, 3),
            }
            for o in outcomes
        ]
        print_json(
            {
                "assets": rows,
                "data_dir": str(settings.data_dir.resolve()),
                "runs": runs,
                "cleaned_runs": [vars(c) for c in cleaned],
            }
        )
        return
    view = Table(title="Materialised assets")
    view.add_column("asset", no_wrap=True)
    view.add_column("rows", justify="right")
    view.add_column("backend")
    view.add_column(f"location under {data_dir}", overflow="fold")
    for row in rows:
        view.add_row(row["asset"], f"{row['rows']:,}", row["backend"], _relative(row["location"], data_dir))
    console.print(view)
    console.print(
        f"{len(outcomes)} runs in {seconds:.0f}s. Data: {data_dir}   Dagster instance: {os.environ['DAGSTER_HOME']}"
    )
    console.print(
        f"Open the UI with [bold]make dev[/] and browse {UI_URL}: the runs, their event logs, the assets"
    )


def _relative(location: str, root: Path) -> str:
    prefix = f"{root}/"
    return location[len(prefix) :] if location.startswith(prefix) else location


def _recent_partitions(settings: Settings, days: int) -> list[str]:
    if days <= 0:
        fail("--days must be at least 1")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = max(settings.start_date, yesterday - timedelta(days=days - 1))
    if first > yesterday:
        fail(
            f"DATAPLATFORM_START_DATE={settings.start_date} is after yesterday ({yesterday}): no complete day to run"
        )
    return [(first + timedelta(days=i)).isoformat() for i in range((yesterday - first).days + 1)]


def _instance(settings: Settings) -> DagsterInstance:
    """The embedded instance under DAGSTER_HOME (default: settings.dagster_home)."""
    from dataplatform.defs.runs import current_instance

    use_dagster_home(settings)
    return current_instance()
