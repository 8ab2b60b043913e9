"""Read a delivered file into a typed Arrow table, exactly as `detect` described it.

DuckDB's CSV reader does the parsing, with every option given explicitly (no sniffing) and
strictly: a record without the header's field count is not padded or shifted but set aside with
its line and raw text (DuckDB's `store_rejects`). What becomes of those records is the table's
`bad_rows` policy:

* `reject` (default): the file is refused, the reason naming each bad line and its field count;
* `quarantine`: the good rows load, the bad ones are handed back (`Reading.bad_rows`) for the
  rejects table beside the table;
* `pad`: a short record is padded with nulls at its end and loaded, each one reported; a long
  one is still refused (there is no telling which of its fields is the extra one). Padded rows
  come after the others.

The parser types decimal and date columns itself (a value that does not fit is a CAST reject,
named by column, line and value); integers, booleans, timestamps and text are read as text and
typed in SQL, so a leading zero or a stray word is named too instead of silently becoming null.
Empty fields beyond the header's count are dropped (DuckDB does) and counted; all-empty records
are skipped and counted. What detection found above and below the table (preamble, header,
footnotes, another table) is left out by position, and a read that does not account for the
records detection counted is refused. Encodings DuckDB cannot read (cp1252, latin-1, UTF-16 of
either order) are transcoded to UTF-8 first, strictly: an undecodable byte stops the read.
"""

from __future__ import annotations

import codecs
import dataclasses
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dataplatform.ingest.detect import FALSE_TOKENS, TRUE_TOKENS, Detected, FormatError, broken_utf8

if TYPE_CHECKING:
    import pyarrow as pa

Policy = Literal["reject", "quarantine", "pad"]
POLICIES: tuple[Policy, ...] = ("reject", "quarantine", "pad")
SAMPLE_VALUES = 5
LINES_NAMED = 10  # bad lines a reason names one by one before it gives a count
# DuckDB refuses 0x80-0x9F as latin-1 and reads UTF-16 little-endian only: those are transcoded
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8"}
CHUNK = 1 << 20
BATCH_ROWS = 1 << 17  # rows per streamed batch: a few MiB whatever the file's size


@dataclass(frozen=True)
class BadRow:
    """A record that does not have the header's field count, kept as delivered."""

    line: int  # the line (from 1) where the record starts
    raw: str
    reason: str
    fields: int | None = None  # None: the record could not be split into fields at all


@dataclass
class Reading:
    """A file's typed rows as a stream; what the read found is known once the stream is consumed."""

    stream: pa.RecordBatchReader
    detected: Detected
    bad_rows: list[BadRow] = field(default_factory=list)  # quarantined under `quarantine`
    warnings: list[str] = field(default_factory=list)


@dataclass
class FileRead:
    """A whole file read the sensor's way, for callers that want it in memory (benches, tests)."""

    table: pa.Table  # the good rows under safe names, typed
    detected: Detected  # `columns` holds the header cells as delivered ('' each when headerless)
    bad_rows: list[BadRow] = field(default_factory=list)  # quarantined records
    warnings: list[str] = field(default_factory=list)


def read_file(path: Path, policy: Policy = "reject") -> FileRead:
    """Detect and read `path` with nothing given but the bad-row policy."""
    from dataplatform.ingest.detect import detect

    detected = detect(path)
    with batches(path, detected, policy) as reading:
        table = reading.stream.read_all()
    return FileRead(table, detected, reading.bad_rows, reading.warnings)


def read(path: Path, detected: Detected, policy: Policy = "reject") -> pa.Table:
    """The file's rows under their safe names, typed as detected (or overridden)."""
    with batches(path, detected, policy) as reading:
        return reading.stream.read_all()


