"""Generate realistic campaign bank statements: a Vietcombank-like CSV or XLSX export,
camt.053.001.08, camt.054.001.08 or MT940, the same rows in every format.

Gifts are mostly round VND 10,000-1,000,000 (mean near 200,000) with a few large ones,
memo shapes from ARCHITECTURE.md (code CUBA in its variants), bank fees, returned transfers
and document numbers repeated within a day. Rows are written as they are generated, so
memory stays flat for millions of rows.

    python bench/gen_statement.py --rows 1700000 --out var/cuba.csv --format csv --seed 1

`statement_write(...)` is the function other benches call.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

ICT = timezone(timedelta(hours=7))
ACCOUNT = "0011001932418"
BENEFICIARY = "HOI CHU THAP DO VIET NAM"

FAMILY = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "PHAN", "VU", "VO", "DANG",
          "BUI", "DO", "HO", "NGO", "DUONG", "LY"]  # fmt: skip
MIDDLE = ["VAN", "THI", "HUU", "DUC", "MINH", "NGOC", "THANH", "QUANG", "XUAN", "KIM"]
GIVEN = ["AN", "BINH", "CHI", "DUNG", "HA", "HAI", "HOA", "HUNG", "LAN", "LINH", "MAI",
         "NAM", "PHUONG", "QUAN", "SON", "THAO", "TRANG", "TUAN", "VY", "YEN"]  # fmt: skip
CODES = ["CUBA", "Cuba", "cuba", "Cu Ba", "CU BA", "Ủng hộ Cuba", "ung ho cuba", "UH CUBA",
         "ung ho nhan dan Cu Ba", "Ủng hộ nhân dân Cu Ba"]  # fmt: skip
ROUND = [10_000, 20_000, 50_000, 100_000, 200_000, 300_000, 500_000, 1_000_000]
ROUND_WEIGHTS = [10, 12, 22, 26, 12, 5, 9, 4]


@dataclass(frozen=True, slots=True)
class Row:
    """One generated statement line."""

    booked_at: datetime
    doc: str
    direction: str
    amount: int
    memo: str
    name: str | None
    reversal: bool = False  # a returned transfer the bank flags (camt RvslInd, MT940 RC)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _acct(rng: random.Random) -> str:
    return str(rng.randrange(10**9, 10**13))


def _memo(rng: random.Random, name: str, when: datetime) -> str:
    code = rng.choice(CODES)
    shape = rng.randrange(7)
    if shape == 0:
        ref = rng.randrange(10**9, 10**10)
        return (
            f"MBVCB.{ref}.{name} chuyen tien {code}.CT tu {_acct(rng)} {name} "
            f"toi {ACCOUNT} {BENEFICIARY}"
        )
    if shape == 1:
        return f"{rng.randrange(100000, 999999)}.{when:%d%m%y}.{when:%H%M%S}.{code} {name}"
    if shape == 2:
        return f"IBFT {code}"
    if shape == 3:
        return f"CT nhanh 247 den: {name} chuyen tien {code}"
    if shape == 4:
        return f"Chuyen tien den tu NAPAS Noi dung: {code} FT{rng.randrange(10**13, 10**14)}"
    if shape == 5:
        return f"{_acct(rng)} {name} Chuyen tien; thoi gian GD:{when:%d%m%Y %H:%M:%S}"
    return rng.choice(["", code, f"{name} {code}"])


def statement_rows(
    *, rows: int, seed: int = 1, start: datetime | None = None, days: int = 7
) -> Iterator[Row]:
    """Yield `rows` statement lines in booking order, spread over `days` days."""
    rng = random.Random(seed)
    when = start or datetime(2025, 8, 14, 7, 0, tzinfo=ICT)
    step = days * 86_400 / max(rows, 1)
    elapsed = 0.0
    doc_prefix = 5213
    doc = 47_000
    recent: list[tuple[str, int]] = []
    for _ in range(rows):
        elapsed += rng.expovariate(1 / step)
        at = when + timedelta(seconds=int(elapsed))
        if rng.random() < 0.6:  # Vietcombank reuses document numbers within a day
            doc += 1
        docno = f"{doc_prefix}.{doc:05d}"
        roll = rng.random()
        if roll < 0.004:
            yield Row(
                at, docno, "debit", rng.choice([1_100, 2_200, 5_500]), "Phi dich vu SMS", None
            )
            continue
        if roll < 0.005 and recent:
            ref, amount = rng.choice(recent)
            memo = f"HOAN TRA GD {ref} do sai thong tin nguoi nhan"
            yield Row(at, docno, "debit", amount, memo, None)
            continue
        name = _name(rng)
        if roll < 0.015:
            amount = rng.choice([5_000_000, 10_000_000, 50_000_000, 100_000_000, 500_000_000])
        elif roll < 0.02:
            amount = rng.choice([1, 2_024, 123_456, 68_000, 99_999])
        else:
            amount = rng.choices(ROUND, ROUND_WEIGHTS)[0]
        memo = _memo(rng, name, at)
        if rng.random() < 0.01:
            recent.append((f"FT{at:%y%j}{rng.randrange(10**9, 10**10)}", amount))
            del recent[:-50]
        yield Row(at, docno, "credit", amount, memo, name if rng.random() < 0.3 else None)


_EXPONENT = {"VND": 0, "JPY": 0, "KRW": 0}


def _major(amount: int, currency: str, *, point: str = ".", thousands: str = "") -> str:
    """Minor units as the decimal text of the currency's major unit."""
    exp = _EXPONENT.get(currency, 2)
    whole, frac = divmod(abs(amount), 10**exp)
    text = f"{whole:,}".replace(",", thousands)
    sign = "-" if amount < 0 else ""
    return f"{sign}{text}{point}{frac:0{exp}d}" if exp else f"{sign}{text}"


