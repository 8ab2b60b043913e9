"""The Pollock CSV-loading benchmark's scorer, and the loaders it is run with.

Pollock (Vitagliano et al., VLDB 2023) damages one clean table 2,290 ways and asks how much of
it a loader gets back. Its data live outside the repository (see `pollock_dir`), never copied
in. This module is shared by `bench/pollock.py` (every file) and
`platform_tests/integration/test_pollock_sample.py` (a sample in CI), so both score alike.

The scorer follows the method as the folder's README describes it, written from that text, in
pure Python (the csv module), so it needs nothing the benchmark does not already have and
scores 2,290 files for every contender in seconds. Per file, ten measures:

* success: 1 when the loader produced output, 0 when it failed. A failed load scores 0 on all
  ten (there is nothing to compare). An output of zero bytes for a source that holds something
  counts as no output: every loader here writes at least a header when it loaded anything;
* header precision, recall, F1: the first row of each file, as multisets of normalised cells;
* record precision, recall, F1: the other rows, each the concatenation of its normalised
  cells, as multisets;
* cell precision, recall, F1: every cell of each file (header included), normalised, as
  multisets.

Choices the README leaves open, and why they are made this way:

* Precision divides the common count by the clean file's count, recall by the loaded file's:
  the paper's naming, kept literally so the figures compare with the published ones (in the
  usual naming they are the other way round; F1 is the same either way).
* A clean file whose source has no header (`parameters/<file>_parameters.json` says
  `header_lines: 0`; the clean file then starts with data) scores 1 on the header, and all
  rows of both files are compared as records: a loader that invents a header row
  (`column0, ...`) pays for it in record and cell recall, one that writes none pays nothing.
* Cells are normalised for the cell measures too (the paper's code compared raw cells there):
  otherwise a loader that types a date column and writes ISO dates would lose every date cell
  while matching every record, which says nothing about the load.
* Normalising (`normalise`): empty stays empty; true/false (any case) and the integers 0 and 1
  become "0"/"1"; integers are written by `int`; floats by `repr`, or as an integer when they
  hold one (2.0 and 2 are the same value, a loader that types the column as double loses
  nothing); dates become YYYY-MM-DD, date-times YYYY-MM-DD HH:MM:SS[.ffffff] in UTC (at
  midnight, the date alone, so a date read as a timestamp still matches), times HH:MM:SS;
  prices become currency plus canonical amount ($48.00 -> $48); anything else is lower-cased,
  with its spaces kept. Numeric dates with the day and month both 12 or less are read day
  first, as the benchmark's source writes them (28/01/2018); every date in its data has a day
  above 12, so this decides nothing there.
* A source with no rows, header or cells scores 1 on that part, whatever was loaded (the
  paper's rule: an empty file loaded as anything but an error is right).
* Beside the ten measures, `Score.in_place` compares rows as tuples of cells: the paper's
  measures miss a value moved to another column (see `Score`). It is in neither score.

Simple score: the mean of each measure over the files, summed over the ten (at most 10).
Weighted score: each file's sum of ten times its weight over the sum of the weights of the
files scored (at most 10; on a subset, the subset's own weights, so the scale stays 0-10).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cache, lru_cache
from pathlib import Path

MEASURES = (
    "success",
    "header_precision",
    "header_recall",
    "header_f1",
    "record_precision",
    "record_recall",
    "record_f1",
    "cell_precision",
    "cell_recall",
    "cell_f1",
)
REPO = Path(__file__).resolve().parent.parent
ENV_DIR = "DATAPLATFORM_POLLOCK_DIR"
FILES_IN_PUBLISHED_RUN = 2290

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a misread quote makes one field of a whole file


def pollock_dir() -> Path:
    """The Pollock folder: `$DATAPLATFORM_POLLOCK_DIR`, else `shared/pollock` beside the repository
    (CI clones the repository with a read-only copy of `shared/` next to it)."""
    configured = os.environ.get(ENV_DIR)
    return Path(configured) if configured else REPO.parent / "shared" / "pollock"


def missing_reason(folder: Path) -> str | None:
    """Why `folder` cannot be used as the Pollock folder, or None when it can."""
    needed = [folder / "polluted_files" / part for part in ("csv", "clean", "parameters")]
    needed.append(folder / "pollock_weights.json")
    absent = [str(p) for p in needed if not p.exists()]
    if absent:
        return f"the Pollock data are not at {folder} (set {ENV_DIR}); missing: {', '.join(absent)}"
    return None


def file_names(folder: Path) -> list[str]:
    """Every damaged file's name, sorted."""
    return sorted(p.name for p in (folder / "polluted_files" / "csv").iterdir() if p.suffix == ".csv")