@contextmanager
def batches(
    path: Path,
    detected: Detected,
    policy: Policy = "reject",
    rows_per_batch: int = BATCH_ROWS,
) -> Iterator[Reading]:
    """The file's typed rows as a stream, so a file of any size is loaded in bounded memory.

    A value that does not fit its column, a line that cannot be parsed, or (under `reject`) a
    record with the wrong field count raises `FormatError` from the stream, at the latest after
    its last batch: a consumer that commits only at the end (a Delta write) then commits nothing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if policy not in POLICIES:
        raise FormatError(f"unknown bad_rows policy {policy!r}; use one of {', '.join(POLICIES)}")
    if detected.format == "parquet":
        from dataplatform.ingest.names import safe_names

        parquet = pq.ParquetFile(path)
        names = safe_names(parquet.schema_arrow.names)
        schema = pa.schema([f.with_name(n) for f, n in zip(parquet.schema_arrow, names, strict=True)])
        renamed = (b.rename_columns(names) for b in parquet.iter_batches(batch_size=rows_per_batch))
        yield Reading(pa.RecordBatchReader.from_batches(schema, renamed), detected)
        return
    if detected.format == "jsonl":
        yield Reading(_read_json_lines(path).to_reader(max_chunksize=rows_per_batch), detected)
        return
    with _utf8_copy(path, detected) as (source, encoding):
        reading = Reading(None, detected)
        reading.stream = _typed_stream(source, path, detected, encoding, policy, rows_per_batch, reading)
        yield reading


def _typed_stream(
    source: Path,
    original: Path,
    detected: Detected,
    encoding: str,
    policy: Policy,
    rows_per_batch: int,
    reading: Reading,
) -> pa.RecordBatchReader:
    """One DuckDB pass. Its CSV parser types the integer, decimal and date columns itself (a
    value that does not fit is a CAST reject with its line); booleans, timestamps and dates of
    a second format are typed in SQL, with a flag on each row holding a value that did not fit,
    and only when a batch holds one is the file read again to name the rows. Records with the
    wrong field count are judged once the pass is over."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    names = list(detected.names)
    native = set(_native_types(detected))
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        compressed = source == original and detected.compression == "gzip"  # copies are plain text
        rows = _csv_rows(con, source, detected, encoding, rejects=True, compressed=compressed)
        stream = con.execute(
            f"SELECT {_typed_select(detected, names, native)} FROM ({rows})"
        ).to_arrow_reader(rows_per_batch)
    except duckdb.Error as error:
        con.close()
        raise _unparsable(detected, error) from None
    schema = stream.schema.remove(stream.schema.get_field_index("__misfit"))

    def checked() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in stream:
                rows += batch.num_rows
                if pc.any(batch.column("__misfit")).as_py():
                    with duckdb.connect() as again:
                        _report_misfits(
                            again,
                            detected,
                            names,
                            _csv_rows(again, source, detected, encoding, compressed=compressed),
                        )
                yield batch.drop_columns(["__misfit"])
            bad = _bad_records(con, original, detected, encoding)
            _refuse_lost_rows(detected, rows, bad)
            if detected.second_table is not None and policy == "reject":
                raise FormatError(
                    f"another table starts at record {detected.second_table + 1} (its header repeats this "
                    "one's); send one table per file, or declare bad_rows: quarantine to load the first"
                )
            reading.warnings.extend(_layout_warnings(detected))
            if not rows:
                reading.warnings.append("the file has no data rows")
            if bad:
                yield from _judge(con, detected, names, bad, policy, reading)
        except duckdb.Error as error:
            raise _unparsable(detected, error) from None
        finally:
            con.close()

    return pa.RecordBatchReader.from_batches(schema, checked())


def _typed_select(detected: Detected, names: list[str], native: Collection[str] = frozenset()) -> str:
    """Every column under its type: as the parser typed it (`native`), else cast from text."""
    from dataplatform.engine.identifiers import quote

    typed = [
        f"{quote(name) if name in native else _typed_value(detected, name)} AS {quote(name)}"
        for name in names
    ]
    misfits = [
        _misfit(detected, name)
        for name in names
        if detected.types.get(name, "text") != "text" and name not in native
    ]
    return f"{', '.join(typed)}, {' OR '.join(misfits) or 'false'} AS __misfit"


