"""Work out how a delivered file is written, from its bytes alone.

Common sniffers guess from a few lines and one question at a time, and misread real files: a
preamble above the header, footnotes below the data, a headerless code list whose first record
becomes the header, cp1252 quotes read as latin-1 control characters, zip codes stripped of
their leading zeros. Here each question is answered on the evidence of the whole sample:

* container: gzip (by magic number), Parquet (`PAR1`), JSON lines (every sampled line a JSON
  object), else delimited text;
* encoding: a BOM decides; else strict UTF-8; else cp1252 when bytes 0x80-0x9F are present
  (they are printable there, control codes in latin-1), latin-1 when not. A file holding
  well-formed UTF-8 sequences *and* invalid bytes is damaged or mixes encodings: refused with
  the offset and line of the first bad byte, never decoded into the wrong letters (unless the
  table names an encoding). NUL bytes outside UTF-16 mean a binary file;
* dialect: each candidate delimiter (comma, semicolon, tab, pipe, comma-space, space), quote
  (`"`, `'`) and escape (doubling, backslash) parses the start of the file; the one whose
  records agree on one field count and whose cells look like values (numbers, dates, words)
  rather than fragments wins, as in CleverCSV's consistency measure;
* layout, from the field counts of every sampled record: the data block is the run of records
  with the modal field count; records above it are preamble (titles, `key: value` lines, blank
  and comment lines), records below it with at most one filled cell are footnotes. A short
  or long record inside the block stays data, for the reader's bad-row policy to judge: it is
  never silently dropped as a "footer";
* header: the first rows of the block are header rows when their cells do not fit the types of
  the columns below them (several such rows are a header on several lines, joined); for
  all-text tables, when the first row's cells are distinct labels whose shape (case, digits)
  differs from the values below. A table that already exists is evidence too: a first row
  spelling its columns is its header;
* types per column: boolean, integer (a leading zero keeps the column as text: it is a code),
  decimal (point, or comma when the delimiter is not a comma), date in the common orders
  (ISO first, then day-first before month-first when both fit), timestamp, else text. Only an
  empty field is null, unless the table declares `null_values`: `NA` is Namibia.

Only a sample from the start (and the last lines, for footnotes) is read, so a 1 GB file
costs the same as a small one.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import itertools
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from dataplatform.ingest.names import safe_names

SAMPLE_BYTES = 1 << 20
TAIL_BYTES = 64 << 10
DIALECT_SAMPLE = 64 << 10  # characters each candidate dialect parses
DELIMITERS = (",", ";", "\t", "|", ", ", " ")  # in order of preference on a tie
TRUE_TOKENS = frozenset({"true", "yes", "y", "t"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d")
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
INTEGER = re.compile(r"[+-]?\d+")
DECIMAL_POINT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
VALUE_LIKE = re.compile(
    r"|[+-]?[$€£¥]?\s?[+-]?\d[\d,. ]*%?|\d{1,4}[-/.:]\d{1,2}([-/.:]\d{1,4})?([ T]\d{1,2}:\d{2}(:\d{2})?)?"
    r"|[\w][\w .'&()/+-]*|https?://\S+|\S+@\S+"
)
MAX_HEADER_ROWS = 3
YEAR = re.compile(r"(18|19|20|21)\d\d")
NOTE = re.compile(
    r"(sources?|notes?|nb|footnotes?|remarks?|\*|†|\(|©|\(c\)|copyright|total)\b|[^,]{0,40}:", re.I
)


class FormatError(ValueError):
    """A file the platform cannot read; the message says why, precisely enough to fix it."""


@dataclass(frozen=True)
class Detected:
    """How a file is written: enough for a loader to read it exactly, and a record for people.

    Row counts are of records as a CSV reader sees them: a quoted line break does not start a
    record, a blank line is one.
    """

    format: str  # csv | parquet | jsonl
    compression: str | None = None  # gzip
    encoding: str = "utf-8"
    delimiter: str | None = None
    quote: str = '"'
    escape: str = '"'  # the quote itself: quotes inside a quoted field are doubled
    header: bool = True
    header_rows: int = 1  # records the header spans (joined with a space), when there is one
    skip_rows: int = 0  # records before the header (or the first data row): preamble, blank, comment
    footer_rows: int = 0  # non-blank records of footnotes after the data
    footer_read: int = (
        0  # of the footnotes found in a large file's tail, how many a strict reader returns as rows
    )
    cut_at: int | None = None  # where the table ends in the decoded text, when records follow it
    second_table: int | None = None  # the record where another table starts (not loaded)
    head: list[list[str]] = field(default_factory=list)  # records above the data a reader may return
    data_rows: int | None = None  # filled records of the table below its header, when the sample is whole
    stray_quotes: list[int] = field(default_factory=list)  # sampled lines with a quote inside a field
    comment: str | None = None  # lines starting with it above the table, or of another width in it, are notes
    comment_lines: list[int] = field(
        default_factory=list
    )  # sampled comment records below the header (from 1)
    trailing_delimiter: bool = False
    decimal_separator: str = "."
    line_terminator: str = "\n"
    null_values: tuple[str, ...] = ()  # cells read as null besides the empty one
    columns: list[str] = field(default_factory=list)  # as delivered ('' when there is no header)
    names: list[str] = field(default_factory=list)  # safe names, position by position
    types: dict[str, str] = field(default_factory=dict)  # by safe name
    date_formats: dict[str, str] = field(default_factory=dict)  # by safe name, for date columns
    sample_complete: bool = True  # the sample was the whole file: the counts below are exact
    surplus_rows: int = 0  # sampled records with empty fields beyond the header's (dropped)
    blank_rows: int = 0  # sampled blank lines inside the table and all-empty rows in and after it

    def to_dict(self) -> dict:
        return asdict(self)

    def dialect(self) -> Dialect:
        return Dialect(self.delimiter or ",", self.quote, self.escape)


GIVEN_FIELDS = frozenset(
    {
        "encoding",
        "delimiter",
        "quote",
        "escape",
        "header",
        "header_rows",
        "skip_rows",
        "footer_rows",
        "comment",
        "decimal_separator",
    }
)


def detect(
    path: Path,
    given: Mapping[str, object] | None = None,
    null_values: Sequence[str] = (),
    known_columns: Sequence[str] | None = None,
) -> Detected:
    """Detect `path`'s format from a sample of its start and end.

    `given` fixes parts of the format a table declares (its `format:` YAML), so detection works
    around them instead of overriding them afterwards: a declared encoding is how a broken-UTF-8
    file is read after all. `known_columns` are the safe names of the table the file goes into.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - GIVEN_FIELDS)
    if unknown:
        raise FormatError(f"unknown format fields {unknown}; known: {sorted(GIVEN_FIELDS)}")
    raw = _read_start(path)
    if not raw.strip():
        raise FormatError("the file is empty" if not raw else "the file holds only blank space")
    compression = "gzip" if raw[:2] == b"\x1f\x8b" else None
    if compression:
        raw = _gunzip_start(path)
        if not raw.strip():
            raise FormatError("the gzip file holds nothing")
    if raw[:4] == b"PAR1":
        return Detected(format="parquet", compression=compression)
    encoding = str(given["encoding"]) if "encoding" in given else _encoding(raw)
    text = _decode_sample(raw, encoding)
    if _is_json_lines(text):
        return Detected(format="jsonl", compression=compression, encoding=encoding)
    tail = _tail_text(path, encoding) if compression is None else None
    found = _delimited(
        text,
        tail,
        encoding,
        compression,
        complete=len(raw) < SAMPLE_BYTES,
        given=given,
        nulls=frozenset({""} | {v.strip() for v in null_values}),
        known=list(known_columns) if known_columns else None,
    )
    return dataclasses.replace(found, null_values=tuple(null_values))


