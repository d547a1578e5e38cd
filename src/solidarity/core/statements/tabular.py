"""CSV and XLSX statement exports of Vietnamese banks (no published spec; layouts as in
ARCHITECTURE.md "Vietnamese bank facts"), optionally described by a mapping profile
(PROFILES.md).

Layout rules: title rows come before a header row, found by matching known column names
(Vietnamese, English or bilingual, compared without case or diacritics); the account number
and currency are read from the title rows unless a profile gives them. Amounts come as
debit/credit columns or one signed amount column; the thousands separator (`.` or `,`) is
decided per file from the first amount that proves it, and an amount that could be read
two ways, or breaks the file's convention, is an error. Dates are DD/MM/YYYY with an
optional HH:MM[:SS]; a document number may share the date cell. A row holding only a memo
continues the previous transaction's memo; opening/closing balance and total rows are
skipped. Text files may be UTF-8 (with or without BOM) or UTF-16 (Excel "Unicode text");
the delimiter (`,` `;` tab) is sniffed from the header.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from solidarity.core.matching import memo_normalize, reversal_ref_extract, text_fold
from solidarity.core.money import transfer_implausible
from solidarity.core.statements.base import (
    VIETNAM_TZ,
    BankTransaction,
    Direction,
    ErrorLog,
    IdentityCounter,
    StatementRejected,
    currency_exponent,
    decimal_to_minor,
)
from solidarity.core.statements.profile import FIELDS, Profile

HEADER_SCAN_ROWS = 60
"""The header must be among the first rows of the file."""

AMOUNT_MAX_CHARS = 40
"""Longest amount text read (signs, separators and decimals included)."""

XLSX_MAX_UNCOMPRESSED = 256 * 2**20
"""Zip-bomb defence: the parts of an XLSX may expand to at most this many bytes in all."""

XLSX_MAX_RATIO = 100
"""...and no part larger than `XLSX_RATIO_FLOOR` may expand more than this many times."""

XLSX_RATIO_FLOOR = 2**20

XLSX_MAX_PARTS = 10_000

XLSX_MAX_ROWS = 1_048_576
"""Rows read from a sheet (Excel's own limit); a sheet claiming more is refused."""

XLSX_MAX_COLUMNS = 64
"""Columns read per row; cells to the right of this are ignored (a statement has ~10)."""

XLSX_MAX_CELLS = 20_000_000
"""Non-empty cells read from a sheet in all."""

_SYNONYMS: dict[str, frozenset[str]] = {
    "date": frozenset(
        {
            "ngaygiaodich", "tnxdate", "txndate", "ngaygd", "transactiondate", "ngay", "date",
            "ngayhachtoan", "postingdate", "bookingdate", "ngaythuchien", "trandate",
            "ngaygiaodichtnxdate", "thoigiangiaodich",
        }
    ),
    "value_date": frozenset({"ngaygiatri", "valuedate", "ngayhieuluc", "effectivedate"}),
    "time": frozenset({"gio", "giogiaodich", "time"}),
    "ref": frozenset(
        {
            "sothamchieu", "docno", "sogiaodich", "soct", "sochungtu", "reference",
            "referenceno", "refno", "magiaodich", "magd", "transactionno", "transactionid",
            "sobuttoan", "thamchieu", "transactionnumber", "mathamchieu",
        }
    ),
    "debit": frozenset(
        {
            "ghino", "sotienghino", "debit", "phatsinhno", "debitamount", "withdrawal",
            "withdrawals", "sotienrut", "psno",
        }
    ),
    "credit": frozenset(
        {
            "ghico", "sotienghico", "credit", "phatsinhco", "creditamount", "deposit",
            "deposits", "sotiengui", "psco",
        }
    ),
    "amount": frozenset({"sotien", "amount", "sotiengiaodich", "transactionamount"}),
    "balance": frozenset({"sodu", "balance", "soduconlai", "runningbalance", "sodutaikhoan"}),
    "memo": frozenset(
        {
            "noidung", "mota", "diengiai", "transactionsindetail", "noidunggiaodich",
            "noidungchitiet", "description", "details", "transactiondetails", "remark",
            "remarks", "narrative", "chitietgiaodich", "transactiondetail",
        }
    ),
    "counterparty_name": frozenset(
        {
            "tendoiung", "tentaikhoandoiung", "counterpartyname", "tennguoichuyen",
            "nguoichuyen", "tendonvidoiung", "tentkdoiung",
        }
    ),
    "counterparty_account": frozenset(
        {
            "taikhoandoiung", "sotaikhoandoiung", "counterpartyaccount", "tkdoiung",
            "tknguoichuyen", "sotaikhoannguoichuyen",
        }
    ),
}  # fmt: skip
_PRIORITY = (
    "date", "value_date", "debit", "credit", "amount", "balance", "ref", "memo",
    "counterparty_account", "counterparty_name", "time",
)  # fmt: skip
_SUMMARY = (
    "sodudauky", "soducuoiky", "dudau", "ducuoi", "openingbalance", "closingbalance",
    "tong", "total", "congphatsinh", "beginningbalance", "endingbalance", "sodudau",
    "soducuoi", "balancebroughtforward",
)  # fmt: skip
_HEADER_SPLIT = re.compile(r"[\n/|()&,;]+|\s-\s")
_DATE = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
    r"(?:\s+(.*?))?\s*$",
    re.S,
)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_ACCOUNT = re.compile(r"(?:tai khoan|account|stk)[^0-9\n]{0,40}?(\d{6,20})")
_CURRENCY = re.compile(r"(?:loai tien|currency|tien te|ccy)[^a-z]{0,20}?\b([a-z]{3})\b")
_UTF8_BOM = codecs.BOM_UTF8


