"""Work out how a delivered file is written, from its bytes alone.

Common sniffers guess from a few lines and one delimiter at a time, and misread real files:
a preamble above the header, footnotes below the data, a semicolon file with decimal commas,
cp1252 quotes read as latin-1 control characters, zip codes stripped of their leading zeros.
Here each question is answered on its own evidence:

* container: gzip (by magic number), Parquet (`PAR1`), JSON lines (every sampled line a JSON
  object), else delimited text;
* encoding: a BOM decides; else strict UTF-8; else cp1252 when bytes 0x80-0x9F are present
  (they are printable there, control codes in latin-1), latin-1 when not. A file that holds
  UTF-8 sequences and invalid bytes is broken UTF-8: refused with the offset of the first bad
  byte, never decoded into the wrong letters. NUL bytes outside UTF-16 mean a binary file;
* delimiter: the candidate (comma, semicolon, tab, pipe) whose quote-aware split gives the
  most rows with one consistent field count, more than one field;
* preamble and footnotes: rows before the first and after the last row of that shape;
* header: present when some column's header cell does not fit the column's type, or, for all
  text columns, when the first row's cells are distinct labels that never recur below;
* types per column: boolean, integer (a leading zero keeps the column as text: it is a code),
  decimal (point, or comma when the delimiter is not a comma), date in the common orders
  (ISO first, then day-first before month-first when both fit), timestamp, else text.

Only a sample from the start (and the last lines, for footnotes) is read, so a 1 GB file
costs the same as a small one.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from dataplatform.ingest.names import safe_names

SAMPLE_BYTES = 1 << 20
TAIL_BYTES = 64 << 10
DELIMITERS = (",", ";", "\t", "|")
NULL_TOKENS = frozenset({"", "null", "NULL", "Null", "NA", "N/A", "n/a", "None", "none"})
TRUE_TOKENS = frozenset({"true", "yes", "y", "t"})
FALSE_TOKENS = frozenset({"false", "no", "n", "f"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d")
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
INTEGER = re.compile(r"[+-]?\d+")
DECIMAL_POINT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


class FormatError(ValueError):
    """A file the platform cannot read; the message says why, precisely enough to fix it."""


@dataclass(frozen=True)
class Detected:
    """How a file is written: enough for a loader to read it exactly, and a record for people."""

    format: str  # csv | parquet | jsonl
    compression: str | None = None  # gzip
    encoding: str = "utf-8"
    delimiter: str | None = None
    header: bool = True
    skip_rows: int = 0  # lines before the header (or first data row), once comment lines are removed
    footer_rows: int = 0  # non-blank rows of footnotes after the data
    comment: str | None = None
    trailing_delimiter: bool = False
    decimal_separator: str = "."
    line_terminator: str = "\n"
    columns: list[str] = field(default_factory=list)  # as delivered ('' when there is no header)
    names: list[str] = field(default_factory=list)  # safe names, position by position
    types: dict[str, str] = field(default_factory=dict)  # by safe name
    date_formats: dict[str, str] = field(default_factory=dict)  # by safe name, for date columns

    def to_dict(self) -> dict:
        return asdict(self)


def detect(path: Path) -> Detected:
    """Detect `path`'s format from a sample of its start and end."""
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
    encoding = _encoding(raw)
    text = _decode_sample(raw, encoding)
    if _is_json_lines(text):
        return Detected(format="jsonl", compression=compression, encoding=encoding)
    tail = _tail_text(path, encoding) if compression is None else None
    return _delimited(text, tail, encoding, compression, complete=len(raw) < SAMPLE_BYTES)


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
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", raw[: error.start]):  # real UTF-8 before the fault
            raise FormatError(
                f"invalid UTF-8 at byte offset {error.start} (0x{raw[error.start]:02x}); "
                "the file mixes encodings or is damaged"
            ) from None
    high = [b for b in raw if 0x80 <= b <= 0x9F]
    for offset, byte in enumerate(raw):
        if byte in CP1252_UNDEFINED:
            raise FormatError(f"undecodable byte 0x{byte:02x} at offset {offset} in any known encoding")
    return "cp1252" if high else "latin-1"


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
    return data.decode(encoding)


def _tail_text(path: Path, encoding: str) -> str | None:
    size = path.stat().st_size
    if size <= SAMPLE_BYTES:
        return None
    with path.open("rb") as file:
        file.seek(size - TAIL_BYTES)
        data = file.read()
    text = data.decode(encoding if encoding != "utf-8-sig" else "utf-8", errors="ignore")
    return text.split("\n", 1)[1] if "\n" in text else text  # the first line is cut


# -- structure -------------------------------------------------------------------------------------


def _is_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines[:-1] or lines)
    except json.JSONDecodeError:
        return False


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(
        csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    )


