"""Format detection and the single entry point `statement_read` for every statement format.

Detection looks at the content, not the file name: a ZIP (XLSX), XML (camt.05x), SWIFT
tags (MT940), else delimited text (CSV/TSV, UTF-8 or UTF-16).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from solidarity.core.statements.base import (
    ANY_DATE,
    BankTransaction,
    DateWindow,
    ErrorLog,
    StatementRejected,
    transaction_problems,
)
from solidarity.core.statements.camt import camt_read
from solidarity.core.statements.mt940 import mt940_read
from solidarity.core.statements.profile import Profile
from solidarity.core.statements.tabular import csv_read, xlsx_read

_HEAD = 8192

UNHANDLED = "unreadable statement: the reader cannot handle this input"
"""Message of the refusal for an input a reader raised an unexpected exception on."""
_MT940 = re.compile(rb"^(?:\{1:|:20:|:25:|:61:)", re.M)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

# Normalized field name -> the name the format gives it, for errors a reader finds after
# parsing (`transaction_problems`).
_FIELD_NAMES: dict[str, dict[str, str]] = {
    "camt": {
        "amount": "Amt",
        "date": "BookgDt",
        "value_date": "ValDt",
        "account": "Acct/Id",
        "bank_ref": "Refs/AcctSvcrRef",
        "memo": "RmtInf/Ustrd",
        "counterparty_name": "RltdPties/Nm",
        "counterparty_account": "RltdPties/Acct",
    },
    "mt940": {
        "amount": ":61:",
        "date": ":61:",
        "value_date": ":61:",
        "account": ":25:",
        "bank_ref": ":61:",
        "memo": ":86:",
        "counterparty_name": ":86:",
        "counterparty_account": ":86:",
    },
}


def statement_detect(head: bytes) -> str:
    """'xlsx', 'camt', 'mt940' or 'csv' from the first bytes of a file."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head
    for bom in _BOMS:
        if text.startswith(bom):
            return "csv" if bom != b"\xef\xbb\xbf" else _text_kind(text[len(bom) :])
    return _text_kind(text)


def _text_kind(text: bytes) -> str:
    stripped = text.lstrip()
    if stripped.startswith(b"<"):
        return "camt"
    if (_MT940.search(text) and b":61:" in text) or text.lstrip().startswith((b"{1:", b":20:")):
        return "mt940"
    return "csv"


def statement_read(
    source: str | Path | IO[bytes],
    *,
    name: str,
    profile: Profile | None = None,
    window: DateWindow = ANY_DATE,
) -> Iterator[BankTransaction]:
    """Stream the transactions of one statement file, whatever its format.

    Errors are collected while reading; after the last transaction, or at once for a fatal
    problem (hostile or broken XML, wrong encoding, not a statement), `StatementRejected`
    lists them all with file, line and field. Callers that book all-or-nothing must read
    to the end before committing anything yielded.

    A transaction whose values no real transfer has (amount past the currency's plausible
    range, a date outside `window`, control characters) is an error at its line; no other
    exception escapes for any input, whatever its bytes.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            yield from _read(stream, name=name, profile=profile, window=window)
    else:
        yield from _read(source, name=name, profile=profile, window=window)


def _read(
    stream: IO[bytes], *, name: str, profile: Profile | None, window: DateWindow
) -> Iterator[BankTransaction]:
    log = ErrorLog(name)
    head = stream.read(_HEAD)
    if not head.strip():
        raise log.fatal(1, "file", "empty file")
    kind = statement_detect(head)
    bin_override = profile.bin if profile else None
    transactions: Iterator[BankTransaction]
    if kind == "camt":
        transactions = camt_read(stream, log=log, head=head, bin_override=bin_override)
    elif kind == "mt940":
        transactions = mt940_read(stream, log=log, head=head, bin_override=bin_override)
    elif kind == "xlsx":
        transactions = xlsx_read(stream, log=log, head=head, profile=profile)
    else:
        if (
            b"\x00" in head
            and not head.startswith(_BOMS[1:])
            and not (len(head) >= 4 and head[1] == 0 and head[3] == 0)
        ):
            raise log.fatal(1, "file", "binary data, not a statement")
        transactions = csv_read(stream, log=log, head=head, profile=profile)
    names = _FIELD_NAMES.get(kind, {})
    line = 0
    try:
        for tx in transactions:
            line = tx.line
            problems = transaction_problems(tx, window)
            if not problems:
                yield tx
                continue
            for field_name, message in problems:
                log.add(tx.line, names.get(field_name, field_name), message)
    except StatementRejected:
        raise
    except Exception as e:
        # A reader met input it does not handle (a bug to fix; the fuzz tests look for
        # this message). The file is refused at the last place known to be read.
        raise log.fatal(
            line or 1, "file", f"{UNHANDLED} ({type(e).__name__}: {str(e)[:200]})"
        ) from None
    log.raise_if_any()
