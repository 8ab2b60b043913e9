"""`dataplatform ingest`: reference files through the drop folder, as the sensor takes them.

The ingest package (Arrow, Delta Lake) is imported inside the command, so `dataplatform --help`
stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dataplatform.cli._output import Format, console, current_settings, fail, print_json


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
    output: Format = "table",
) -> None:
    """Load one reference file through the drop folder, exactly as the sensor would; show what
    became of every file delivered (`ingest status`); or bring back the rows a full reload
    replaced (`ingest restore --table <table> [--version N]`)."""
    ingestor = _ingestor()
    if target == "status" and not Path(target).is_file():
        _show_ledger(ingestor.ledger.entries(), output)
        return
    if target == "restore" and not Path(target).is_file():
        _restore(ingestor, table, version, output)
        return
    _load(ingestor, Path(target), table, mode, create, output)


def _ingestor():
    settings = current_settings()
    from dataplatform.ingest.dropzone import open_dropzone
    from dataplatform.ingest.service import Ingestor
    from dataplatform.storage import open_store

    return Ingestor(
        open_dropzone(settings.dropzone_root),
        open_store("delta", settings.data_dir.resolve(), lake=settings.lake_root),
        settings.reference_examples,
        settings.pii_secret and settings.pii_secret.get_secret_value(),
    )


def _load(ingestor, source: Path, table: str | None, mode: str | None, create: bool, output: str) -> None:
    entry, created = _ingest_one(ingestor, source, table, mode, create)
    if output == "json":
        shown = {k: v for k, v in vars(entry).items() if k != "format"}
        print_json({**shown, "created_table": created})
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
        fail(
            f"{entry.file} rejected: {entry.error} "
            f"(moved to {ingestor.zone.files.location(ingestor.zone.root / entry.moved_to)})"
        )


def _restore(ingestor, table: str | None, version: int | None, output: str) -> None:
    from dataplatform.ingest.modes import LoadError
    from dataplatform.ingest.service import reference_table

    if not table:
        fail("restore needs --table, e.g. dataplatform ingest restore --table currency_rates")
    try:
        restored, now = ingestor.restore(table, version)
    except (LoadError, ValueError) as error:
        fail(str(error))
    rows = ingestor.store.row_count(reference_table(table))
    if output == "json":
        print_json({"table": table, "restored_version": restored, "version": now, "rows": rows})
    else:
        console.print(f"reference/{table}: version {restored} restored as version {now} ({rows:,} rows)")


def _ingest_one(ingestor, source: Path, table: str | None, mode: str | None, create: bool):
    from dataplatform.ingest.names import safe_names
    from dataplatform.ingest.tables import ConfigError
    from dataplatform.transform.pii import MissingSecret

    try:
        return ingestor.ingest_copy(source, table or safe_names([source.name.split(".")[0]])[0], mode, create)
    except (ConfigError, MissingSecret, FileNotFoundError, IsADirectoryError) as error:
        fail(str(error))


def _show_ledger(entries, output: str) -> None:
    rows = entries.sort_by("processed_at").to_pylist()
    if output == "json":
        print_json({"files": rows})
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
