"""Vietnamese banks by NAPAS BIN, the acquirer ID in a VietQR payload (ID 38/01/00).

The list is package data, `solidarity/data/napas_bank_bins.csv` (origin in `SOURCES.md` beside
it): the State Bank of Vietnam's list of BINs issued up to 31/12/2023, plus a few wallets and
banks taken from a public copy of the vietqr.io list, flagged `verified=False`.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import Final, NamedTuple

from solidarity.core.vietqr import ACCOUNT_MAX

__all__ = [
    "Bank",
    "BankAccount",
    "BankAccountError",
    "account_parse",
    "bank_all",
    "bank_by_bin",
]

_DATA_PACKAGE: Final = "solidarity.data"
_DATA_FILE: Final = "napas_bank_bins.csv"
_COLUMNS: Final = ("bin", "code", "short_name", "swift", "name_vi", "in_sbv_2023_list", "source")


@dataclass(frozen=True, slots=True)
class Bank:
    """A bank or wallet reachable through NAPAS; `verified` means it is on the SBV 2023 list."""

    bin: str
    code: str
    short_name: str
    swift: str | None
    name_vi: str
    verified: bool


class BankAccount(NamedTuple):
    """A beneficiary account: BIN, account number, and the holder's name if one was given."""

    bin: str
    number: str
    holder: str | None


class BankAccountError(ValueError):
    """An account reference is malformed, names an unknown BIN, or has a bad number."""


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@functools.cache
def _banks() -> dict[str, Bank]:
    # The packaged file is trusted but checked: a bad edit fails loudly at first use.
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        msg = f"{_DATA_FILE}: header {reader.fieldnames} is not {list(_COLUMNS)}"
        raise RuntimeError(msg)
    banks: dict[str, Bank] = {}
    for line, row in enumerate(reader, start=2):
        bank_bin = row["bin"]
        if len(bank_bin) != 6 or not _is_digits(bank_bin) or bank_bin in banks:
            msg = f"{_DATA_FILE}:{line}: BIN {bank_bin!r} is not six digits or is repeated"
            raise RuntimeError(msg)
        if row["in_sbv_2023_list"] not in {"yes", "no"}:
            msg = f"{_DATA_FILE}:{line}: in_sbv_2023_list must be yes or no"
            raise RuntimeError(msg)
        banks[bank_bin] = Bank(
            bin=bank_bin,
            code=row["code"],
            short_name=row["short_name"],
            swift=row["swift"] or None,
            name_vi=row["name_vi"],
            verified=row["in_sbv_2023_list"] == "yes",
        )
    return banks


def bank_all() -> tuple[Bank, ...]:
    """Every known bank, in the order of the packaged file."""
    return tuple(_banks().values())


def bank_by_bin(bin: str) -> Bank | None:  # noqa: A002 -- the NAPAS field name
    """The bank with this six-digit BIN, or None."""
    return _banks().get(bin)


def account_parse(text: str) -> BankAccount:
    """Read "BIN:NUMBER" or "BIN:NUMBER:HOLDER" (e.g. "970436:0011001932418:NGUYEN VAN A").

    The BIN must be a known one, the number 1..19 digits; whitespace around each part is ignored
    and an empty holder means none. The holder may itself contain colons.
    Raises BankAccountError saying which part is wrong.
    """
    parts = [part.strip() for part in text.split(":", 2)]
    if len(parts) < 2:
        msg = f"expected BIN:NUMBER[:HOLDER], got {text!r}"
        raise BankAccountError(msg)
    bank_bin, number = parts[0], parts[1]
    holder = parts[2] if len(parts) == 3 and parts[2] else None
    if len(bank_bin) != 6 or not _is_digits(bank_bin):
        msg = f"BIN must be 6 digits, got {bank_bin!r}"
        raise BankAccountError(msg)
    if bank_by_bin(bank_bin) is None:
        msg = f"unknown BIN {bank_bin}: not in the NAPAS bank list"
        raise BankAccountError(msg)
    if not number:
        msg = "account number is empty"
        raise BankAccountError(msg)
    if not _is_digits(number):
        msg = f"account number must be digits only, got {number!r}"
        raise BankAccountError(msg)
    if len(number) > ACCOUNT_MAX:
        msg = f"account number must be at most {ACCOUNT_MAX} digits, got {len(number)}"
        raise BankAccountError(msg)
    return BankAccount(bin=bank_bin, number=number, holder=holder)
