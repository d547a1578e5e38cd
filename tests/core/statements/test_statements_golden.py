"""Golden files: every shared camt/MT940 sample and every Vietnamese fixture, normalized."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.core.statements.statement_helpers import SHARED, VN, golden_compare

from solidarity.core.statements import (
    BankTransaction,
    StatementRejected,
    profile_load,
    statement_read,
)

REFUSED = {"sparkassen.sta"}  # a fragment: one :61:/:86: pair, no :20:/:25:/:60F:
SAMPLES = sorted(
    p for sub in ("camt", "mt940") for p in (SHARED / sub).iterdir() if p.name not in REFUSED
)
VN_FILES = sorted(p for p in VN.iterdir() if p.suffix in {".csv", ".txt", ".xlsx"})


def read(path, profile=None) -> list[BankTransaction]:
    return list(statement_read(path, name=path.name, profile=profile))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_shared_sample_matches_golden(path):
    golden_compare(f"{path.parent.name}/{path.name}", read(path))


@pytest.mark.parametrize("path", VN_FILES, ids=lambda p: p.name)
def test_vietnamese_fixture_matches_golden(path):
    profile_path = path.with_name(path.stem + ".profile.toml")
    profile = profile_load(profile_path) if profile_path.exists() else None
    golden_compare(f"vn/{path.name}", read(path, profile))


def test_fragment_is_refused_with_a_clear_error():
    path = SHARED / "mt940" / "sparkassen.sta"
    with pytest.raises(StatementRejected) as info:
        read(path)
    (error,) = info.value.errors
    assert (error.file, error.line, error.field) == ("sparkassen.sta", 1, ":25:")
    assert "account" in error.message


@pytest.mark.parametrize("path", SAMPLES + VN_FILES, ids=lambda p: p.name)
def test_invariants_of_every_transaction(path):
    profile_path = path.with_name(path.stem + ".profile.toml")
    txs = read(path, profile_load(profile_path) if profile_path.exists() else None)
    assert len({t.identity for t in txs}) == len(txs)
    for t in txs:
        assert t.amount_minor > 0
        assert t.direction in ("credit", "debit")
        assert t.booked_at.tzinfo is not None
        assert t.line >= 1


# Hand-checked against the source files -------------------------------------------------


def test_camt053_v8_entry_read_by_hand():
    # Given the v8 sample: one booked entry, EUR 8.85 CRDT, BookgDt/DtTm 13:15 +01:00
    (tx,) = read(SHARED / "camt" / "genkgo_camt053.v8.xml")
    assert (tx.account, tx.currency, tx.amount_minor, tx.direction) == (
        "NL26VAYB8060476890",
        "EUR",
        885,
        "credit",
    )
    assert tx.booked_at.astimezone(UTC) == datetime(2014, 12, 31, 12, 15, tzinfo=UTC)
    assert tx.bank_ref == "AAAASESS-FP-CN_98765/01"
    assert (tx.counterparty_name, tx.counterparty_account) == ("NAME NAME", "NL56AGDH9619008421")


def test_camt054_batch_entry_splits_per_txdtls():
    txs = read(SHARED / "camt" / "genkgo_camt054.v4.xml")
    assert [(t.amount_minor, t.currency) for t in txs] == [(310, "CHF"), (320, "CHF"), (320, "CHF")]
    assert txs[2].memo.endswith("V3 block 1 Unstructured Remittance Information V3 block 2")


def test_camt052_pending_entries_are_not_booked():
    assert read(SHARED / "camt" / "genkgo_camt052.v6.xml") == []


def test_mt940_reversal_of_credit_books_as_debit():
    txs = read(SHARED / "mt940" / "betterplace_sepa_mt9401.sta")
    # line 19 :61:0709040904RCR204,88NRTINONREF - reversal of a credit of EUR 204.88
    (rc,) = [t for t in txs if t.line == 19]
    assert (rc.amount_minor, rc.direction, rc.is_reversal) == (20488, "debit", True)
    # line 99 is the plain credit of EUR 204.88 that line 101 reverses
    by_line = {t.line: t for t in txs}
    assert (by_line[99].direction, by_line[99].is_reversal) == ("credit", False)
    assert (by_line[101].direction, by_line[101].is_reversal) == ("debit", True)


def test_mt940_statements_and_lines():
    txs = read(SHARED / "mt940" / "abnamro.sta")
    assert len(txs) == 10
    assert (txs[0].line, txs[0].amount_minor, txs[0].direction) == (8, 900, "debit")
    assert txs[-1].line == 38


def test_vietcombank_repeated_doc_numbers_stay_distinct():
    txs = read(VN / "vietcombank_bilingual.csv")
    same = [t for t in txs if t.bank_ref == "5213.47231"]
    assert [t.amount_minor for t in same] == [200_000, 500_000, 500_000]
    assert len({t.identity for t in same}) == 3
    assert sum(t.amount_minor for t in txs if t.direction == "credit") == 11_251_000
    assert sum(t.amount_minor for t in txs if t.direction == "debit") == 205_500
    (refund,) = [t for t in txs if t.is_reversal]
    assert refund.reverses_ref == "FT24256341600001"


def test_memo_continuation_rows_join_the_previous_transaction():
    txs = read(VN / "mbbank_continuation.csv")
    assert txs[1].memo == "Ủng hộ nhân dân Cuba - Người gửi: Đỗ Minh Đức, TP. Hồ Chí Minh"
    assert [t.line for t in txs] == [6, 7, 9, 10, 11]


def test_xlsx_title_rows_and_multiline_memo():
    txs = read(VN / "sacombank_title_rows.xlsx")
    assert txs[0].memo == "Ủng hộ đồng bào bị lũ lụt miền Bắc (chuyển từ VU DUC THANG)"
    assert [(t.amount_minor, t.direction) for t in txs] == [
        (300_000, "credit"),
        (1_000_000, "credit"),
        (15_000, "debit"),
    ]
