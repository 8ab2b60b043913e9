"""`dataplatform generate`: synthetic data for a date range, written without Dagster.

The generators (numpy, pyarrow) are imported inside the command, so `dataplatform --help` stays
fast."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from dataplatform.cli._output import console, current_settings, errors, fail, print_json
from dataplatform.settings import Settings


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
    partition: Annotated[
        str, typer.Option(help="day, week or month: a weekly or monthly range covers whole weeks or months.")
    ] = "day",
    compression: Annotated[str, typer.Option(help="zstd, snappy, gzip or none.")] = "zstd",
    row_group_rows: Annotated[
        int | None, typer.Option(help="Rows per Parquet row group (default: the format's).")
    ] = None,
    file_rows: Annotated[
        int | None, typer.Option(help="Rows per data file, parquet writer only (default 10,000,000).")
    ] = None,
    knob: Annotated[list[str] | None, typer.Option(help="A volume knob, name=value; repeatable.")] = None,
    show: Annotated[bool, typer.Option("--list", help="Show domains, tables, knobs and writers.")] = False,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Write synthetic data for a date range without Dagster, one partition at a time."""
    from dataplatform.generate.export import GenerateError
    from dataplatform.generate.library import export

    settings = current_settings()
    if show:
        _show_generators(settings, output_format)
        return
    if domain is None or output is None:
        fail("give a domain and an output, e.g. `dataplatform generate ecommerce ./out` (or --list)")
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
            partition=partition,
            compression=compression,
            row_group_rows=row_group_rows,
            file_rows=file_rows,
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
        fail(str(error))
    summary = {
        "domain": domain,
        "writer": writer,
        "output": output,
        "start": job.request.start.isoformat(),
        "end": job.request.end.isoformat(),
        "partition": partition,
        "partitions": result.done,
        "rows": result.rows,
        "tables": result.tables,
        "seconds": round(seconds, 3),
        "rows_per_second": round(result.rows / max(seconds, 1e-9)),
    }
    if output_format == "json":
        print_json(summary)
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
        print_json(shown)
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
        fail(f"{option} {text!r} is not a date; use YYYY-MM-DD")


def _knobs(pairs: list[str]) -> dict[str, str]:
    knobs = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--knob {pair!r} is not name=value, e.g. --knob orders_per_day=20000")
        knobs[name.strip()] = value.strip()
    return knobs


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
