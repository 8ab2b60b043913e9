"""Reading detected files into typed tables: every variant gives the rows a person sees in it."""

from __future__ import annotations

import gzip
from datetime import date

import pytest

from dataplatform.ingest.detect import FormatError, detect
from dataplatform.ingest.read import read, read_file


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


def test_decimal_commas_day_first_dates_booleans_and_empty_fields_as_null(tmp_path):
    data = b"Datum;Betrag;Aktiv\n31.12.2025;1,50;yes\n01.01.2026;;no\n"
    assert load(tmp_path, data) == [
        {"datum": date(2025, 12, 31), "betrag": 1.5, "aktiv": True},
        {"datum": date(2026, 1, 1), "betrag": None, "aktiv": False},
    ]


def test_null_markers_stay_text_unless_the_table_declares_them(tmp_path):
    path = tmp_path / "countries.csv"
    path.write_bytes(b"code,name,area\nNA,Namibia,824292\nDE,Germany,N/A\nNL,NULL,41850\n")
    assert read(path, detect(path)).to_pylist() == [
        {"code": "NA", "name": "Namibia", "area": "824292"},
        {"code": "DE", "name": "Germany", "area": "N/A"},
        {"code": "NL", "name": "NULL", "area": "41850"},
    ]
    declared = detect(path, null_values=["N/A", "NULL"])
    assert declared.types["area"] == "integer"
    assert [row["name"] for row in read(path, declared).to_pylist()] == ["Namibia", "Germany", None]
    assert read(path, declared).column("code").to_pylist() == ["NA", "DE", "NL"]


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
        FormatError, match=r"column 'amount' holds values that are not decimal: line 100001 'lots'"
    ):
        read(path, detect(path))


def test_a_row_with_more_fields_than_the_header_is_refused_not_shifted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,name\n1,a\n2,b,surplus\n3,c\n")
    with pytest.raises(FormatError, match=r"1 row.* line 3: 3 fields where the header has 2"):
        read(path, detect(path))


RAGGED = "code,name,capital\nAT,Austria,Vienna\nBE,Belgium\nCH,Switzerland,Bern\nDE,Germany,Berlin,EU\nDK,Denmark,Copenhagen\n"


def test_each_bad_line_is_named_with_its_field_count_under_reject(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED)
    with pytest.raises(FormatError) as refused:
        read(path, detect(path))
    assert "2 row(s)" in str(refused.value)
    assert "line 3: 2 fields where the header has 3" in str(refused.value)
    assert "line 5: 4 fields where the header has 3" in str(refused.value)


