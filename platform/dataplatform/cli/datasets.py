"""`dataplatform datasets`: register, describe, find, load, export and split ML datasets.

Every command goes through `dataplatform.datasets.client.DatasetClient` over the configured data
folder (`<DATAPLATFORM_DATA_DIR>/datasets/`), so the CLI, notebooks and the Dagster assets see
the same registry, and files are registered only from the configured folders
(`DATAPLATFORM_DATASETS_ROOT`). A user mistake is one line on stderr and exit code 1; the client
raises `DatasetError` before anything is changed, so nothing is left half-registered. The client
(DuckDB, Arrow, pandas) is imported inside the commands so `dataplatform --help` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from dataplatform.cli._output import Format, console, current_settings, errors, fail, print_json

if TYPE_CHECKING:
    from dataplatform.datasets.client import DatasetClient
    from dataplatform.datasets.spec import DatasetSpec

app = typer.Typer(
    help="Registered ML datasets: register files, folders or platform assets and get them back described.",
    no_args_is_help=True,
    add_completion=False,
)
Version = Annotated[
    int | None,
    typer.Option("--version", min=1, help="An earlier version (see `info`); default: the current one."),
]


@app.command()
def register(
    source: Annotated[
        str | None,
        typer.Argument(help="A file (CSV, TSV, Parquet, JSON, JSON lines, .gz) or a Kaggle-style folder."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Dataset name (default: the file, folder or table name).")
    ] = None,
    from_asset: Annotated[
        str | None,
        typer.Option(
            "--from-asset",
            help="A platform asset instead, e.g. gold/ecommerce/customer_value or reference/currency_rates.",
        ),
    ] = None,
    target: Annotated[str | None, typer.Option(help="The target column (default: detected).")] = None,
    id_column: Annotated[
        list[str] | None, typer.Option("--id-column", help="An id column; repeatable (default: detected).")
    ] = None,
    problem_type: Annotated[str | None, typer.Option(help="binary, multiclass or regression.")] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option(
            "--column-type", help="column=type (numeric, categorical, datetime, text, id); repeatable."
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What the dataset is.")] = "",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeatable.")] = None,
    personal: Annotated[
        list[str] | None,
        typer.Option(
            "--personal",
            help="column=rule (pseudonymise, partial, drop): personal data, masked before it is stored; repeatable.",
        ),
    ] = None,
    safe: Annotated[
        list[str] | None,
        typer.Option("--safe", help="A text column the personal-data check leaves alone; repeatable."),
    ] = None,
    no_features: Annotated[bool, typer.Option("--no-features", help="Skip the generic features.")] = False,
    force: Annotated[bool, typer.Option(help="Replace a dataset registered under the same name.")] = False,
    output: Format = "table",
) -> None:
    """Register a dataset and materialise it at once: data, detection, statistics and features."""
    if (source is None) == (from_asset is None):
        fail("give a file or folder, or --from-asset layer/domain/table or reference/<table> (one of them)")
    options: dict[str, Any] = {
        "target": target,
        "id_columns": _listed(id_column),
        "problem_type": problem_type,
        "column_types": _pairs("--column-type", column_type or []),
        "description": description,
        "tags": _listed(tag) or [],
        "features": not no_features,
        "force": force,
        "personal": _pairs("--personal", personal or [], "email=pseudonymise") or None,
        "safe": _listed(safe),
    }
    client = _client()
    with _failing_cleanly():
        if from_asset is not None:
            key, table = _asset_table(from_asset)
            with _steps(1, not no_features, output) as report:
                spec = client.register_table(
                    table, name or key.split("/")[-1], source_asset=key, progress=report, **options
                )
        else:
            assert source is not None  # one of the two, checked above
            splits = len(client.locate(source).files)  # checked here too, before the progress bar
            with _steps(splits, not no_features, output) as report:
                spec = client.register(source, name=name, progress=report, **options)
        info = client.info(spec.name)
    _print_info(info, output, f"registered [bold]{spec.name}[/] from {spec.source_kind} {spec.source}")


@app.command("list")
def list_datasets(
    tag: Annotated[str | None, typer.Option(help="Only datasets with this tag.")] = None,
    name: Annotated[str | None, typer.Option(help="Only names matching this pattern (* ? [..]).")] = None,
    problem_type: Annotated[str | None, typer.Option(help="Only this problem type.")] = None,
    sort: Annotated[str, typer.Option(help="name, registered_at, problem_type or source_kind.")] = "name",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many datasets.")] = None,
    output: Format = "table",
) -> None:
    """The registered datasets, with their target, problem type and rows."""
    client = _client()
    with _failing_cleanly():
        specs = client.list(sort=sort, tag=tag)
        if name is not None:
            from dataplatform.datasets.search import search as matching

            specs = matching(specs, name, "name")
        if problem_type is not None:
            specs = [s for s in specs if s.problem_type == problem_type]
        specs = specs[:limit] if limit is not None else specs
        rows = [_summary(client, s) for s in specs]
    if output == "json":
        print_json({"datasets": rows})
        return
    _show_summaries(rows, "Registered datasets" if rows else None)


@app.command()
def info(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Version = None,
    output: Format = "table",
) -> None:
    """A dataset's spec: ids, target, problem type, classes, column types (and why), rows per table, versions."""
    client = _client()
    with _failing_cleanly():
        found = client.info(name, version)
    _print_info(found, output)


