"""Shared paths and builders for the transparency-log tests (no database)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from solidarity.core.tlog.entry import entry_encode
from solidarity.core.tlog.note import Signer, key_generate, signer_parse

TESTDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "tlog"
TILES_70000 = TESTDATA / "generated" / "tiles-70000"
ORIGIN = "donations.example.org/log"


def entries_70000() -> list[bytes]:
    return [f"donation {i}: amount=12.34 EUR".encode() for i in range(70000)]


def signer_70000() -> Signer:
    seed = hashlib.sha256(b"research_tlog test key").digest()
    return signer_parse(key_generate(ORIGIN, seed)[0])


def donation_entries(n: int) -> list[bytes]:
    """n valid entries mixing donations, reversals and disbursements in two currencies."""
    out = []
    for i in range(n):
        kind = "reversal" if i % 50 == 49 else "disbursement" if i % 20 == 19 else "donation"
        out.append(
            entry_encode(
                {
                    "amount": 1000 + i,
                    "at": f"2024-10-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
                    "campaign": "lu-lut-2024",
                    "currency": "EUR" if i % 7 == 0 else "VND",
                    "donor": "anonymous" if i % 2 else f"Trần Thị {i}",
                    "kind": kind,
                }
            )
        )
    return out


@pytest.fixture
def signer() -> Signer:
    return signer_70000()