def _delimited(
    text: str, tail: str | None, encoding: str, compression: str | None, complete: bool
) -> Detected:
    terminator = "\r\n" if "\r\n" in text[:65536] else "\n"
    lines = text.splitlines()
    comment = "#" if any(line.startswith("#") for line in lines[:200]) else None
    body = text if comment is None else "\n".join(line for line in lines if not line.startswith("#"))
    if not complete:  # the last sampled line may be cut
        body = body[: body.rfind("\n") + 1] if "\n" in body else body
    delimiter, rows, width = _best_delimiter(body)
    first = next(i for i, row in enumerate(rows) if len(row) == width)
    last = max(i for i, row in enumerate(rows) if len(row) == width)
    table = rows[first : last + 1]
    skip_rows = _physical_lines(body, delimiter, first)
    footer_rows = len(rows) - 1 - last if complete else _footer_lines(tail, delimiter, width)
    trailing = all(row and row[-1] == "" for row in table if len(row) == width) and width > 1
    if trailing:
        table = [row[:-1] for row in table]
        width -= 1
    table = [row for row in table if len(row) == width or any(cell.strip() for cell in row)]
    if not table:
        raise FormatError("no rows of data")
    decimal = "," if delimiter != "," and _comma_decimals(table) else "."
    header_row, data = table[0], table[1:]
    data_types = [_column_type([row[c] for row in data if c < len(row)], decimal) for c in range(width)]
    has_header = _has_header(header_row, data, data_types, decimal)
    if not has_header:
        data = table
        data_types = [_column_type([row[c] for row in data if c < len(row)], decimal) for c in range(width)]
    columns = [cell for cell in header_row] if has_header else [""] * width
    names = safe_names([c if has_header else None for c in columns])
    return Detected(
        format="csv",
        compression=compression,
        encoding=encoding,
        delimiter=delimiter,
        header=has_header,
        skip_rows=skip_rows,
        footer_rows=footer_rows,
        comment=comment,
        trailing_delimiter=trailing,
        decimal_separator=decimal,
        line_terminator=terminator,
        columns=columns,
        names=names,
        types={n: t[0] for n, t in zip(names, data_types, strict=True)},
        date_formats={n: t[1] for n, t in zip(names, data_types, strict=True) if t[1]},
    )


def _best_delimiter(text: str) -> tuple[str, list[list[str]], int]:
    best: tuple[float, int, str, list[list[str]], int] | None = None
    for rank, delimiter in enumerate(DELIMITERS):
        rows = [row for row in _rows(text, delimiter) if row != []]
        widths = Counter(len(row) for row in rows)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
        if width < 2:
            continue
        score = count / len(rows)
        candidate = (score * min(width, 50), -rank, delimiter, rows, width)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        rows = [row for row in _rows(text, ",") if row != []]
        return ",", rows, 1
    return best[2], best[3], best[4]


def _physical_lines(text: str, delimiter: str, records: int) -> int:
    """How many lines come before the `records`-th non-blank record (blank lines count, and
    a quoted field may span several lines)."""
    if not records:
        return 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    seen, before = 0, 0
    for row in reader:
        if row != []:
            if seen == records:
                return before
            seen += 1
        before = reader.line_num
    return before


def _footer_lines(tail: str | None, delimiter: str, width: int) -> int:
    if not tail:
        return 0
    rows = [row for row in _rows(tail, delimiter) if row != []]
    footer = 0
    for row in reversed(rows):
        if len(row) == width:
            break
        footer += 1
    return footer


def _comma_decimals(table: list[list[str]]) -> bool:
    return any(DECIMAL_COMMA.fullmatch(cell.strip()) for row in table[1:200] for cell in row)


# -- types ------------------------------------------------------------------------------------------


def _column_type(values: list[str], decimal: str) -> tuple[str, str | None]:
    """(type, date format) of a column from its sampled values; nulls do not count."""
    present = {v.strip() for v in values} - NULL_TOKENS  # each distinct value is judged once
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


def _misfits(cell: str, kind: str, decimal: str) -> bool:
    """Whether a first-row cell cannot be a value of its typed column (so it is a label)."""
    if kind == "text" or cell.strip() in NULL_TOKENS:
        return False
    own = _column_type([cell], decimal)[0]
    return own != kind and not (kind == "decimal" and own == "integer")


def _has_header(
    first: list[str], data: list[list[str]], types: list[tuple[str, str | None]], decimal: str
) -> bool:
    if not data:
        return all(cell.strip() for cell in first) and all(
            _column_type([c], decimal)[0] == "text" for c in first
        )
    if any(_misfits(cell, kind, decimal) for cell, (kind, _) in zip(first, types, strict=False)):
        return True
    if any(kind != "text" for kind, _ in types):
        return False
    labels = [cell.strip() for cell in first]
    if not all(labels) or len(set(labels)) != len(labels):
        return False
    seen_below = any(row[c].strip() == labels[c] for row in data for c in range(min(len(row), len(labels))))
    return not seen_below and all(re.search(r"[A-Za-z]", label) for label in labels)