def load_weights(folder: Path) -> dict[str, float]:
    """How common each damage is in open-data portals, by file name."""
    return {k: float(v) for k, v in json.loads((folder / "pollock_weights.json").read_text()).items()}


_FAMILY_ROW = re.compile(r"(row_[a-z_]+?)_?(?:row)?\d")
_FAMILY_SUFFIX = re.compile(r"(?:_0x[0-9A-Fa-f]+)+$|_\d+$")


def family(name: str) -> str:
    """The damage a file's name says: `row_more_sep`, `file_field_delimiter`, `source`, ...

    Row families put the row and column in the name (`row_less_sep_row7_col3`), file families
    the character (`file_escape_char_0x5C`); both are stripped so the variants group together.
    """
    stem = name.removesuffix(".csv")
    if stem.startswith("row_"):
        found = _FAMILY_ROW.match(stem)
        return found.group(1) if found else stem
    return _FAMILY_SUFFIX.sub("", stem)


def subset(names: Sequence[str], count: int) -> list[str]:
    """`count` of `names`, deterministic and spread over every damage family.

    Families take turns, one file each (the one-file families of whole-file damage are thus all
    in as soon as `count` allows); within a family the files are taken spread out over the
    sorted list (middle, quarters, eighths...) so a small subset still covers different rows and
    columns. The result is sorted.
    """
    if count >= len(names):
        return sorted(names)
    groups: dict[str, list[str]] = defaultdict(list)
    for name in sorted(names):
        groups[family(name)].append(name)
    queues = {key: _spread(members) for key, members in sorted(groups.items(), key=lambda kv: len(kv[1]))}
    chosen: list[str] = []
    while len(chosen) < count:
        for queue in queues.values():
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return sorted(chosen)


def _spread(items: list[str]) -> list[str]:
    """`items` reordered so any prefix is spread over the whole list: strides halve each pass."""
    order: list[int] = []
    seen: set[int] = set()
    stride = 1
    while stride < len(items):
        stride *= 2
    while stride >= 1:
        for index in range(stride // 2 if stride > 1 else 0, len(items), stride):
            if index not in seen:
                seen.add(index)
                order.append(index)
        stride //= 2
    return [items[i] for i in order]


# --- normalising a cell -------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?")
_TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
_ZONE = r"\s*(?P<tz>Z|UTC|[+-]\d{2}(?::?\d{2})?)?"
_ISO_DATE = re.compile(
    r"(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?:[T ]" + _TIME + _ZONE + ")?"
)
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?:[T ]" + _TIME + _ZONE + ")?"
)
_CLOCK = re.compile(_TIME + r"(?:\s*(?P<ampm>[AaPp])\.?[Mm]\.?)?")
_PRICE = re.compile(
    r"(?P<c1>[$€£¥₹]|[A-Z]{3})\s?(?P<a1>[+-]?(?:\d+(?:\.\d+)?|\.\d+))"
    r"|(?P<a2>[+-]?(?:\d+(?:\.\d+)?|\.\d+))\s?(?P<c2>[$€£¥₹]|[A-Z]{3})"
)


@lru_cache(maxsize=1 << 18)
def normalise(cell: str) -> str:
    """`cell` written so that type-equal values compare equal (the rules: module docstring).

    Cached: the benchmark's 2,290 files hold one table's few thousand distinct values.
    """
    if cell == "":
        return ""
    value = cell.strip()
    lowered = value.lower()
    if lowered in ("true", "false"):
        return "1" if lowered == "true" else "0"
    if _INT.fullmatch(value):
        return str(int(value))
    if _FLOAT.fullmatch(value):
        return _number(float(value))
    moment = _moment(value)
    if moment is not None:
        return moment
    price = _PRICE.fullmatch(value)
    if price:
        currency = price.group("c1") or price.group("c2")
        return currency + _number(float(price.group("a1") or price.group("a2")))
    return cell.lower()


def _number(number: float) -> str:
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _moment(value: str) -> str | None:
    """A date, date-time or time in canonical form, or None when `value` is none of them."""
    try:
        if found := _ISO_DATE.fullmatch(value):
            day = date(int(found["y"]), int(found["m"]), int(found["d"]))
            return _stamp(day, found)
        if found := _NUMERIC_DATE.fullmatch(value):
            first, second, year = int(found["a"]), int(found["b"]), int(found["y"])
            if len(found["y"]) == 2:
                year += 2000 if year < 70 else 1900
            day_first = not (first <= 12 < second)
            day = date(year, second, first) if day_first else date(year, first, second)
            return _stamp(day, found)
        if found := _CLOCK.fullmatch(value):
            hour = int(found["H"])
            if found["ampm"]:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if found["ampm"] in "Pp" else 0)
            return _clock(hour, found).isoformat()
    except ValueError:  # out of range: 31/02, 25:00
        return None
    return None


