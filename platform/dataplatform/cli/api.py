"""`dataplatform serve` and `dataplatform api-key`: run the REST API, manage its keys.

FastAPI and uvicorn are imported inside `serve`, so `dataplatform --help` stays fast. A mistake
is one line on stderr and exit code 1. `python -m dataplatform.cli serve` runs without the
console script.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dataplatform.cli._output import (
    Format,
    console,
    current_settings,
    errors,
    fail,
    print_json,
    use_dagster_home,
)

app = typer.Typer(help="The REST API: serve it, manage its keys.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True, add_completion=False)
app.add_typer(keys_app, name="api-key")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000]")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the REST API on uvicorn (gold, runs, checks, datasets, models, /metrics)."""
    import uvicorn

    settings = current_settings()
    api = _api_settings()
    use_dagster_home(settings)  # the instance the platform's runs write to, as `dataplatform run` finds it
    uvicorn.run(
        "dataplatform.api.app:create_app",
        factory=True,
        host=host or api.host,
        port=port or api.port,
        workers=workers,
        log_level="info",
    )


@app.command("publish-gold")
def publish_gold(output: Format = "table") -> None:
    """Publish a snapshot of every gold table in the warehouse now, for the API.

    Gold writes publish their own; this is for a warehouse written before the API existed or
    restored from a backup. It opens the warehouse like a writer does: run it between runs."""
    from dataplatform.engine.errors import EngineError
    from dataplatform.storage import store_for_layer
    from dataplatform.storage.snapshots import publish, snapshot_root

    settings = current_settings()
    if settings.layer_backend("gold") == "postgres":
        fail("gold is in PostgreSQL: the API reads it there, there is nothing to publish")
    store = store_for_layer(settings, "gold")
    try:
        snapshots = [
            publish(store, table, snapshot_root(settings.data_dir)) for table in store.list_tables("gold")
        ]
    except EngineError as error:
        fail(str(error))
    found = [{"table": str(s.table), "rows": s.rows, "version": s.version} for s in snapshots]
    if output == "json":
        print_json(found)
        return
    for item in found:
        console.print(f"{item['table']}: {item['rows']:,} rows published ({item['version']})")
    if not found:
        console.print("no gold table in the warehouse yet")


@keys_app.command("create")
def create_key(
    scope: Annotated[str, typer.Option(help="read (every GET) or admin (also /keys)")] = "read",
    name: Annotated[str, typer.Option(help="Who uses the key")] = "default",
    output: Format = "table",
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from dataplatform.api.keys import ApiKeyError

    store = _store()
    try:
        entry, secret = store.create(name, scope)
    except ApiKeyError as error:
        fail(str(error))
    if output == "json":
        print_json({**entry.shown(), "key": secret})
        return
    console.print(f"API key {entry.id} ({entry.scope}) for {entry.name}:")
    typer.echo(secret)
    errors.print("[yellow]Keep it now: it is not stored and cannot be shown again.[/]")


@keys_app.command("list")
def list_keys(output: Format = "table") -> None:
    """Every key: id, name, scope, created and revoked times (never the key)."""
    keys = [key.shown() for key in _store().list()]
    if output == "json":
        print_json(keys)
        return
    view = Table("id", "name", "scope", "created", "revoked")
    for key in keys:
        view.add_row(key["id"], key["name"], key["scope"], key["created_at"], key["revoked_at"] or "")
    console.print(view)


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id, from `api-key list`")]) -> None:
    """Revoke a key: a running server refuses it from its next request."""
    from dataplatform.api.keys import ApiKeyError

    try:
        entry = _store().revoke(key_id)
    except ApiKeyError as error:
        fail(str(error))
    console.print(f"revoked {entry.id} ({entry.name}) at {entry.revoked_at}")


def _store():
    from dataplatform.api.keys import KeyStore

    return KeyStore(_api_settings().keys_path(current_settings()))


def _api_settings():
    from pydantic import ValidationError

    from dataplatform.api.settings import ApiSettings

    try:
        return ApiSettings()
    except ValidationError as exc:
        problems = [
            f"DATAPLATFORM_API_{'__'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        ]
        fail("invalid setting: " + "; ".join(problems))