@app.command()
def load(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    split: Annotated[str, typer.Option(help="train, test or another split.")] = "train",
    features: Annotated[bool, typer.Option("--features", help="The split's features instead.")] = False,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="Only this column; repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The first this many rows.")] = 20,
    sample: Annotated[
        int | None, typer.Option(min=1, help="A reproducible random sample of this many rows instead.")
    ] = None,
    version: Version = None,
    output: Format = "table",
) -> None:
    """Rows of a split (or its features), of the current version or an earlier one."""
    client = _client()
    options: dict[str, Any] = {
        "split": split,
        "columns": _listed(column),
        "features": features,
        "version": version,
    }
    with _failing_cleanly():
        if sample is not None:
            frame = client.load(name, sample=sample, **options)
        else:  # only the first frame is read: the rest of the split never leaves the store
            with closing(client.load(name, chunk_size=limit, **options)) as frames:
                frame = next(frames)
    if output == "json":
        print_json({"rows": json.loads(frame.to_json(orient="records", date_format="iso"))})
        return
    view = Table(title=f"{name} {'features of ' if features else ''}{split}: {len(frame):,} rows")
    for label in frame.columns:
        view.add_column(str(label), overflow="fold")
    for values in frame.itertuples(index=False):
        view.add_row(*(_cell(v) for v in values))
    console.print(view)


@app.command()
def stats(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    full: Annotated[bool, typer.Option(help="Every figure: quartiles and top values too.")] = False,
    export: Annotated[
        Path | None, typer.Option(help="Also write every figure to this .json, .yaml or .yml file.")
    ] = None,
    version: Version = None,
    output: Format = "table",
) -> None:
    """Statistics per split and column, as computed at registration; the target's distribution."""
    if export is not None and export.suffix.lower() not in (".json", ".yaml", ".yml"):
        fail(f"--export {export}: use a .json, .yaml or .yml file name")
    client = _client()
    with _failing_cleanly():
        figures = client.stats(name, version)
        shown = figures if full else _brief(figures)
        if export is not None:
            _write_figures(export, figures)
    if output == "json":
        print_json(shown)
    else:
        _show_stats(shown, full)
    if export is not None:
        errors.print(f"statistics written to {export}", highlight=False)


@app.command()
def search(
    pattern: Annotated[str, typer.Argument(help="Text or a glob pattern (* ? [..]); case is ignored.")],
    field: Annotated[str, typer.Option(help="any, name, tag or description.")] = "any",
    output: Format = "table",
) -> None:
    """Find datasets by name, tag or description."""
    client = _client()
    with _failing_cleanly():
        rows = [_summary(client, s) for s in client.search(pattern, field)]  # type: ignore[arg-type]
    if output == "json":
        print_json({"datasets": rows})
        return
    _show_summaries(rows, f"Datasets matching {pattern!r}" if rows else None)


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    destination: Annotated[Path, typer.Argument(help="Folder; files go into <destination>/<name>/.")],
    to: Annotated[
        str, typer.Option("--to", help="File format: csv, parquet or json (JSON lines).")
    ] = "parquet",
    compression: Annotated[
        str | None, typer.Option(help="csv/json: gzip or zstd; parquet: snappy, zstd or gzip.")
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="One table (train, test, features_train, ...); repeatable."),
    ] = None,
    metadata_only: Annotated[
        bool, typer.Option("--metadata-only", help="Only the spec (.yaml) and statistics (.stats.json).")
    ] = False,
    version: Version = None,
    output: Format = "table",
) -> None:
    """Write a dataset's tables, spec and statistics as files."""
    client = _client()
    with _failing_cleanly():
        written = client.export(name, destination, to, compression, _listed(table), metadata_only, version)
    if output == "json":
        print_json({"files": [str(p) for p in written]})
        return
    for path in written:
        console.print(str(path), highlight=False)


