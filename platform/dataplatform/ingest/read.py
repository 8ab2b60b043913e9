"""Read a delivered file into a typed Arrow table, exactly as `detect` described it.

DuckDB's CSV reader does the parsing, with every option given explicitly (no sniffing) and
every column read as text; types are then applied column by column, so a value that does not
fit its column is reported with its row number instead of silently becoming null. Footnotes
are cut by position, preamble rows skipped, a trailing delimiter's empty column dropped.
cp1252 files are transcoded to UTF-8 first, strictly: an undecodable byte stops the read
with its offset.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dataplatform.ingest.detect import FALSE_TOKENS, NULL_TOKENS, TRUE_TOKENS, Detected, FormatError

if TYPE_CHECKING:
    import pyarrow as pa

TRAILING = "__trailing_delimiter"
SAMPLE_VALUES = 5
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1"}
CHUNK = 1 << 20
BATCH_ROWS = 1 << 17  # rows per streamed batch: a few MiB whatever the file's size


def read(path: Path, detected: Detected) -> pa.Table:
    """The file's rows under their safe names, typed as detected (or overridden)."""
    with batches(path, detected) as reader:
        return reader.read_all()


@contextmanager
def batches(
    path: Path, detected: Detected, rows_per_batch: int = BATCH_ROWS
) -> Iterator[pa.RecordBatchReader]:
    """The file's typed rows as a stream, so a file of any size is loaded in bounded memory.

    A value that does not fit its column, or a line that cannot be parsed, raises `FormatError`
    from the stream when its batch is reached: a consumer that commits only at the end (a Delta
    write) then commits nothing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if detected.format == "parquet":
        parquet = pq.ParquetFile(path)
        yield pa.RecordBatchReader.from_batches(
            parquet.schema_arrow, parquet.iter_batches(batch_size=rows_per_batch)
        )
        return
    if detected.format == "jsonl":
        yield _read_json_lines(path).to_reader(max_chunksize=rows_per_batch)
        return
    with _utf8_copy(path, detected) as (source, encoding):
        yield _typed_stream(source, detected, encoding, rows_per_batch)


def _typed_stream(
    source: Path, detected: Detected, encoding: str, rows_per_batch: int
) -> pa.RecordBatchReader:
    """One DuckDB pass: parse every field as text, type it, and flag each row holding a value
    that did not fit; only when a batch holds one is the file read again to name the rows."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from dataplatform.transform.sql import quote

    names = [n for n in _text_columns(detected) if n != TRAILING]
    typed = [f"{_typed_value(detected, name)} AS {quote(name)}" for name in names]
    misfits = [_misfit(detected, name) for name in names if detected.types.get(name, "text") != "text"]
    flag = " OR ".join(misfits) or "false"
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        rows = _csv_rows(con, source, detected, encoding)
        stream = con.execute(f"SELECT {', '.join(typed)}, {flag} AS __misfit FROM ({rows})").to_arrow_reader(
            rows_per_batch
        )
    except duckdb.Error as error:
        con.close()
        raise _unparsable(detected, error) from None
    schema = stream.schema.remove(stream.schema.get_field_index("__misfit"))

    def checked() -> Iterator[pa.RecordBatch]:
        try:
            for batch in stream:
                if pc.any(batch.column("__misfit")).as_py():
                    with duckdb.connect() as again:
                        _report_misfits(again, detected, names, _csv_rows(again, source, detected, encoding))
                yield batch.drop_columns(["__misfit"])
        except duckdb.Error as error:
            raise _unparsable(detected, error) from None
        finally:
            con.close()

    return pa.RecordBatchReader.from_batches(schema, checked())


def _unparsable(detected: Detected, error: Exception) -> FormatError:
    reason = str(error).splitlines()[0]
    return FormatError(f"the file cannot be parsed as {_describe(detected)}: {reason}")


def _text_columns(detected: Detected) -> list[str]:
    return list(detected.names) + ([TRAILING] if detected.trailing_delimiter else [])


def _csv_rows(con, source: Path, detected: Detected, encoding: str) -> str:
    """A query of the file's data rows as text, footnotes cut by position."""
    from dataplatform.storage.duckdb_extensions import string_literal

    columns = ", ".join(
        f"{string_literal(name)}: 'VARCHAR'" for name in _text_columns(detected)
    )  # safe names
    options = [
        f"delim = {string_literal(detected.delimiter or ',')}",
        "quote = '\"'",
        "escape = '\"'",
        f"header = {str(detected.header).lower()}",
        f"skip = {int(detected.skip_rows)}",
        f"columns = {{{columns}}}",
        "auto_detect = false",
        "null_padding = true",  # footnote rows are shorter: they are cut below, by position
        f"encoding = {string_literal(encoding)}",
        f"compression = {string_literal('gzip' if detected.compression == 'gzip' else 'none')}",
    ]
    if detected.comment:
        options.append(f"comment = {string_literal(detected.comment)}")
    rows = f"SELECT * FROM read_csv({string_literal(str(source))}, {', '.join(options)})"
    if detected.footer_rows:
        total = con.execute(f"SELECT count(*) FROM ({rows})").fetchone()[0]
        rows += f" LIMIT {max(int(total) - int(detected.footer_rows), 0)}"
    return rows


