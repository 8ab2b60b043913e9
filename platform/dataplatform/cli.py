"""The `dataplatform` command: run the platform locally and see what it made."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dataplatform.generate import GENERATORS
from dataplatform.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="A Dagster-orchestrated data platform.", no_args_is_help=True, add_completion=False)
console = Console()
UI_URL = "http://127.0.0.1:3000"


@app.callback()
def main() -> None:
    """A Dagster-orchestrated data platform."""


@app.command()
def run(
    days: Annotated[int | None, typer.Option(help="Daily partitions to run, ending yesterday (UTC).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Materialise every domain's master data, its last few daily partitions and summaries."""
    settings = _settings()
    partitions = _recent_partitions(settings, days or settings.recent_days)
    instance = _instance(settings)

    from dataplatform.defs import build_definitions

    defs = build_definitions(settings)
    jobs = {job.name for job in defs.jobs}
    plan = []
    for name in GENERATORS:  # master data, then each day, then the summaries built on them
        plan += [(f"{name}_master", None), *((f"{name}_daily", p) for p in partitions)]
        plan += [(f"{name}_summaries", None)] if f"{name}_summaries" in jobs else []
    with console.status("") as status:
        for job_name, partition in plan:
            status.update(f"running {job_name}" + (f" for {partition}" if partition else ""))
            started = datetime.now()
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=partition, raise_on_error=False
            )
            seconds = (datetime.now() - started).total_seconds()
            label = f"{job_name}{' ' + partition if partition else ''}"
            if not result.success:
                failed = [e.step_key for e in result.all_events if e.is_step_failure]
                _fail(
                    f"{label} failed at {', '.join(failed) or 'run level'} (run {result.run_id}); "
                    f"see `dagster run list` or the UI at {UI_URL}"
                )
            if output == "table":
                console.print(f"[green]done[/] {label} in {seconds:.1f}s")
    _show_summary(settings, defs, output)


def _show_summary(settings: Settings, defs, output: str) -> None:
    from dataplatform.defs.tables import table_for
    from dataplatform.storage import store_for_layer

    data_dir = settings.data_dir.resolve()
    rows = []
    for key in sorted(defs.resolve_asset_graph().get_all_asset_keys(), key=lambda k: k.path):
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
        typer.echo(json.dumps({"assets": rows, "data_dir": str(settings.data_dir.resolve())}))
        return
    view = Table(title="Materialised assets")
    view.add_column("asset", no_wrap=True)
    view.add_column("rows", justify="right")
    view.add_column("backend")
    view.add_column(f"location under {data_dir}", overflow="fold")
    for row in rows:
        view.add_row(row["asset"], f"{row['rows']:,}", row["backend"], _relative(row["location"], data_dir))
    console.print(view)
    console.print(f"Data: {data_dir}   Dagster instance: {os.environ['DAGSTER_HOME']}")
    console.print(f"Open the UI with [bold]make dev[/] and browse {UI_URL}")


def _relative(location: str, root: Path) -> str:
    prefix = f"{root}/"
    return location[len(prefix) :] if location.startswith(prefix) else location


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _recent_partitions(settings: Settings, days: int) -> list[str]:
    if days <= 0:
        _fail("--days must be at least 1")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = max(settings.start_date, yesterday - timedelta(days=days - 1))
    if first > yesterday:
        _fail(
            f"DATAPLATFORM_START_DATE={settings.start_date} is after yesterday ({yesterday}): no complete day to run"
        )
    return [(first + timedelta(days=i)).isoformat() for i in range((yesterday - first).days + 1)]


def _instance(settings: Settings):
    """The embedded instance under DAGSTER_HOME (default: settings.dagster_home)."""
    from dagster import DagsterInstance

    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=1)
