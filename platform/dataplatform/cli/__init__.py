"""The `dataplatform` command: run the platform locally and see what it made.

One module per command group (`run`, `generate`, `ingest`, `datasets`, `models`, `api`), their
shared output and error handling in `_output`. Every heavy library (Dagster, MLflow, pandas,
scikit-learn) is imported inside the commands, so `dataplatform --help` stays fast."""

from __future__ import annotations

from pathlib import Path

import typer

from dataplatform.cli import api, datasets, generate, ingest, models, run

app = typer.Typer(help="A Dagster-orchestrated data platform.", no_args_is_help=True, add_completion=False)
app.command()(run.run)
app.command()(generate.generate)
app.add_typer(ingest.app, name="ingest")
app.add_typer(datasets.app, name="datasets", help="Registered ML datasets: register, describe, export.")
app.add_typer(models.app, name="models", help="ML models: train, list, show, promote, predict (MLflow).")
app.add_typer(api.app)  # serve, publish-gold, api-key: the REST API's commands, at the top level
app.add_typer(run.runs_app, name="runs", help="Runs of the platform's jobs in the Dagster instance.")


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
