"""SWIFT MT940 customer statements (SWIFT MT 940 field specification), parsed per statement
through the `mt940` library (`mt940.models.Transactions`).

The file is split into statements at each `:20:` (transaction reference number) so only one
statement is held at a time. Fields used: `:25:` account, `:28C:` statement number, `:61:`
statement line (value date, entry date, mark C/D/RC/RD, amount, reference for the account
owner, `//` reference of the account servicing institution), `:86:` information to account
owner (the memo). RC (reversal of credit) books as a debit and RD (reversal of debit) as a
credit, both with `is_reversal`. Zero-amount lines (balance notes some banks send as `:61:`)
move no money and are skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

import mt940  # type: ignore[import-untyped,unused-ignore]
import mt940.tags  # type: ignore[import-untyped,unused-ignore]

from solidarity.core.matching import memo_normalize, reversal_ref_extract
from solidarity.core.statements.base import (
    VIETNAM_TZ,
    BankTransaction,
    Direction,
    ErrorLog,
    IdentityCounter,
    decimal_to_minor,
)

# The library logs each pattern miss before our ASN retry; the refusal we raise says enough.
logging.getLogger("mt940").addHandler(logging.NullHandler())

_TAG61 = re.compile(r"^:\n?61:", re.M)
_DIRECTIONS: dict[str, tuple[Direction, bool]] = {
    "C": ("credit", False),
    "D": ("debit", False),
    "RC": ("debit", True),
    "RD": ("credit", True),
}
_NOREF = frozenset({"", "NONREF", "NOTPROVIDED"})


def _blocks(stream: IO[bytes], head: bytes, log: ErrorLog) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, lines) per statement, split before each `:20:`."""
    lines: list[str] = []
    start = 1
    has_20 = False
    lineno = 0
    rest = b""
    data = head

    def decoded(raw: bytes, n: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise log.fatal(n, "encoding", f"not UTF-8 text ({e.reason})") from None

    while True:
        chunk = data + stream.read(1 << 16) if data else stream.read(1 << 16)
        data = b""
        if not chunk:
            break
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for raw in complete:
            lineno += 1
            text = decoded(raw, lineno).rstrip("\r")
            if text.startswith(":20:"):
                if has_20:
                    yield start, lines
                    lines, start = [], lineno
                has_20 = True
            lines.append(text)
    if rest:
        lineno += 1
        lines.append(decoded(rest, lineno).rstrip("\r"))
    if lines:
        yield start, lines


def _parse_block(text: str) -> Any:
    try:
        parsed = mt940.models.Transactions()
        parsed.parse(text)
    except Exception:
        parsed = mt940.models.Transactions(tags={61: mt940.tags.StatementASNB()})
        parsed.parse(text)
    return parsed


def _memo(data: dict[str, Any]) -> str:
    details = data.get("transaction_details")
    if details is None:
        parts = [
            data.get(k)
            for k in ("posting_text", "purpose", "additional_purpose", "end_to_end_reference")
        ]
        details = " ".join(p for p in parts if p)
    return " ".join(str(details).split())


def mt940_read(
    stream: IO[bytes], *, log: ErrorLog, head: bytes = b"", bin_override: str | None = None
) -> Iterator[BankTransaction]:
    """Yield the transactions of an MT940 file, one statement at a time; errors go to `log`."""
    ids = IdentityCounter()
    for start, lines in _blocks(stream, head, log):
        text = "\n".join(lines)
        if not text.strip() or text.strip() == "-":
            continue
        tag_lines = [start + text.count("\n", 0, m.start()) for m in _TAG61.finditer(text)]
        try:
            parsed = _parse_block(text)
        except Exception as e:
            log.add(start, ":61:", f"statement cannot be parsed: {e}".splitlines()[0])
            continue
        account = parsed.data.get("account_identification")
        if not account:
            log.add(start, ":25:", "statement has no :25: account identification")
            continue
        if len(parsed) != len(tag_lines):
            log.add(start, ":61:", "statement lines do not all parse")
            continue
        for tx, line in zip(parsed, tag_lines, strict=True):
            data = tx.data
            status = str(data.get("status") or "").upper()
            mark = _DIRECTIONS.get(status)
            if mark is None:
                log.add(line, ":61:", f"unknown debit/credit mark {status!r}")
                continue
            direction, reversal = mark
            currency = data.get("currency")
            if not currency:
                log.add(line, ":60F:", "no currency (opening balance :60F: missing)")
                continue
            try:
                minor = decimal_to_minor(abs(data["amount"].amount), str(currency))
            except ValueError as e:
                log.add(line, ":61:", f"impossible amount: {e}")
                continue
            if minor == 0:
                continue
            value_date: date = date(data["date"].year, data["date"].month, data["date"].day)
            entry = data.get("entry_date") or value_date
            booked = datetime(entry.year, entry.month, entry.day, tzinfo=VIETNAM_TZ)
            memo = _memo(data)
            bank_ref = (data.get("bank_reference") or "").strip()
            bank_ref = None if bank_ref.upper() in _NOREF else bank_ref
            customer_ref = (data.get("customer_reference") or "").strip()
            reverses = reversal_ref_extract(memo) if memo else None
            if bank_ref:
                identity = ids.by_ref(
                    account=str(account),
                    ref=bank_ref,
                    direction=direction,
                    amount_minor=minor,
                    currency=str(currency),
                    day=booked.date(),
                )
            else:
                identity = ids.by_content(
                    account=str(account),
                    ref=None if customer_ref.upper() in _NOREF else customer_ref,
                    direction=direction,
                    amount_minor=minor,
                    currency=str(currency),
                    day=booked.date(),
                    normalized_memo=memo_normalize(memo),
                )
            name = data.get("applicant_name")
            yield BankTransaction(
                account=str(account),
                bin=bin_override,
                currency=str(currency),
                amount_minor=minor,
                direction=direction,
                booked_at=booked,
                value_date=value_date,
                bank_ref=bank_ref,
                memo=memo,
                counterparty_name=str(name) if name else None,
                counterparty_account=data.get("applicant_iban") or data.get("gvc_applicant_iban"),
                is_reversal=reversal or reverses is not None,
                reverses_ref=reverses,
                source_format="mt940",
                line=line,
                identity=identity,
            )