def _norm(text: str) -> str:
    return memo_normalize(text)


def _header_fields(cell: str) -> set[str]:
    parts = {_norm(cell), *(_norm(p) for p in _HEADER_SPLIT.split(cell))}
    parts.discard("")
    return {f for f, names in _SYNONYMS.items() if parts & names}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column index per field (-1 when absent); `date_has_ref` when the date cell also
    carries the document number."""

    index: dict[str, int]
    date_has_ref: bool


def _layout_from_header(row: list[str], profile: Profile | None) -> _Layout | None:
    index: dict[str, int] = {}
    date_has_ref = False
    if profile is not None and profile.columns:
        wanted = dict(profile.columns)
        for name, col in wanted.items():
            if isinstance(col, int):
                index[name] = col - 1
                continue
            target = _norm(col)
            for i, cell in enumerate(row):
                if _norm(cell) == target or target in {_norm(p) for p in _HEADER_SPLIT.split(cell)}:
                    index[name] = i
                    break
            else:
                return None
    else:
        for i, cell in enumerate(row):
            if not cell or len(cell) > 120:
                continue
            found = _header_fields(cell)
            if not found:
                continue
            if "date" in found and "ref" in found:
                date_has_ref = True
            for name in _PRIORITY:
                if name in found and name not in index:
                    index[name] = i
                    break
    if "date" not in index:
        return None
    if "amount" not in index and not ("debit" in index and "credit" in index):
        return None
    return _Layout({f: index.get(f, -1) for f in FIELDS}, date_has_ref)


def _is_summary(cells: Iterable[object]) -> bool:
    for cell in cells:
        if isinstance(cell, str) and cell.strip():
            n = _norm(cell)
            if n.startswith(_SUMMARY):
                return True
    return False


class _AmountReader:
    """Parses amounts of one file, fixing the thousands separator from evidence."""

    __slots__ = ("_patterns", "currency", "decimal", "exponent", "scale", "thousands")

    def __init__(self, currency: str, profile: Profile | None) -> None:
        self.currency = currency
        self.exponent = currency_exponent(currency)
        self.scale = 10**self.exponent
        self.thousands: str | None = profile.thousands_separator if profile else None
        self.decimal: str | None = profile.decimal_separator if profile else None
        if self.thousands is not None and self.decimal is None:
            self.decimal = {".": ",", ",": "."}.get(self.thousands, ".")
        self._patterns: re.Pattern[str] | None = None
        if self.thousands is not None:
            self._compile()

    def _compile(self) -> None:
        t = re.escape(self.thousands or "")
        d = re.escape(self.decimal or ".")
        grouped = rf"\d{{1,3}}(?:{t}\d{{3}})+" if t else r"\d+"
        self._patterns = re.compile(rf"(?:{grouped}|\d+)(?:{d}(\d+))?")

    def _decide(self, body: str) -> str | None:
        """Fix the separators from `body`; return an error message when it cannot."""
        dots, commas = body.count("."), body.count(",")
        if dots and commas:
            thousands = "." if body.index(".") < body.index(",") else ","
        elif dots + commas >= 2:
            thousands = "." if dots else ","
        else:
            sep = "." if dots else ","
            after = len(body) - body.index(sep) - 1
            if after == 3 and self.exponent == 0:
                thousands = sep
            elif after == 3:
                return (
                    f"ambiguous amount {body!r}: thousands or decimal separator? "
                    "give thousands_separator in a profile"
                )
            else:
                thousands = "," if sep == "." else "."
        self.thousands = thousands
        self.decimal = "," if thousands == "." else "."
        self._compile()
        return None

    def parse(self, raw: str) -> tuple[int, bool] | str:
        """(minor units, negative) or an error message; also refuses an amount past the
        currency's plausible range (`transfer_implausible`)."""
        result = self._parse(raw)
        if isinstance(result, tuple) and (
            problem := transfer_implausible(result[0], self.currency)
        ):
            return f"impossible amount {raw.strip()[:40]!r}: {problem}"
        return result

    def _parse(self, raw: str) -> tuple[int, bool] | str:
        """(minor units, negative) or an error message. Empty input is (0, False).

        Only ASCII digits count; an amount longer than `AMOUNT_MAX_CHARS` is refused before
        any conversion (no real transfer has that many digits)."""
        if raw.isascii() and raw.isdigit() and len(raw) <= AMOUNT_MAX_CHARS:
            return int(raw) * self.scale, False
        body = raw.strip()
        if not body:
            return 0, False
        if len(body) > AMOUNT_MAX_CHARS:
            return f"impossible amount {body[:30]!r}...: {len(body)} characters"
        if not body.isascii():
            return f"impossible amount {raw!r}: not ASCII digits"
        negative = False
        if body[0] in "+-":
            negative = body[0] == "-"
            body = body[1:].strip()
        elif body[-1] == "-":
            negative, body = True, body[:-1].strip()
        elif body[0] == "(" and body[-1] == ")":
            negative, body = True, body[1:-1].strip()
        if body.isdigit():
            return int(body) * self.scale, negative
        if self._patterns is None and ("." in body or "," in body):
            message = self._decide(body)
            if message:
                return message
        m = self._patterns.fullmatch(body) if self._patterns else None
        if m is None:
            return f"impossible amount {raw!r}"
        whole = body[: m.start(1) - 1] if m.group(1) is not None else body
        if self.thousands:
            whole = whole.replace(self.thousands, "")
        frac = m.group(1) or ""
        if len(frac) > self.exponent:
            if frac.strip("0") and len(frac.rstrip("0")) > self.exponent:
                return f"impossible amount {raw!r}: more decimals than {self.currency} has"
            frac = frac[: self.exponent]
        return int(whole) * self.scale + (int(frac.ljust(self.exponent, "0")) if frac else 0), (
            negative
        )

    def parse_number(self, value: float | int | Decimal) -> tuple[int, bool] | str:
        """Amounts XLSX stores as numbers (converted through their shortest decimal text)."""
        amount = value if isinstance(value, Decimal) else Decimal(repr(value))
        try:
            return decimal_to_minor(abs(amount), self.currency), amount < 0
        except ValueError as e:
            return f"impossible amount {value!r}: {e}"


