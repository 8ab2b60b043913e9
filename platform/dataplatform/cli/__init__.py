"""The `dataplatform` command: run the platform locally and see what it made."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from dataplatform.cli.api import app as api_app
from dataplatform.cli.datasets import app as datasets_app
from dataplatform.cli.models import app as models_app
from dataplatform.generate import GENERATORS
from dataplatform.settings import LAYERS, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance, Definitions

    from dataplatform.defs.dead_runs import CleanedRun
    from dataplatform.defs.runs import RunOutcome

app = typer.Typer(help="A Dagster-orchestrated data platform.", no_args_is_help=True, add_completion=False)
app.add_typer(datasets_app, name="datasets", help="Registered ML datasets: register, describe, export.")
app.add_typer(models_app, name="models", help="ML models: train, list, show, promote, predict (MLflow).")
app.add_typer(api_app)  # serve, publish-gold, api-key: the REST API's commands, at the top level
console = Console()
errors = Console(stderr=True)  # progress and errors, so stdout holds only results
UI_URL = "http://127.0.0.1:3000"


@app.callback()
def main() -> None:
    """A Dagster-orchestrated data platform."""
    environment_from_dotenv()


def environment_from_dotenv() -> None:
    """Put the working directory's `.env` into the environment, without overriding what is set,
    as Dagster's own commands do: settings read the file themselves, but variables Dagster
    resolves when a run starts (`EnvVar`s such as the PostgreSQL URL) and those the transforms
    read must be in the environment for a `.env`-only setup to work under `dataplatform`."""
    from dotenv import load_dotenv

    from dataplatform.settings import ENV_FILE

    load_dotenv(Path.cwd() / ENV_FILE, override=False)


@app.command()
def run(
    days: Annotated[int | None, typer.Option(help="Daily partitions to run, ending yesterday (UTC).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Materialise every domain's master data, its last few daily partitions, the gold across
    domains and the summaries, then train the default models. Each job is a run of the code
    location in the Dagster instance, listed in the UI like any other; its event log stays there."""
    settings = _settings()
    partitions = _recent_partitions(settings, days or settings.recent_days)
    instance = _instance(settings)
    cleaned = _clean_dead_runs(instance)

    from dataplatform.defs import build_definitions
    from dataplatform.defs.runs import run_plan

    defs = build_definitions(settings)
    plan = run_plan({job.name for job in defs.jobs}, list(GENERATORS), partitions)
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
        _fail(
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
    selection = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[:2] == ["models", name]]
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


runs_app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(runs_app, name="runs", help="Runs of the platform's jobs in the Dagster instance.")


