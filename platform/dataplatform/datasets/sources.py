"""What a user registers, a single file or a Kaggle-style folder: checked, then read split by split.

DuckDB's readers do the parsing (type detection, gzip, JSON arrays and lines), except that text
is never read as booleans: DuckDB would read `yes`/`no`, `T`/`F` or `True`/`False` as true and
false, and a label would then come back in other words than it was given (a prediction or a
submission must give back `Yes`, not `True`). Such a column stays text (categorical), as
written; real booleans (Parquet, JSON `true`) stay booleans. The store reads a
file straight into its table (`SourceFile.reader`), so a large file is never copied through
Python; `read_source` gives the same data as Arrow tables for callers that want it. A plain
CSV or TSV file of up to `IN_MEMORY_LIMIT` bytes is parsed by pyarrow instead, with the dialect
and column types DuckDB's sniffer finds (`csv_in_parts`). Every failure becomes one
`DatasetError` naming the path and what to do, before anything is stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from dataplatform.datasets.errors import DatasetError

if TYPE_CHECKING:
    from dataplatform.storage.contract import TableName

# suffix (after an optional .gz) -> reader format
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
SUBMISSION_SPLIT = "sample_submission"
MIB = 1024 * 1024
# A CSV or TSV file up to this size is held in memory once, as Arrow (about the file's size).
IN_MEMORY_LIMIT = 1024 * MIB
PART_BYTES = 16 * MIB  # the smallest part of a file parsed on its own thread (see `csv_in_parts`)


@dataclass(frozen=True)
class SourceFile:
    """One file of a source and the split it becomes."""

    split: str
    path: Path
    format: str

    def reader(self) -> tuple[str, list[object]]:
        """The DuckDB query reading this file, and its parameters: the path is never put in the SQL."""
        if self.format in ("csv", "tsv"):
            return READERS[self.format], [str(self.path), csv_buffer_size(self.path)]
        return READERS[self.format], [str(self.path)]


@dataclass(frozen=True)
class Source:
    """A checked source: its files by split (`train` first), and what a folder held besides."""

    kind: str  # "file" or "folder"
    path: Path
    files: list[SourceFile]
    skipped: list[str] = field(default_factory=list)

    @property
    def splits(self) -> list[str]:
        return [f.split for f in self.files]


# The types DuckDB's CSV sniffer picks from: its default ones but BOOLEAN (see above).
CSV_TYPES = (
    "auto_type_candidates = ['BIGINT', 'DOUBLE', 'TIME', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ', 'VARCHAR']"
)
READERS: dict[str, str] = {
    "csv": f"SELECT * FROM read_csv(?, header = true, buffer_size = ?, {CSV_TYPES})",
    "tsv": f"SELECT * FROM read_csv(?, header = true, delim = '\t', buffer_size = ?, {CSV_TYPES})",
    "parquet": "SELECT * FROM read_parquet(?)",
    "json": "SELECT * FROM read_json(?, format = 'auto')",
    "jsonl": "SELECT * FROM read_json(?, format = 'newline_delimited')",
}


def csv_buffer_size(path: Path) -> int:
    """DuckDB's CSV read buffer for this file: one buffer per thread, up to 128 MiB.

    Each buffer becomes a batch of rows, and keeping the file's row order DuckDB merges and
    rewrites batches smaller than its row groups; with its 32 MiB default a 231 MB file took
    5.0-5.6 s of CPU to read into the store, with 116 MiB buffers 3.9-4.4 s.
    """
    per_thread = path.stat().st_size // (os.cpu_count() or 1) + MIB
    return min(max(per_thread, 32 * MIB), 128 * MIB)


# sniffed DuckDB type -> the Arrow type pyarrow parses that column as; a column of any other
# type (TIME, TIMESTAMP WITH TIME ZONE, ...) leaves the file to DuckDB's reader.
ARROW_TYPES: dict[str, pa.DataType] = {
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
NO_CHARACTER = "(empty)"  # how sniff_csv reports a quote, escape or comment character not found


@dataclass(frozen=True)
class CsvParts:
    """A CSV or TSV file pyarrow parses as DuckDB's reader would: the table's schema, and one
    reader per part of the file, in the file's order; together their tables are the file's rows."""

    schema: pa.Schema
    readers: list[Callable[[], pa.Table]]


def csv_in_parts(con: duckdb.DuckDBPyConnection, file: SourceFile) -> CsvParts | None:
    """How pyarrow reads a plain CSV or TSV file into memory, typed as DuckDB's reader types it;
    None when the file should go through DuckDB's reader (`SourceFile.reader`) instead.

    Why: DuckDB reading the benchmark's 231 MB CSV into a Parquet file took 2.3-2.7 s of CPU;
    sniffing with DuckDB (0.15 s of it), parsing with pyarrow and writing the Parquet file with
    pyarrow takes 1.7-2.1 s, and the table in memory then serves the statistics without reading
    the file back. DuckDB's sniffer still decides the dialect, the column names and types, so
    both readers give the same table; a file pyarrow cannot parse that way (a dialect or type
    outside the simple cases below, a gzip file, a file over `IN_MEMORY_LIMIT`) goes to DuckDB,
    and so does one where a reader raises `pyarrow.ArrowInvalid` (a value that does not parse):
    DuckDB's error, if it has one too, is the one the user sees.

    Without quoting, every line break ends a row, so the file is cut at line breaks into parts
    (`_cuts`) that pyarrow parses side by side, each on one thread, while the caller writes the
    parts already parsed: one multi-threaded parse of the whole file took 1.3-1.5 s of CPU
    against 1.1 s, and nothing else could run beside it. A file with quoting is one part, read
    by pyarrow's own threads, careful of line breaks inside quotes.
    """
    if (
        file.format not in ("csv", "tsv")
        or file.path.suffix.lower() == ".gz"
        or file.path.stat().st_size > IN_MEMORY_LIMIT
    ):
        return None
    delimiter = ", delim = '\t'" if file.format == "tsv" else ""
    try:
        sniffed = con.execute(
            "SELECT Delimiter, Quote, Escape, Comment, SkipRows, HasHeader, Columns, DateFormat, "
            f"TimestampFormat FROM sniff_csv(?, header = true{delimiter}, {CSV_TYPES})",
            [str(file.path)],
        ).fetchone()
    except duckdb.Error:
        return None  # DuckDB's reader says what is wrong
    if sniffed is None:
        return None
    delim, quote_char, escape, comment, skip_rows, header, columns, date_format, timestamp_format = sniffed
    types = [ARROW_TYPES.get(column["type"]) for column in columns]
    if (
        len(delim) != 1
        or quote_char not in ('"', NO_CHARACTER)
        or escape not in (quote_char, NO_CHARACTER)
        or (comment, skip_rows, header) != (NO_CHARACTER, 0, True)
        or date_format not in (None, "%Y-%m-%d")
        or timestamp_format is not None
        or len(columns) < 2  # one column: DuckDB reads a blank line as a null row, pyarrow skips it
        or None in types
    ):
        return None
    import pyarrow.csv as csv

    names = [column["name"] for column in columns]
    quoted = quote_char != NO_CHARACTER
    parse = csv.ParseOptions(
        delimiter=delim,
        quote_char=quote_char if quoted else False,
        double_quote=escape == quote_char,
        newlines_in_values=quoted,
    )
    convert = csv.ConvertOptions(
        column_types=dict(zip(names, types, strict=True)),
        null_values=[""],
        strings_can_be_null=True,
    )
    schema = pa.schema(list(zip(names, types, strict=True)))
    if quoted:
        options = csv.ReadOptions(column_names=names, skip_rows=1)
        return CsvParts(schema, [partial(csv.read_csv, file.path, options, parse, convert)])
    mapped = pa.memory_map(str(file.path)).read_buffer()
    cuts = _cuts(mapped, 2 * (os.cpu_count() or 1))

    def reader(part: int) -> Callable[[], pa.Table]:
        options = csv.ReadOptions(column_names=names, skip_rows=1 if part == 0 else 0, use_threads=False)
        data = mapped.slice(cuts[part], cuts[part + 1] - cuts[part])
        return lambda: csv.read_csv(pa.BufferReader(data), options, parse, convert)

    return CsvParts(schema, [reader(part) for part in range(len(cuts) - 1)])


def _cuts(data: pa.Buffer, parts: int) -> list[int]:
    """Offsets cutting `data` into up to `parts` pieces of at least `PART_BYTES` each, every cut
    just after a line break: the first piece starts at 0, the last ends at the end."""
    view = memoryview(data)
    count = max(1, min(parts, data.size // PART_BYTES))
    cuts = [0]
    for part in range(1, count):
        at = max(cuts[-1], data.size * part // count)
        found = -1
        while found < 0 and at < data.size:
            found = bytes(view[at : at + MIB]).find(b"\n")
            at += MIB if found < 0 else found + 1
        if found < 0:
            break  # no line break left: the rest is one piece
        cuts.append(at)
    return [*cuts, data.size] if cuts[-1] < data.size else cuts


def asset_table(key: str) -> tuple[str, TableName]:
    """A platform asset's key, normalised, and the stored table it names (see
    `assetkeys.lake_table`), its error a `DatasetError` like every other bad source."""
    from dataplatform.assetkeys import AssetKeyError, lake_table

    try:
        return lake_table(key)
    except AssetKeyError as error:
        raise DatasetError(str(error)) from error


def locate_source(path: str | Path, roots: Sequence[str | Path] | None = None) -> Source:
    """Check a source without reading its data: a file becomes the `train` split; a folder's
    `train.*`, `test.*`, `*submission*` and other tables become splits named after their files.
    With `roots`, the path must lie inside one of those folders (see `_inside_roots`)."""
    resolved = _inside_roots(Path(path), roots)
    if resolved.is_dir():
        return _locate_folder(resolved)
    return Source("file", resolved, [SourceFile("train", resolved, _checked_file(resolved))])


def read_source(path: str | Path, roots: Sequence[str | Path] | None = None) -> dict[str, pa.Table]:
    """Every split of a source as an Arrow table, for callers that want the data in Python."""
    source = locate_source(path, roots)
    with duckdb.connect() as con:
        return {f.split: read_file(con, f) for f in source.files}


def read_file(con: duckdb.DuckDBPyConnection, file: SourceFile) -> pa.Table:
    """One file read through `con`; a parse failure or a file of no rows is a `DatasetError`."""
    sql, params = file.reader()
    try:
        table = con.execute(sql, params).to_arrow_table()
    except duckdb.Error as error:
        raise reading_error(file, error) from error
    if table.num_rows == 0:
        raise DatasetError(f"{file.path}: the file has a header but no rows")
    return table


def reading_error(file: SourceFile, error: duckdb.Error) -> DatasetError:
    reason = str(error).strip().splitlines()[0]
    return DatasetError(f"{file.path}: cannot be read as {file.format.upper()}: {reason}")


def file_format(path: Path) -> str:
    """The reader format from the file name; `.gz` is allowed on every text format."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
        if suffixes and FORMATS.get(suffixes[-1]) == "parquet":
            raise DatasetError(f"{path}: gzip-compressed Parquet is not supported; Parquet compresses itself")
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        supported = ", ".join(sorted(FORMATS))
        raise DatasetError(
            f"{path}: unsupported format {''.join(path.suffixes) or '(no extension)'!r}; "
            f"supported: {supported}, each optionally .gz"
        )
    return fmt


