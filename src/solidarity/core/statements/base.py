"""The normalized bank transaction every statement format yields, and the error model.

Every importer (camt.py, mt940.py, tabular.py) turns one file into a stream of
`BankTransaction` values. Errors are collected beancount-style: a reader records every
bad line it meets in an `ErrorLog` and keeps going, then raises `StatementRejected` with
all of them once the file is exhausted (or at once for a fatal error such as hostile XML).
The identity rule is documented in IDENTITY.md beside this module.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, DecimalException
from functools import lru_cache
from typing import Literal

from babel.numbers import get_currency_precision, list_currencies

from solidarity.core.money import INT64_MAX, transfer_implausible

Direction = Literal["credit", "debit"]

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
"""Zone assumed for a time or date the file gives without one (Vietnam, UTC+7)."""

MAX_ERRORS = 1000
"""An `ErrorLog` keeps at most this many errors; the rejection says how many it dropped."""


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One booked movement on one account, as the bank reported it.

    `amount_minor` is positive; `direction` gives the sign. `line` is the 1-based line (text
    formats) or row (XLSX) where the transaction starts in its file.
    """

    account: str
    bin: str | None
    currency: str
    amount_minor: int
    direction: Direction
    booked_at: datetime
    value_date: date | None
    bank_ref: str | None
    memo: str
    counterparty_name: str | None
    counterparty_account: str | None
    is_reversal: bool
    reverses_ref: str | None
    source_format: str
    line: int
    identity: str


@dataclass(frozen=True, slots=True)
class StatementError:
    """One problem found in a statement file: where it is and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class StatementRejected(Exception):
    """The file is not an acceptable statement; `errors` lists every problem found."""

    def __init__(self, errors: list[StatementError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"statement rejected: {shown}{more}")


@dataclass(slots=True)
class ErrorLog:
    """Collects the errors of one file while it is read."""

    file: str
    errors: list[StatementError] = field(default_factory=list)
    dropped: int = 0

    def add(self, line: int, field_name: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(StatementError(self.file, line, field_name, message))
        else:
            self.dropped += 1

    def fatal(self, line: int, field_name: str, message: str) -> StatementRejected:
        """Record an error after which reading cannot go on; return the exception to raise."""
        self.add(line, field_name, message)
        return self.rejection()

    def rejection(self) -> StatementRejected:
        errors = list(self.errors)
        if self.dropped:
            errors.append(
                StatementError(self.file, 0, "file", f"{self.dropped} further errors not listed")
            )
        return StatementRejected(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise self.rejection()


@lru_cache(maxsize=64)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=256)
def currency_exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent (VND 0, USD 2) from Babel; ValueError for an unknown code."""
    if currency not in _known_currencies():
        raise ValueError(f"unknown ISO 4217 currency {currency!r}")
    return int(get_currency_precision(currency))


_INT64_DIGITS = len(str(INT64_MAX))


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion to minor units; ValueError when the amount has more decimals than
    the currency allows, is not finite, is negative, or cannot be one real transfer
    (`transfer_implausible`). Never builds an integer longer than int64, whatever the
    exponent written in the file."""
    if not amount.is_finite():
        raise ValueError(f"amount {amount} is not a number")
    if amount < 0:
        raise ValueError(f"amount {amount} is negative")
    exponent = currency_exponent(currency)
    if amount and amount.adjusted() + exponent >= _INT64_DIGITS:
        raise ValueError(f"amount {amount:.6} has too many digits for any real transfer")
    try:
        scaled = amount.scaleb(exponent)
        exact = scaled == scaled.to_integral_value()
    except DecimalException:
        exact = False
    if not exact:
        raise ValueError(f"amount {amount} has more decimals than {currency} allows")
    minor = int(scaled)
    if problem := transfer_implausible(minor, currency):
        raise ValueError(f"{problem}: {amount}")
    return minor


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal number ('123.45'); ValueError otherwise."""
    if len(text) > 64:
        raise ValueError(f"{text[:30]!r}... is not a number ({len(text)} characters)")
    try:
        return Decimal(text)
    except DecimalException:
        raise ValueError(f"{text!r} is not a number") from None


