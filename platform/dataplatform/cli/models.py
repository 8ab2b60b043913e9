"""`dataplatform models`: train, list, show, promote and score the models of registered datasets.

Every command goes through `dataplatform.models.client.ModelClient` over the configured data
folder and MLflow store, so the CLI, notebooks and the Dagster assets train and promote the same
way. A user mistake is one line on stderr and exit code 1. MLflow and scikit-learn are imported
inside the commands, so `dataplatform --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from dataplatform.cli._output import Format, console, current_settings, fail, print_json

if TYPE_CHECKING:
    from dataplatform.models.client import ModelClient

app = typer.Typer(
    help="ML models: train on registered datasets, track and register in MLflow, promote, score.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def train(
    dataset: Annotated[str, typer.Argument(help="A registered dataset with a target.")],
    model: Annotated[str | None, typer.Option(help="Only this model of the dataset's spec.")] = None,
    output: Format = "table",
) -> None:
    """Train the dataset's models: logged and registered in MLflow, judged, promoted when they pass."""
    client = _client()
    with _failing_cleanly():
        outcomes = client.train(dataset, model=model, tags={"trigger": "cli"})
    found: list[dict[str, Any]] = [
        {
            "model": o.spec.registered_name,
            "version": o.logged.version,
            "run_id": o.logged.run_id,
            "selection_metric": o.spec.selection_metric,
            "holdout": o.trained.holdout,
            "baseline": o.trained.baseline,
            "cv": o.trained.cv_mean,
            "promoted": o.promoted,
            "reasons": o.verdict.reasons,
            "dataset_version": o.dataset_version,
        }
        for o in outcomes
    ]
    if output == "json":
        print_json(found)
        return
    for item in found:
        metric = item["selection_metric"]
        verdict = "[green]champion[/]" if item["promoted"] else "[yellow]not promoted[/]"
        console.print(
            f"{item['model']} v{item['version']}: {metric} {item['holdout'].get(metric, float('nan')):.4f} "
            f"on the holdout (baseline {item['baseline'].get(metric, float('nan')):.4f}) -> {verdict}"
        )
        for reason in item["reasons"]:
            console.print(f"  {reason}")


@app.command("list")
def list_models(output: Format = "table") -> None:
    """Every registered model, its newest version and its aliases."""
    client = _client()
    with _failing_cleanly():
        found = client.tracker.models()
    if output == "json":
        print_json(found)
        return
    view = Table(title="Registered models")
    for column in ("model", "latest", "champion", "challenger"):
        view.add_column(column)
    for item in found:
        aliases = item["aliases"]
        view.add_row(
            item["name"],
            str(item["latest_version"]),
            aliases.get("champion", "-"),
            aliases.get("challenger", "-"),
        )
    console.print(view if found else "no model registered yet: dataplatform models train <dataset>")


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A registered model, e.g. titanic__boosted.")],
    version: Annotated[int | None, typer.Option(min=1, help="A version (default: the champion).")] = None,
    output: Format = "table",
) -> None:
    """A version's metrics, parameters, lineage, aliases and the champion's history."""
    client = _client()
    with _failing_cleanly():
        found = client.tracker.describe(name, None if version is None else str(version))
    if output == "json":
        print_json(found)
        return
    console.print(
        f"[bold]{found['name']}[/] v{found['version']} ({', '.join(found['aliases']) or 'no alias'})"
    )
    for section in ("lineage", "params", "metrics"):
        view = Table(title=section, show_header=False)
        for key, value in found[section].items():
            view.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        console.print(view)
    for move in found["promotions"]:
        console.print(f"champion v{move['from']} -> v{move['to']} at {move['at']}: {move['reason']}")


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="A registered model.")],
    version: Annotated[int, typer.Argument(min=1, help="The version to make champion.")],
    reason: Annotated[str, typer.Option(help="Why, for the record (required).")] = "",
    output: Format = "table",
) -> None:
    """Move `champion` by hand; recorded like the check's moves (from, to, reason, time)."""
    client = _client()
    with _failing_cleanly():
        record = client.promote(f"{name}/{version}", reason)
    if output == "json":
        print_json(record)
    else:
        console.print(f"{name}: champion v{record['from']} -> v{record['to']} ({record['reason']})")


@app.command()
def predict(
    reference: Annotated[str, typer.Argument(help="name@alias (default @champion) or name/version.")],
    source: Annotated[
        Path,
        typer.Argument(
            help="Rows to score: CSV or Parquet holding the dataset's raw columns (like the file "
            "registered) or the model's features."
        ),
    ],
    output_file: Annotated[
        Path, typer.Option("--output", help="Where to write the scored rows (CSV or Parquet).")
    ],
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="A column to carry along (an id); repeatable.")
    ] = None,
) -> None:
    """Score a file's rows with a model and write them with their predictions."""
    client = _client()
    if not source.is_file():
        fail(f"{source}: no such file")
    with _failing_cleanly():
        from dataplatform.datasets.sources import read_source

        [rows] = read_source(source).values()  # read and typed as registration reads a file
        scored = client.predict(
            reference if "@" in reference or "/" in reference else f"{reference}@champion", rows, keep
        )
        output_file.parent.mkdir(parents=True, exist_ok=True)
        if output_file.suffix == ".parquet":
            scored.to_parquet(output_file, index=False)
        else:
            scored.to_csv(output_file, index=False)
    console.print(f"scored {len(scored):,} rows into {output_file}")


def _client() -> ModelClient:
    from dataplatform.models.client import ModelClient

    return ModelClient.for_settings(current_settings())


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    """Turn the errors a user can cause (a bad spec, an unknown model, a missing dataset, the
    tracking store out of reach) into one line."""
    from dataplatform.datasets.errors import DatasetError
    from dataplatform.models.errors import ModelError

    try:
        yield
    except (ModelError, DatasetError) as error:
        fail(str(error))
    except Exception as error:  # MLflow's store errors: unreachable database, locked file
        if type(error).__module__.startswith(("mlflow", "sqlalchemy")):
            fail(f"the MLflow store cannot be used: {str(error).splitlines()[0]}")
        raise