def _money(amount: int, currency: str = "VND") -> str:
    return _major(amount, currency, thousands=",")


def write_csv(
    out: TextIO, rows: Iterable[Row], *, account: str = ACCOUNT, currency: str = "VND"
) -> int:
    """Vietcombank-like export: title rows, bilingual header, date and doc number in one
    cell, opening/closing balance rows. Returns the number of transaction rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM", "", "", "", "", ""])
    w.writerow(["SAO KÊ TÀI KHOẢN / ACCOUNT STATEMENT", "", "", "", "", ""])
    w.writerow([f"Số tài khoản/Account number: {account}", "", "", "", "", ""])
    w.writerow([f"Loại tiền/Currency: {currency}", "", "", "", "", ""])
    w.writerow(
        [
            "STT/No.",
            "Ngày GD/TNX Date\nSố CT/Doc No",
            "Số tiền ghi nợ/Debit",
            "Số tiền ghi có/Credit",
            "Số dư/Balance",
            "Nội dung chi tiết/Transactions in Detail",
        ]
    )
    balance = 0
    w.writerow(["", "Số dư đầu kỳ/Opening balance", "", "", _money(balance), ""])
    n = 0
    for n, r in enumerate(rows, 1):
        balance += r.amount if r.direction == "credit" else -r.amount
        debit = _money(r.amount, currency) if r.direction == "debit" else ""
        credit = _money(r.amount, currency) if r.direction == "credit" else ""
        cells = [n, f"{r.booked_at:%d/%m/%Y}\n{r.doc}", debit, credit]
        w.writerow([*cells, _money(balance, currency), r.memo])
    w.writerow(["", "Số dư cuối kỳ/Closing balance", "", "", _money(balance), ""])
    return n


_CAMT_ROOTS = {
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}


def write_camt(
    out: TextIO,
    rows: Iterable[Row],
    *,
    account: str = ACCOUNT,
    kind: str = "camt.053",
    currency: str = "VND",
) -> int:
    """camt.053.001.08 (or camt.054.001.08), one statement, account as Othr/Id. Returns the
    number of entries."""
    root, container = _CAMT_ROOTS[kind]
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{kind}.001.08">\n'
        f"<{root}>\n<GrpHdr><MsgId>GEN-1</MsgId>"
        "<CreDtTm>2025-08-21T00:00:00+07:00</CreDtTm></GrpHdr>\n"
        f"<{container}><Id>GEN-STMT-1</Id><Acct><Id><Othr><Id>{account}</Id></Othr></Id>"
        f"<Ccy>{currency}</Ccy></Acct>\n"
    )
    n = 0
    for n, r in enumerate(rows, 1):  # noqa: B007 - n is the count returned
        party = ""
        if r.name:
            role = "Dbtr" if r.direction == "credit" else "Cdtr"
            party = f"<RltdPties><{role}><Pty><Nm>{escape(r.name)}</Nm></Pty></{role}></RltdPties>"
        ind = "CRDT" if r.direction == "credit" else "DBIT"
        rvsl = "<RvslInd>true</RvslInd>" if r.reversal else ""
        out.write(
            f'<Ntry><Amt Ccy="{currency}">{_major(r.amount, currency)}</Amt>'
            f"<CdtDbtInd>{ind}</CdtDbtInd>{rvsl}"
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>{r.booked_at.isoformat()}</DtTm></BookgDt>"
            f"<ValDt><Dt>{r.booked_at.date().isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{r.doc}</AcctSvcrRef><NtryDtls><TxDtls>{party}"
            f"<RmtInf><Ustrd>{escape(r.memo)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
        )
    out.write(f"</{container}>\n</{root}>\n</Document>\n")
    return n


def write_mt940(
    out: TextIO, rows: Iterable[Row], *, account: str = f"970436/{ACCOUNT}", currency: str = "VND"
) -> int:
    """SWIFT MT940, one statement; `:25:` spelled BIN/number as Vietnamese banks' host-to-host
    channels do; the document number is the `//` bank reference; the memo goes to `:86:` in
    lines of at most 65 characters. Returns the number of `:61:` lines."""
    listed = list(rows)
    first = listed[0].booked_at if listed else datetime(2025, 8, 14, tzinfo=ICT)
    zero = _major(0, currency, point=",")
    out.write(f":20:GEN{first:%y%m%d}\n:25:{account}\n:28C:1/1\n")
    out.write(f":60F:C{first:%y%m%d}{currency}{zero}{'' if ',' in zero else ','}\n")
    balance = 0
    for r in listed:
        # RC (reversal of credit) is money out; RD (reversal of debit) money in
        plain = "C" if r.direction == "credit" else "D"
        mark = {"C": "RD", "D": "RC"}[plain] if r.reversal else plain
        balance += r.amount if r.direction == "credit" else -r.amount
        amount = _major(r.amount, currency, point=",")
        amount += "" if "," in amount else ","
        out.write(f":61:{r.booked_at:%y%m%d%m%d}{mark}{amount}NTRFNONREF//{r.doc}\n")
        memo = r.memo or "-"
        chunks = [memo[i : i + 65] for i in range(0, len(memo), 65)][:6]
        out.write(":86:" + "\n".join(chunks) + "\n")
    last = listed[-1].booked_at if listed else first
    sign = "C" if balance >= 0 else "D"
    closing = _major(abs(balance), currency, point=",")
    closing += "" if "," in closing else ","
    out.write(f":62F:{sign}{last:%y%m%d}{currency}{closing}\n-\n")
    return len(listed)


def write_xlsx(
    path: str | Path, rows: Iterable[Row], *, account: str = ACCOUNT, currency: str = "VND"
) -> int:
    """An internet-banking XLSX export: title rows, then date, reference, debit, credit and
    memo columns, amounts stored as numbers. Returns the number of transaction rows."""
    import openpyxl  # noqa: PLC0415 - only this writer needs it

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Sao ke")
    sheet.append(["SAO KÊ TÀI KHOẢN"])
    sheet.append([f"Số tài khoản: {account}"])
    sheet.append([f"Loại tiền: {currency}"])
    sheet.append(["Ngày giao dịch", "Số tham chiếu", "Ghi nợ", "Ghi có", "Nội dung"])
    n = 0
    for n, r in enumerate(rows, 1):  # noqa: B007 - n is the count returned
        value = Decimal(_major(r.amount, currency))
        debit = value if r.direction == "debit" else None
        credit = value if r.direction == "credit" else None
        sheet.append([f"{r.booked_at:%d/%m/%Y %H:%M:%S}", r.doc, debit, credit, r.memo])
    book.save(path)
    return n


FORMATS = ("csv", "xlsx", "camt.053", "camt.054", "mt940")


def rows_write(
    path: str | Path,
    rows: Iterable[Row],
    *,
    fmt: str,
    account: str | None = None,
    currency: str = "VND",
) -> int:
    """Write `rows` to `path` in `fmt` (one of FORMATS); return the row count. `account` as
    the file states it (default: the campaign account; MT940 spells it BIN/number)."""
    plain = {"account": account or ACCOUNT, "currency": currency}
    if fmt == "xlsx":
        return write_xlsx(path, rows, **plain)
    with open(path, "w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            return write_csv(out, iter(rows), **plain)
        if fmt in _CAMT_ROOTS:
            return write_camt(out, rows, kind=fmt, **plain)
        if fmt == "mt940":
            mt_account = account or f"970436/{ACCOUNT}"
            return write_mt940(out, rows, account=mt_account, currency=currency)
    raise ValueError(f"unknown format {fmt!r}")


def statement_write(
    path: str | Path, *, rows: int, fmt: str = "csv", seed: int = 1, days: int = 7
) -> int:
    """Write a generated statement to `path` in `fmt` ("camt" is camt.053); return row count."""
    generated = statement_rows(rows=rows, seed=seed, days=days)
    return rows_write(path, generated, fmt="camt.053" if fmt == "camt" else fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", choices=["camt", *FORMATS], default="csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    n = statement_write(args.out, rows=args.rows, fmt=args.format, seed=args.seed, days=args.days)
    print(f"wrote {n} rows to {args.out}")


if __name__ == "__main__":
    main()