def test_many_bad_lines_are_named_up_to_a_limit_then_counted(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n" + "".join(f"{i}\n" if i % 2 else f"{i},x\n" for i in range(40)))
    with pytest.raises(FormatError, match=r"20 row\(s\) .*line 3: 1 fields.*and 10 more"):
        read(path, detect(path))


def test_quarantine_loads_the_good_rows_and_hands_back_the_bad_ones_as_delivered(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED)
    found = read_file(path, "quarantine")
    assert found.table.column("code").to_pylist() == ["AT", "CH", "DK"]
    assert [(r.line, r.raw, r.fields) for r in found.bad_rows] == [
        (3, "BE,Belgium", 2),
        (5, "DE,Germany,Berlin,EU", 4),
    ]
    assert any("2 row(s) quarantined: lines 3, 5" in w for w in found.warnings)


def test_pad_fills_short_rows_at_their_end_and_reports_each(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("code,name,population\nAT,Austria,9100000\nBE,Belgium\n")
    found = read_file(path, "pad")
    assert sorted(found.table.to_pylist(), key=lambda r: r["code"]) == [
        {"code": "AT", "name": "Austria", "population": 9100000},
        {"code": "BE", "name": "Belgium", "population": None},
    ]
    assert any("1 short row(s) padded with nulls: line 3" in w for w in found.warnings)
    path.write_text(RAGGED)
    with pytest.raises(FormatError, match="line 5: 4 fields"):
        read_file(path, "pad")  # a long row cannot be padded


def test_empty_surplus_fields_and_all_empty_rows_are_dropped_and_counted(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("id,name\n1,a,,\n,\n2,b\n\n3,c,\n,,\n")
    found = read_file(path)
    assert found.table.to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    assert any("2 row(s) with empty fields past the header's" in w for w in found.warnings)
    assert any("all-empty row(s) skipped" in w for w in found.warnings)
    assert found.bad_rows == []


def test_a_quoted_line_break_moves_the_bad_line_it_is_named_by(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,"note\n(free text)",n\n1,"two\nlines",5\n2,short\n3,ok,6\n')
    found = read_file(path, "quarantine")
    assert found.detected.columns == ["id", "note\n(free text)", "n"]
    assert found.table.to_pylist() == [
        {"id": 1, "note_free_text": "two\nlines", "n": 5},
        {"id": 3, "note_free_text": "ok", "n": 6},
    ]
    assert [(r.line, r.raw) for r in found.bad_rows] == [(5, "2,short")]


def test_a_truncated_gzip_gives_no_rows_but_an_error(tmp_path):
    whole = gzip.compress(("id,v\n" + "".join(f"{i},{i}\n" for i in range(50_000))).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FormatError):
        read(path, detect(path))


def test_a_hash_inside_values_is_text_and_only_whole_comment_lines_are_notes(tmp_path):
    path = tmp_path / "addresses.csv"
    path.write_text(
        'id,city,addr\n1,Leeds,Flat #3\n2,York,"Main St #4, rear"\n# checked by ops\n3,Hull,Dock F#\n'
    )
    found = read_file(path)
    assert [r["addr"] for r in found.table.to_pylist()] == ["Flat #3", "Main St #4, rear", "Dock F#"]
    colours = tmp_path / "colours.csv"
    colours.write_text("#hex,name\n#FF0000,red\n#00FF00,green\n")
    assert read_file(colours).table.to_pylist() == [
        {"hex": "#FF0000", "name": "red"},
        {"hex": "#00FF00", "name": "green"},
    ]


def test_a_title_the_reader_rejects_never_lets_the_header_in_as_data(tmp_path):
    path = tmp_path / "gdp.csv"
    path.write_text(",Table 1: GDP growth,,\ncountry,2019,2020,2021\nDE,1.5,-3.7,2.6\nFR,1.8,-7.5,6.4\n")
    found = read_file(path)
    assert found.detected.columns == ["country", "2019", "2020", "2021"]
    assert found.table.column("country").to_pylist() == ["DE", "FR"]


def test_an_all_text_table_has_a_header_unless_the_values_say_otherwise(tmp_path):
    path = tmp_path / "capitals.csv"
    path.write_text("Country,Capital\nGermany,Berlin\nFrance,Paris\n")
    assert read_file(path).table.to_pylist() == [
        {"country": "Germany", "capital": "Berlin"},
        {"country": "France", "capital": "Paris"},
    ]


def test_a_last_row_of_the_table_s_own_shape_is_data_not_a_footnote(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,age,city\nAnn Lee,34,Leeds\nJane Doe,,\n")
    assert read_file(path).table.column("name").to_pylist() == ["Ann Lee", "Jane Doe"]


def test_a_leading_zero_past_the_sample_is_refused_not_dropped(tmp_path):
    path = tmp_path / "zips.csv"
    rows = [f"{i},{10000 + i % 80000}" for i in range(120_000)]
    rows[110_000] = "110000,02134"
    path.write_text("id,zip\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        FormatError, match=r"column 'zip' holds values that are not integer: .*'02134'.*types"
    ):
        read(path, detect(path))


def test_utf16_big_endian_reads_like_any_other_encoding(tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes("name,n\nZoë,1\nMüller,2\n".encode("utf-16"))  # native order with a BOM
    path.with_name("be.csv").write_bytes(b"\xfe\xff" + "name,n\nZoë,1\nMüller,2\n".encode("utf-16-be"))
    for name in ("names.csv", "be.csv"):
        assert read_file(tmp_path / name).table.column("name").to_pylist() == ["Zoë", "Müller"]


def test_a_file_mixing_utf8_and_latin1_is_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("name\nZoë\n".encode() + "Müller\nCafé\n".encode("latin-1"))
    with pytest.raises(FormatError, match="invalid UTF-8 at byte offset"):
        detect(path)


def test_a_second_table_is_refused_by_default_and_cut_with_a_warning_under_quarantine(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("code,n\nA,1\nB,2\nC,3\ncode,n\nD,4\nE,5\n")
    with pytest.raises(FormatError, match="another table starts at record 5"):
        read_file(path)
    found = read_file(path, "quarantine")
    assert found.table.column("code").to_pylist() == ["A", "B", "C"]
    assert any("another table starts" in w for w in found.warnings)
