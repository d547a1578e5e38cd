"""Exact money: an integer count of minor units plus an ISO 4217 code.

Exponents, symbols and locale formats come from Babel (CLDR). Arithmetic across
currencies is refused; converting needs an explicit, recorded `ExchangeRate`.
`Decimal` appears only at the edges: parsing a person's input and formatting for one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)

SUPPORTED_LOCALES = ("vi", "en", "es", "pt_BR")
# The site's language codes (Django's) and the Babel locale each is formatted in.
LANGUAGE_LOCALES = {"vi": "vi", "en": "en", "es": "es", "pt-br": "pt_BR"}
_KNOWN_CURRENCIES = frozenset(list_currencies())


class MoneyError(ValueError):
    """A money value or operation that cannot be exact."""


class CurrencyMismatch(MoneyError):
    """Two amounts in different currencies were combined without a rate."""


@functools.cache
def currency_exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent (VND 0, USD 2) from CLDR."""
    currency_check(currency)
    return int(get_currency_precision(currency))


def currency_check(currency: str) -> str:
    """Return `currency` if it is a known ISO 4217 code, else raise MoneyError."""
    if currency not in _KNOWN_CURRENCIES or len(currency) != 3 or not currency.isupper():
        raise MoneyError(f"unknown currency code {currency!r}")
    return currency


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount. `minor` counts minor units (dong for VND, cents for USD)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise MoneyError(f"minor units must be an int, got {type(self.minor).__name__}")
        currency_check(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Exact conversion from major units; refuses amounts finer than the minor unit."""
        try:
            value = Decimal(amount)
        except InvalidOperation as exc:
            raise MoneyError(f"not a number: {amount!r}") from exc
        if not value.is_finite():
            raise MoneyError(f"not a finite amount: {amount!r}")
        scaled = value.scaleb(currency_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise MoneyError(
                f"{amount} has more decimals than {currency} allows ({currency_exponent(currency)})"
            )
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency} without a rate"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


def _locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise MoneyError(f"unknown locale {locale!r}") from exc


def money_format(money: Money, locale: str) -> str:
    """CLDR currency format for `locale`, e.g. `385.000.000.000 ₫` in vi.

    Babel separates number and symbol with U+00A0 (no-break space) where CLDR says so.
    """
    return str(format_currency(money.to_decimal(), money.currency, locale=_locale(locale)))


def money_format_number(money: Money, locale: str) -> str:
    """The amount with the locale's separators and no currency sign."""
    exp = currency_exponent(money.currency)
    pattern = "#,##0" + ("." + "0" * exp if exp else "")
    return str(format_decimal(money.to_decimal(), format=pattern, locale=_locale(locale)))


_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also accepts superscripts and other scripts' digits."""
    return text.isascii() and text.isdigit()


def money_parse(text: str, currency: str, locale: str) -> Money:
    """Parse an amount typed by a person in `locale` (vi, en, es, pt-BR).

    Accepts grouping separators, an optional currency symbol or code, and the locale's
    decimal mark. Refuses negative amounts, ambiguous grouping and excess decimals.
    """
    loc = _locale(locale)
    raw = text
    cleaned = _SPACES.sub("", text)
    symbols = {currency, "₫", "$", "US$", "đ", "Đ", "VNĐ", "VND", "R$", "€"}
    for token in sorted(symbols, key=len, reverse=True):
        cleaned = cleaned.replace(token, "")
    if not cleaned:
        raise MoneyError(f"no amount in {raw!r}")
    if cleaned.startswith("-"):
        raise MoneyError(f"negative amount {raw!r}")
    decimal_mark = get_decimal_symbol(loc)
    group_mark = get_group_symbol(loc)
    if _SPACES.fullmatch(group_mark):
        group_mark = ""
    integer, _, fraction = cleaned.partition(decimal_mark)
    if decimal_mark in fraction:
        raise MoneyError(f"more than one decimal mark in {raw!r}")
    if group_mark and group_mark in integer:
        groups = integer.split(group_mark)
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            raise MoneyError(f"misplaced thousands separator in {raw!r}")
        integer = "".join(groups)
    if not _ascii_digits(integer) or (fraction and not _ascii_digits(fraction)):
        raise MoneyError(f"not an amount in {locale}: {raw!r}")
    if len(fraction) > currency_exponent(currency):
        raise MoneyError(
            f"{raw!r} has more decimals than {currency} allows in {locale} "
            f"(the decimal mark there is {decimal_mark!r})"
        )
    return Money.from_decimal(Decimal(f"{integer}.{fraction or 0}"), currency)


# Words people put after a number ("150k", "1,5tr", "2 triệu", "1 tỷ"), folded to ASCII.
_SCALE_WORDS = {
    "k": 3, "ng": 3, "nghin": 3, "ngan": 3, "nghìn": 3, "ngàn": 3,
    "tr": 6, "trieu": 6, "triệu": 6, "m": 6, "mil": 6,
    "ty": 9, "tỷ": 9, "tỉ": 9, "ti": 9, "b": 9,
}  # fmt: skip
_TYPED = re.compile(r"^([0-9]{1,30}(?:[.,][0-9]{1,30})*)([^0-9.,]*)$")


def amount_typed(text: str, currency: str, locale: str) -> int | None:
    """The amount in minor units that `text` means as people type one in a search or give
    box, or None when it is not an amount.

    Beyond money_parse in `locale`: in a currency without minor units (VND) a `.` or `,`
    before exactly three digits is a thousands separator in every language ("150.000",
    "150,000"); spaces group ("150 000"); a scale word multiplies and makes the mark a
    decimal one ("150k", "1,5tr", "1.5 triệu", "2 tỷ"). The result is a positive whole
    number of minor units, not checked against any limit (see transfer_max_minor).
    """
    cleaned = _SPACES.sub("", text).lower()
    for token in ("vnđ", "vnd", "₫", "đ", "us$", "r$", "$", "€", currency.lower()):
        cleaned = cleaned.removesuffix(token).removeprefix(token)
    match = _TYPED.match(cleaned)
    if not match:
        return None
    number, word = match.groups()
    exp = currency_exponent(currency)
    if word:
        scale = _SCALE_WORDS.get(word)
        if scale is None:
            return None
        marks = re.findall(r"[.,]", number)
        if len(marks) > 1:
            return None
        value = Decimal(number.replace(",", ".")) * (Decimal(10) ** scale)
    else:
        try:
            value = money_parse(number, currency, locale).to_decimal()
        except MoneyError:
            # "150.000" in English VND: a grouping the locale's decimal mark cannot mean.
            groups = re.split(r"[.,]", number)
            if exp != 0 or len(set(re.findall(r"[.,]", number))) != 1:
                return None
            if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
                return None
            value = Decimal("".join(groups))
    minor = value.scaleb(exp)
    if minor != minor.to_integral_value() or minor <= 0:
        return None
    return int(minor)


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """A recorded rate: one unit of `base` is worth `rate` units of `quote`.

    `26370 VND/USD` is `ExchangeRate(base="USD", quote="VND", rate=Decimal(26370), ...)`.
    """

    base: str
    quote: str
    rate: Decimal
    source: str
    on: date

    def __post_init__(self) -> None:
        currency_check(self.base)
        currency_check(self.quote)
        if self.base == self.quote:
            raise MoneyError("a rate needs two different currencies")
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate <= 0:
            raise MoneyError(f"rate must be a positive Decimal, got {self.rate!r}")
        if not self.source.strip():
            raise MoneyError("a rate must name its source")


def money_convert(money: Money, rate: ExchangeRate) -> Money:
    """Convert with a recorded rate, in either direction.

    The result is truncated to the target's minor unit, so a converted amount never
    overstates what was handed over (VND 385,000,000,000 at 26,370 = USD 14,599,924.15).
    """
    if money.currency == rate.quote:
        target, value = rate.base, money.to_decimal() / rate.rate
    elif money.currency == rate.base:
        target, value = rate.quote, money.to_decimal() * rate.rate
    else:
        raise CurrencyMismatch(f"rate {rate.base}/{rate.quote} does not apply to {money.currency}")
    exp = currency_exponent(target)
    quantum = Decimal(1).scaleb(-exp)
    return Money.from_decimal(value.quantize(quantum, rounding=ROUND_DOWN), target)


# --- plausible amounts ---------------------------------------------------------------------

INT64_MAX = 2**63 - 1
"""The largest amount a `BigIntegerField` (`amount_minor`) holds."""

TRANSFER_MAX_MAJOR = 10**13
"""No single real transfer exceeds this many major units of any currency (VND 10 trillion is
about USD 400 million, beyond any gift or tranche); anything larger is a broken value."""


@functools.cache  # a known currency's bound never changes; an unknown one raises, uncached
def transfer_max_minor(currency: str) -> int:
    """The largest plausible single transfer in `currency`, in minor units (below int64)."""
    scale: int = 10 ** currency_exponent(currency)
    return min(TRANSFER_MAX_MAJOR * scale, INT64_MAX)


def transfer_implausible(minor: int, currency: str) -> str | None:
    """Why `minor` cannot be one real transfer in `currency` (past int64 or past the
    currency's plausible range), or None when it can."""
    if minor > INT64_MAX:
        return f"amount is past the largest storable value ({INT64_MAX:,} minor units)"
    limit = transfer_max_minor(currency)
    if minor > limit:
        return f"amount is beyond any real transfer (at most {limit:,} minor units of {currency})"
    return None
