"""Reading detected files into typed tables: every variant gives the rows a person sees in it."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from dataplatform.ingest.detect import FormatError, detect
from dataplatform.ingest.read import read


def load(tmp_path, data: bytes, name: str = "file.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return read(path, detect(path)).to_pylist()


def test_types_quotes_and_embedded_newlines(tmp_path):
    rows = load(tmp_path, b'id,note,amount,day\n1,"Smith, Jr.",5.5,2026-03-10\n2,"two\nlines",,2026-03-11\n')
    assert rows == [
        {"id": 1, "note": "Smith, Jr.", "amount": 5.5, "day": date(2026, 3, 10)},
        {"id": 2, "note": "two\nlines", "amount": None, "day": date(2026, 3, 11)},
    ]


def test_preamble_footnotes_comments_crlf_and_trailing_delimiters(tmp_path):
    data = b"# ERP export\r\nReport of codes\r\n\r\ncode;name;\r\n01;Alpha;\r\n02;Beta;\r\n\r\nTotal 2\r\n"
    assert load(tmp_path, data) == [{"code": "01", "name": "Alpha"}, {"code": "02", "name": "Beta"}]


def test_decimal_commas_day_first_dates_booleans_and_null_tokens(tmp_path):
    data = b"Datum;Betrag;Aktiv\n31.12.2025;1,50;yes\n01.01.2026;N/A;no\n"
    assert load(tmp_path, data) == [
        {"datum": date(2025, 12, 31), "betrag": 1.5, "aktiv": True},
        {"datum": date(2026, 1, 1), "betrag": None, "aktiv": False},
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_every_encoding_reads_the_same_text(tmp_path, encoding):
    text = "name,n\nZoë “quoted”,1\n" if encoding == "cp1252" else "name,n\nZoë Müller,1\n"
    rows = load(tmp_path, text.encode(encoding))
    assert rows == [{"name": text.splitlines()[1].split(",")[0], "n": 1}]


def test_gzip_and_headerless_files(tmp_path):
    rows = load(tmp_path, gzip.compress(b"1,2026-03-10\n2,2026-03-11\n"), "x.csv.gz")
    assert rows == [
        {"column_1": 1, "column_2": date(2026, 3, 10)},
        {"column_1": 2, "column_2": date(2026, 3, 11)},
    ]


def test_a_value_past_the_sample_that_does_not_fit_names_its_row_and_value(tmp_path):
    path = tmp_path / "bad.csv"
    rows = [f"{i},{i}.5" for i in range(1, 120_001)]  # about 1.5 MB: the sample sees decimals only
    rows[99_999] = "100000,lots"
    path.write_text("id,amount\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        FormatError, match=r"column 'amount' holds values that are not decimal: row 100000 'lots'"
    ):
        read(path, detect(path))


def test_a_row_with_more_fields_than_the_header_is_refused_not_shifted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,name\n1,a\n2,b,surplus\n3,c\n")
    with pytest.raises(FormatError, match="cannot be parsed"):
        read(path, detect(path))


def test_a_truncated_gzip_gives_no_rows_but_an_error(tmp_path):
    whole = gzip.compress(("id,v\n" + "".join(f"{i},{i}\n" for i in range(50_000))).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FormatError):
        read(path, detect(path))
