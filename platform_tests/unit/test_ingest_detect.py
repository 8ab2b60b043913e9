"""Format detection on the files partners really send, each variant written byte for byte."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataplatform.ingest.detect import FormatError, detect
from dataplatform.ingest.names import safe_names


def write(tmp_path, data: bytes, name: str = "file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


RATES = "currency,rate,as_of\nEUR,1.08,2026-03-10\nGBP,1.27,2026-03-10\nJPY,0.0067,2026-03-10\n"


@pytest.mark.parametrize(
    ("delimiter", "label"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_each_delimiter_with_header_and_types(tmp_path, delimiter, label):
    found = detect(write(tmp_path, RATES.replace(",", delimiter).encode()))
    assert (found.format, found.delimiter, found.header) == ("csv", delimiter, True)
    assert found.names == ["currency", "rate", "as_of"]
    assert found.types == {"currency": "text", "rate": "decimal", "as_of": "date"}
    assert found.date_formats == {"as_of": "%Y-%m-%d"}


def test_quotes_embedded_delimiters_literal_quotes_and_newlines(tmp_path):
    data = 'id,note,amount\n1,"Smith, Jr.",5\n2,"said ""hi""",6\n3,"two\nlines",7\n4,plain,8\n'
    found = detect(write(tmp_path, data.encode()))
    assert (found.delimiter, found.header, found.names) == (",", True, ["id", "note", "amount"])
    assert found.types == {"id": "integer", "note": "text", "amount": "integer"}


def test_crlf_trailing_delimiters_and_comment_lines(tmp_path):
    data = "# exported by ERP\r\ncode;name;\r\n01;Alpha;\r\n02;Beta;\r\n# end\r\n"
    found = detect(write(tmp_path, data.encode()))
    assert (found.delimiter, found.line_terminator, found.comment, found.trailing_delimiter) == (
        ";",
        "\r\n",
        "#",
        True,
    )
    assert found.names == ["code", "name"] and found.types["code"] == "text"  # leading zeros: a code


def test_preamble_above_the_header_and_footnotes_below_the_data(tmp_path):
    data = (
        "Country codes\n"
        "Source: statistics office, March 2026\n"
        "\n"
        "code,name,population\n"
        "DE,Germany,84000000\n"
        "FR,France,68000000\n"
        "IT,Italy,59000000\n"
        "\n"
        "Total: 3 countries\n"
        "(c) 2026\n"
    )
    found = detect(write(tmp_path, data.encode()))
    assert (found.skip_rows, found.footer_rows, found.header) == (3, 2, True)
    assert found.names == ["code", "name", "population"] and found.types["population"] == "integer"


def test_no_header_gets_generated_names(tmp_path):
    found = detect(write(tmp_path, b"1,2026-03-10,4.5\n2,2026-03-11,5.5\n3,2026-03-12,6.0\n"))
    assert found.header is False
    assert found.names == ["column_1", "column_2", "column_3"]
    assert found.types == {"column_1": "integer", "column_2": "date", "column_3": "decimal"}


def test_decimal_commas_day_first_dates_and_booleans(tmp_path):
    data = "Datum;Betrag;Aktiv\n31.12.2025;1,50;ja\n01.01.2026;2,75;nein\n".replace("ja", "yes").replace(
        "nein", "no"
    )
    found = detect(write(tmp_path, data.encode()))
    assert found.decimal_separator == ","
    assert found.types == {"datum": "date", "betrag": "decimal", "aktiv": "boolean"}
    assert found.date_formats["datum"] == "%d.%m.%Y"


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["2026-03-10", "2026-12-31"], "%Y-%m-%d"),
        (["31/12/2025", "01/02/2026"], "%d/%m/%Y"),
        (["12/31/2025", "01/02/2026"], "%m/%d/%Y"),
    ],
)
def test_date_orders(tmp_path, values, fmt):
    found = detect(
        write(tmp_path, ("day,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode())
    )
    assert (found.types["day"], found.date_formats["day"]) == ("date", fmt)


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        ("name,city\nZoë,Münster\n".encode(), "utf-8"),
        (b"\xef\xbb\xbfname,city\nZo\xc3\xab,M\xc3\xbcnster\n", "utf-8-sig"),
        ("name,city\nZoë,Münster\n".encode("utf-16"), "utf-16"),
        ("name,price\n“quoted”,5 €\n".encode("cp1252"), "cp1252"),
        ("name,city\nZoë,Münster\n".encode("latin-1"), "latin-1"),
    ],
)
def test_encodings(tmp_path, encoded, encoding):
    found = detect(write(tmp_path, encoded))
    assert found.encoding == encoding and found.names[:1] == ["name"]


def test_broken_utf8_is_refused_with_the_offset(tmp_path):
    data = "name\nZoë\n".encode() + b"bad\xff byte\n"
    with pytest.raises(FormatError, match=r"invalid UTF-8 at byte offset 13 \(0xff\)"):
        detect(write(tmp_path, data))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\n", "only blank space"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file: a NUL byte at offset 8"),
        (b"a,b\x81c\n", "undecodable byte 0x81 at offset 3"),
    ],
)
def test_unreadable_files_say_why(tmp_path, data, reason):
    with pytest.raises(FormatError, match=reason):
        detect(write(tmp_path, data))


def test_header_only_is_a_header_with_no_rows(tmp_path):
    found = detect(write(tmp_path, b"currency,rate\n"))
    assert found.header and found.names == ["currency", "rate"]


def test_gzip_parquet_and_json_lines(tmp_path):
    gz = detect(write(tmp_path, gzip.compress(RATES.encode()), "rates.csv.gz"))
    assert (gz.compression, gz.format, gz.delimiter, gz.names) == (
        "gzip",
        "csv",
        ",",
        ["currency", "rate", "as_of"],
    )
    parquet = tmp_path / "rates.parquet"
    pq.write_table(pa.table({"a": [1]}), parquet)
    assert detect(parquet).format == "parquet"
    assert detect(write(tmp_path, b'{"a": 1}\n{"a": 2, "b": "x"}\n', "x.jsonl")).format == "jsonl"


def test_safe_names_are_deterministic_unique_and_recorded():
    header = ["\ufeffID", "First Name", "first-name", "", "2nd", "Prénom", None, "a" * 80, "select"]
    names = safe_names(header)
    assert names == [
        "id",
        "first_name",
        "first_name_2",
        "column_4",
        "c_2nd",
        "prenom",
        "column_7",
        "a" * 63,
        "select",
    ]
    assert safe_names(header) == names


def test_a_file_larger_than_the_sample_reads_its_footnotes_from_the_end(tmp_path):
    from dataplatform.ingest.detect import SAMPLE_BYTES

    path = tmp_path / "big.csv"
    with path.open("w") as file:
        file.write("id,value,label\n")
        rows = 0
        while file.tell() < 3 * SAMPLE_BYTES:
            file.write(f"{rows},{rows * 0.5},row {rows}\n")
            rows += 1
        file.write("\nGenerated by ERP\nPage 1 of 1\n")
    found = detect(path)
    assert (found.header, found.footer_rows, found.names) == (True, 2, ["id", "value", "label"])
    assert found.types == {"id": "integer", "value": "decimal", "label": "text"}
