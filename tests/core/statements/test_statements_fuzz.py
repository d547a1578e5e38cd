"""Fuzzing every statement reader: whatever the bytes, a file is read or refused with
located errors (file, line, field), never another exception.

Each reader gets real files (the shared bank samples and the Vietnamese golden files)
mutated by hypothesis, plus files generated from scratch. Examples are bounded so the
whole module stays well under a minute; a failure prints the input that broke it.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.statements.statement_helpers import SHARED, VN

from solidarity.core.money import transfer_max_minor
from solidarity.core.statements import (
    ANY_DATE,
    BankTransaction,
    StatementRejected,
    statement_read,
)
from solidarity.core.statements.base import control_character
from solidarity.core.statements.reader import UNHANDLED

CAMT = sorted((SHARED / "camt").glob("*.xml"))
MT940 = sorted((SHARED / "mt940").iterdir())
TEXT = sorted(p for p in VN.iterdir() if p.suffix in (".csv", ".txt"))
XLSX = sorted(VN.glob("*.xlsx"))
SEEDS = {
    "camt": [p.read_bytes() for p in CAMT],
    "mt940": [p.read_bytes() for p in MT940],
    "csv": [p.read_bytes() for p in TEXT],
}

# Values that broke readers once, or that no real statement holds.
NASTY = [
    b"\r",
    b"\r\n",
    b"\n",
    b"\x00",
    b"\x07",
    b"\x1b[2J",
    b"\xe2\x80\xae",  # U+202E right-to-left override
    b"\xff\xfe",
    b"\xc3(",  # broken UTF-8
    b'"',
    b",",
    b";",
    b"\t",
    b"9" * 30,
    b"9223372036854775808",
    b"9" * 5000,
    b"1E+999999999",
    b"-0",
    b"NaN",
    b"Infinity",
    "²".encode(),
    "١٢٣".encode(),
    b"31/12/9999",
    b"00/00/0000",
    b"29/02/2023",
    b"9999-12-31",
    b"0001-01-01T00:00:00",
    b"991231",
    b":61:",
    b":20:",
    b":25:",
    b":86:",
    b"<Ntry>",
    b"</Ntry>",
    b'<Amt Ccy="VND">',
    b'<Amt Ccy="XXX">',
    b"<![CDATA[",
    b"&amp;",
    b"&#0;",
    b"<!DOCTYPE x>",
    b"\xef\xbb\xbf",
]

# CI runs a fixed, fast set; SOLIDARITY_FUZZ_EXAMPLES=5000 runs a longer, random search.
EXAMPLES = int(os.environ.get("SOLIDARITY_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=EXAMPLES or 120,
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file with a few edits: bytes flipped, nasty values spliced in, slices cut or
    repeated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["nasty", "flip", "cut", "repeat", "bytes"]))
        if kind == "nasty":
            data[at:at] = draw(st.sampled_from(NASTY))
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 400))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def read_or_refuse(data: bytes, name: str) -> list[BankTransaction]:
    """Read `data`; a refusal must locate every error. Returns what was read."""
    errors = []
    txs: list[BankTransaction] = []
    try:
        txs = list(statement_read(io.BytesIO(data), name=name))
    except StatementRejected as exc:
        errors = exc.errors
        assert errors, "a refusal without errors"
    for e in errors:
        assert e.file == name
        assert isinstance(e.line, int) and e.line >= 0
        assert e.field and isinstance(e.field, str)
        assert e.message and isinstance(e.message, str)
        assert UNHANDLED not in e.message, e  # a reader crashed: fix it
    for tx in txs:
        assert 0 < tx.amount_minor <= transfer_max_minor(tx.currency)
        assert ANY_DATE.problem(tx.booked_at.date()) is None
        assert tx.line >= 1
        for text in (tx.memo, tx.account, tx.bank_ref, tx.counterparty_name):
            assert not text or control_character(text) is None
    return txs


@SETTINGS
@given(mutated(SEEDS["camt"]))
def test_camt_fuzz(data: bytes) -> None:
    read_or_refuse(data, "fuzz.xml")


@SETTINGS
@given(mutated(SEEDS["mt940"]))
def test_mt940_fuzz(data: bytes) -> None:
    read_or_refuse(data, "fuzz.sta")


@SETTINGS
@given(mutated(SEEDS["csv"]))
def test_csv_fuzz(data: bytes) -> None:
    read_or_refuse(data, "fuzz.csv")


# --- generated files -------------------------------------------------------------------

_cell_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from([n.decode("utf-8", "replace") for n in NASTY])
_day = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@st.composite
def _row(draw: st.DrawFn) -> list[object]:
    when = draw(_day | st.just(date(2025, 9, 1)))
    amount = draw(
        st.integers(-(10**25), 10**25).map(str)
        | st.decimals(allow_nan=True, allow_infinity=True).map(str)
        | st.sampled_from(["1.000.000", "1,000,000", "100.000,50", "(300)", "300-", ""])
        | _cell_text
    )
    return [
        draw(st.sampled_from([when.strftime("%d/%m/%Y"), when.isoformat()]) | _cell_text),
        draw(_cell_text),
        "",
        amount,
        draw(_cell_text),
    ]


_rows = st.lists(_row(), min_size=1, max_size=12)
HEADER = ["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Nội dung"]


@SETTINGS
@given(_rows, st.sampled_from([",", ";", "\t"]))
def test_generated_csv_and_tsv(rows: list[list[object]], delimiter: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Số tài khoản: 0011001932418"])
    writer.writerow(HEADER)
    writer.writerows(rows)
    read_or_refuse(out.getvalue().encode(), "generated.csv")


@st.composite
def _camt(draw: st.DrawFn) -> bytes:
    entries = []
    for _ in range(draw(st.integers(1, 5))):
        amount = draw(
            st.decimals(allow_nan=True, allow_infinity=True).map(str)
            | st.sampled_from(["1" * 30, "9223372036854775808", "1E+999999999", "-5", "0"])
        )
        day = draw(_day)
        ccy = draw(st.sampled_from(["VND", "USD", "EUR", "XXX", "BHD", "vnd", ""]))
        memo = draw(st.text(max_size=20)).encode("utf-8", "replace").decode()
        memo = memo.replace("&", "&amp;").replace("<", "&lt;")
        entries.append(
            f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><NtryDtls><TxDtls><RmtInf>"
            f"<Ustrd>{memo}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        "<BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>0011001932418</Id></Othr></Id></Acct>\n"
        + "\n".join(entries)
        + "\n</Stmt></BkToCstmrStmt></Document>"
    ).encode("utf-8", "surrogatepass")


@SETTINGS
@given(_camt())
def test_generated_camt(data: bytes) -> None:
    read_or_refuse(data, "generated.xml")


@st.composite
def _mt940(draw: st.DrawFn) -> bytes:
    lines = [":20:STMT", ":25:0011001932418", ":28C:1", ":60F:C240910VND0,"]
    for _ in range(draw(st.integers(1, 5))):
        day = draw(_day)
        amount = draw(
            st.sampled_from(["100,", "1" * 30 + ",", "9223372036854775808,", "0,", ",5", "1,2,3"])
            | st.integers(0, 10**20).map(lambda n: f"{n},")
        )
        mark = draw(st.sampled_from(["C", "D", "RC", "RD", "X"]))
        lines.append(f":61:{day.strftime('%y%m%d')}{mark}{amount}NTRFNONREF//REF1")
        memo = draw(st.text(max_size=30)).encode("utf-8", "replace").decode("utf-8")
        lines.append(f":86:{memo}")
    lines += [":62F:C240910VND0,", "-"]
    return "\n".join(lines).encode("utf-8", "replace")


@SETTINGS
@given(_mt940())
def test_generated_mt940(data: bytes) -> None:
    read_or_refuse(data, "generated.sta")


# --- XLSX --------------------------------------------------------------------------------


def _xlsx_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(XLSX[0]) as z:
        return {n: z.read(n) for n in z.namelist()}


XLSX_PARTS = _xlsx_parts() if XLSX else {}
XLSX_SHEETS = sorted(n for n in XLSX_PARTS if n.startswith("xl/worksheets/"))


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.skipif(not XLSX, reason="no XLSX sample")
@settings(SETTINGS, max_examples=EXAMPLES // 4 or 40)
@given(st.data())
def test_xlsx_fuzz(data: st.DataObject) -> None:
    # Mutate one part of the workbook (a sheet mostly, also shared strings and the
    # workbook's own XML), then sometimes the ZIP bytes themselves.
    parts = dict(XLSX_PARTS)
    name = data.draw(st.sampled_from(XLSX_SHEETS * 3 + sorted(XLSX_PARTS)))
    parts[name] = data.draw(mutated([parts[name]]))
    raw = _zip(parts)
    if data.draw(st.booleans()):
        raw = data.draw(mutated([raw]))
        if not raw.startswith(b"PK\x03\x04"):
            raw = b"PK\x03\x04" + raw
    read_or_refuse(raw, "fuzz.xlsx")