@runs_app.command("clean")
def clean_runs(output: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """Mark runs whose process is gone failed and free the concurrency slots they held, so they
    block no later run. `dataplatform run`, and every run as it starts, do this first."""
    from dataplatform.defs.dead_runs import clean_dead_runs, say

    cleaned = clean_dead_runs(_instance(_settings()))
    if output == "json":
        typer.echo(json.dumps({"cleaned": [vars(c) for c in cleaned]}))
    elif cleaned:
        console.print(say(cleaned), highlight=False, soft_wrap=True)
    else:
        console.print(
            "no dead run: every unfinished run's process is alive, and no finished run holds a slot"
        )


@app.command()
def generate(
    domain: Annotated[str | None, typer.Argument(help="Domain to generate (see --list).")] = None,
    output: Annotated[
        str | None, typer.Argument(help="Folder or, for parquet and delta, an S3-compatible URI.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day, YYYY-MM-DD (default: with --end, DATAPLATFORM_START_DATE; without, "
            "the last DATAPLATFORM_RECENT_DAYS days to yesterday)."
        ),
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: --start).")] = None,
    seed: Annotated[int | None, typer.Option(help="Base seed (default DATAPLATFORM_SEED).")] = None,
    scale: Annotated[
        float, typer.Option(help="Multiplies the domain's counts (customers, devices, ...).")
    ] = 1.0,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables (default all).")] = None,
    writer: Annotated[str, typer.Option(help="parquet, delta, iceberg or ducklake.")] = "parquet",
    knob: Annotated[list[str] | None, typer.Option(help="A volume knob, name=value; repeatable.")] = None,
    show: Annotated[bool, typer.Option("--list", help="Show domains, tables, knobs and writers.")] = False,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Write synthetic data for a date range without Dagster, one partition at a time."""
    from dataplatform.generate.export import GenerateError
    from dataplatform.generate.library import export

    settings = _settings()
    if show:
        _show_generators(settings, output_format)
        return
    if domain is None or output is None:
        _fail("give a domain and an output, e.g. `dataplatform generate ecommerce ./out` (or --list)")
    try:
        job = export(  # checks all before writing
            domain,
            start and _date("--start", start),
            end and _date("--end", end),
            output=output,
            writer=writer,
            seed=seed,
            knobs=_knobs(knob or []),
            scale=scale,
            tables=tuple(t.strip() for t in tables.split(",") if t.strip()) if tables else None,
            settings=settings,
        )
        with _progress(output_format) as progress:
            task = progress.add_task(f"{domain} -> {writer}", total=job.partitions, rows=0, rate=0.0)
            started = time.perf_counter()

            def report(state) -> None:
                elapsed = max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=state.done, rows=state.rows, rate=state.rows / elapsed)

            result = job.run(report)
        seconds = time.perf_counter() - started
    except GenerateError as error:
        _fail(str(error))
    summary = {
        "domain": domain,
        "writer": writer,
        "output": output,
        "start": job.request.start.isoformat(),
        "end": job.request.end.isoformat(),
        "partitions": result.done,
        "rows": result.rows,
        "tables": result.tables,
        "seconds": round(seconds, 3),
        "rows_per_second": round(result.rows / max(seconds, 1e-9)),
    }
    if output_format == "json":
        typer.echo(json.dumps(summary))
        return
    view = Table(title=f"{domain} {job.request.start} to {job.request.end} -> {writer} {output}")
    view.add_column("table")
    view.add_column("rows", justify="right")
    for name, rows in result.tables.items():
        view.add_row(name, f"{rows:,}")
    console.print(view)
    console.print(f"{result.rows:,} rows in {seconds:.1f}s ({summary['rows_per_second']:,} rows/s)")


def _show_generators(settings: Settings, output_format: str) -> None:
    from dataplatform.generate.library import listing

    shown = listing(settings)
    domains, writers = shown["domains"], shown["writers"]
    if output_format == "json":
        typer.echo(json.dumps(shown))
        return
    view = Table(title="Domains")
    for column in (
        "domain",
        "master tables",
        "daily tables",
        "knobs (--knob name=value; * scaled by --scale)",
    ):
        view.add_column(column)
    for d in domains:
        knobs = ", ".join(f"{k}={v}{'*' if k in d['scaled'] else ''}" for k, v in d["knobs"].items())
        view.add_row(d["domain"], ", ".join(d["master_tables"]), ", ".join(d["daily_tables"]), knobs)
    console.print(view)
    view = Table(title="Writers (--writer)")
    view.add_column("writer")
    view.add_column("writes")
    view.add_column("object storage")
    for w in writers:
        view.add_row(w["writer"], w["description"], "yes" if w["object_storage"] else "local folder only")
    console.print(view)


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {text!r} is not a date; use YYYY-MM-DD")


def _knobs(pairs: list[str]) -> dict[str, str]:
    knobs = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            _fail(f"--knob {pair!r} is not name=value, e.g. --knob orders_per_day=20000")
        knobs[name.strip()] = value.strip()
    return knobs


@app.command()
def ingest(
    target: Annotated[
        str,
        typer.Argument(
            help="A file to load; `status` to list the file ledger; `restore` to undo the last full reload of --table."
        ),
    ],
    table: Annotated[
        str | None, typer.Option(help="Reference table to load into (default: the file's name).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="full, append or upsert (default: the table's).")] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Declare --table as a new reference table if it is not one yet.")
    ] = False,
    version: Annotated[int | None, typer.Option(help="With restore: the version to bring back.")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Load one reference file through the drop folder, exactly as the sensor would; show what
    became of every file delivered (`ingest status`); or bring back the rows a full reload
    replaced (`ingest restore --table <table> [--version N]`)."""
    settings = _settings()
    from dataplatform.ingest.dropzone import open_dropzone
    from dataplatform.ingest.service import Ingestor
    from dataplatform.storage import open_store

    ingestor = Ingestor(
        open_dropzone(settings.dropzone_root),
        open_store("delta", settings.data_dir.resolve(), lake=settings.lake_root),
        settings.reference_examples,
        settings.pii_secret and settings.pii_secret.get_secret_value(),
    )
    if target == "status" and not Path(target).is_file():
        _show_ledger(ingestor.ledger.entries(), output)
        return
    if target == "restore" and not Path(target).is_file():
        _restore(ingestor, table, version, output)
        return
    entry, created = _ingest_one(ingestor, Path(target), table, mode, create)
    if output == "json":
        shown = {k: v for k, v in vars(entry).items() if k != "format"}
        typer.echo(json.dumps({**shown, "created_table": created}, default=str))
    else:
        if created:
            declared = ingestor.zone.files.location(ingestor.zone.incoming / entry.table / "_table.yaml")
            console.print(f"created reference table {entry.table}, declared in {declared}")
        if entry.status == "loaded":
            console.print(
                f"loaded {entry.rows_loaded:,} rows into reference/{entry.table} ({entry.mode}, version "
                f"{entry.table_version}{f', backup version {entry.backup_version}' if entry.backup_version is not None else ''})"
            )
        elif entry.status == "duplicate":
            console.print(
                f"{entry.file} is identical to what reference/{entry.table} holds: archived, nothing reloaded"
            )
        if entry.warnings:
            console.print(f"[yellow]note:[/yellow] {entry.warnings}")
    if entry.status == "rejected":
        _fail(
            f"{entry.file} rejected: {entry.error} "
            f"(moved to {ingestor.zone.files.location(ingestor.zone.root / entry.moved_to)})"
        )


def _restore(ingestor, table: str | None, version: int | None, output: str) -> None:
    from dataplatform.ingest.modes import LoadError
    from dataplatform.ingest.service import reference_table

    if not table:
        _fail("restore needs --table, e.g. dataplatform ingest restore --table currency_rates")
    try:
        restored, now = ingestor.restore(table, version)
    except (LoadError, ValueError) as error:
        _fail(str(error))
    rows = ingestor.store.row_count(reference_table(table))
    if output == "json":
        typer.echo(json.dumps({"table": table, "restored_version": restored, "version": now, "rows": rows}))
    else:
        console.print(f"reference/{table}: version {restored} restored as version {now} ({rows:,} rows)")


def _ingest_one(ingestor, source: Path, table: str | None, mode: str | None, create: bool):
    from dataplatform.ingest.names import safe_names
    from dataplatform.ingest.tables import ConfigError
    from dataplatform.transform.pii import MissingSecret

    try:
        return ingestor.ingest_copy(source, table or safe_names([source.name.split(".")[0]])[0], mode, create)
    except (ConfigError, MissingSecret, FileNotFoundError, IsADirectoryError) as error:
        _fail(str(error))


def _show_ledger(entries, output: str) -> None:
    rows = entries.sort_by("processed_at").to_pylist()
    if output == "json":
        typer.echo(json.dumps({"files": rows}, default=str))
        return
    view = Table(title="Reference files received")
    for column in ("processed", "table", "file", "status", "rows", "detail"):
        view.add_column(column, justify="right" if column == "rows" else "left")
    for row in rows:
        view.add_row(
            f"{row['processed_at']:%Y-%m-%d %H:%M:%S}",
            row["table"],
            row["file"],
            row["status"],
            "" if row["rows_loaded"] is None else f"{row['rows_loaded']:,}",
            row["error"] or row["moved_to"],
        )
    console.print(view if rows else "no file received yet")


def _progress(output_format: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("partitions  {task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        console=errors,
        disable=output_format == "json",
    )


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
    rows = []
    for key in sorted(defs.resolve_asset_graph().get_all_asset_keys(), key=lambda k: k.path):
        if key.path[0] not in (*LAYERS, "reference"):  # registered datasets keep a store of their own
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
        typer.echo(
            json.dumps(
                {
                    "assets": rows,
                    "data_dir": str(settings.data_dir.resolve()),
                    "runs": runs,
                    "cleaned_runs": [vars(c) for c in cleaned],
                }
            )
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


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)