@dataclass(slots=True)
class _Pending:
    line: int
    account: str
    booked: datetime
    value_date: date | None
    ref: str | None
    minor: int
    direction: Direction
    memo: list[str]
    cp_name: str | None
    cp_account: str | None


class _RowReader:
    """Turns data rows (after the header) into transactions; one row of look-ahead for
    memo continuation rows."""

    def __init__(
        self,
        *,
        layout: _Layout,
        account: str,
        currency: str,
        bin_: str | None,
        profile: Profile | None,
        log: ErrorLog,
        source_format: str,
    ) -> None:
        ix = layout.index
        self.di = ix["date"]
        self.ti = ix["time"]
        self.vi = ix["value_date"]
        self.ri = ix["ref"]
        self.dbi = ix["debit"]
        self.cri = ix["credit"]
        self.ai = ix["amount"]
        self.mi = ix["memo"]
        self.cni = ix["counterparty_name"]
        self.cai = ix["counterparty_account"]
        self.needed = max(ix.values()) + 1
        self.date_has_ref = layout.date_has_ref
        self.account = account
        self.currency = currency
        self.bin = bin_
        self.amounts = _AmountReader(currency, profile)
        self.date_format = profile.date_format if profile else None
        self.unique_ref = profile is None or profile.unique_ref is not False
        self.log = log
        self.source_format = source_format
        self.ids = IdentityCounter()
        self.pending: _Pending | None = None

    def _cell(self, cells: list[object], i: int) -> object:
        return cells[i] if 0 <= i < len(cells) else None

    def _date(self, value: object, line: int, field_name: str) -> tuple[datetime, str] | None:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=VIETNAM_TZ)), ""
        if isinstance(value, date):
            return datetime.combine(value, time(), VIETNAM_TZ), ""
        text = str(value).strip()
        if self.date_format:
            try:
                parsed = datetime.strptime(text, self.date_format)  # noqa: DTZ007 - zone added below
            except ValueError:
                self.log.add(line, field_name, f"date {text!r} does not match {self.date_format}")
                return None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM_TZ)), ""
        m = _DATE.match(text)
        if m is None:
            self.log.add(line, field_name, f"unreadable date {text!r} (expected DD/MM/YYYY)")
            return None
        d, mo, y, hh, mm, ss, rest = m.groups()
        try:
            when = datetime(
                int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=VIETNAM_TZ
            )
        except ValueError:
            self.log.add(line, field_name, f"impossible date {text!r}")
            return None
        return when, (rest or "").strip()

    def _amount(self, value: object, line: int, field_name: str) -> tuple[int, bool] | None:
        if value is None:
            return 0, False
        if isinstance(value, str):
            result = self.amounts.parse(value)
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            result = self.amounts.parse_number(value)
        else:
            result = f"impossible amount {value!r}"
        if isinstance(result, str):
            self.log.add(line, field_name, result)
            return None
        return result

    def row(self, cells: list[object], line: int) -> BankTransaction | None:
        """Feed one data row; return the previous transaction once it is complete."""
        raw_date = cells[self.di] if self.di < len(cells) else None
        if raw_date is None or (isinstance(raw_date, str) and not raw_date.strip()):
            return self._dateless(cells, line)
        if isinstance(raw_date, str) and not raw_date.lstrip()[:1].isdigit():
            if _is_summary(cells):
                return self._flush()
            self.log.add(line, "date", f"unreadable date {raw_date.strip()!r}")
            return self._flush()
        done = self._flush()
        parsed = self._date(raw_date, line, "date")
        if parsed is None:
            return done
        booked, rest = parsed
        if self.ti >= 0:
            raw_time = self._cell(cells, self.ti)
            if isinstance(raw_time, time):
                booked = booked.replace(
                    hour=raw_time.hour, minute=raw_time.minute, second=raw_time.second
                )
            elif isinstance(raw_time, str) and raw_time.strip():
                tm = _TIME.match(raw_time.strip())
                if tm is None:
                    self.log.add(line, "time", f"unreadable time {raw_time.strip()!r}")
                    return done
                try:
                    booked = booked.replace(
                        hour=int(tm[1]), minute=int(tm[2]), second=int(tm[3] or 0)
                    )
                except ValueError:
                    self.log.add(line, "time", f"impossible time {raw_time.strip()!r}")
                    return done
        if self.ai >= 0:
            amount = self._amount(self._cell(cells, self.ai), line, "amount")
            if amount is None:
                return done
            minor, negative = amount
            direction: Direction = "debit" if negative else "credit"
        else:
            debit = self._amount(self._cell(cells, self.dbi), line, "debit")
            credit = self._amount(self._cell(cells, self.cri), line, "credit")
            if debit is None or credit is None:
                return done
            if debit[1] or credit[1]:
                self.log.add(line, "debit" if debit[1] else "credit", "negative amount")
                return done
            if debit[0] and credit[0]:
                self.log.add(line, "amount", "both debit and credit are filled")
                return done
            minor, direction = (debit[0], "debit") if debit[0] else (credit[0], "credit")
            if (
                not minor
                and self._cell(cells, self.dbi) in (None, "")
                and self._cell(cells, self.cri) in (None, "")
            ):
                if _is_summary(cells):
                    return done
                self.log.add(line, "amount", "neither debit nor credit is given")
                return done
        if not minor:
            if _is_summary(cells):
                return done
            if self.ai >= 0 and self._cell(cells, self.ai) in (None, ""):
                self.log.add(line, "amount", "no amount given")
            return done  # an explicit zero moves no money
        ref: str | None = None
        if self.ri >= 0:
            raw_ref = self._cell(cells, self.ri)
            ref = str(raw_ref).strip() or None if raw_ref is not None else None
        if ref is None and rest:
            ref = rest
        value_date: date | None = None
        if self.vi >= 0:
            raw_v = self._cell(cells, self.vi)
            if raw_v not in (None, ""):
                pv = self._date(raw_v, line, "value_date")
                if pv is None:
                    return done
                value_date = pv[0].date()
        memo_cell = self._cell(cells, self.mi) if self.mi >= 0 else None
        memo = str(memo_cell) if memo_cell is not None else ""
        cp_name = self._cell(cells, self.cni)
        cp_acct = self._cell(cells, self.cai)
        self.pending = _Pending(
            line=line,
            account=self.account,
            booked=booked,
            value_date=value_date,
            ref=ref,
            minor=minor,
            direction=direction,
            memo=[memo] if memo else [],
            cp_name=str(cp_name).strip() or None if cp_name is not None else None,
            cp_account=str(cp_acct).strip() or None if cp_acct is not None else None,
        )
        return done

    def _dateless(self, cells: list[object], line: int) -> BankTransaction | None:
        filled = [
            i
            for i, c in enumerate(cells)
            if c is not None and (not isinstance(c, str) or c.strip())
        ]
        if not filled:
            return None
        if self.mi >= 0 and filled == [self.mi]:
            if self.pending is None:
                self.log.add(line, "memo", "memo continuation row without a transaction before it")
                return None
            self.pending.memo.append(str(cells[self.mi]))
            return None
        if _is_summary(cells):
            return self._flush()
        self.log.add(line, "date", "row has values but no date")
        return self._flush()

    def _flush(self) -> BankTransaction | None:
        p = self.pending
        if p is None:
            return None
        self.pending = None
        memo = (p.memo[0] if len(p.memo) == 1 else " ".join(p.memo)) if p.memo else ""
        if (
            "  " in memo
            or "\n" in memo
            or "\r" in memo
            or "\t" in memo
            or memo[:1].isspace()
            or memo[-1:].isspace()
        ):
            memo = " ".join(memo.split())
        normalized = memo_normalize(memo)
        reverses = (
            reversal_ref_extract(memo)
            if "hoan" in normalized or "tralai" in normalized or "refund" in normalized
            else None
        )
        day = p.booked.date()
        if self.unique_ref and p.ref:
            identity = self.ids.by_ref(
                account=p.account,
                ref=p.ref,
                direction=p.direction,
                amount_minor=p.minor,
                currency=self.currency,
                day=day,
            )
        else:
            identity = self.ids.by_content(
                account=p.account,
                ref=p.ref,
                direction=p.direction,
                amount_minor=p.minor,
                currency=self.currency,
                day=day,
                normalized_memo=normalized,
            )
        return BankTransaction(
            account=p.account,
            bin=self.bin,
            currency=self.currency,
            amount_minor=p.minor,
            direction=p.direction,
            booked_at=p.booked,
            value_date=p.value_date,
            bank_ref=p.ref,
            memo=memo,
            counterparty_name=p.cp_name,
            counterparty_account=p.cp_account,
            is_reversal=reverses is not None,
            reverses_ref=reverses,
            source_format=self.source_format,
            line=p.line,
            identity=identity,
        )


