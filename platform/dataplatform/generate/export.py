"""Generate a domain over a date range into a writer, one partition at a time.

Daily tables are partitioned by day (`partition_date`), or by week or month: then each row also
holds its week's Monday (`partition_week`) or its month's first day (`partition_month`), the
column the partitions are named by. A partition is replaced whole, so a weekly or monthly range
covers whole weeks or months. Only one partition's tables are in memory at once, so memory stays
flat however long the range. Everything a user can get wrong (domain, tables, dates, partitions,
scale, knobs, an output holding other data) is checked before the first write: a rejected
request writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dataplatform.domains import Domain, domain
from dataplatform.settings import Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from dataplatform.generate.writers.base import Writer
    from dataplatform.synthetic.batch import GeneratedBatch

DEFECTS, MASTER_DEFECTS = "defects", "master_defects"
PARTITION_COLUMN = "partition_date"
MAX_DAYS = 366 * 50
# the column each partitioning names its partitions by
PARTITION_COLUMNS = {"day": PARTITION_COLUMN, "week": "partition_week", "month": "partition_month"}


class GenerateError(ValueError):
    """A generate request the platform cannot carry out; the message says what to change."""


@dataclass(frozen=True)
class Part:
    """One table's rows for one partition (`day`), or a whole master table (`day` None)."""

    table: str
    day: date | None
    data: pa.Table


@dataclass(frozen=True)
class GenerateRequest:
    domain: str
    start: date
    end: date
    seed: int = 42
    scale: float = 1.0
    tables: tuple[str, ...] | None = None
    knobs: dict[str, Any] = field(default_factory=dict)
    partition: str = "day"  # a key of PARTITION_COLUMNS

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def partition_of(self, day: date) -> date:
        """The first day of the partition `day` falls in: itself, its Monday, or its month's 1st."""
        if self.partition == "week":
            return day - timedelta(days=day.weekday())
        if self.partition == "month":
            return day.replace(day=1)
        return day


def tables_of(spec: Domain) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Master and daily tables a domain can write, including the record of its defects."""
    return (*spec.master_tables, MASTER_DEFECTS), (*spec.daily_tables, DEFECTS)


def plan(request: GenerateRequest, settings: Settings) -> tuple[Domain, Settings, frozenset[str]]:
    """The domain, the settings it runs with and the tables to write, or a GenerateError."""
    try:
        spec = domain(request.domain)
    except ValueError as error:
        raise GenerateError(str(error)) from None
    if request.end < request.start:
        raise GenerateError(f"--end {request.end} is before --start {request.start}")
    if (request.end - request.start).days >= MAX_DAYS:
        raise GenerateError(f"the range spans more than {MAX_DAYS} days; split it into several runs")
    _check_partitions(request)
    if not request.scale > 0:
        raise GenerateError(f"--scale must be greater than 0, got {request.scale}")
    if request.seed < 0:
        raise GenerateError(f"--seed must be 0 or more, got {request.seed}")
    masters, dailies = tables_of(spec)
    wanted = frozenset(request.tables or (*masters, *dailies))
    unknown = sorted(wanted - {*masters, *dailies})
    if unknown:
        raise GenerateError(
            f"{request.domain} has no table {', '.join(unknown)}; its tables: {', '.join((*masters, *dailies))}"
        )
    return spec, _settings_for(spec, request, settings), wanted


def _check_partitions(request: GenerateRequest) -> None:
    """A partition is replaced whole: a range that covers part of a week or month would replace
    it with only those days, so its first and last day must be a partition's first and last."""
    if request.partition not in PARTITION_COLUMNS:
        raise GenerateError(
            f"--partition must be one of {', '.join(PARTITION_COLUMNS)}, got {request.partition!r}"
        )
    if request.partition_of(request.start) != request.start:
        first = "a Monday" if request.partition == "week" else "the 1st of a month"
        raise GenerateError(
            f"--partition {request.partition} replaces whole {request.partition}s: --start "
            f"{request.start} must be {first} (e.g. {request.partition_of(request.start)})"
        )
    following = request.end + timedelta(days=1)
    if request.partition_of(following) != following:
        last = "a Sunday" if request.partition == "week" else "the last day of a month"
        raise GenerateError(
            f"--partition {request.partition} replaces whole {request.partition}s: --end {request.end} must be {last}"
        )