def _checked_file(path: Path) -> str:
    fmt = file_format(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise DatasetError(f"{path}: not readable (permission denied)")
    if path.stat().st_size == 0:
        raise DatasetError(f"{path}: the file is empty")
    return fmt


def split_name(path: Path) -> str:
    """`train.csv.gz` -> `train`, `sampleSubmission.csv` -> `sample_submission`, `Store Info.csv` -> `store_info`."""
    stem = path.name.split(".")[0]
    if "submission" in stem.lower():
        return SUBMISSION_SPLIT
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem)
    return re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_") or "table"


def _inside_roots(path: Path, roots: Sequence[str | Path] | None) -> Path:
    """The path with every symlink resolved (a relative one taken from the working folder), refused
    unless it lies inside one of `roots` (resolved too), before anything there is looked at: not
    even whether it exists is told about a path outside. The CLI, the client and the Dagster
    assets all check here, with the roots `DatasetClient.for_settings` gives them."""
    resolved = path.resolve()
    if roots is not None:
        allowed = [Path(root).resolve() for root in roots]
        if not any(resolved.is_relative_to(root) for root in allowed):
            where = "" if resolved == path.absolute() else f" (it leads to {resolved})"
            raise DatasetError(
                f"{path}{where} is outside the folders datasets may be registered from "
                f"({', '.join(map(str, allowed)) or 'none'}); move it into one of them or name its folder "
                "in DATAPLATFORM_DATASETS_ROOT"
            )
    if not resolved.exists():
        raise DatasetError(f"{path}: no such file or folder")
    return resolved


def _locate_folder(folder: Path) -> Source:
    files: dict[str, SourceFile] = {}
    skipped: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if not path.resolve().is_relative_to(folder):
            raise DatasetError(f"{path}: links outside the dataset folder {folder}")
        try:
            file_format(path)
        except DatasetError:
            skipped.append(path.name)
            continue
        split = split_name(path)
        if split in files:
            raise DatasetError(
                f"{folder}: both {files[split].path.name} and {path.name} would be split '{split}'; keep one"
            )
        files[split] = SourceFile(split, path, _checked_file(path))
    if "train" not in files:
        found = ", ".join(f.path.name for f in files.values()) or "no data files"
        raise DatasetError(f"{folder}: a dataset folder needs a train file (train.csv, ...); found {found}")
    first = [files.pop(s) for s in ("train", "test") if s in files]
    return Source("folder", folder, first + [files[s] for s in sorted(files)], skipped)
