"""Hostile and odd values: each refused at its file, line and field, never a crash."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import openpyxl
import pytest

from solidarity.core.statements import (
    DateWindow,
    StatementRejected,
    statement_read,
    tabular,
)
from solidarity.core.statements.base import ErrorLog

HEADER = "Số tài khoản: 0011001932418\nNgày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Nội dung\n"
CAMT = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Acct><Id><Othr><Id>0011001932418</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
<BookgDt><Dt>{day}</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
MT940 = """:20:STMT
:25:0011001932418
:28C:1
:60F:C240910VND0,
:61:{day}C{amount}NTRFNONREF//FT1
:86:ung ho
:62F:C240910VND0,
-"""


def refuse(data: bytes, name: str = "bad.csv", **kw) -> list:
    with pytest.raises(StatementRejected) as info:
        list(statement_read(io.BytesIO(data), name=name, **kw))
    assert all(e.file == name for e in info.value.errors)
    return info.value.errors


def csv_row(amount: str = "100000", day: str = "10/09/2024", memo: str = "ung ho") -> bytes:
    return (HEADER + f"{day},FT1,,{amount},{memo}\n").encode()


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("1" * 30, "too many digits"),
        ("9223372036854775808", "largest storable"),
        ("10000000000001", "beyond any real transfer"),
        ("9" * 5000, "5000 characters"),
        ("1E+999999999", "impossible amount"),
        ("²", "not ASCII digits"),
        ("١٢٣", "not ASCII digits"),
    ],
)
def test_csv_amounts_no_transfer_has(amount, fragment):
    (error,) = refuse(csv_row(amount))
    assert (error.line, error.field) == (3, "credit")
    assert fragment in error.message or "largest storable" in error.message


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("1" * 30, "too many digits"),
        ("9223372036854775808", "largest storable"),
        ("10000000000001", "beyond any real transfer"),
        ("1E+999999999", "too many digits"),
        ("1" * 100, "not a number"),
    ],
)
def test_camt_amounts_no_transfer_has(amount, fragment):
    (error,) = refuse(CAMT.format(amount=amount, day="2024-09-10").encode(), "s.xml")
    assert (error.line, error.field) == (4, "Amt")
    assert fragment in error.message


def test_mt940_amount_past_int64():
    data = MT940.format(day="240910", amount="9223372036854775808,").encode()
    (error,) = refuse(data, "s.sta")
    assert (error.line, error.field) == (5, ":61:")
    assert "beyond any real transfer" in error.message


@pytest.mark.parametrize("day", ["31/12/9999", "01/01/0001", "01/01/1969"])
def test_impossible_years_are_refused(day):
    (error,) = refuse(csv_row(day=day))
    assert (error.line, error.field) == (3, "date")
    assert "implausible booking date" in error.message


def test_camt_year_9999_is_refused():
    (error,) = refuse(CAMT.format(amount="100", day="9999-12-31").encode(), "s.xml")
    assert (error.line, error.field) == (4, "BookgDt")


def test_dates_outside_the_campaign_window_are_refused():
    window = DateWindow(date(2025, 8, 1), date(2025, 10, 31))
    data = (HEADER + "10/09/2025,FT1,,100,a\n10/09/2024,FT2,,100,b\n01/11/2025,FT3,,1,c\n").encode()
    errors = refuse(data, window=window)
    assert [(e.line, e.field) for e in errors] == [(4, "date"), (5, "date")]
    assert "before 2025-08-01" in errors[0].message
    assert "after 2025-10-31" in errors[1].message


@pytest.mark.parametrize(
    ("memo", "code"),
    [("a\x07b", "U+0007"), ("x\x1b[2Jy", "U+001B"), ("ho\u202etro", "U+202E"), ("\x9bz", "U+009B")],
)
def test_control_characters_are_refused(memo, code):
    (error,) = refuse(csv_row(memo=memo))
    assert (error.line, error.field) == (3, "memo")
    assert code in error.message


def test_carriage_return_inside_a_quoted_memo_is_a_line_break():
    data = (HEADER + '10/09/2024,FT1,,100000,"ung ho\rCUBA"\n').encode()
    (tx,) = statement_read(io.BytesIO(data), name="cr.csv")
    assert tx.memo == "ung ho CUBA"


def test_carriage_return_inside_an_unquoted_memo_is_refused_at_its_line():
    data = (HEADER + "10/09/2024,FT1,,100000,ung ho\rCUBA\n").encode()
    (error,) = refuse(data)
    assert (error.line, error.field) == (3, "csv")


def test_unknown_xml_encoding_is_refused():
    data = CAMT.format(amount="100", day="2024-09-10").replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="TF-8"?>'
    )
    (error,) = refuse(data.encode(), "s.xml")
    assert error.field == "xml"
    assert "encoding" in error.message


def test_bad_encoding_is_refused():
    (error,) = refuse(HEADER.encode() + b"10/09/2024,FT1,,100000,caf\xe9\n")
    assert (error.line, error.field) == (3, "encoding")


# --- XLSX ----------------------------------------------------------------------------------


def _workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Số tài khoản: 0011001932418"])
    sheet.append(["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Nội dung"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_part(xlsx: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_xlsx_reads_as_before():
    (tx,) = statement_read(
        io.BytesIO(_workbook([["10/09/2024", "FT1", None, 100000, "ung ho"]])), name="ok.xlsx"
    )
    assert tx.amount_minor == 100000


def test_xlsx_decompression_bomb_is_refused_before_it_expands():
    # A 20 MB part of zeros compresses about a thousand times
    bomb = _with_part(_workbook([]), "xl/media/zeros.bin", bytes(20 * 2**20))
    assert len(bomb) < 100_000
    (error,) = refuse(bomb, "bomb.xlsx")
    assert (error.line, error.field) == (1, "xlsx")
    assert "decompression bomb" in error.message
    assert "zeros.bin" in error.message


def test_xlsx_total_expansion_is_bounded(monkeypatch):
    monkeypatch.setattr(tabular, "XLSX_MAX_UNCOMPRESSED", 4096)
    (error,) = refuse(_workbook([]), "big.xlsx")
    assert "expands to" in error.message


def test_xlsx_rows_and_cells_are_bounded(monkeypatch):
    rows = [["10/09/2024", f"FT{i}", None, 1000 + i, "ung ho"] for i in range(30)]
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 20)
    (error,) = refuse(_workbook(rows), "rows.xlsx")
    assert (error.line, error.field) == (21, "xlsx")
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 1000)
    monkeypatch.setattr(tabular, "XLSX_MAX_CELLS", 50)
    (error,) = refuse(_workbook(rows), "cells.xlsx")
    assert error.field == "xlsx"
    assert "cells" in error.message


def test_xlsx_stated_dimension_does_not_widen_rows():
    # A sheet claiming to span XFD1048576 is read as at most XLSX_MAX_COLUMNS cells a row
    xlsx = _workbook([["10/09/2024", "FT1", None, 100000, "ung ho"]])
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', parts[sheet]
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    assert book.worksheets[0].max_column == 16384
    rows = list(tabular._XlsxRows(ErrorLog("wide.xlsx")).read(book.worksheets[0]))
    assert len(rows) == 3
    assert max(len(r) for r in rows) <= tabular.XLSX_MAX_COLUMNS
    (tx,) = statement_read(io.BytesIO(out.getvalue()), name="wide.xlsx")
    assert tx.line == 3


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04" + b"\x00" * 100, b"PK\x03\x04garbage", _workbook([])[:500]],
    ids=["zeros", "garbage", "truncated"],
)
def test_broken_xlsx_is_refused(data):
    (error,) = refuse(data, "broken.xlsx")
    assert (error.line, error.field) == (1, "xlsx")


def test_xlsx_amount_past_int64():
    xlsx = _workbook([["10/09/2024", "FT1", None, 10**20, "ung ho"]])
    (error,) = refuse(xlsx, "big.xlsx")
    assert (error.line, error.field) == (3, "credit")