def _title_info(rows: list[list[str]]) -> tuple[str | None, str | None]:
    account: str | None = None
    currency: str | None = None
    for row in rows:
        text = text_fold(" ".join(str(c) for c in row if c not in (None, "")))
        if account is None and (m := _ACCOUNT.search(text)):
            account = m.group(1)
        if currency is None and (m := _CURRENCY.search(text)):
            try:
                currency_exponent(m.group(1).upper())
                currency = m.group(1).upper()
            except ValueError:
                pass
    return account, currency


def _find_header(rows: list[list[str]], profile: Profile | None) -> tuple[int, _Layout] | None:
    if profile is not None and profile.header_row is not None:
        i = profile.header_row - 1
        if i >= len(rows):
            return None
        layout = _layout_from_header(rows[i], profile)
        return (i, layout) if layout else None
    for i, row in enumerate(rows):
        layout = _layout_from_header(row, profile)
        if layout is not None:
            return i, layout
    return None


def _start(
    *,
    head_rows: list[list[str]],
    header_at: int,
    layout: _Layout,
    header_line: int,
    profile: Profile | None,
    log: ErrorLog,
    source_format: str,
) -> _RowReader:
    account, currency = _title_info(head_rows[:header_at])
    if profile is not None and profile.account:
        account = profile.account
    if profile is not None and profile.currency:
        currency = profile.currency
    if account is None:
        raise log.fatal(
            header_line,
            "account",
            "no account number in the title rows; give `account` in a profile",
        )
    return _RowReader(
        layout=layout,
        account=account,
        currency=currency or "VND",
        bin_=profile.bin if profile else None,
        profile=profile,
        log=log,
        source_format=source_format,
    )


