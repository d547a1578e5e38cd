"""Vietnamese banks by NAPAS BIN, the acquirer ID in a VietQR payload (ID 38/01/00).

The list is package data, `solidarity/data/napas_bank_bins.csv` (origin in `SOURCES.md` beside
it): the State Bank of Vietnam's list of BINs issued up to 31/12/2023, plus a few wallets and
banks taken from a public copy of the vietqr.io list, flagged `verified=False`.

Banks NAPAS gives no BIN (the Vietnam Bank for Social Policies, the Vietnam Development Bank,
branches of foreign banks) are in `solidarity/data/banks_without_bin.csv`: an account there
can receive gifts and be named like any other, it just cannot have a VietQR code. Such a
bank is named by its code (`VBSP`), which a receiving account stores where others store
the BIN.

An account is named `BANK:NUMBER[:HOLDER]` where BANK is a BIN (`970436`), a bank's code or
short name (`VCB`, `Vietcombank`, `VBSP`) or its SWIFT/BIC (`BFTVVNVX`, or 11 characters
with a branch).
"""

from __future__ import annotations

import csv
import functools
import io
import re
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
    "bank_by_key",
    "bank_find",
    "banks_without_bin",
]

_DATA_PACKAGE: Final = "solidarity.data"
_DATA_FILE: Final = "napas_bank_bins.csv"
_COLUMNS: Final = ("bin", "code", "short_name", "swift", "name_vi", "in_sbv_2023_list", "source")
_NO_BIN_FILE: Final = "banks_without_bin.csv"
_NO_BIN_COLUMNS: Final = ("code", "short_name", "swift", "name_vi", "name_en", "source")
_SWIFT = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


@dataclass(frozen=True, slots=True)
class Bank:
    """A bank or wallet reachable through NAPAS; `verified` means it is on the SBV 2023 list.

    For a bank without a NAPAS BIN (`vietqr` false), `bin` holds its code instead (letters,
    at most six): the key a receiving account stores. No VietQR code can name it."""

    bin: str
    code: str
    short_name: str
    swift: str | None
    name_vi: str
    verified: bool
    vietqr: bool = True


class BankAccount(NamedTuple):
    """A beneficiary account: the bank's key (its BIN, or its code when it has no BIN),
    account number, and the holder's name if one was given."""

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


@functools.cache
def _banks_without_bin() -> dict[str, Bank]:
    text = resources.files(_DATA_PACKAGE).joinpath(_NO_BIN_FILE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != _NO_BIN_COLUMNS:
        msg = f"{_NO_BIN_FILE}: header {reader.fieldnames} is not {list(_NO_BIN_COLUMNS)}"
        raise RuntimeError(msg)
    napas_names = {name.upper() for b in _banks().values() for name in (b.code, b.short_name)}
    banks: dict[str, Bank] = {}
    for line, row in enumerate(reader, start=2):
        code, swift = row["code"], row["swift"]
        if not (code.isascii() and code.isalpha() and code.isupper() and len(code) <= 6):
            msg = f"{_NO_BIN_FILE}:{line}: code {code!r} is not 1..6 capital letters"
            raise RuntimeError(msg)
        if code in banks or code in napas_names:
            msg = f"{_NO_BIN_FILE}:{line}: code {code} is repeated or names a NAPAS bank"
            raise RuntimeError(msg)
        if swift and not _SWIFT.fullmatch(swift):
            msg = f"{_NO_BIN_FILE}:{line}: {swift!r} is not a SWIFT/BIC"
            raise RuntimeError(msg)
        banks[code] = Bank(
            bin=code,
            code=code,
            short_name=row["short_name"],
            swift=swift or None,
            name_vi=row["name_vi"],
            verified=False,
            vietqr=False,
        )
    return banks


@functools.cache
def _names() -> dict[str, tuple[str, ...]]:
    """Every name a bank goes by (upper case) → the keys of the banks it names."""
    names: dict[str, list[str]] = {}
    for bank in (*_banks().values(), *_banks_without_bin().values()):
        for name in {bank.bin, bank.code.upper(), bank.short_name.upper(), bank.swift or ""}:
            if name and bank.bin not in names.setdefault(name, []):
                names[name].append(bank.bin)
    return {name: tuple(keys) for name, keys in names.items()}


def bank_all() -> tuple[Bank, ...]:
    """Every bank with a NAPAS BIN, in the order of the packaged file."""
    return tuple(_banks().values())


def banks_without_bin() -> tuple[Bank, ...]:
    """Every bank the packaged list knows without a NAPAS BIN (no VietQR for them)."""
    return tuple(_banks_without_bin().values())


def bank_by_bin(bin: str) -> Bank | None:  # noqa: A002 -- the NAPAS field name
    """The bank with this six-digit BIN, or None."""
    return _banks().get(bin)


def bank_by_key(key: str) -> Bank | None:
    """The bank a receiving account names by `key` (a BIN, or the code of a bank without
    one), or None."""
    return _banks().get(key) or _banks_without_bin().get(key)


def bank_find(name: str) -> Bank:
    """The one bank `name` names: a BIN, a code or short name (any case), or a SWIFT/BIC of
    8 or 11 characters (a branch code is ignored). BankAccountError when it names none or
    several."""
    text = name.strip().upper()
    keys = _names().get(text, ())
    if not keys and len(text) == 11 and _SWIFT.fullmatch(text):
        keys = _names().get(text[:8], ())
    if len(keys) == 1:
        bank = bank_by_key(keys[0])
        assert bank is not None
        return bank
    if keys:
        msg = f"bank {name.strip()!r} could be any of {', '.join(keys)}: give the BIN"
        raise BankAccountError(msg)
    if len(text) == 6 and _is_digits(text):
        msg = f"unknown BIN {text}: not in the NAPAS bank list"
    elif _SWIFT.fullmatch(text):
        msg = (
            f"unknown SWIFT/BIC {text}: not a bank in the NAPAS list nor in the list of "
            f"banks without a BIN ({_NO_BIN_FILE})"
        )
    else:
        msg = (
            f"unknown bank {name.strip()!r}: give a NAPAS BIN (970436), a bank code "
            "(VCB, BIDV, VBSP) or a SWIFT/BIC"
        )
    raise BankAccountError(msg)


def account_parse(text: str) -> BankAccount:
    """Read "BANK:NUMBER" or "BANK:NUMBER:HOLDER" (e.g. "970436:0011001932418:NGUYEN VAN A",
    "VCB:0011001932418", "VBSP:1000007062914729", "BFTVVNVX:0011001932418").

    BANK is anything `bank_find` knows; the result names the bank by its key (the BIN, or
    the code of a bank without one). The number must be 1..19 digits; whitespace around each
    part is ignored and an empty holder means none. The holder may itself contain colons.
    Raises BankAccountError saying which part is wrong.
    """
    parts = [part.strip() for part in text.split(":", 2)]
    if len(parts) < 2:
        msg = f"expected BANK:NUMBER[:HOLDER] (BANK a BIN, bank code or SWIFT), got {text!r}"
        raise BankAccountError(msg)
    number = parts[1]
    holder = parts[2] if len(parts) == 3 and parts[2] else None
    if not parts[0]:
        msg = "the bank is empty: give a BIN (970436), a bank code (VCB) or a SWIFT/BIC"
        raise BankAccountError(msg)
    bank_bin = bank_find(parts[0]).bin
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
