"""Tranche arithmetic: goods lines, recorded conversions, what a campaign can still commit,
and goods received as a CSV file states them.

Pure values; the disbursements app stores them and books them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal

from solidarity.core.money import ExchangeRate, Money, MoneyError, money_parse
from solidarity.core.statements.base import StatementError

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


def item_parse_local(spec: str, currency: str, locale: str) -> ItemLine:
    """`NAME:QTY:UNIT:VALUE` with numbers written as in `locale` (vi: `thuốc:10.000:hộp:
    150.000`, `đường:2,5:tấn:20.000.000`); MoneyError naming the part that is wrong."""
    parts = spec.rsplit(":", 3)
    if len(parts) != 4:
        raise MoneyError(f"{spec.strip()!r}: expected NAME:QUANTITY:UNIT:VALUE PER UNIT")
    name, qty, unit, value = (p.strip() for p in parts)
    try:
        quantity = parse_decimal(qty, locale=locale, strict=True)
    except NumberFormatError:
        raise MoneyError(f"{spec.strip()!r}: quantity {qty!r} is not a number") from None
    line = ItemLine(name, quantity, unit, money_parse(value, currency, locale))
    errors = item_errors(line, repr(spec.strip()))
    if errors:
        raise MoneyError("; ".join(errors))
    return line


def items_total(lines: Iterable[ItemLine], currency: str) -> Money:
    total = Money.zero(currency)
    for line in lines:
        total += line.total
    return total


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


# --- goods received, from a CSV file --------------------------------------------------------

GOODS_COLUMNS = (
    "date",
    "donor",
    "donor_kind",
    "privacy",
    "item",
    "quantity",
    "unit",
    "unit_value",
    "total",
    "gift",
    "note",
    "evidence",
)
"""The columns a goods file may have, in any order (header names are case-insensitive).
Required: date, item, quantity, unit, and unit_value or total (or both, which must agree)."""
GOODS_REQUIRED = ("date", "item", "quantity", "unit")
MAX_GOODS_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class GoodsReceived:
    """One gift of goods as a file states it. `line` is where its first row is."""

    line: int
    received_on: date
    donor: str
    donor_kind: str
    privacy: str
    note: str
    items: tuple[ItemLine, ...]
    evidence: tuple[str, ...]


def _goods_date(text: str) -> date:
    text = text.strip()
    if "/" in text:
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


def _problem_field(problem: str) -> str:
    for word, column in (("quantity", "quantity"), ("value per unit", "unit_value")):
        if word in problem:
            return column
    return "unit" if "needs a unit" in problem else "item"


def goods_csv_parse(
    text: str, *, file: str, currency: str, locale: str
) -> tuple[list[GoodsReceived], list[StatementError]]:
    """Read goods received from CSV `text`: one header row, then one row per kind of goods.

    Rows that share a non-empty `gift` value are the lines of one gift (they must agree on
    date, donor, donor_kind and privacy); any other row is a gift of its own. Numbers are
    written as in `locale` (vi: 10.000 and 2,5); values are in `currency`'s major units.
    Returns the gifts and every error found (file, line, field); use the gifts only when
    there is no error.
    """
    errors: list[StatementError] = []

    def err(line: int, column: str, message: str) -> None:
        errors.append(StatementError(file, line, column, message))

    lines = text.splitlines()
    if not lines or not lines[0].strip():
        err(1, "header", "the file is empty; the first row names the columns")
        return [], errors
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    for i, name in enumerate(header):
        if name not in GOODS_COLUMNS:
            err(1, name or f"column {i + 1}", f"unknown column; use {', '.join(GOODS_COLUMNS)}")
        elif header.index(name) != i:
            err(1, name, "the column appears twice")
    for name in GOODS_REQUIRED:
        if name not in header:
            err(1, name, "required column missing")
    if "unit_value" not in header and "total" not in header:
        err(1, "unit_value", "give a unit_value or a total column (or both)")
    if errors:
        return [], errors

    groups: dict[str, dict[str, Any]] = {}
    order: list[dict[str, Any]] = []
    rows_read = 0
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        rows_read += 1
        if rows_read > MAX_GOODS_ROWS:
            err(line, "row", f"more than {MAX_GOODS_ROWS:,} rows; split the file")
            break
        if len(row) > len(header):
            err(line, "row", f"{len(row)} cells but {len(header)} columns")
            continue
        cells = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)}
        before = len(errors)
        for name in GOODS_REQUIRED:
            if not cells[name]:
                err(line, name, "empty")
        if not cells.get("unit_value") and not cells.get("total"):
            err(line, "unit_value", "give the value per unit or the total")
        received_on = None
        if cells["date"]:
            try:
                received_on = _goods_date(cells["date"])
            except ValueError:
                err(line, "date", f"{cells['date']!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")
        kind = (cells.get("donor_kind") or "organization").lower()
        if kind not in ("organization", "person"):
            err(line, "donor_kind", f"{kind!r}: use organization or person")
        privacy = (cells.get("privacy") or "masked").lower()
        if privacy not in ("named", "masked", "anonymous"):
            err(line, "privacy", f"{privacy!r}: use named, masked or anonymous")
        if kind == "organization" and not cells.get("donor"):
            err(line, "donor", "an organization needs its name")
        quantity = None
        if cells["quantity"]:
            try:
                quantity = parse_decimal(cells["quantity"], locale=locale, strict=True)
            except NumberFormatError:
                err(
                    line,
                    "quantity",
                    f"{cells['quantity']!r} is not a number as {locale} writes one",
                )
        unit_value = total = None
        for name in ("unit_value", "total"):
            if cells.get(name):
                try:
                    value = money_parse(cells[name], currency, locale)
                except MoneyError as exc:
                    err(line, name, str(exc))
                else:
                    if name == "unit_value":
                        unit_value = value
                    else:
                        total = value
        if len(errors) > before or quantity is None or received_on is None:
            continue
        if unit_value is None:
            assert total is not None
            per_unit = Decimal(total.minor) / quantity
            if per_unit != per_unit.to_integral_value():
                err(
                    line,
                    "total",
                    f"{cells['total']} for {cells['quantity']} {cells['unit']} is not a whole "
                    f"amount per unit; give unit_value",
                )
                continue
            unit_value = Money(int(per_unit), currency)
        item = ItemLine(cells["item"], quantity, cells["unit"], unit_value)
        problems = item_errors(item, "")
        for problem in problems:
            err(line, _problem_field(problem), problem.removeprefix(": "))
        if problems:
            continue
        if total is not None and item.total != total:
            err(
                line,
                "total",
                f"{cells['total']} is not quantity × unit_value ({item.total.to_decimal()})",
            )
            continue
        key = cells.get("gift") or f"\x00{line}"
        head = {
            "received_on": received_on,
            "donor": cells.get("donor", ""),
            "donor_kind": kind,
            "privacy": privacy,
        }
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**head, "line": line, "items": [], "evidence": [], "note": []}
            order.append(group)
        else:
            for name, given in head.items():
                if group[name] != given:
                    column = "date" if name == "received_on" else name
                    err(line, column, f"differs from line {group['line']} of gift {key!r}")
        group["items"].append(item)
        if cells.get("note"):
            group["note"].append(cells["note"])
        for name in (cells.get("evidence") or "").split("|"):
            if name.strip() and name.strip() not in group["evidence"]:
                group["evidence"].append(name.strip())
    if not order and not errors:
        err(2, "row", "no goods in the file")
    gifts = [
        GoodsReceived(
            line=g["line"],
            received_on=g["received_on"],
            donor=g["donor"],
            donor_kind=g["donor_kind"],
            privacy=g["privacy"],
            note="; ".join(g["note"]),
            items=tuple(g["items"]),
            evidence=tuple(g["evidence"]),
        )
        for g in order
    ]
    return gifts, errors