def _native_types(detected: Detected) -> dict[str, str]:
    """The columns DuckDB's CSV parser types itself, which is several times faster than casting
    text in SQL: decimals, and the dates of the first date format (the parser takes one); the
    rest stay text for SQL, integers too, whose parser would turn `02134` into 2134 unsaid. With footnotes or a second table below the data, whose
    cutting counts the rows the parser returns, every column stays text."""
    if detected.footer_rows:
        return {}
    dates = [detected.date_formats[n] for n in detected.names if detected.types.get(n) == "date"]
    kinds = {"decimal": "DOUBLE"}  # integers stay text: a leading zero past the sample must show
    native = {n: kinds[t] for n in detected.names if (t := detected.types.get(n, "text")) in kinds}
    if dates:
        native |= {
            n: "DATE"
            for n in detected.names
            if detected.types.get(n) == "date" and detected.date_formats.get(n) == dates[0]
        }
    return native


# -- records with the wrong field count -------------------------------------------------------------


def _bad_records(con, original: Path, detected: Detected, encoding: str) -> list[BadRow]:
    """The records DuckDB set aside, once each, without the footnotes after the table; an
    encoding fault is no bad row but a bad file, refused whatever the policy."""
    stored = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '__rejects'").fetchone()[0]
    if not stored:  # DuckDB makes the table only once a pass has parsed a record
        return []
    found = con.execute(
        "SELECT line, min(error_type) FILTER (WHERE error_type <> 'CAST'), min(csv_line) FROM __rejects "
        "GROUP BY line HAVING count(*) FILTER (WHERE error_type <> 'CAST') > 0 ORDER BY line"
    ).fetchall()
    if any(kind == "INVALID ENCODING" for _, kind, _ in found):
        raise FormatError(_first_bad_byte(original, detected))
    _refuse_misfits(con, original, detected)
    notes = set(detected.comment_lines)  # comment lines inside the table are not rows
    found = [record for record in found if record[0] > _above(detected) and record[0] not in notes]
    unread = detected.footer_rows - detected.footer_read  # footnotes DuckDB rejected: the last ones
    if unread:
        found = found[: max(len(found) - unread, 0)]
    width = len(detected.names) + (1 if detected.trailing_delimiter else 0)
    bad = []
    for line, kind, raw in found:
        text = (raw or "").lstrip("\r\n")
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            fields = len(_fields(text, detected))
            bad.append(BadRow(int(line), text, f"{fields} fields where the header has {width}", fields))
        else:
            reason = f"cannot be parsed ({kind.lower()}): a quote is not closed or not escaped"
            bad.append(BadRow(int(line), text, reason))
    return _physical_lines(original, detected, bad)


def _refuse_misfits(con, original: Path, detected: Detected) -> None:
    """A value the parser could not read as its column's type: the file is refused, naming the
    column, the lines and the values, instead of a null standing in for it."""
    misfits = con.execute(
        "SELECT column_name, line, min(csv_line) FROM __rejects WHERE error_type = 'CAST' AND line > ? "
        "AND line NOT IN (SELECT line FROM __rejects WHERE error_type <> 'CAST') "  # a bad row's fault
        "AND NOT list_contains(?, line) GROUP BY ALL ORDER BY line LIMIT 100",
        [_above(detected), list(detected.comment_lines)],
    ).fetchall()
    if not misfits:
        return
    name = misfits[0][0]
    position = detected.names.index(name)
    first = [BadRow(line, raw.lstrip("\r\n"), "") for column, line, raw in misfits if column == name][
        :SAMPLE_VALUES
    ]
    shown = []
    for row in _physical_lines(original, detected, first):
        fields = _fields(row.raw, detected)
        shown.append(f"line {row.line} {fields[position].strip() if position < len(fields) else row.raw!r}")
    kind = detected.types.get(name, "text")
    raise FormatError(f"column {name!r} holds values that are not {kind}: {', '.join(shown)}{_hint(kind)}")


