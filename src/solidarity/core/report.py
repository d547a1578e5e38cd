"""Statements for the board and the public: the reconciliation rule, safe CSV cells, and
numbers, quantities and dates written the way the report's reader writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

# Spreadsheet programs run a cell that starts with one of these as a formula (OWASP CSV
# injection); prefixing a single quote makes them show it as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: str) -> str:
    """`value` as a spreadsheet will show it, never run it."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """opening + gifts − reversals − tranches = closing, in minor units of one currency."""

    opening: int
    gifts: int
    reversals: int
    tranches: int
    closing: int

    @property
    def expected_closing(self) -> int:
        return self.opening + self.gifts - self.reversals - self.tranches

    @property
    def ok(self) -> bool:
        return self.expected_closing == self.closing


# --- numbers and dates for a person, in the report's language (Babel / CLDR) ----------------


def count_format(count: int, locale: str) -> str:
    """A whole number with the locale's grouping: 29.246 in vi, 29,246 in en."""
    return str(format_decimal(count, format="#,##0", locale=_babel(locale)))


def quantity_format(quantity: Decimal, locale: str) -> str:
    """A quantity as people write it: no exponent, no trailing zeros, the locale's marks
    (Decimal("1E+4") → "10.000" in vi; Decimal("2.500") → "2,5")."""
    return str(format_decimal(quantity, format="#,##0.###", locale=_babel(locale)))


# English readers differ on the order of day and month; a month name leaves no doubt.
_DAY_PATTERNS = {"en": "d MMM yyyy"}


def day_format(day: date, locale: str) -> str:
    """A calendar day: 05/10/2025 in vi, es and pt-BR; 5 Oct 2025 in en."""
    loc = _babel(locale)
    return str(format_date(day, _DAY_PATTERNS.get(loc.language, "dd/MM/yyyy"), locale=loc))


def _babel(locale: str) -> Locale:
    return Locale.parse(locale.replace("-", "_"))