def _value(name: str) -> str:
    from dataplatform.transform.sql import quote

    nulls = "[" + ", ".join("'" + t.replace("'", "''") + "'" for t in sorted(NULL_TOKENS)) + "]"
    return f"CASE WHEN list_contains({nulls}, trim({quote(name)})) THEN NULL ELSE trim({quote(name)}) END"


def _typed_value(detected: Detected, name: str) -> str:
    kind = detected.types.get(name, "text")
    return _cast(_value(name), kind, detected.date_formats.get(name), detected.decimal_separator)


def _misfit(detected: Detected, name: str) -> str:
    return f"({_value(name)} IS NOT NULL AND {_typed_value(detected, name)} IS NULL)"


def _report_misfits(con, detected: Detected, names: list[str], rows: str) -> None:
    """The first misfit column with the row numbers (data rows from 1) and values of its first
    misfits: the file is read again with row numbers, a cost paid only by a file that fails."""
    from dataplatform.transform.sql import quote

    con.execute(f"CREATE TEMP TABLE raw AS SELECT row_number() OVER () AS __row, * FROM ({rows})")
    for name in names:
        kind = detected.types.get(name, "text")
        if kind == "text":
            continue
        found = con.execute(
            f"SELECT __row, {quote(name)} FROM raw WHERE {_misfit(detected, name)} ORDER BY __row LIMIT {SAMPLE_VALUES}"
        ).fetchall()
        if found:
            shown = ", ".join(f"row {r} {v!r}" for r, v in found)
            raise FormatError(f"column {name!r} holds values that are not {kind}: {shown}")


def _describe(detected: Detected) -> str:
    return f"{detected.encoding} text delimited by {detected.delimiter!r}"


@contextmanager
def _utf8_copy(path: Path, detected: Detected):
    """The file itself when DuckDB reads its encoding, else a strict UTF-8 copy of it."""
    if detected.encoding in DUCKDB_ENCODINGS:
        yield path, DUCKDB_ENCODINGS[detected.encoding]
        return
    import gzip

    opener = gzip.open if detected.compression == "gzip" else open
    decoder = codecs.getincrementaldecoder(detected.encoding)(errors="strict")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "utf8.csv"
        with opener(path, "rb") as source, target.open("w", encoding="utf-8", newline="") as out:
            offset = 0
            while chunk := source.read(CHUNK):
                try:
                    out.write(decoder.decode(chunk))
                except UnicodeDecodeError as error:
                    bad = offset + error.start
                    raise FormatError(
                        f"undecodable byte 0x{chunk[error.start]:02x} at offset {bad} in {detected.encoding}"
                    ) from None
                offset += len(chunk)
            out.write(decoder.decode(b"", final=True))
        yield target, "utf-8"


def _cast(value: str, kind: str, date_format: str | None, decimal: str) -> str:
    from dataplatform.storage.duckdb_extensions import string_literal

    if kind == "integer":
        return f"TRY_CAST({value} AS BIGINT)"
    if kind == "decimal":
        number = f"replace({value}, ',', '.')" if decimal == "," else value
        return f"TRY_CAST({number} AS DOUBLE)"
    if kind == "date":
        return f"TRY_STRPTIME({value}, {string_literal(date_format or '%Y-%m-%d')})::DATE"
    if kind == "timestamp":
        return f"TRY_CAST({value} AS TIMESTAMPTZ)"
    if kind == "boolean":
        trues = ", ".join(f"'{t}'" for t in sorted(TRUE_TOKENS))
        falses = ", ".join(f"'{f}'" for f in sorted(FALSE_TOKENS))
        return f"CASE WHEN lower({value}) IN ({trues}) THEN true WHEN lower({value}) IN ({falses}) THEN false END"
    return value


def _read_json_lines(path: Path) -> pa.Table:
    import pyarrow.json as pajson

    from dataplatform.ingest.names import safe_names

    try:
        table = pajson.read_json(path)
    except Exception as error:  # pyarrow raises ArrowInvalid with the line
        raise FormatError(f"the JSON lines cannot be read: {str(error).splitlines()[0]}") from None
    return table.rename_columns(safe_names(table.column_names))


@dataclass(frozen=True)
class BadRow:
    """A record that does not have the header's field count, kept as delivered."""

    line: int  # physical line (from 1) where the record starts
    raw: str
    reason: str


@dataclass
class FileRead:
    """A whole file read the sensor's way, for callers that want it in memory (benches, tests)."""

    table: pa.Table  # the good rows under safe names, typed
    detected: Detected  # `columns` holds the header cells as delivered ('' each when headerless)
    bad_rows: list[BadRow] = field(default_factory=list)  # quarantined records
    warnings: list[str] = field(default_factory=list)


def read_file(path: Path, policy: str = "reject") -> FileRead:
    """Detect and read `path` with nothing given but the bad-row policy."""
    from dataplatform.ingest.detect import detect

    detected = detect(path)
    return FileRead(read(path, detected), detected)
