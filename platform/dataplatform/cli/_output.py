"""What every command group shares: where results and errors go, the `--format` option, the
settings, and how a mistake ends a command (one line on stderr, exit code 1, no traceback)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from dataplatform.settings import Settings, SettingsError, load_settings

console = Console()
errors = Console(stderr=True)  # progress and errors, so stdout holds only results

Format = Annotated[str, typer.Option("--format", help="table or json")]


def print_json(value: Any) -> None:
    """A command's result for `--format json`: one JSON document on stdout (dates as text)."""
    typer.echo(json.dumps(value, default=str))


def current_settings() -> Settings:
    """The platform's settings; a bad setting ends the command with the variable it names."""
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error))


def use_dagster_home(settings: Settings) -> Path:
    """The Dagster instance's folder, DAGSTER_HOME (default: settings.dagster_home), made and put
    in the environment, so runs and the API find the same instance."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)