def _hint(kind: str) -> str:
    return (
        "; if the column is text (a code, a mix), declare it in the table's YAML: types: {column: text}"
        if kind != "text"
        else ""
    )


def _above(detected: Detected) -> int:
    """The records above the data (DuckDB numbers records from 1): their faults are not the data's."""
    return detected.skip_rows + (detected.header_rows if detected.header else 0)


def _refuse_lost_rows(detected: Detected, rows: int, bad: list[BadRow]) -> None:
    """Refuse a read that does not account for the records detection counted in the whole file:
    fewer, and a quote the reader took differently swallowed rows; more, and a title, header or
    note line came through as data. Nothing may vanish or appear unsaid."""
    expected = detected.data_rows
    if expected is None or rows + len(bad) == expected:
        return
    if rows + len(bad) > expected:
        raise FormatError(
            f"the reader found {rows + len(bad)} data records where the file holds {expected}: a line above "
            "or inside the table was taken for data; declare the format (skip_rows, header) in the table's YAML"
        )
    near = f" (a quote near line {bad[0].line} opens a field that swallows what follows)" if bad else ""
    raise FormatError(
        f"the reader accounts for {rows + len(bad)} of the file's {expected} data records{near}; "
        "fix the quoting, or declare the format in the table's YAML"
    )


def _judge(con, detected: Detected, names: list[str], bad: list[BadRow], policy: Policy, reading: Reading):
    """Apply the table's policy to the bad records: refuse the file, hand them back, or pad."""
    import pyarrow as pa

    width = len(names)
    short = [row for row in bad if row.fields is not None and row.fields < width]
    if policy == "reject" or (policy == "pad" and len(short) < len(bad)):
        refused = bad if policy == "reject" else [row for row in bad if row not in short]
        raise FormatError(_bad_rows_reason(refused, policy))
    if policy == "quarantine":
        reading.bad_rows.extend(bad)
        reading.warnings.append(f"{len(bad)} row(s) quarantined: {_lines(bad)}")
        return
    cells = [_fields(row.raw, detected) for row in short]
    padded = pa.table({n: [c[i] if i < len(c) else None for c in cells] for i, n in enumerate(names)})
    reading.warnings.append(f"{len(short)} short row(s) padded with nulls: {_lines(short)}")
    con.register("__padded", padded)
    typed = con.execute(f"SELECT {_typed_select(detected, names)} FROM __padded").to_arrow_table()
    if typed.column("__misfit").to_pylist().count(True):
        raise FormatError(f"a padded row holds values that do not fit their columns: {_lines(short)}")
    yield from typed.drop_columns(["__misfit"]).to_batches()


def _bad_rows_reason(bad: list[BadRow], policy: Policy) -> str:
    named = "; ".join(f"line {row.line}: {row.reason}" for row in bad[:LINES_NAMED])
    more = f"; and {len(bad) - LINES_NAMED} more" if len(bad) > LINES_NAMED else ""
    fix = (
        "declare bad_rows: quarantine (load the rest, keep these aside) or pad in the table's YAML"
        if policy == "reject"
        else "pad fills short rows only"
    )
    return f"{len(bad)} row(s) do not have the header's field count: {named}{more} ({fix})"


def _lines(rows: list[BadRow]) -> str:
    shown = ", ".join(str(row.line) for row in rows[:LINES_NAMED])
    return f"line{'s' if len(rows) > 1 else ''} {shown}" + (
        f" and {len(rows) - LINES_NAMED} more" if len(rows) > LINES_NAMED else ""
    )


def _fields(text: str, detected: Detected) -> list[str]:
    rows = detected.dialect().rows(text)
    return [cell for row in rows for cell in row] if len(rows) > 1 else (rows[0] if rows else [])


