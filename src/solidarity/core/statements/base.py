"""The normalized bank transaction every statement format yields, and the error model.

Every importer (camt.py, mt940.py, tabular.py) turns one file into a stream of
`BankTransaction` values. Errors are collected beancount-style: a reader records every
bad line it meets in an `ErrorLog` and keeps going, then raises `StatementRejected` with
all of them once the file is exhausted (or at once for a fatal error such as hostile XML).
The identity rule is documented in IDENTITY.md beside this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from babel.numbers import get_currency_precision, list_currencies

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


def decimal_to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion to minor units; ValueError when the amount has more decimals than
    the currency allows, is not finite, or is negative."""
    if not amount.is_finite():
        raise ValueError(f"amount {amount} is not a number")
    if amount < 0:
        raise ValueError(f"amount {amount} is negative")
    scaled = amount.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {amount} has more decimals than {currency} allows")
    return int(scaled)


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal number ('123.45'); ValueError otherwise."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None


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