@app.command()
def update(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Replace the tags; repeatable.")] = None,
    target: Annotated[
        str | None, typer.Option(help="A new target (rebuilds statistics and features).")
    ] = None,
    id_column: Annotated[
        list[str] | None, typer.Option("--id-column", help="New id columns; repeatable.")
    ] = None,
    problem_type: Annotated[str | None, typer.Option(help="binary, multiclass or regression.")] = None,
    output: Format = "table",
) -> None:
    """Change a dataset's description, tags, target, id columns or problem type."""
    if all(v is None for v in (description, tag, target, id_column, problem_type)):
        fail("nothing to update: give --description, --tag, --target, --id-column or --problem-type")
    client = _client()
    with _failing_cleanly():
        spec = client.update(name, description, _listed(tag), target, _listed(id_column), problem_type)
        found = client.info(spec.name)
    _print_info(found, output, f"updated [bold]{spec.name}[/]")


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    force: Annotated[bool, typer.Option(help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be removed.")] = False,
    output: Format = "table",
) -> None:
    """Remove a dataset's spec and stored tables, every version of them (asks first unless --force)."""
    client = _client()
    with _failing_cleanly():
        planned = client.remove(name, dry_run=True)
        if not dry_run and not force:
            _confirm(planned)
        done = planned if dry_run else client.remove(name)
    if output == "json":
        print_json(
            {
                "name": done.name,
                "spec_file": str(done.spec_file),
                "tables": done.tables,
                "versions": done.versions,
                "removed": done.done,
            }
        )
        return
    verb = "removed" if done.done else "would remove"
    console.print(f"{verb} {done.name}: {_removal_text(done)}", highlight=False)


@app.command()
def split(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    time_column: Annotated[
        str | None, typer.Option(help="The time column (default: the dataset's only datetime column).")
    ] = None,
    folds: Annotated[int, typer.Option(help="1: one train/test cut; more: walk-forward folds.")] = 1,
    test_fraction: Annotated[float, typer.Option(help="Share of rows in test when --folds 1.")] = 0.2,
    gap: Annotated[int, typer.Option(help="Rows left out between each train set and its test set.")] = 0,
    mode: Annotated[str, typer.Option(help="expanding or sliding (with --window).")] = "expanding",
    window: Annotated[int | None, typer.Option(help="Train rows per fold when sliding.")] = None,
    write: Annotated[
        Path | None,
        typer.Option(help="Also write each fold's rows to <folder>/fold_<n>_{train,test}.parquet."),
    ] = None,
    output: Format = "table",
) -> None:
    """Time-ordered splits of the train rows: a train/test cut, or expanding/sliding folds with a gap."""
    client = _client()
    with _failing_cleanly():
        found = client.split(name, time_column, folds, test_fraction, gap, mode, window)  # type: ignore[arg-type]
        if write is not None:
            _write_folds(client, name, found, write)
    summaries = [fold.summary() for fold in found]
    if output == "json":
        print_json({"folds": summaries})
        return
    view = Table(
        title=f"Time-ordered {mode} folds of {name}" if folds > 1 else f"Time-ordered split of {name}"
    )
    for column in ("fold", "train rows", "train from", "train to", "test rows", "test from", "test to"):
        view.add_column(column, justify="right" if "rows" in column or column == "fold" else "left")
    for s in summaries:
        view.add_row(
            str(s["fold"]),
            f"{s['train_rows']:,}",
            *map(str, s["train_time"]),
            f"{s['test_rows']:,}",
            *map(str, s["test_time"]),
        )
    console.print(view)


# helpers ------------------------------------------------------------------------------------


def _client() -> DatasetClient:
    from dataplatform.datasets.client import DatasetClient

    return DatasetClient.for_settings(current_settings())


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    """Turn the errors a user can cause (bad input, a busy store, a missing asset) into `fail`."""
    from dataplatform.datasets.errors import DatasetError
    from dataplatform.engine.errors import EngineError

    try:
        yield
    except (DatasetError, EngineError) as error:
        fail(str(error))
    except OSError as error:  # a folder that cannot be written, a file that vanished
        fail(f"{error.filename}: {error.strerror}" if error.filename else str(error))


def _asset_table(key: str):
    """A platform asset (`layer/domain/table` or `reference/<table>`) read through its layer's
    store, as Arrow; the key normalised."""
    from dataplatform.datasets.errors import DatasetError
    from dataplatform.datasets.sources import asset_table
    from dataplatform.storage import store_for_layer

    try:
        normalised, name = asset_table(key)
    except DatasetError as error:
        fail(f"--from-asset: {error}")
    settings = current_settings()
    store = store_for_layer(settings, name.layer)
    if not store.exists(name):
        known = _asset_keys(settings)
        if normalised not in known:
            closest = get_close_matches(normalised, known, n=3, cutoff=0.6)
            fail(
                f"--from-asset: asset {normalised} does not exist; "
                + (f"the closest: {', '.join(closest)}" if closest else "e.g. gold/ecommerce/customer_value")
            )
        fail(f"asset {normalised} has not been materialised yet; run its job first (e.g. `dataplatform run`)")
    return normalised, store.read(name)


def _asset_keys(settings) -> list[str]:
    """The keys `--from-asset` takes, of every asset the platform defines (stored or not): Dagster
    is imported only here, when a key is not in the store, to tell a typo from an asset not run yet."""
    from dataplatform import assetkeys
    from dataplatform.defs import build_definitions

    keys = build_definitions(settings).resolve_asset_graph().get_all_asset_keys()
    return sorted(assetkeys.text(key.path) for key in keys if assetkeys.is_lake_table(key.path))


def _steps(splits: int, features: bool, output: str):
    """A progress bar fed by the client's step names: each split read, detection, statistics,
    features, the spec."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = splits + 3 + (1 if features else 0)

    @contextmanager
    def bar():
        with Progress(
            TextColumn("{task.description:<40}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            disable=output == "json",
            transient=True,  # a failure leaves only its one error line
        ) as progress:
            task = progress.add_task("registering", total=total)
            steps = {"count": 0}

            def report(step: str) -> None:
                if steps["count"]:
                    progress.advance(task)
                steps["count"] += 1
                progress.update(task, description=step)

            yield report
            progress.update(task, description="registered", completed=total)
        if output != "json":
            errors.print(f"registered in {progress.tasks[0].elapsed or 0:.1f}s", highlight=False)

    return bar()


def _removal_text(removal) -> str:
    versions = ", ".join(map(str, removal.versions)) or "none"
    return f"{removal.spec_file}, tables {', '.join(removal.tables) or 'none'} and versions {versions}"


def _confirm(planned) -> None:
    question = f"remove dataset {planned.name} ({_removal_text(planned)})?"
    try:
        agreed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # no answer at all (stdin closed)
        errors.print()
        agreed = False
    if not agreed:
        fail(f"{planned.name} not removed: answer y to confirm, or pass --force")


def _summary(client: DatasetClient, spec: DatasetSpec) -> dict[str, Any]:
    rows = _rows(client, spec.name)
    return {
        "name": spec.name,
        "source_kind": spec.source_kind,
        "source": spec.source,
        "problem_type": spec.problem_type,
        "target": spec.target,
        "class_count": spec.class_count,
        "splits": spec.splits,
        "rows": {s: rows.get(s) for s in spec.splits},
        "tags": spec.tags,
        "description": spec.description,
        "registered_at": spec.registered_at,
    }


def _rows(client: DatasetClient, name: str) -> dict[str, int]:
    from dataplatform.datasets.errors import DatasetError

    try:
        return client.store.tables(name)
    except DatasetError:  # a spec without a store (copied from git, not registered here yet)
        return {}


def _show_summaries(rows: list[dict[str, Any]], title: str | None) -> None:
    if not rows:
        console.print("no dataset found")
        return
    view = Table(title=title)
    for column in ("name", "problem", "target", "rows", "source", "tags"):
        view.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for row in rows:
        problem = row["problem_type"] or ""
        if row["class_count"] and problem == "multiclass":
            problem += f" ({row['class_count']})"
        rows_text = ", ".join(f"{s} {n:,}" for s, n in row["rows"].items() if n is not None)
        view.add_row(
            row["name"],
            problem,
            row["target"] or "",
            rows_text,
            f"{row['source_kind']} {row['source']}",
            ", ".join(row["tags"]),
        )
    console.print(view)


def _print_info(found: dict[str, Any], output: str, headline: str | None = None) -> None:
    """A dataset's info as JSON, or as a table under `headline`: how register, update and info end."""
    if output == "json":
        print_json(found)
        return
    if headline:
        console.print(headline)
    _show_info(found)


def _show_info(found: dict[str, Any]) -> None:
    view = Table(title=f"Dataset {found['name']}", show_header=False)
    view.add_column("field", style="bold")
    view.add_column("value", overflow="fold")
    reasons = found.get("reasons", {})
    problem = found["problem_type"] or "none"
    if found["class_count"]:
        problem += f", {found['class_count']} classes"

    def why(key: str) -> str:
        return f"  ({reasons[key]})" if key in reasons else ""

    view.add_row("source", f"{found['source_kind']} {found['source']}")
    if found.get("version") is not None:
        kept = ", ".join(str(v["version"]) for v in found["versions"]) or str(found["version"])
        view.add_row("version", f"{found['version']} of {kept} (hash {found['version_hash']})")
    view.add_row("id columns", (", ".join(found["id_columns"]) or "none") + why("id_columns"))
    view.add_row("target", (found["target"] or "none") + why("target"))
    view.add_row("problem type", problem + why("problem_type"))
    view.add_row("rows", ", ".join(f"{t} {n:,}" for t, n in found["rows"].items()))
    view.add_row("description", found["description"])
    view.add_row("tags", ", ".join(found["tags"]))
    view.add_row("registered at", found["registered_at"])
    console.print(view)
    types = Table(title="Column types")
    types.add_column("column")
    types.add_column("type")
    types.add_column("why", overflow="fold")
    for column, kind in found["column_types"].items():
        reason = reasons.get(f"column {column}", "")
        types.add_row(column, kind, reason.split(": ", 1)[-1] if reason.startswith(f"{kind}:") else reason)
    console.print(types)


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    """Per split: rows, columns and the main figures of each column; quartiles and top values left out."""
    keep = ("type", "count", "nulls", "distinct", "min", "max", "mean", "std")
    return {
        split: {
            **{k: v for k, v in table.items() if k != "column_stats"},
            "column_stats": {
                column: {k: v for k, v in values.items() if k in keep}
                for column, values in table["column_stats"].items()
            },
        }
        for split, table in figures.items()
    }


def _show_stats(figures: dict[str, Any], full: bool) -> None:
    for split, table in figures.items():
        view = Table(title=f"{split}: {table['rows']:,} rows, {table['columns']} columns")
        columns = ["column", "type", "count", "nulls", "distinct", "min", "max", "mean", "std"]
        columns += ["quartiles", "top values"] if full else []
        for column in columns:
            left = column in ("column", "type")
            view.add_column(column, no_wrap=left, overflow="fold", justify="left" if left else "right")
        for column, values in table["column_stats"].items():
            cells = [column, values["type"]]
            cells += [
                _cell(values.get(k)) for k in ("count", "nulls", "distinct", "min", "max", "mean", "std")
            ]
            if full:
                quartiles = values.get("quantiles") or {}
                cells.append(" / ".join(_cell(v) for v in quartiles.values()))
                cells.append(", ".join(f"{t['value']} ({t['count']})" for t in values.get("top_values", [])))
            view.add_row(*cells)
        console.print(view)
        distribution = table.get("target_distribution")
        if distribution and distribution["kind"] == "classes":
            shares = ", ".join(
                f"{c}: {v['count']:,} ({v['share']:.1%})" for c, v in distribution["classes"].items()
            )
            console.print(f"target classes in {split}: {shares}", highlight=False)
        elif distribution:
            console.print(
                f"target in {split}: mean {_cell(distribution['mean'])}, std {_cell(distribution['std'])}, "
                f"min {_cell(distribution['min'])}, max {_cell(distribution['max'])}",
                highlight=False,
            )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # an int to Python, but not a number to show
        return str(value)
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _write_figures(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
        return
    import yaml

    path.write_text(
        yaml.safe_dump(json.loads(json.dumps(figures, default=str)), sort_keys=False), encoding="utf-8"
    )


def _write_folds(client: DatasetClient, name: str, folds, folder: Path) -> None:
    frame = client.load(name)
    folder.mkdir(parents=True, exist_ok=True)
    for fold in folds:
        for part, index in (("train", fold.train_index), ("test", fold.test_index)):
            frame.iloc[index].to_parquet(folder / f"fold_{fold.number}_{part}.parquet", index=False)


def _listed(values: list[str] | None) -> list[str] | None:
    """Repeatable options that also accept commas: `--tag a,b --tag c` is a, b, c."""
    if values is None:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _pairs(option: str, pairs: list[str], example: str = "signup_date=datetime") -> dict[str, str]:
    found = {}
    for pair in pairs:
        column, sep, kind = pair.partition("=")
        if not sep or not column.strip() or not kind.strip():
            fail(f"{option} {pair!r} is not column=value, e.g. {option} {example}")
        found[column.strip()] = kind.strip()
    return found