def _physical_lines(original: Path, detected: Detected, bad: list[BadRow]) -> list[BadRow]:
    """DuckDB numbers records (a quoted line break does not count); people go to lines. Read
    again up to the last bad record to translate, a cost paid only by a file with bad rows."""
    import gzip

    if not bad:
        return bad
    opener = gzip.open if detected.compression == "gzip" else open
    encoding = "utf-8-sig" if detected.encoding.startswith("utf-8") else detected.encoding
    wanted = {row.line for row in bad}
    starts: dict[int, int] = {}
    with opener(original, "rt", encoding=encoding, errors="replace", newline="") as text:
        reader = detected.dialect().reader(text)
        previous = 0
        for record, _ in enumerate(reader, start=1):
            if record in wanted:
                starts[record] = previous + 1
                if len(starts) == len(wanted):
                    break
            previous = reader.line_num
    return [dataclasses.replace(row, line=starts.get(row.line, row.line)) for row in bad]


def _layout_warnings(detected: Detected) -> list[str]:
    """What the read skipped or dropped, said once so nothing leaves the file unrecorded."""
    notes = []
    if detected.skip_rows:
        notes.append(f"{detected.skip_rows} record(s) above the table skipped (preamble)")
    if detected.header_rows > 1 and detected.header:
        notes.append(f"the header spans {detected.header_rows} records, joined")
    if detected.second_table is not None:
        notes.append(
            f"another table starts at record {detected.second_table + 1}: "
            f"its {detected.footer_rows} record(s) were not loaded"
        )
    elif detected.footer_rows:
        notes.append(f"{detected.footer_rows} footnote record(s) below the table skipped")
    if detected.blank_rows:
        scope = "" if detected.sample_complete else " (counted in the first MiB)"
        notes.append(f"{detected.blank_rows} all-empty row(s) skipped{scope}")
    quoted = [c for c in detected.columns if detected.header and detected.quote in c]
    if quoted:
        notes.append(f"header cell(s) holding a quote, a sign of broken quoting: {quoted[:LINES_NAMED]}")
    if detected.escape != detected.quote:
        notes.append(f"quotes inside quoted fields read as escaped by {detected.escape!r}, not doubled")
    if detected.stray_quotes:
        lines = detected.stray_quotes
        shown = ", ".join(map(str, lines[:LINES_NAMED])) + (
            f" and {len(lines) - LINES_NAMED} more" if len(lines) > LINES_NAMED else ""
        )
        scope = "" if detected.sample_complete else " in the first MiB"
        notes.append(
            f"a quote inside a field, read as text (a lost delimiter or an unescaped quote?){scope}: line(s) {shown}"
        )
    if detected.surplus_rows:
        scope = "" if detected.sample_complete else " (counted in the first MiB)"
        notes.append(
            f"{detected.surplus_rows} row(s) with empty fields past the header's dropped them{scope}"
        )
    return notes


# -- text ------------------------------------------------------------------------------------------


def _unparsable(detected: Detected, error: Exception) -> FormatError:
    reason = str(error).splitlines()[0]
    return FormatError(f"the file cannot be parsed as {_describe(detected)}: {reason}")