# --- plausibility --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateWindow:
    """The booking and value dates a statement may hold, both ends included. Callers that
    know the campaigns narrow it (opening minus a margin, to tomorrow)."""

    not_before: date
    not_after: date

    def problem(self, day: date) -> str | None:
        if day < self.not_before:
            return f"date {day.isoformat()} is before {self.not_before.isoformat()}"
        if day > self.not_after:
            return f"date {day.isoformat()} is after {self.not_after.isoformat()}"
        return None


ANY_DATE = DateWindow(date(1970, 1, 1), date(2199, 12, 31))
"""Dates no bank statement can fall outside of; the window when the caller gives none."""

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_character(text: str) -> str | None:
    """A description of the first control character in `text` (C0/C1 controls other than
    tab and line breaks, and bidirectional overrides that disguise text), or None."""
    if text.isprintable():
        return None
    for i, ch in enumerate(text):
        if ch in _ALLOWED_CONTROLS:
            continue
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) == "Cc":
            return f"control character U+{ord(ch):04X} at position {i + 1}"
    return None


_TEXT_FIELDS = ("account", "bank_ref", "memo", "counterparty_name", "counterparty_account")


def transaction_problems(tx: BankTransaction, window: DateWindow) -> list[tuple[str, str]]:
    """(field, message) for every value of `tx` that no real transfer has: an amount past
    the currency's plausible range, a date outside `window`, a control character.
    Field names are the normalized ones; readers map them to the format's own."""
    problems: list[tuple[str, str]] = []
    if tx.amount_minor <= 0:
        problems.append(("amount", f"amount {tx.amount_minor} is not positive"))
    elif problem := transfer_implausible(tx.amount_minor, tx.currency):
        problems.append(("amount", problem))
    if problem := window.problem(tx.booked_at.date()):
        problems.append(("date", f"implausible booking {problem}"))
    if tx.value_date is not None and (problem := window.problem(tx.value_date)):
        problems.append(("value_date", f"implausible value {problem}"))
    for name in _TEXT_FIELDS:
        value = getattr(tx, name)
        if value and (problem := control_character(value)):
            problems.append((name, problem))
    return problems


class IdentityCounter:
    """Assigns `BankTransaction.identity` for one file (rule: IDENTITY.md).

    The key never holds the account as the file spells it: the receiving account it resolves
    to is the other half of the stored identity (`source`). Occurrence counters are kept per
    (stated account, booking date); a file must deliver whole days for transactions whose
    key repeats within a day.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[str, date], dict[str, int]] = {}

    def _occurrence(self, account: str, day: date, key: str) -> int:
        group = self._seen.get((account, day))
        if group is None:
            group = self._seen[(account, day)] = {}
        n = group.get(key, 0) + 1
        group[key] = n
        return n

    def by_ref(
        self,
        *,
        account: str,
        ref: str,
        direction: str,
        amount_minor: int,
        currency: str,
        day: date,
    ) -> str:
        """Key of a transaction that carries the bank's reference; `account` (as stated)
        only scopes the occurrence counter."""
        base = ref_key(
            ref=ref, direction=direction, amount_minor=amount_minor, currency=currency, day=day
        )
        n = self._occurrence(account, day, base)
        return base if n == 1 else f"{base}#{n}"

    def by_content(
        self,
        *,
        account: str,
        ref: str | None,
        direction: str,
        amount_minor: int,
        currency: str,
        day: date,
        normalized_memo: str,
    ) -> str:
        """Key from the content of a transaction plus its occurrence within the day;
        `account` (as stated) only scopes the occurrence counter."""
        digest = content_digest(
            ref=ref,
            direction=direction,
            amount_minor=amount_minor,
            currency=currency,
            day=day,
            normalized_memo=normalized_memo,
        )
        n = self._occurrence(account, day, digest)
        return f"h|{digest}|{n}"


def ref_key(*, ref: str, direction: str, amount_minor: int, currency: str, day: date) -> str:
    """The reference-scheme key before its occurrence suffix (IDENTITY.md)."""
    return f"ref|{ref}|{direction}|{amount_minor}{currency}|{day.isoformat()}"


def content_digest(
    *,
    ref: str | None,
    direction: str,
    amount_minor: int,
    currency: str,
    day: date,
    normalized_memo: str,
) -> str:
    """The content-scheme digest (IDENTITY.md): blake2b-128 over the unit-separated fields."""
    material = "\x1f".join(
        (day.isoformat(), direction, str(amount_minor), currency, ref or "", normalized_memo)
    )
    return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