class _Prefixed(io.RawIOBase):
    """A readable stream: `head` first, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _utf8_lines(raw: Iterable[bytes], log: ErrorLog) -> Iterator[str]:
    n = 0
    try:
        for n, line in enumerate(raw, 1):  # noqa: B007 - n names the failing line below
            yield line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise log.fatal(
            n, "encoding", f"not UTF-8 text ({e.reason}); save the export as UTF-8"
        ) from None
    return


def _text_lines(
    stream: IO[bytes], head: bytes, log: ErrorLog, profile: Profile | None
) -> Iterator[str]:
    encoding = profile.encoding if profile and profile.encoding else None
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
        encoding = encoding or "utf-8"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(head) >= 4 and head[1] == 0 and head[3] == 0:
        encoding = "utf-16-le"
    buffered = io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 16)
    if encoding is None or codecs.lookup(encoding).name == "utf-8":
        return _utf8_lines(buffered, log)
    return _wrapped_lines(buffered, encoding, log)


def _wrapped_lines(raw: io.BufferedReader[Any], encoding: str, log: ErrorLog) -> Iterator[str]:
    text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
    n = 0
    try:
        for n, line in enumerate(text, 1):  # noqa: B007 - n names the failing line below
            yield line
    except UnicodeError as e:
        raise log.fatal(n + 1, "encoding", f"not {encoding} text ({e}); near this line") from None


def csv_read(
    stream: IO[bytes], *, log: ErrorLog, head: bytes, profile: Profile | None
) -> Iterator[BankTransaction]:
    """Yield the transactions of a CSV/TSV export; errors go to `log`."""
    lines = _text_lines(stream, head, log, profile)
    first: list[str] = []
    for text_line in lines:
        first.append(text_line)
        if len(first) >= HEADER_SCAN_ROWS:
            break
    delimiters = (profile.delimiter,) if profile and profile.delimiter else (",", ";", "\t")
    best: tuple[str, int, _Layout, list[list[str]]] | None = None
    for delim in delimiters:
        rows = _rows_until_error(first, delim)
        found = _find_header(rows, profile)
        if found is None:
            continue
        score = sum(1 for v in found[1].index.values() if v >= 0)
        if best is None or score > sum(1 for v in best[2].index.values() if v >= 0):
            best = (delim, found[0], found[1], rows)
    if best is None:
        raise log.fatal(
            1,
            "header",
            "not a bank statement: no header row with date and amount columns "
            f"in the first {HEADER_SCAN_ROWS} lines",
        )
    delim, header_at, layout, head_rows = best
    reader = csv.reader(_chain(first, lines), delimiter=delim)
    prev = 0
    rows_iter = iter(reader)
    try:
        for _ in range(header_at + 1):
            next(rows_iter)
            prev = reader.line_num
    except csv.Error as e:  # pragma: no cover - the same rows parsed while sniffing
        raise log.fatal(prev + 1, "csv", f"malformed CSV: {e}") from None
    proc = _start(
        head_rows=head_rows,
        header_at=header_at,
        layout=layout,
        header_line=prev,
        profile=profile,
        log=log,
        source_format="csv",
    )
    row_fn = proc.row
    try:
        for cells in rows_iter:
            line = prev + 1
            prev = reader.line_num
            tx = row_fn(cells, line)  # type: ignore[arg-type]
            if tx is not None:
                yield tx
    except csv.Error as e:
        raise log.fatal(prev + 1, "csv", f"malformed CSV: {e}") from None
    tx = proc._flush()
    if tx is not None:
        yield tx


def _rows_until_error(lines: list[str], delimiter: str) -> list[list[str]]:
    """The rows of `lines` read with `delimiter`, up to the first the csv module refuses
    (a delimiter that is not the file's can make a quoted line break look unquoted)."""
    rows: list[list[str]] = []
    reader = csv.reader(lines, delimiter=delimiter)
    with contextlib.suppress(csv.Error):
        rows.extend(reader)
    return rows


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _xlsx_cell(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    return value


def xlsx_read(
    stream: IO[bytes], *, log: ErrorLog, head: bytes, profile: Profile | None
) -> Iterator[BankTransaction]:
    """Yield the transactions of an XLSX export, read row by row (openpyxl read-only)."""
    import openpyxl  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415 - XLSX only
    from openpyxl.utils.exceptions import (  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415
        InvalidFileException,
    )

    source: IO[bytes]
    if stream.seekable():
        stream.seek(0)
        source = stream
    else:  # a ZIP needs random access: spool the upload (to disk past 16 MiB)
        source = tempfile.SpooledTemporaryFile(max_size=1 << 24)  # noqa: SIM115 - closed below
        source.write(head)
        shutil.copyfileobj(stream, source)
        source.seek(0)
    _xlsx_check_zip(source, log)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise log.fatal(1, "xlsx", f"not a readable XLSX workbook: {e}") from None
    except Exception as e:  # openpyxl raises many kinds (TypeError, XML errors) for odd parts
        raise log.fatal(
            1, "xlsx", f"not a readable XLSX workbook ({type(e).__name__}: {e})"
        ) from None
    rows = _XlsxRows(log)
    try:
        yield from _xlsx_transactions(book, rows, log=log, profile=profile)
    except StatementRejected:
        raise
    except Exception as e:  # a broken part met while streaming rows (bad XML, CRC error)
        raise log.fatal(
            rows.line + 1, "xlsx", f"unreadable sheet content ({type(e).__name__}: {e})"
        ) from None
    finally:
        book.close()


def _xlsx_check_zip(source: IO[bytes], log: ErrorLog) -> None:
    """Refuse a ZIP whose parts would expand past the limits, before openpyxl reads it.

    The sizes checked are the central directory's; Python's zipfile never inflates a part
    past its declared size (the CRC check fails instead), so the check bounds the work."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise log.fatal(1, "xlsx", f"not a readable XLSX workbook: {e}") from None
    finally:
        source.seek(0)
    if len(parts) > XLSX_MAX_PARTS:
        raise log.fatal(
            1, "xlsx", f"{len(parts):,} parts in the workbook (at most {XLSX_MAX_PARTS:,})"
        )
    total = 0
    for part in parts:
        total += part.file_size
        ratio = part.file_size // max(part.compress_size, 1)
        if part.file_size > XLSX_RATIO_FLOOR and ratio > XLSX_MAX_RATIO:
            raise log.fatal(
                1,
                "xlsx",
                f"part {part.filename[:80]!r} expands {ratio:,} times (at most "
                f"{XLSX_MAX_RATIO}): refused as a decompression bomb",
            )
    if total > XLSX_MAX_UNCOMPRESSED:
        raise log.fatal(
            1,
            "xlsx",
            f"the workbook expands to {total:,} bytes (at most {XLSX_MAX_UNCOMPRESSED:,}): "
            "refused as a decompression bomb",
        )


class _XlsxRows:
    """Rows of one sheet within `XLSX_MAX_ROWS` / `XLSX_MAX_COLUMNS` / `XLSX_MAX_CELLS`;
    `line` is the 1-based number of the last row read."""

    __slots__ = ("cells", "line", "log")

    def __init__(self, log: ErrorLog) -> None:
        self.log = log
        self.line = 0
        self.cells = 0

    def read(self, sheet: Any) -> Iterator[list[object]]:
        for values in sheet.iter_rows(
            values_only=True, max_row=XLSX_MAX_ROWS + 1, max_col=XLSX_MAX_COLUMNS
        ):
            self.line += 1
            if self.line > XLSX_MAX_ROWS:
                raise self.log.fatal(
                    self.line, "xlsx", f"the sheet has more than {XLSX_MAX_ROWS:,} rows"
                )
            row = [_xlsx_cell(v) for v in values]
            self.cells += sum(1 for v in row if v is not None)
            if self.cells > XLSX_MAX_CELLS:
                raise self.log.fatal(
                    self.line, "xlsx", f"the sheet has more than {XLSX_MAX_CELLS:,} cells"
                )
            yield row


def _xlsx_transactions(
    book: Any, rows: _XlsxRows, *, log: ErrorLog, profile: Profile | None
) -> Iterator[BankTransaction]:
    if profile is not None and profile.sheet:
        if profile.sheet not in book.sheetnames:
            raise log.fatal(1, "sheet", f"no sheet named {profile.sheet!r}")
        sheet = book[profile.sheet]
    else:
        sheet = book.worksheets[0]
    sheet.reset_dimensions()  # a stated dimension would pad every row to its width
    rows_iter = rows.read(sheet)
    first: list[list[object]] = []
    for values in rows_iter:
        first.append(values)
        if len(first) >= HEADER_SCAN_ROWS:
            break
    text_rows = [["" if c is None else str(c) for c in row] for row in first]
    found = _find_header(text_rows, profile)
    if found is None:
        raise log.fatal(
            1,
            "header",
            "not a bank statement: no header row with date and amount columns "
            f"in the first {HEADER_SCAN_ROWS} rows",
        )
    header_at, layout = found
    proc = _start(
        head_rows=text_rows,
        header_at=header_at,
        layout=layout,
        header_line=header_at + 1,
        profile=profile,
        log=log,
        source_format="xlsx",
    )
    line = header_at + 1
    for cells in first[header_at + 1 :]:
        line += 1
        if (tx := proc.row(cells, line)) is not None:
            yield tx
    for values in rows_iter:
        line += 1
        if (tx := proc.row(values, line)) is not None:
            yield tx
    if (tx := proc._flush()) is not None:
        yield tx