def _csv_rows(
    con, source: Path, detected: Detected, encoding: str, rejects: bool = False, compressed: bool = False
) -> str:
    """A query of the file's data rows as text: what is above them left out, all-empty rows
    left out (detection counted them), whatever follows the table cut by position.

    DuckDB's `skip` counts records the way its quote state machine sees them, and one broken
    quote in a title or header makes it swallow the whole file; so nothing is skipped, the
    records above the data that DuckDB returns as rows are found and passed over by `OFFSET`,
    and those it rejects are left out of the bad rows by their line (`_bad_records`).

    With `rejects`, every record without the header's field count is stored in `__rejects` on
    `con`, from a pass over the whole file, so the records after the cut are there too (they
    are the last ones, and the caller leaves them out)."""
    from dataplatform.engine.identifiers import string_literal

    native = _native_types(detected) if rejects else {}
    columns = ", ".join(
        f"{string_literal(name)}: {string_literal(native.get(name, 'VARCHAR'))}" for name in detected.names
    )  # safe names
    options = [
        f"delim = {string_literal(detected.delimiter or ',')}",
        f"quote = {string_literal(detected.quote)}",
        f"escape = {string_literal(detected.escape)}",
        "header = false",
        f"columns = {{{columns}}}",
        "auto_detect = false",
        "strict_mode = true",
        "null_padding = false",
        f"encoding = {string_literal(encoding)}",
        f"compression = {string_literal('gzip' if compressed else 'none')}",
    ]
    if detected.line_terminator == "\r":
        options.append("new_line = '\\r'")
    dates = [detected.date_formats[n] for n, kind in native.items() if kind == "DATE"]
    if dates:
        options.append(f"dateformat = {string_literal(dates[0])}")
    if detected.decimal_separator != "." and "DOUBLE" in native.values():
        options.append(f"decimal_separator = {string_literal(detected.decimal_separator)}")
    if detected.null_values:
        tokens = ", ".join(string_literal(v) for v in ("", *detected.null_values))
        options.append(f"nullstr = [{tokens}]")
    lenient = ", ".join([*options, "ignore_errors = true"])
    stored = ", ".join(
        [*options, "store_rejects = true", "rejects_table = '__rejects'", "rejects_scan = '__scan'"]
    )
    path = string_literal(str(source))
    filled = _filled(detected, native)
    offset = _head_returned(con, f"SELECT * FROM read_csv({path}, {lenient}) WHERE {filled}", detected)
    if not detected.footer_read:
        return (
            f"SELECT * FROM read_csv({path}, {stored if rejects else lenient}) WHERE {filled} OFFSET {offset}"
        )
    total = con.execute(
        f"SELECT count(*) FROM read_csv({path}, {stored if rejects else lenient}) WHERE {filled}"
    ).fetchone()[0]
    kept = max(int(total) - int(detected.footer_read) - offset, 0)
    return f"SELECT * FROM read_csv({path}, {lenient}) WHERE {filled} LIMIT {kept} OFFSET {offset}"


def _filled(detected: Detected, native: Mapping[str, str]) -> str:
    """A condition leaving out all-empty rows: exact (blank after trimming) where detection saw
    such rows or did not see the whole file, else none at all."""
    from dataplatform.engine.identifiers import quote

    if detected.sample_complete and not detected.blank_rows:
        return "true"
    return " OR ".join(
        f"{quote(name)} IS NOT NULL" if name in native else f"{_value(detected, name)} IS NOT NULL"
        for name in detected.names
    )


def _head_returned(con, rows: str, detected: Detected) -> int:
    """How many records above the data (preamble, header) DuckDB returns as rows: the first
    rows it gives that are those records, cell for cell, in order (it may reject some of them,
    a title whose text does not fit a typed column, and return the next)."""
    if not detected.head:
        return 0
    first = con.execute(f"{rows} LIMIT {len(detected.head)}").fetchall()
    returned, records = 0, iter(detected.head)
    for got in first:  # a head record DuckDB rejected is passed over, not matched against
        if not any(
            all(_same(v, c, detected) for v, c in zip(got, record, strict=False)) for record in records
        ):
            break
        returned += 1
    return returned


def _same(value: object, cell: str, detected: Detected) -> bool:
    """Whether a value the parser returned is the text of `cell` (a year over a decimal column
    comes back as 2019.0)."""
    text = cell.strip()
    if value is None:
        return text in ("", *detected.null_values)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(text.replace(detected.decimal_separator, ".")) == value
        except ValueError:
            return False
    return str(value).strip() == text or (hasattr(value, "isoformat") and _parses_as(text, value, detected))


