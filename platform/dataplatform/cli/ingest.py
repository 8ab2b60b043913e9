"""`dataplatform ingest load|status|restore`: reference files through the drop folder, as the
sensor takes them.

The ingest package (Arrow, Delta Lake) is imported inside the commands, so `dataplatform --help`
stays fast."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from dataplatform.cli._output import Format, console, current_settings, fail, print_json

# Before `ingest` had subcommands these two words were its modes, unless a file of that name was
# in the current folder; that rule stays, so `ingest status` loads a file named `status` as before.
_MODES_BEFORE = ("status", "restore")


class _LoadUnlessSubcommand(TyperGroup):
    """`dataplatform ingest FILE [options]` is `dataplatform ingest load FILE [options]`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's own (vendored) click
        return super().parse_args(ctx, _with_subcommand(args, self.commands))


app = typer.Typer(
    cls=_LoadUnlessSubcommand,
    help="Reference files through the drop folder, exactly as the sensor takes them: load one, "
    "list what became of every file delivered, bring back what a full reload replaced.\n\n"
    "`dataplatform ingest FILE`, with any of load's options, is `dataplatform ingest load FILE`. "
    "A first argument `status` or `restore` is that command, unless a file of that name is in the "
    "current folder: then it is loaded, as before these were commands.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def load(
    file: Annotated[Path, typer.Argument(help="The file to load (CSV, TSV, JSON, Parquet, Excel, ...).")],
    table: Annotated[
        str | None, typer.Option(help="Reference table to load into (default: the file's name).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="full, append or upsert (default: the table's).")] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Declare --table as a new reference table if it is not one yet.")
    ] = False,
    output: Format = "table",
) -> None:
    """Load one reference file through the drop folder, exactly as the sensor would (a copy of it)."""
    _load(_ingestor(), file, table, mode, create, output)


@app.command()
def status(output: Format = "table") -> None:
    """What became of every file delivered: loaded, duplicate or rejected, and why (the file ledger)."""
    _show_ledger(_ingestor().ledger.entries(), output)


@app.command()
def restore(
    table: Annotated[str | None, typer.Option(help="The reference table to restore (required).")] = None,
    version: Annotated[
        int | None,
        typer.Option(help="The version to bring back (default: the one the last full reload replaced)."),
    ] = None,
    output: Format = "table",
) -> None:
    """Bring back the rows a full reload replaced, as a new version of the table."""
    if not table:
        fail("restore needs --table, e.g. dataplatform ingest restore --table currency_rates")
    _restore(_ingestor(), table, version, output)


def _with_subcommand(args: list[str], commands: Mapping[str, Any]) -> list[str]:
    """`args` with the subcommand first: the first argument that is not an option (nor an
    option's value) when it names a subcommand, else `load` (that argument is the file)."""
    takes_value = {
        name
        for command in commands.values()
        for param in command.params
        if param.param_type_name == "option" and not param.is_flag
        for name in param.opts
    }
    at = 0
    while at < len(args) and args[at].startswith("-") and args[at] != "--":
        if args[at] == "--help":
            return args  # the group's help, listing the subcommands
        at += 2 if args[at] in takes_value else 1
    if not args or (at < len(args) and args[at] in commands and not _loaded_as_file(args[at])):
        return [args[at], *args[:at], *args[at + 1 :]] if args else args
    return ["load", *args]


def _loaded_as_file(word: str) -> bool:
    return word in _MODES_BEFORE and Path(word).is_file()


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


def _restore(ingestor, table: str, version: int | None, output: str) -> None:
    from dataplatform.ingest.modes import LoadError
    from dataplatform.ingest.service import reference_table

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