# -- bytes --------------------------------------------------------------------------------------


def _read_start(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(SAMPLE_BYTES)


def _gunzip_start(path: Path) -> bytes:
    """The start of the decompressed data; a truncated or corrupt stream is refused here only if
    its start is already unreadable (the loader checks the whole stream)."""
    with gzip.open(path, "rb") as file:
        try:
            return file.read(SAMPLE_BYTES)
        except (EOFError, OSError, zlib.error) as error:
            raise FormatError(f"the gzip stream is truncated or corrupt: {error}") from None


def _encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise FormatError(f"binary file: a NUL byte at offset {nul}, not text")
    complete = _complete_utf8_prefix(raw)
    try:
        complete.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        bad = error.start
    if UTF8_SEQUENCE.search(complete):  # UTF-8 text with bytes that are not: damaged or mixed
        raise FormatError(broken_utf8(bad, complete[bad], _line_of(complete, bad)))
    for offset, byte in enumerate(raw):
        if byte in CP1252_UNDEFINED:
            raise FormatError(f"undecodable byte 0x{byte:02x} at offset {offset} in any known encoding")
    return "cp1252" if any(0x80 <= b <= 0x9F for b in raw) else "latin-1"


def broken_utf8(offset: int, byte: int, line: int) -> str:
    """The reason a file of UTF-8 text with an invalid byte is refused."""
    return (
        f"invalid UTF-8 at byte offset {offset} (0x{byte:02x}), line {line}: the file is UTF-8 "
        "with damaged bytes; fix the file, or name its encoding in the table's or the file's YAML "
        "(format: {encoding: latin-1})"
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _complete_utf8_prefix(raw: bytes) -> bytes:
    """`raw` without a multi-byte character cut off by the end of the sample."""
    if len(raw) < SAMPLE_BYTES:
        return raw
    for back in range(1, 4):
        if raw[-back] & 0xC0 == 0xC0:  # a lead byte among the last three: cut before it
            return raw[:-back]
    return raw


def _decode_sample(raw: bytes, encoding: str) -> str:
    data = _complete_utf8_prefix(raw) if encoding.startswith("utf-8") else raw
    if encoding == "utf-16" and len(data) % 2:
        data = data[:-1]
    try:
        return data.decode(encoding)
    except LookupError:
        raise FormatError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        raise FormatError(
            f"the file is not {encoding}: byte 0x{data[error.start]:02x} at offset {error.start}, "
            f"line {_line_of(data, error.start)}"
        ) from None


def _tail_text(path: Path, encoding: str) -> str | None:
    size = path.stat().st_size
    if size <= SAMPLE_BYTES:
        return None
    with path.open("rb") as file:
        file.seek(size - TAIL_BYTES)
        data = file.read()
    text = data.decode(encoding if encoding != "utf-8-sig" else "utf-8", errors="ignore")
    return text.split("\n", 1)[1] if "\n" in text else text  # the first line is cut


def _is_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines[:-1] or lines)
    except json.JSONDecodeError:
        return False


# -- dialect ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quote: str
    escape: str

    def rows(self, text: str) -> list[list[str]]:
        """Every record of `text`, a blank line as `[]`, as DuckDB's reader will see them."""
        try:
            return list(self.reader(io.StringIO(text, newline="")))
        except csv.Error:  # a NUL or a field past the limit: no dialect of this file
            return []

    def reader(self, lines: Iterable[str]):
        """Python's CSV reader for this dialect (`, ` is a comma with the spaces after it skipped)."""
        csv.field_size_limit(1 << 30)
        return csv.reader(
            lines,
            delimiter=self.delimiter[0],
            quotechar=self.quote,
            doublequote=self.escape == self.quote,
            escapechar=None if self.escape == self.quote else self.escape,
            skipinitialspace=self.delimiter == ", ",
            strict=False,
        )


def _dialect(text: str, given: Mapping[str, object]) -> Dialect:
    sample = text[:DIALECT_SAMPLE]
    if len(text) > DIALECT_SAMPLE:
        sample = sample[: sample.rfind("\n") + 1] or sample
    sample = "\n".join(line for line in sample.splitlines() if not line.startswith("#"))
    delimiters = [given["delimiter"]] if "delimiter" in given else [d for d in DELIMITERS if d in sample]
    quotes = [given["quote"]] if "quote" in given else ['"'] + (["'"] if "'" in sample else [])
    best: tuple[float, int, Dialect] | None = None
    for rank, delimiter in enumerate(delimiters):
        if delimiter == ", " and not _always_followed_by_space(sample):
            continue
        for quote in quotes:
            escapes = [quote] + (["\\"] if f"\\{quote}" in sample else [])
            for escape in [given["escape"]] if "escape" in given else escapes:
                dialect = Dialect(str(delimiter), str(quote), str(escape))
                score = _consistency(dialect.rows(sample))
                if best is None or (score, -rank) > best[:2]:
                    best = (score, -rank, dialect)
    return best[2] if best else Dialect(",", '"', '"')


def _always_followed_by_space(sample: str) -> bool:
    plain = [line for line in sample.splitlines() if line and '"' not in line and "," in line]
    return bool(plain) and all(line.count(",") == line.count(", ") for line in plain)


def _consistency(rows: list[list[str]]) -> float:
    """Pattern score times type score: one field count shared by the records, and cells that
    read as values. A wrong delimiter leaves fragments (`"Smith`, `1;2;3`) and ragged rows."""
    rows = [row for row in rows if row]
    if not rows:
        return 0.0
    widths = Counter(len(row) for row in rows)
    pattern = sum(n / len(rows) * (width - 1) / width for width, n in widths.items()) / len(widths)
    cells = [cell.strip() for row in rows for cell in row]
    typed = sum(1 for cell in cells if VALUE_LIKE.fullmatch(cell))
    return pattern * max(typed / len(cells), 0.01)


# -- layout ---------------------------------------------------------------------------------------


def _delimited(
    text: str,
    tail: str | None,
    encoding: str,
    compression: str | None,
    complete: bool,
    given: dict,
    nulls: frozenset[str],
    known: list[str] | None,
) -> Detected:
    terminator = "\r\n" if "\r\n" in text[:65536] else ("\r" if "\n" not in text[:65536] else "\n")
    if not complete:  # the last sampled line may be cut
        text = text[: text.rfind("\n") + 1] if "\n" in text else text
    dialect = _dialect(text, given)
    rows = dialect.rows(text)
    comments, width = _comments(rows)
    filled = [i for i, row in enumerate(rows) if i not in comments and _filled(row)]
    if not filled:
        raise FormatError("no rows of data")
    start = int(given["skip_rows"]) if "skip_rows" in given else _block_start(rows, filled, width)
    table = [i for i in filled if i >= start]
    if not table:
        raise FormatError(f"no rows of data after the {start} records skipped")
    if complete:
        cut = (
            len(table) - int(given["footer_rows"])
            if "footer_rows" in given
            else _footnotes_from(rows, table, width)
        )
        table, trailer = table[:cut], table[cut:]
    else:
        trailer = []
    block = [rows[i] for i in range(start, table[-1] + 1) if i not in comments and rows[i]] if table else []
    trailing = (
        width > 1 and bool(block) and all(len(row) >= width and not row[width - 1].strip() for row in block)
    )
    whole = [len(row) == width for row in block]  # records of the table's own field count
    body = [row[: width - trailing] for row in block]
    decimal = str(
        given.get("decimal_separator") or ("," if dialect.delimiter != "," and _comma_decimals(body) else ".")
    )
    header_rows = _header_rows(body, whole, decimal, nulls, known, given)
    if trailing and not header_rows:  # without a header naming it, an empty last column is kept
        trailing = False
        body = [row[:width] for row in block]
    width -= trailing
    second = _second_table(rows, table, header_rows, body) if complete and header_rows else None
    if second is not None:
        trailer = [i for i in table if i >= second] + trailer
        table = [i for i in table if i < second]
        body = [rows[i][:width] for i in range(start, table[-1] + 1) if i not in comments and rows[i]]
    data = body[header_rows:]
    kinds = [_column_type([row[c] for row in data if c < len(row)], decimal, nulls) for c in range(width)]
    columns = [
        " ".join(row[c].strip() for row in body[:header_rows] if c < len(row) and row[c].strip())
        for c in range(width)
    ]
    names = safe_names([c if header_rows else None for c in columns])
    head = [row[:width] for row in rows[: start + header_rows] if row and _read_as_row(row, width)]
    inner = [rows[i] for i in range(start, (table[-1] if table else start) + 1) if i not in comments][
        header_rows:
    ]
    if not complete and tail:
        trailer_rows = _tail_footnotes(dialect.rows(tail), width)
        after = trailer_rows
    else:  # the whole file is known: the reader gets it cut where the table ends
        trailer_rows = [rows[i] for i in trailer]
        after = []
    return Detected(
        format="csv",
        compression=compression,
        encoding=encoding,
        delimiter=dialect.delimiter,
        quote=dialect.quote,
        escape=dialect.escape,
        header=header_rows > 0,
        header_rows=max(header_rows, 1),
        skip_rows=start,
        footer_rows=len(trailer_rows),
        footer_read=sum(1 for row in after if _filled(row) and _read_as_row(row, width)),
        second_table=second,
        cut_at=_record_end(text, dialect, table[-1]) if complete and len(rows) > table[-1] + 1 else None,
        head=head,
        data_rows=sum(1 for row in inner if _filled(row)) if complete else None,
        stray_quotes=_stray_quotes(text, dialect),
        comment="#" if comments else None,
        comment_lines=sorted(i + 1 for i in comments if i >= start + header_rows),
        trailing_delimiter=trailing,
        decimal_separator=decimal,
        line_terminator=terminator,
        columns=columns,
        names=names,
        types={n: t[0] for n, t in zip(names, kinds, strict=True)},
        date_formats={n: t[1] for n, t in zip(names, kinds, strict=True) if t[1]},
        sample_complete=complete,
        surplus_rows=0
        if trailing
        else sum(1 for row in inner if len(row) > width and not _filled(row[width:])),
        blank_rows=sum(1 for row in inner if not _filled(row))
        + sum(
            1
            for i in range(table[-1] + 1, len(rows))
            if i not in comments and rows[i] and not _filled(rows[i])
        )
        + sum(1 for row in after if row and not _filled(row)),
    )


def _stray_quotes(text: str, dialect: Dialect) -> list[int]:
    """Lines where a quote stands between two characters of a field (`8 Wt."Amazing`): a
    delimiter lost before a quoted field, or a quote never escaped. The row may read with the
    right field count and still hold the wrong values, so it is worth a word to the sender."""
    q, d = re.escape(dialect.quote), re.escape(dialect.delimiter[0])
    escaped = re.escape(dialect.escape) if dialect.escape != dialect.quote else ""
    before = f"[^\\s{d}{q}{escaped}]"
    pattern = re.compile(f"{before}{q}[^\\s{d}{q}]")
    return [n for n, line in enumerate(text.splitlines(), start=1) if pattern.search(line)]


def _record_end(text: str, dialect: Dialect, record: int) -> int:
    """The offset in `text` just past record number `record` (from 0)."""
    buffer = io.StringIO(text, newline="")
    for number, _ in enumerate(dialect.reader(iter(buffer.readline, ""))):
        if number == record:
            return buffer.tell()
    return len(text)


def _read_as_row(row: list[str], width: int) -> bool:
    """Whether a strict reader returns this record as a row: enough fields, any surplus empty."""
    return len(row) >= width and not _filled(row[width:])


def _comments(rows: list[list[str]]) -> tuple[set[int], int]:
    """(comment records, the table's field count). A record starting with `#` is a comment above
    the first other record, and below it only when its field count is not the table's: a code
    list whose values start with `#` (`#FF0000,red`) is data."""
    hashed = {i for i, row in enumerate(rows) if row and row[0].lstrip().startswith("#")}
    others = [i for i, row in enumerate(rows) if i not in hashed and _filled(row)]
    if not others:
        return set(), _modal_width(rows, [i for i, row in enumerate(rows) if _filled(row)] or [0])
    width = _modal_width(rows, others)
    return {i for i in hashed if i < others[0] or len(rows[i]) != width}, width


def _filled(row: list[str]) -> bool:
    return any(cell.strip() for cell in row)


def _non_empty(row: list[str]) -> int:
    return sum(1 for cell in row if cell.strip())


def _modal_width(rows: list[list[str]], filled: list[int]) -> int:
    """The field count most records share; a record's empty surplus fields do not count."""
    widths = Counter(len(rows[i]) for i in filled)
    return max(widths.items(), key=lambda item: (item[1], item[0]))[0]


def _block_start(rows: list[list[str]], filled: list[int], width: int) -> int:
    """The first record of the table: of the modal width, not a title spread over empty cells
    (`PREAMBLE,,,,`), and followed by records of that width. Everything above is preamble."""
    for position, i in enumerate(filled):
        row = rows[i]
        if len(row) != width:
            continue
        if width >= 3 and _non_empty(row) <= 1 and _typical_filled(rows, filled[position + 1 :], width) > 1:
            continue  # a title spread over the table's width
        following = filled[position + 1 : position + 4]
        if sum(1 for j in following if len(rows[j]) == width) >= min(len(following), 2):
            return i
    return filled[0]


def _typical_filled(rows: list[list[str]], indexes: list[int], width: int) -> float:
    counts = sorted(_non_empty(rows[i]) for i in indexes[:50] if len(rows[i]) == width)
    return counts[len(counts) // 2] if counts else 0


def _footnotes_from(rows: list[list[str]], table: list[int], width: int) -> int:
    """Where the footnotes start in `table` (its length when there are none): the run of notes
    at its end (`_footnote`), judged as set off when a blank line stands before the run."""
    cut = len(table)
    while cut > 1 and _footnote(rows[table[cut - 1]], width, separated=True):
        cut -= 1
    if cut < len(table) and table[cut - 1] < table[cut] - 1:
        return cut
    alone = len(table)  # not set off: only notes that read as notes by themselves
    while alone > cut and _footnote(rows[table[alone - 1]], width, separated=False):
        alone -= 1
    return alone


def _tail_footnotes(rows: list[list[str]], width: int) -> list[list[str]]:
    """The footnote records at the end of a file too large to sample whole."""
    filled = [i for i, row in enumerate(rows) if _filled(row)]
    return [rows[i] for i in filled[_footnotes_from(rows, filled, width) :]]


def _footnote(row: list[str], width: int, separated: bool) -> bool:
    """A note under a table: one filled cell of prose (or anything set off by a blank line), or
    a line of prose whose own commas split it (`Source: Census 2021, Statistics Office`)
    where it starts like a note or is set off by a blank line. A record of the table's own field
    count (`Jane Doe,,`) is data unless it is set off by a blank line and reads as a note."""
    filled = [c.strip() for c in row if c.strip()]
    if width < 2 or not filled:
        return False
    first = filled[0]
    if _column_type([first], ".", frozenset({""}))[0] != "text":
        return False
    prose = " " in first or ":" in first
    note = bool(NOTE.match(first))
    if len(row) == width:  # the table's own shape: data, unless a note set off below it
        return separated and (note or (len(filled) == 1 and prose))
    if len(filled) == 1:
        return prose or separated
    return prose and (separated or note)


def _second_table(
    rows: list[list[str]], table: list[int], header_rows: int, body: list[list[str]]
) -> int | None:
    """The record where another table starts: its header repeats most of this one's cells."""
    header = [cell.strip().lower() for cell in body[header_rows - 1]]
    for i in table[header_rows:]:
        cells = [cell.strip().lower() for cell in rows[i]]
        same = sum(1 for a, b in zip(cells, header, strict=False) if a and a == b)
        if same >= max(2, 0.8 * sum(1 for h in header if h)):
            return i
    return None


def _comma_decimals(table: list[list[str]]) -> bool:
    return any(DECIMAL_COMMA.fullmatch(cell.strip()) for row in table[1:200] for cell in row)


# -- header ---------------------------------------------------------------------------------------


def _header_rows(
    body: list[list[str]],
    whole: list[bool],
    decimal: str,
    nulls: frozenset[str],
    known: list[str] | None,
    given: Mapping,
) -> int:
    """How many of the first records are the header: 0, 1, or a header on several lines (each
    of the table's own field count: a damaged first data row is not a header line)."""
    if "header" in given:
        return int(given.get("header_rows", 1)) if given["header"] else 0
    if not body:
        return 0
    if known and safe_names(list(body[0])) == known:
        return 1
    width = len(body[0])
    repeated = [row for row in body[1:] if row != body[0]]  # a header repeated below is no value
    below = repeated[MAX_HEADER_ROWS - 1 :] if len(repeated) > MAX_HEADER_ROWS + 1 else repeated
    kinds = [_column_type([row[c] for row in below if c < len(row)], decimal, nulls)[0] for c in range(width)]
    for c, kind in enumerate(kinds):  # every value has decimals: a bare year above them is a label
        if kind == "decimal" and not any(INTEGER.fullmatch(row[c].strip()) for row in below if c < len(row)):
            kinds[c] = "decimal!"
    count = 0
    for row, fits_width in zip(body[:MAX_HEADER_ROWS], whole, strict=False):
        misfits, fits = _fit(row, kinds, decimal, nulls)
        labels = (misfits and misfits >= fits) or _years(row, kinds)
        if labels and (count == 0 or ((not fits or _years(row, kinds)) and fits_width)):
            count += 1
        else:
            break
    if count or not repeated:
        return count or int(_labels(body[0], [], nulls))
    if any(kind != "text" for kind in kinds) and _fit(body[0], kinds, decimal, nulls)[1]:
        return 0  # the first row's values fit their typed columns: data
    return int(_labels(body[0], repeated, nulls))


def _years(row: list[str], kinds: list[str]) -> bool:
    """Whether the row's cells over typed columns are years running left to right (`2019,2020,
    2021` over figures): the labels of a wide statistical table, not a row of its values."""
    cells = [cell.strip() for cell, kind in zip(row, kinds, strict=False) if kind != "text" and cell.strip()]
    if len(cells) < 2 or not all(YEAR.fullmatch(cell) for cell in cells):
        return False
    years = [int(cell) for cell in cells]
    return all(b > a for a, b in itertools.pairwise(years))


def _fit(row: list[str], kinds: list[str], decimal: str, nulls: frozenset[str]) -> tuple[int, int]:
    """(cells that cannot be values of their typed column, cells that can)."""
    misfits = fits = 0
    for cell, kind in zip(row, kinds, strict=False):
        value = cell.strip()
        if kind == "text" or value in nulls:
            continue
        if _fits(value, kind, decimal):
            fits += 1
        else:
            misfits += 1
    return misfits, fits


def _fits(value: str, kind: str, decimal: str) -> bool:
    """Whether one value can belong to a column of `kind` (`decimal!`: every value has decimals)."""
    if kind == "boolean":
        return value.lower() in TRUE_TOKENS | FALSE_TOKENS
    if kind == "integer":
        return bool(INTEGER.fullmatch(value))
    if kind.startswith("decimal"):
        number = DECIMAL_COMMA if decimal == "," else DECIMAL_POINT
        return bool(number.fullmatch(value)) and not (kind == "decimal!" and INTEGER.fullmatch(value))
    formats = DATE_FORMATS if kind == "date" else TIMESTAMP_FORMATS
    return any(_parses(value.replace("Z", "+0000"), fmt) for fmt in formats)


def _labels(first: list[str], data: list[list[str]], nulls: frozenset[str]) -> bool:
    """Whether an all-text first row names its columns: distinct labels with letters (or years),
    none repeated below, and shaped unlike the values below where those share a shape with
    digits (`code` over `D-01`, `D-02`). Letters alone tell nothing (`Country` over `Germany`,
    `CODE` over `DE`), and a reference file far more often has a header than not."""
    labels = [cell.strip() for cell in first]
    present = [label for label in labels if label]
    if len(present) < len(labels) - (1 if len(labels) > 2 else 0) or len(set(present)) != len(present):
        return False
    worded = [bool(re.search(r"[^\W\d_]", label)) for label in present]
    if not any(worded) or not all(
        w or YEAR.fullmatch(label) for w, label in zip(worded, present, strict=True)
    ):
        return False
    votes = 0
    for c, label in enumerate(labels):
        values = [row[c].strip() for row in data if c < len(row) and row[c].strip() not in nulls]
        if label in values:
            return False
        shapes = {_shape(v) for v in values}
        if label and len(shapes) == 1 and "9" in next(iter(shapes)):  # only a shape with digits tells
            votes += 1 if _shape(label) not in shapes else -1
    return votes >= 0


def _shape(value: str) -> str:
    classes = re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", re.sub(r"\d", "9", value)))
    return re.sub(r"(.)\1+", r"\1", classes)


# -- types ------------------------------------------------------------------------------------------


def _column_type(values: list[str], decimal: str, nulls: frozenset[str]) -> tuple[str, str | None]:
    """(type, date format) of a column from its sampled values; nulls do not count."""
    present = {v.strip() for v in values} - nulls  # each distinct value is judged once
    if not present:
        return "text", None
    lowered = {v.lower() for v in present}
    if lowered <= TRUE_TOKENS | FALSE_TOKENS and lowered & TRUE_TOKENS and lowered & FALSE_TOKENS:
        return "boolean", None
    if all(INTEGER.fullmatch(v) for v in present):
        if any(_leading_zero(v) for v in present):
            return "text", None  # a code such as a zip or an account number
        return "integer", None
    number = DECIMAL_COMMA if decimal == "," else DECIMAL_POINT
    if all(number.fullmatch(v) or INTEGER.fullmatch(v) for v in present):
        return "decimal", None
    for fmt in DATE_FORMATS:
        if all(_parses(v, fmt) for v in present):
            return "date", fmt
    for fmt in TIMESTAMP_FORMATS:
        if all(_parses(v.replace("Z", "+0000"), fmt) for v in present):
            return "timestamp", fmt
    return "text", None


def _leading_zero(value: str) -> bool:
    digits = value.lstrip("+-")
    return len(digits) > 1 and digits.startswith("0")


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
        return True
    except ValueError:
        return False