def _parses_as(text: str, value, detected: Detected) -> bool:
    from datetime import datetime

    for fmt in set(detected.date_formats.values()):
        try:
            if datetime.strptime(text, fmt).date() == value:
                return True
        except ValueError:
            continue
    return False


def _value(detected: Detected, name: str) -> str:
    """The trimmed text of a field, null when empty or one of the table's declared null values."""
    from dataplatform.engine.identifiers import quote, string_literal

    trimmed = f"nullif(trim({quote(name)}), '')"
    if not detected.null_values:
        return trimmed
    tokens = ", ".join(string_literal(v.strip()) for v in detected.null_values)
    return f"CASE WHEN {trimmed} IN ({tokens}) THEN NULL ELSE {trimmed} END"


def _typed_value(detected: Detected, name: str) -> str:
    kind = detected.types.get(name, "text")
    return _cast(_value(detected, name), kind, detected.date_formats.get(name), detected.decimal_separator)


def _misfit(detected: Detected, name: str) -> str:
    return f"({_value(detected, name)} IS NOT NULL AND {_typed_value(detected, name)} IS NULL)"


def _report_misfits(con, detected: Detected, names: list[str], rows: str) -> None:
    """The first misfit column with the row numbers (data rows from 1) and values of its first
    misfits: the file is read again with row numbers, a cost paid only by a file that fails."""
    from dataplatform.engine.identifiers import quote

    con.execute(f"CREATE TEMP TABLE raw AS SELECT row_number() OVER () AS __row, * FROM ({rows})")
    for name in names:
        kind = detected.types.get(name, "text")
        if kind == "text":
            continue
        found = con.execute(
            f"SELECT __row, {quote(name)} FROM raw WHERE {_misfit(detected, name)} ORDER BY __row LIMIT {SAMPLE_VALUES}"
        ).fetchall()
        if found:
            shown = ", ".join(f"data row {r} {v!r}" for r, v in found)
            raise FormatError(f"column {name!r} holds values that are not {kind}: {shown}{_hint(kind)}")


def _describe(detected: Detected) -> str:
    return f"{detected.encoding} text delimited by {detected.delimiter!r}"


def _first_bad_byte(path: Path, detected: Detected) -> str:
    """Where a file read as UTF-8 first breaks: offset and line, found by decoding it again."""
    import gzip

    opener = gzip.open if detected.compression == "gzip" else open
    carry, base, lines = b"", 0, 0
    with opener(path, "rb") as source:
        while chunk := source.read(CHUNK):
            data = carry + chunk
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as error:
                if error.end < len(data) or len(data) - error.start > 3:
                    offset = error.start
                    return broken_utf8(base + offset, data[offset], lines + data.count(b"\n", 0, offset) + 1)
                carry = data[error.start :]  # a character cut by the chunk's end
                data = data[: error.start]
            base += len(data)
            lines += data.count(b"\n")
    return "invalid UTF-8 in the file"


@contextmanager
def _utf8_copy(path: Path, detected: Detected):
    """The file itself when DuckDB reads its encoding, else a strict UTF-8 copy of it; cut where
    the table ends when footnotes or another table follow it (known only of a file detection read
    whole, 1 MiB at most), since which of those records DuckDB would return as rows is its guess."""
    if detected.cut_at is not None:
        import gzip

        opener = gzip.open if detected.compression == "gzip" else open
        with opener(path, "rb") as source:
            text = source.read().decode(
                "utf-8-sig" if detected.encoding == "utf-8-sig" else detected.encoding
            )
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "table.csv"
            target.write_text(text[: detected.cut_at], encoding="utf-8", newline="")
            yield target, "utf-8"
        return
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
    from dataplatform.engine.identifiers import string_literal

    if kind == "integer":  # a leading zero makes a code, not a number: a misfit, never dropped
        return f"CASE WHEN regexp_full_match({value}, '[+-]?0[0-9]+') THEN NULL ELSE TRY_CAST({value} AS BIGINT) END"
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
