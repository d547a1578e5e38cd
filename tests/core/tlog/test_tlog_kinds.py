"""Entries that move no money, and goods in kind: validated, counted by kind, kept out of cash."""

from __future__ import annotations

from pathlib import Path

import pytest

from solidarity.core.tlog.entry import Totals, entry_encode, totals_compute
from solidarity.core.tlog.note import Signer
from solidarity.core.tlog.sequencer import log_append
from solidarity.core.tlog.verify import LogVerifyError, log_verify
from solidarity.infra.logreaders import source_open
from solidarity.infra.tilestore import DirectoryTileStore

from .conftest import ORIGIN

AT = "2025-08-25T01:00:00Z"
CAMPAIGN = "cuba-2025"


def _e(kind: str, **kw: object) -> dict[str, object]:
    return {"kind": kind, "campaign": CAMPAIGN, "at": AT, **kw}


ENTRIES = [
    _e("account", action="added", bank_bin="970422", account="4001", holder="HOI CTD"),
    _e("donation", amount=100_000, currency="VND", ref="A"),
    _e("donation", amount=250_000, currency="VND", ref="B"),
    _e("reversal", amount=100_000, currency="VND", ref="A"),
    _e("in_kind", direction="in", amount=5_000_000, currency="VND", ref="G1"),
    _e("in_kind", direction="in", amount=1_000_000, currency="VND", ref="G2"),
    _e("in_kind", direction="out", amount=4_000_000, currency="VND", ref="T1"),
    _e("disbursement", amount=200_000, currency="VND", ref="T2"),
    _e("account", action="removed", bank_bin="970422", account="4001", holder="HOI CTD"),
]

EXPECTED = Totals(
    currency="VND",
    raised=250_000,
    disbursed=200_000,
    balance=50_000,
    gifts=1,
    reversed=100_000,
    reversals=1,
    in_kind_received=6_000_000,
    in_kind_handed_over=4_000_000,
    in_kind_gifts=2,
)


def test_totals_skip_non_money_kinds_and_keep_goods_apart() -> None:
    assert totals_compute(ENTRIES) == {"VND": EXPECTED}


def test_an_account_entry_needs_no_amount() -> None:
    entry_encode(ENTRIES[0])
    with pytest.raises(ValueError, match="amount"):
        entry_encode(_e("in_kind", currency="VND"))


def test_verify_counts_accounts_and_goods(tmp_path: Path, signer: Signer) -> None:
    # Given a published log mixing announcements, gifts, goods and a tranche
    store = DirectoryTileStore(tmp_path, durable=False)
    log_append(store, signer=signer, origin=ORIGIN, entries=[entry_encode(e) for e in ENTRIES])
    # When it is verified from its files
    report = log_verify(source_open(tmp_path), signer.verifier)
    # Then accounts are counted by kind only, goods never enter cash
    assert report.kinds == {
        "account": 2,
        "donation": 2,
        "reversal": 1,
        "in_kind": 3,
        "disbursement": 1,
    }
    assert report.totals == {"VND": {k: v for k, v in EXPECTED.__dict__.items() if k != "currency"}}


def test_verify_rejects_a_malformed_account_entry(tmp_path: Path, signer: Signer) -> None:
    store = DirectoryTileStore(tmp_path, durable=False)
    bad = b'{"at":"yesterday","campaign":"cuba-2025","kind":"account"}'
    log_append(store, signer=signer, origin=ORIGIN, entries=[entry_encode(ENTRIES[0]), bad])
    with pytest.raises(LogVerifyError, match=r"entry 1 .*at must be RFC 3339"):
        log_verify(source_open(tmp_path), signer.verifier)
