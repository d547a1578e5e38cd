"""Files that must be refused, each error naming file, line and field."""

from __future__ import annotations

import io

import pytest

from solidarity.core.statements import StatementRejected, profile_parse, statement_read

HEADER = "Số tài khoản: 0011001932418\nNgày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Nội dung\n"


def refuse(data: bytes, name: str = "bad.csv", profile=None) -> list:
    with pytest.raises(StatementRejected) as info:
        list(statement_read(io.BytesIO(data), name=name, profile=profile))
    assert all(e.file == name for e in info.value.errors)
    return info.value.errors


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol2;</Document>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><x>&x;</x></Document>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entities_and_dtds_are_refused(data):
    (error,) = refuse(data, "evil.xml")
    assert error.field == "xml"
    assert "forbidden" in error.message
    assert error.line == 2


def test_broken_xml_is_refused_with_its_line():
    data = (
        b'<?xml version="1.0"?>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n<Bk>\n</Document>'
    )
    (error,) = refuse(data, "broken.xml")
    assert (error.line, error.field) == (4, "xml")


def test_other_xml_is_not_a_statement():
    (error,) = refuse(b"<html><body>hi</body></html>", "page.xml")
    assert error.field == "Document"


def test_camt_impossible_amount_and_date_are_all_reported():
    data = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Acct><Id><Othr><Id>0011001932418</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="VND">200000.5</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-09-10</Dt>\
</BookgDt></Ntry>
<Ntry><Amt Ccy="VND">200000</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2024-02-31</Dt>\
</BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""
    errors = refuse(data, "x.xml")
    assert [(e.line, e.field) for e in errors] == [(4, "Amt"), (5, "BookgDt/Dt")]


def test_non_statement_text_is_refused():
    (error,) = refuse("Kính gửi quý khách,\nđây là thư mời.\n".encode(), "letter.csv")
    assert (error.line, error.field) == (1, "header")
    assert "not a bank statement" in error.message


def test_binary_file_is_refused():
    (error,) = refuse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png")
    assert error.field == "file"


def test_wrong_encoding_names_the_line():
    # a Windows-1258 export: bytes such as 0xD4 ("Ô") are not UTF-8
    cp1258 = b"\xd4ng h\xd4"
    data = (HEADER + "10/09/2024,FT1,,200000,Ung ho\n11/09/2024,FT2,,1000,").encode() + cp1258
    (error,) = refuse(data)
    assert (error.line, error.field) == (4, "encoding")


def test_impossible_date_names_file_line_field():
    (error,) = refuse((HEADER + "31/02/2024,FT1,,200000,Ung ho\n").encode())
    assert (error.file, error.line, error.field) == ("bad.csv", 3, "date")
    assert "impossible date" in error.message


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ('"200,000.5"', "more decimals"),
        ("abc", "impossible amount"),
        ('"1.234,567.8"', "impossible amount"),
        ("-5000", "negative"),
    ],
)
def test_impossible_amounts(cell, fragment):
    (error,) = refuse((HEADER + f"10/09/2024,FT1,,{cell},Ung ho\n").encode())
    assert (error.line, error.field) == (3, "credit")
    assert fragment in error.message


def test_inconsistent_thousands_separator_is_refused():
    body = '10/09/2024,FT1,,"1.000.000",a\n10/09/2024,FT2,,"1,000,000",b\n'
    (error,) = refuse((HEADER + body).encode())
    assert (error.line, error.field) == (4, "credit")


def test_ambiguous_usd_amount_is_refused():
    head = "Account: 0011001932418 Currency: USD\nDate,Reference,Debit,Credit,Description\n"
    (error,) = refuse((head + '10/09/2024,FT1,,"1,000",a\n').encode())
    assert "ambiguous" in error.message


def test_every_bad_row_is_reported_not_only_the_first():
    body = "31/02/2024,FT1,,200000,a\n10/09/2024,FT2,,xx,b\n10/13/2024,FT3,,1,c\n"
    errors = refuse((HEADER + body).encode())
    assert [(e.line, e.field) for e in errors] == [(3, "date"), (4, "credit"), (5, "date")]


def test_both_debit_and_credit_is_refused():
    (error,) = refuse((HEADER + "10/09/2024,FT1,100,200,a\n").encode())
    assert error.field == "amount"


def test_missing_account_is_refused():
    data = "Ngày giao dịch,Ghi nợ,Ghi có,Nội dung\n10/09/2024,,1000,a\n".encode()
    (error,) = refuse(data)
    assert error.field == "account"


def test_profile_errors_are_all_listed():
    with pytest.raises(StatementRejected) as info:
        profile_parse(
            '[statement]\ncurrency = "XYZ"\nheader_row = 0\n[columns]\nwhen = "Ngày"\n',
            name="p.toml",
        )
    fields = {e.field for e in info.value.errors}
    assert {"statement.currency", "statement.header_row", "columns.when"} <= fields


def test_empty_file_is_refused():
    (error,) = refuse(b"  \n", "empty.csv")
    assert error.field == "file"
