"""NAPAS bank list: the packaged copy, lookups, and "BIN:NUMBER[:HOLDER]" references."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.banks import (
    Bank,
    BankAccount,
    BankAccountError,
    account_parse,
    bank_all,
    bank_by_bin,
    bank_by_key,
    bank_find,
    banks_without_bin,
)

SHARED_CSV = Path("/work/shared/testdata/vietqr/napas_bank_bins.csv")


def test_packaged_list_is_the_shared_file_byte_for_byte() -> None:
    packaged = resources.files("solidarity.data").joinpath("napas_bank_bins.csv").read_bytes()
    assert packaged == SHARED_CSV.read_bytes()


def test_packaged_list_has_its_sources_note() -> None:
    note = resources.files("solidarity.data").joinpath("SOURCES.md").read_text(encoding="utf-8")
    assert "napas_bank_bins.csv" in note
    assert "State Bank of Vietnam" in note


def test_bank_all_has_every_row_once() -> None:
    banks = bank_all()
    assert len(banks) == len(SHARED_CSV.read_text(encoding="utf-8").splitlines()) - 1
    assert len({b.bin for b in banks}) == len(banks)
    assert all(len(b.bin) == 6 and b.bin.isdigit() for b in banks)


def test_bank_by_bin_known_verified_bank() -> None:
    assert bank_by_bin("970436") == Bank(
        bin="970436",
        code="VCB",
        short_name="Vietcombank",
        swift="BFTVVNVX",
        name_vi="Ngân hàng TMCP Ngoại thương Việt Nam",
        verified=True,
    )


def test_bank_by_bin_unverified_without_swift() -> None:
    cake = bank_by_bin("546034")
    assert cake is not None
    assert cake.short_name == "CAKE"
    assert cake.swift is None
    assert cake.verified is False


def test_bank_by_bin_unknown() -> None:
    assert bank_by_bin("999999") is None
    assert bank_by_bin("") is None


def test_verified_banks_are_the_sbv_list() -> None:
    verified = [b for b in bank_all() if b.verified]
    assert len(verified) == 56
    assert all(b.bin.startswith("970") for b in verified)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("970415:0011001932418", BankAccount("970415", "0011001932418", None)),
        (
            "970436:0011001932418:NGUYEN VAN A",
            BankAccount("970436", "0011001932418", "NGUYEN VAN A"),
        ),
        (
            " 970422 : 0023457923442 : Quỹ Từ thiện ",
            BankAccount("970422", "0023457923442", "Quỹ Từ thiện"),
        ),
        ("970422:0023457923442:", BankAccount("970422", "0023457923442", None)),
        ("970422:1:A:B", BankAccount("970422", "1", "A:B")),
        ("970422:" + "9" * 19, BankAccount("970422", "9" * 19, None)),
        # A bank's code, short name or SWIFT/BIC names it as well as its BIN does.
        ("VCB:0011001932418", BankAccount("970436", "0011001932418", None)),
        ("vietcombank:0011001932418", BankAccount("970436", "0011001932418", None)),
        ("BFTVVNVX:0011001932418", BankAccount("970436", "0011001932418", None)),
        ("BFTVVNVX123:0011001932418", BankAccount("970436", "0011001932418", None)),
        ("BIDV:12010000", BankAccount("970418", "12010000", None)),
        # Banks without a NAPAS BIN are named by their code.
        ("VBSP:1000007062914729:NHCSXH", BankAccount("VBSP", "1000007062914729", "NHCSXH")),
        ("VDB:123456", BankAccount("VDB", "123456", None)),
        ("BKCHVNVX:100200300", BankAccount("BKCH", "100200300", None)),
    ],
)
def test_account_parse(text: str, expected: BankAccount) -> None:
    result = account_parse(text)
    assert result == expected
    bank_bin, number, holder = result
    assert (bank_bin, number, holder) == tuple(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("970415", "expected BANK:NUMBER"),
        ("", "expected BANK:NUMBER"),
        (":0011001932418", "the bank is empty"),
        ("97041:0011001932418", "unknown bank '97041'"),
        ("XYZ:0011001932418", "unknown bank 'XYZ'"),
        ("ABCDVNVX:0011001932418", "unknown SWIFT/BIC ABCDVNVX"),
        ("CIMB:0011001932418", "could be any of 970459, 422589"),
        ("IBKOVNVX:0011001932418", "could be any of"),
        ("999999:0011001932418", "unknown BIN 999999"),
        ("VBSP:10000070629147291234", "at most 19 digits"),
        ("970415:", "empty"),
        ("970415:0011 0019 32418", "digits only"),
        ("970415:0011-001932418", "digits only"),
        ("970415:ABC123", "digits only"),
        ("970415:０１２３", "digits only"),
        ("970415:" + "1" * 20, "at most 19 digits"),
    ],
)
def test_account_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(BankAccountError, match=fragment):
        account_parse(text)


holders = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1).map(str.strip)


@given(
    st.sampled_from([b.bin for b in bank_all()]),
    st.text("0123456789", min_size=1, max_size=19),
    st.none() | holders,
)
def test_account_parse_reads_what_was_written(
    bank_bin: str, number: str, holder: str | None
) -> None:
    text = f"{bank_bin}:{number}" + (f":{holder}" if holder is not None else "")
    assert account_parse(text) == BankAccount(bank_bin, number, holder or None)


def test_banks_without_bin_cannot_have_vietqr() -> None:
    vbsp = bank_by_key("VBSP")
    assert vbsp is not None
    assert not vbsp.vietqr
    assert vbsp.name_vi == "Ngân hàng Chính sách xã hội"
    assert bank_by_bin("VBSP") is None  # not a BIN: it never reaches a VietQR payload
    assert all(not b.vietqr and not b.bin.isdigit() for b in banks_without_bin())
    assert all(b.vietqr for b in bank_all())
    assert bank_find("BNPAVNVX").bin == "BNPA"
