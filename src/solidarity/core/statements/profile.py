"""Mapping profiles: a small TOML file describing a CSV/XLSX layout the readers do not know.

The format is documented in PROFILES.md beside this module (TOML 1.0, read with tomllib).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from solidarity.core.statements.base import StatementError, StatementRejected, currency_exponent

FIELDS = (
    "date",
    "time",
    "value_date",
    "ref",
    "debit",
    "credit",
    "amount",
    "balance",
    "memo",
    "counterparty_name",
    "counterparty_account",
)
_STATEMENT_KEYS = frozenset(
    {
        "account",
        "bin",
        "currency",
        "encoding",
        "delimiter",
        "thousands_separator",
        "decimal_separator",
        "date_format",
        "header_row",
        "sheet",
        "unique_ref",
    }
)

Column = str | int


@dataclass(frozen=True, slots=True)
class Profile:
    """A layout description; every field is optional and overrides detection."""

    name: str = "profile"
    account: str | None = None
    bin: str | None = None
    currency: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    thousands_separator: str | None = None
    decimal_separator: str | None = None
    date_format: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    unique_ref: bool | None = None
    """None or True: a reference column is the bank's reference (IDENTITY.md); False: it is
    not, and the content scheme is used."""
    columns: tuple[tuple[str, Column], ...] = ()

    def column(self, field_name: str) -> Column | None:
        for name, col in self.columns:
            if name == field_name:
                return col
        return None


def profile_parse(text: str, *, name: str = "profile") -> Profile:
    """Parse a profile; `StatementRejected` lists every problem (file `name`, field path)."""
    errors: list[StatementError] = []

    def bad(field_name: str, message: str) -> None:
        errors.append(StatementError(name, 0, field_name, message))

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StatementRejected([StatementError(name, 0, "toml", str(e))]) from None
    for key in doc:
        if key not in ("statement", "columns"):
            bad(key, "unknown table (expected [statement] and [columns])")
    stmt = doc.get("statement", {})
    cols = doc.get("columns", {})
    if not isinstance(stmt, dict) or not isinstance(cols, dict):
        bad("statement", "[statement] and [columns] must be tables")
        raise StatementRejected(errors)
    values: dict[str, object] = {}
    for key, value in stmt.items():
        if key not in _STATEMENT_KEYS:
            bad(f"statement.{key}", "unknown key")
        elif key == "header_row":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                bad("statement.header_row", "must be a positive integer (1 = first row)")
            else:
                values[key] = value
        elif key == "unique_ref":
            if not isinstance(value, bool):
                bad("statement.unique_ref", "must be true or false")
            else:
                values[key] = value
        elif not isinstance(value, str):
            bad(f"statement.{key}", "must be a string")
        else:
            values[key] = value
    currency = values.get("currency")
    if isinstance(currency, str):
        try:
            currency_exponent(currency)
        except ValueError as e:
            bad("statement.currency", str(e))
    for key in ("thousands_separator", "decimal_separator"):
        sep = values.get(key)
        if sep is not None and sep not in ("", ".", ",", " "):
            bad(f"statement.{key}", 'must be one of "", ".", ",", " "')
    delim = values.get("delimiter")
    if delim is not None and (not isinstance(delim, str) or len(delim) != 1):
        bad("statement.delimiter", 'must be one character (use "\\t" for tab)')
    columns: list[tuple[str, Column]] = []
    for key, value in cols.items():
        if key not in FIELDS:
            bad(f"columns.{key}", f"unknown field (known: {', '.join(FIELDS)})")
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            bad(f"columns.{key}", "must be a header name or a 1-based column number")
        elif isinstance(value, int) and value < 1:
            bad(f"columns.{key}", "column numbers start at 1")
        else:
            columns.append((key, value))
    names = {k for k, _ in columns}
    if columns and "date" not in names:
        bad("columns.date", "a profile that names columns must name the date column")
    if columns and not ({"amount"} <= names or {"debit", "credit"} <= names):
        bad("columns", "name either amount, or both debit and credit")
    if any(isinstance(c, int) for _, c in columns) and "header_row" not in values:
        bad("statement.header_row", "required when columns are given by number")
    if errors:
        raise StatementRejected(errors)
    return Profile(name=name, columns=tuple(columns), **values)  # type: ignore[arg-type]


def profile_load(path: str | Path) -> Profile:
    """Read and parse a profile file (UTF-8 TOML)."""
    p = Path(path)
    return profile_parse(p.read_text(encoding="utf-8"), name=p.name)
