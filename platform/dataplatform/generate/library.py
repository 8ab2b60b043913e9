"""The generators as a Python library: what `dataplatform generate` does, callable from code.

    from dataplatform.generate.library import domains, generate, schema

    domains()                                   # ['ecommerce', 'market', 'sensors', 'weather']
    schema("ecommerce", "orders")               # the Arrow schema of the table as written
    generate("ecommerce", "2025-01-01", "2025-01-31", output="./out", seed=7,
             knobs={"orders_per_day": 500})      # -> Progress (rows per table)
    generate("ecommerce", "2025-01-06", "2025-02-02", output="./out", writer="delta",
             partition="week", compression="snappy", row_group_rows=100_000)

A notebook, a test fixture or another program gets the same rows as the command for the same
request, because both go through one `Export` (the check of the output before anything is
written, then one partition at a time). Without dates, the range is the last
`DATAPLATFORM_RECENT_DAYS` days ending yesterday (UTC), the days `make run` materialises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from dataplatform.domains import domain, generated
from dataplatform.generate.export import (
    Export,
    GenerateError,
    GenerateRequest,
    Progress,
    parts,
    tables_of,
)
from dataplatform.settings import Settings, current_settings

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.generate.writers.base import Writer

# the smallest positive scale: every scaled count becomes 1, enough rows to learn the types from
_TINY = 1e-9


def domains() -> list[str]:
    """Every domain a generator exists for, in registry order."""
    return list(generated())


def default_range(settings: Settings, today: date | None = None) -> tuple[date, date]:
    """The last `recent_days` days ending yesterday (UTC): a day is generated whole, so today,
    still running, is never in the default range."""
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return yesterday - timedelta(days=settings.recent_days - 1), yesterday


def generate(
    domain_name: str,
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    report: Callable[[Progress], None] | None = None,
    **options: Any,
) -> Progress:
    """Write `domain_name` from `start` to `end` (inclusive) as the command does: `options` are
    those of `export` (`output`, `writer`, `seed`, `knobs`, `scale`, `tables`, `settings`,
    `partition`, `compression`, `row_group_rows`, `file_rows`).

    The days are those of `date_range`; `seed` and the volume knobs default to
    the settings. Raises `GenerateError` (nothing written) for any request the command refuses.
    """
    job = export(domain_name, start, end, **options)
    return job.run(report) if report else job.run()


def export(
    domain_name: str,
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    output: str,
    writer: str | Writer = "parquet",
    seed: int | None = None,
    knobs: Mapping[str, Any] | None = None,
    scale: float = 1.0,
    tables: tuple[str, ...] | None = None,
    settings: Settings | None = None,
    partition: str = "day",
    compression: str | None = "zstd",
    row_group_rows: int | None = None,
    file_rows: int | None = None,
) -> Export:
    """The checked `generate` request, not yet run: every refusal happens here, before a caller
    shows progress or anything is written (the command builds it first for that reason).

    `partition` is `day`, `week` or `month`; `compression` (zstd, snappy, gzip or none),
    `row_group_rows` and `file_rows` say how data files are written, where the writer's format
    lets them be chosen (a writer refuses an option its format cannot honour; None keeps the
    format's default)."""
    from dataplatform.generate.writers import writer_for
    from dataplatform.storage.backends import WriteOptions
    from dataplatform.storage.contract import StorageError

    settings = settings or current_settings()
    first, last = date_range(start, end, settings)
    request = GenerateRequest(
        domain=domain_name,
        start=first,
        end=last,
        seed=settings.seed if seed is None else seed,
        scale=scale,
        tables=tables,
        knobs=dict(knobs or {}),
        partition=partition,
    )
    try:
        options = WriteOptions(compression, row_group_rows, file_rows)
    except StorageError as error:
        raise GenerateError(str(error)) from None
    target = writer_for(writer, output, settings.data_dir, options) if isinstance(writer, str) else writer
    return Export(request, settings, target)


def schema(domain_name: str, table: str) -> pa.Schema:
    """The Arrow schema `table` of `domain_name` is written with (timestamps in microseconds, as
    every writer stores them; daily tables with `partition_date`). Raises `GenerateError` for an
    unknown domain or table."""
    schemas = _schemas(domain_name)
    if table not in schemas:
        raise GenerateError(f"{domain_name} has no table {table}; its tables: {', '.join(schemas)}")
    return schemas[table]


def listing(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Every domain with its tables (columns and types, partitioned or not), knobs and which
    knobs `scale` multiplies, and every writer: the JSON of `dataplatform generate --list`."""
    from dataplatform.generate.writers import WRITERS

    shown = []
    for spec in generated().values():
        masters, dailies = tables_of(spec)
        shown.append(
            {
                "domain": spec.name,
                "master_tables": masters,
                "daily_tables": dailies,
                "tables": [
                    {
                        "table": name,
                        "partitioned": name in dailies,
                        "columns": [{"name": f.name, "type": str(f.type)} for f in schema(spec.name, name)],
                    }
                    for name in (*masters, *dailies)
                ],
                "knobs": spec.volumes(settings).model_dump(),
                "scaled": spec.scaled,
            }
        )
    writers = [
        {"writer": w.name, "description": w.description, "object_storage": w.remote} for w in WRITERS.values()
    ]
    return {"domains": shown, "writers": writers}


def date_range(start: date | str | None, end: date | str | None, settings: Settings) -> tuple[date, date]:
    """The days asked for: neither date gives `default_range`; `end` alone starts at
    `DATAPLATFORM_START_DATE` (the first day the platform knows), `start` alone is one day."""
    if start is None and end is None:
        return default_range(settings)
    first = _day("start", start) if start is not None else settings.start_date
    return first, _day("end", end) if end is not None else first


def _day(name: str, value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GenerateError(f"{name} {value!r} is not a date: write YYYY-MM-DD") from None


@cache
def _schemas(domain_name: str) -> dict[str, pa.Schema]:
    """Each table's schema, from one day of the domain at the smallest volumes: the generators
    build their tables from code, so generating is the one source of truth for the types (a
    hand-kept list would drift from it). Types depend on neither seed, day nor volumes."""
    from dataplatform.storage.schema import normalise

    try:
        spec = domain(domain_name)
    except ValueError as error:
        raise GenerateError(str(error)) from None
    first = Settings.model_fields["start_date"].default
    request = GenerateRequest(domain=spec.name, start=first, end=first, scale=_TINY)
    return {part.table: normalise(part.data.schema) for part in parts(request, Settings.model_construct())}
