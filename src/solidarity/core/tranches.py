"""Tranche arithmetic: goods lines, recorded conversions, what a campaign can still commit.

Pure values; the disbursements app stores them and books them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from solidarity.core.money import ExchangeRate, Money, MoneyError, money_convert

MAX_QUANTITY = Decimal("1e15")


@dataclass(frozen=True, slots=True)
class ItemLine:
    """Goods: `quantity` `unit` of `item`, each worth `unit_value` (campaign currency)."""

    item: str
    quantity: Decimal
    unit: str
    unit_value: Money

    @property
    def total(self) -> Money:
        """quantity × unit value, truncated to the minor unit (never overstates)."""
        value = (self.quantity * self.unit_value.minor).to_integral_value(rounding=ROUND_DOWN)
        return Money(int(value), self.unit_value.currency)

    def entry(self) -> dict[str, Any]:
        """The line as a log entry shows it: integers in minor units, quantity as text."""
        return {
            "item": self.item,
            "quantity": decimal_text(self.quantity),
            "unit": self.unit,
            "unit_value": self.unit_value.minor,
            "total": self.total.minor,
        }


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros: 50000, 1.5, 26370."""
    return format(value.normalize(), "f")


def item_errors(line: ItemLine, where: str = "item") -> list[str]:
    """Every problem with a goods line."""
    errors = []
    if not line.item.strip():
        errors.append(f"{where}: the item needs a name")
    if not line.unit.strip():
        errors.append(f"{where}: the item needs a unit (piece, kg, box, ...)")
    if not line.quantity.is_finite() or line.quantity <= 0 or line.quantity >= MAX_QUANTITY:
        errors.append(f"{where}: quantity must be positive")
    elif line.quantity != line.quantity.quantize(Decimal("0.001"), rounding=ROUND_DOWN):
        errors.append(f"{where}: quantity has more than 3 decimals")
    if line.unit_value.minor < 0:
        errors.append(f"{where}: value per unit cannot be negative")
    return errors


def item_parse(spec: str, currency: str) -> ItemLine:
    """`NAME:QTY:UNIT:VALUE` (VALUE per unit in major units) → ItemLine; MoneyError if bad.

    The name may itself contain colons: the last three fields are taken from the right.
    """
    parts = spec.rsplit(":", 3)
    if len(parts) != 4:
        raise MoneyError(f"item {spec!r}: expected NAME:QTY:UNIT:VALUE")
    name, qty, unit, value = (p.strip() for p in parts)
    try:
        quantity = Decimal(qty.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise MoneyError(f"item {spec!r}: quantity {qty!r} is not a number") from None
    unit_value = Money.from_decimal(value.replace(",", "").replace("_", ""), currency)
    line = ItemLine(name, quantity, unit, unit_value)
    errors = item_errors(line, f"item {spec!r}")
    if errors:
        raise MoneyError("; ".join(errors))
    return line


def items_total(lines: Iterable[ItemLine], currency: str) -> Money:
    total = Money.zero(currency)
    for line in lines:
        total += line.total
    return total


def conversion_entry(amount: Money, rate: ExchangeRate) -> dict[str, Any]:
    """The recorded conversion of `amount` as a log entry shows it (rate as decimal text)."""
    converted = money_convert(amount, rate)
    return {
        "rate": decimal_text(rate.rate),
        "base": rate.base,
        "quote": rate.quote,
        "source": rate.source,
        "on": rate.on.isoformat(),
        "amount": converted.minor,
        "currency": converted.currency,
    }


def rate_build(*, rate: Decimal, base: str, quote: str, source: str, on: date) -> ExchangeRate:
    """An ExchangeRate, or MoneyError naming what is wrong."""
    return ExchangeRate(base=base, quote=quote, rate=rate, source=source, on=on)


def commit_errors(*, amount: int, balance: int, committed: int, currency: str) -> list[str]:
    """Why `amount` cannot be committed from `balance` when `committed` is already promised."""
    available = balance - committed
    if amount > available:
        return [
            f"the amount {Money(amount, currency)} is above what the campaign can still "
            f"hand over: balance {Money(balance, currency)} minus approved tranches not yet "
            f"handed over {Money(committed, currency)} leaves {Money(available, currency)}"
        ]
    return []
