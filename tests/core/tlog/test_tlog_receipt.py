"""Donor receipts: build from tiles, verify offline, refuse edits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from solidarity.core.tlog.note import Signer, key_generate
from solidarity.core.tlog.receipt import ReceiptError, receipt_build, receipt_verify
from solidarity.core.tlog.sequencer import log_append
from solidarity.core.tlog.tiles import MemoryTileStore

from .conftest import ORIGIN, donation_entries


@pytest.fixture
def receipt(signer: Signer) -> dict[str, Any]:
    store = MemoryTileStore()
    log_append(store, signer=signer, origin=ORIGIN, entries=donation_entries(700))
    return receipt_build(store, 300, signer.verifier).as_dict()


def test_receipt_round_trip(receipt: dict[str, Any], signer: Signer) -> None:
    restored = json.loads(json.dumps(receipt))
    entry = receipt_verify(restored, signer.verifier.vkey)
    assert entry["amount"] == 1300


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda r: r.update(entry=r["entry"].replace("1300", "9300")), "not in the log"),
        (lambda r: r.update(entry=r["entry"].replace("Trần", "Tran")), "not in the log"),
        (lambda r: r.update(index=301), "not in the log"),
        (lambda r: r.update(proof=r["proof"][:-1]), "not in the log"),
        (lambda r: r.update(proof=[*r["proof"][1:], r["proof"][0]]), "not in the log"),
        (
            lambda r: r.update(checkpoint=r["checkpoint"].replace("\n700\n", "\n701\n")),
            "checkpoint",
        ),
        (lambda r: r.pop("proof"), "lacks 'proof'"),
    ],
)
def test_edited_receipt_fails(
    receipt: dict[str, Any], signer: Signer, edit: Any, reason: str
) -> None:
    edit(receipt)
    with pytest.raises(ReceiptError, match=reason):
        receipt_verify(receipt, signer.verifier)


def test_receipt_needs_the_log_key(receipt: dict[str, Any]) -> None:
    with pytest.raises(ReceiptError, match="checkpoint"):
        receipt_verify(receipt, key_generate(ORIGIN)[1])