def _settings_for(spec: Domain, request: GenerateRequest, settings: Settings) -> Settings:
    volumes = spec.volumes(settings)
    unknown = sorted(set(request.knobs) - set(type(volumes).model_fields))
    if unknown:
        raise GenerateError(
            f"{spec.name} has no knob {', '.join(unknown)}; its knobs: {', '.join(type(volumes).model_fields)}"
        )
    values = volumes.model_dump()
    for name in spec.scaled:
        values[name] = max(1, round(values[name] * request.scale))
    values.update(request.knobs)
    try:
        scaled = type(volumes).model_validate(values)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"]))
        raise GenerateError(
            f"{spec.name} knob {where}: {problem['msg']} (got {problem.get('input')!r})"
        ) from None
    return spec.with_volumes(settings, scaled).model_copy(update={"seed": request.seed})


def parts(request: GenerateRequest, settings: Settings) -> Iterator[Part]:
    """Master tables first, then each day's tables, in range order; one batch in memory at a time.
    Daily tables partitioned by week or month hold the partition's column too."""
    spec, settings, wanted = plan(request, settings)
    generator = spec.generator_for(settings)
    masters, dailies = tables_of(spec)
    if wanted & set(masters):
        yield from _split(generator.master(), None, MASTER_DEFECTS, wanted, request)
    if wanted & set(dailies):
        for day in request.days:
            yield from _split(generator.day(day), day, DEFECTS, wanted, request)


def _split(
    batch: GeneratedBatch, day: date | None, defects: str, wanted: frozenset[str], request: GenerateRequest
) -> Iterator[Part]:
    import pyarrow as pa

    tables = {**batch.tables, defects: batch.defects}
    column = PARTITION_COLUMNS[request.partition]
    for name, data in tables.items():
        if name in wanted:
            if day is not None and column not in data.column_names:
                start = pa.array([request.partition_of(day)] * data.num_rows, pa.date32())
                data = data.append_column(column, start)
            yield Part(name, day, data)


@dataclass
class Progress:
    """What a run has written so far; `report` is called after every partition."""

    partitions: int
    done: int = 0
    rows: int = 0
    tables: dict[str, int] = field(default_factory=dict)


class Export:
    """A checked request, ready to run: building one generates the first partition of every table
    and refuses an output holding incompatible tables, before anything is written."""

    def __init__(self, request: GenerateRequest, settings: Settings, writer: Writer) -> None:
        from dataplatform.storage.schema import normalise

        spec, _, wanted = plan(request, settings)
        masters, dailies = tables_of(spec)
        self.request = request
        self._domain, self._writer = spec.name, writer
        self._stream = parts(request, settings)
        self._first: list[Part] = []
        seen: set[str] = set()
        for part in self._stream:  # up to the end of the first day: every wanted table once
            self._first.append(part)
            seen.add(part.table)
            if seen == wanted:
                break
        writer.check(spec.name, {p.table: normalise(p.data.schema) for p in self._first})
        has_master = bool(wanted & set(masters))
        starts = {request.partition_of(day) for day in request.days}
        self.partitions = len(starts) * bool(wanted & set(dailies)) + has_master

    def run(self, report: Callable[[Progress], None] = lambda progress: None) -> Progress:
        """Write every partition in order, calling `report` after each."""
        import pyarrow as pa

        from dataplatform.storage.contract import Slice
        from dataplatform.storage.schema import normalise

        column = PARTITION_COLUMNS[self.request.partition]
        progress = Progress(partitions=self.partitions)
        for start, group in groupby(self._chain(), key=self._partition):
            pieces: dict[str, list[pa.Table]] = {}  # the partition's days, table by table
            for part in group:
                pieces.setdefault(part.table, []).append(part.data.cast(normalise(part.data.schema)))
            for table, days in pieces.items():
                data = pa.concat_tables(days, promote_options="permissive")
                where = Slice(column, (start,)) if start is not None else None
                self._writer.write(self._domain, table, data, where)
                progress.rows += data.num_rows
                progress.tables[table] = progress.tables.get(table, 0) + data.num_rows
            progress.done += 1
            report(progress)
        return progress

    def _partition(self, part: Part) -> date | None:
        return None if part.day is None else self.request.partition_of(part.day)

    def _chain(self) -> Iterator[Part]:
        first, self._first = self._first, []  # the first batch can be freed once written
        yield from first
        del first
        yield from self._stream


def export(request: GenerateRequest, settings: Settings, writer: Writer) -> Progress:
    """Generate `request` into `writer`: check the output, then write partition by partition."""
    return Export(request, settings, writer).run()