def _clock(hour: int, found: re.Match[str]) -> clock:
    micro = int((found["f"] or "0")[:6].ljust(6, "0"))
    return clock(hour, int(found["M"]), int(found["S"] or 0), micro)


def _stamp(day: date, found: re.Match[str]) -> str:
    if found["H"] is None:
        return day.isoformat()
    moment = datetime.combine(day, _clock(int(found["H"]), found))
    zone = found["tz"]
    if zone and zone not in ("Z", "UTC"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        moment = (moment.replace(tzinfo=UTC) - sign * offset).replace(tzinfo=None)
    if moment.time() == clock(0):
        return moment.date().isoformat()
    return moment.isoformat(sep=" ")


# --- scoring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """One file's ten measures, in the order of `MEASURES`, and whether its rows are in place.

    `in_place` is not one of the paper's measures: it says every loaded row, compared as a tuple
    of normalised cells (header included), is a row of the clean table, as many times. The
    paper's measures cannot see a value moved to another column when the row's concatenation
    and its multiset of cells stay the same: a row with one separator too many, read into the
    table's width, shifts every value after it right and drops the last (empty) one, and still
    scores 10. A data platform must not, so the benchmark reports such files too.
    """

    file: str
    values: tuple[float, ...]
    in_place: bool = False

    def __getitem__(self, measure: str) -> float:
        return self.values[MEASURES.index(measure)]

    @property
    def total(self) -> float:
        return sum(self.values)

    @property
    def success(self) -> bool:
        return self.values[0] == 1


@dataclass(frozen=True)
class Expected:
    """A clean file, normalised once and kept as the multisets every loaded file is compared to."""

    name: str
    empty: bool  # the clean file holds nothing at all (a source with no payload)
    has_header: bool
    header: Counter[str]
    header_count: int
    records: Counter[str]
    record_count: int
    cells: Counter[str]
    cell_count: int
    rows: Counter[tuple[str, ...]]  # every row as a tuple of normalised cells, header included
    header_row: tuple[str, ...]  # the header in its order (empty when there is none)


def read_rows(path: Path) -> list[list[str]]:
    """A standard CSV (comma, double quote) as rows of text; undecodable bytes replaced."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return list(csv.reader(handle))


def expected(folder: Path, name: str) -> Expected:
    """`clean/<name>` with its header as `parameters/<name>_parameters.json` says: a source
    written without a header (`header_lines: 0`) has none in its clean file either."""
    files = folder / "polluted_files"
    parameters = json.loads((files / "parameters" / f"{name}_parameters.json").read_text())
    rows = read_rows(files / "clean" / name)
    has_header = bool(rows) and int(parameters.get("header_lines", 1)) > 0
    return expect(name, rows, has_header)


def expect(name: str, rows: list[list[str]], has_header: bool) -> Expected:
    """The multisets of a clean table given as rows (the first a header when `has_header`)."""
    normal = [[normalise(c) for c in row] for row in rows]
    header = normal[0] if has_header else []
    records = normal[1:] if has_header else normal
    cells = [c for row in normal for c in row]
    return Expected(
        name=name,
        empty=not rows,
        has_header=has_header,
        header=Counter(header),
        header_count=len(header),
        records=Counter("".join(r) for r in records),
        record_count=len(records),
        cells=Counter(cells),
        cell_count=len(cells),
        rows=Counter(tuple(r) for r in normal),
        header_row=tuple(header),
    )


def score_rows(clean: Expected, loaded: list[list[str]] | None) -> Score:
    """The ten measures of `loaded` (None: the load failed) against `clean`."""
    if loaded is None or (not loaded and not clean.empty):
        return Score(clean.name, (0.0,) * len(MEASURES))
    if clean.empty:
        return Score(clean.name, (1.0,) * len(MEASURES), in_place=not loaded)
    normal = [[normalise(c) for c in row] for row in loaded]
    if clean.has_header:
        header = _prf(clean.header, clean.header_count, Counter(normal[0]), len(normal[0]))
        records = normal[1:]
    else:
        header = (1.0, 1.0, 1.0)
        records = normal
    record = _prf(clean.records, clean.record_count, Counter("".join(r) for r in records), len(records))
    cells = [c for row in normal for c in row]
    cell = _prf(clean.cells, clean.cell_count, Counter(cells), len(cells))
    in_place = Counter(tuple(r) for r in normal) == clean.rows and (
        not clean.has_header or tuple(normal[0]) == clean.header_row
    )
    return Score(clean.name, (1.0, *header, *record, *cell), in_place)


def score_file(folder: Path, name: str, loaded: Path | None) -> Score:
    """`loaded` (a standard CSV, header first; None or absent: the load failed) against the
    clean file of `name`."""
    rows = read_rows(loaded) if loaded is not None and loaded.exists() else None
    return score_rows(expected(folder, name), rows)


def _prf(clean: Counter[str], clean_count: int, loaded: Counter[str], loaded_count: int) -> tuple[float, ...]:
    """Precision (common / clean count), recall (common / loaded count), F1, as the paper names them."""
    if clean_count == 0:
        return (1.0, 1.0, 1.0)
    common = sum((clean & loaded).values())
    if common == 0 or loaded_count == 0:
        return (0.0, 0.0, 0.0)
    precision, recall = common / clean_count, common / loaded_count
    return (precision, recall, 2 * precision * recall / (precision + recall))


def simple_score(scores: Iterable[Score]) -> float:
    """Mean of each measure over the files, summed over the ten: the mean of the files' totals."""
    totals = [s.total for s in scores]
    return sum(totals) / len(totals) if totals else 0.0


def weighted_score(scores: Iterable[Score], weights: Mapping[str, float]) -> float:
    """Each file's total times its weight over the sum of the scored files' weights."""
    scores = list(scores)
    missing = [s.file for s in scores if s.file not in weights]
    if missing:
        raise ValueError(f"no Pollock weight for {', '.join(missing[:5])}")
    weight = sum(weights[s.file] for s in scores)
    return sum(s.total * weights[s.file] for s in scores) / weight if weight else 0.0


# --- loaders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What one loader did with one file: where its CSV is (None: it failed) and what it said."""

    output: Path | None
    seconds: float
    error: str | None = None  # "FormatError: ..." when the load raised
    refused: bool = False  # raised a ValueError of its own (a stated refusal, not a crash)
    warnings: tuple[str, ...] = ()
    bad_rows: int = 0
    rows: int = 0  # rows loaded (the header not counted)
    header: bool = False  # a header row was written

    @property
    def recorded(self) -> bool:
        """The loader said something was off: an error, a warning, a quarantined row."""
        return self.error is not None or bool(self.warnings) or self.bad_rows > 0


def load_platform(source: Path, out: Path, policy: str) -> Load:
    """`read_file(source, policy)` written to `out`: the header row (the cells as delivered)
    only when the platform found one, then the good rows.

    The import is outside the `try`: a platform that cannot be imported stops the run instead
    of scoring 0 on every file.
    """
    from dataplatform.ingest.read import read_file

    started = time.perf_counter()
    try:
        result = read_file(source, policy=policy)
    except Exception as error:
        return _failed(error, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    header = list(result.detected.columns) if result.detected.header else None
    write_table(out, result.table, header)
    return Load(
        out,
        seconds,
        warnings=tuple(result.warnings),
        bad_rows=len(result.bad_rows),
        rows=result.table.num_rows,
        header=header is not None,
    )


PAPER_DUCKDB_OPTIONS: Mapping[str, object] = {
    "strict_mode": False,
    "ignore_errors": True,
    "null_padding": True,
}
"""The options of the paper's "DuckDB auto" run (its `sut/duckdbauto/duck-bench.py`): detection
still automatic, but lenient: quotes not enforced, bad rows dropped, short rows padded."""


def load_duckdb(source: Path, out: Path, options: Mapping[str, object] | None = None) -> Load:
    """DuckDB's `read_csv` with its own detection (and `options`, if any; none by default),
    written with its column names as the header (`column0`... when it found none).

    One connection per process, reused, as anyone loading many files would: a new connection
    per file costs more than reading one of these files.
    """
    started = time.perf_counter()
    try:
        table = duckdb_connection().read_csv(str(source), **dict(options or {})).to_arrow_table()
    except Exception as error:
        return _failed(error, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    write_table(out, table, table.column_names)
    return Load(out, seconds, rows=table.num_rows, header=True)


@cache
def duckdb_connection():
    """This process's DuckDB connection for the DuckDB contenders, opened on first use."""
    import duckdb

    return duckdb.connect()


def _failed(error: Exception, seconds: float) -> Load:
    message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return Load(None, seconds, error=message, refused=isinstance(error, ValueError))


def write_table(out: Path, table, header: Sequence[str] | None) -> None:
    """A pyarrow table as a standard CSV the normaliser reads back as the same values: dates
    and times ISO, floats by `repr`, booleans true/false, nulls empty."""
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = [[_text(v) for v in column.to_pylist()] for column in table.columns]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | clock):
        return value.isoformat()
    return str(value)
