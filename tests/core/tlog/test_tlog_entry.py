"""Entries: canonical JSON, schema errors, commitments and the totals rule."""

from __future__ import annotations

from typing import Any

import pytest

from solidarity.core.tlog.entry import (
    EntryError,
    Totals,
    commitment,
    entry_decode,
    entry_encode,
    entry_validate,
    totals_compute,
)

VALID = b'"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}'

GIFT: dict[str, Any] = {
    "kind": "donation",
    "campaign": "lu-lut-2024",
    "amount": 500_000,
    "currency": "VND",
    "at": "2024-09-12T08:15:30Z",
    "donor": "Nguyễn Văn A",
}


def test_canonical_encoding() -> None:
    data = entry_encode(GIFT)
    assert data.startswith(b'{"amount":500000,"at":"2024-09-12T08:15:30Z","campaign"')
    assert "Nguyễn".encode() in data
    assert entry_decode(data) == GIFT


@pytest.mark.parametrize(
    "data",
    [
        b'{"amount": 1,' + VALID,
        b'{"at":"2024-09-12T08:15:30Z","amount":1,"campaign":"c","currency":"VND","kind":"donation"}',
        b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","d":"\\u00e9","kind":"donation"}',
        b'{"amount":1,"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}',
        b'{"amount":1.0,' + VALID,
        b'{"amount":1,' + VALID + b"\n",
        b"[1]",
        b"\xff",
    ],
)
def test_non_canonical_refused(data: bytes) -> None:
    with pytest.raises(EntryError):
        entry_decode(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -5),
        ("amount", True),
        ("amount", "5"),
        ("currency", "vnd"),
        ("at", "2024-09-12T08:15:30+07:00"),
        ("at", "2024-02-30T08:15:30Z"),
        ("at", "2024-09-12 08:15:30Z"),
        ("kind", ""),
        ("campaign", ""),
    ],
)
def test_schema_errors(field: str, value: Any) -> None:
    with pytest.raises(EntryError, match=field):
        entry_encode({**GIFT, field: value})


def test_all_errors_reported() -> None:
    errors = entry_validate({"kind": "donation", "amount": -1})
    assert len(errors) == 4
    with pytest.raises(EntryError) as info:
        entry_decode(b'{"amount":-1,"kind":"donation"}')
    assert len(info.value.errors) == 4


def test_commitment() -> None:
    salt = bytes(range(16))
    c = commitment(salt, {"name": "Lê Thị B", "phone": "0901234567"})
    assert len(c) == 64
    assert c == commitment(salt, {"phone": "0901234567", "name": "Lê Thị B"})
    assert c != commitment(bytes(16), {"name": "Lê Thị B", "phone": "0901234567"})
    with pytest.raises(ValueError, match="salt"):
        commitment(b"short", {})


def test_totals_rule() -> None:
    entries = [
        {**GIFT, "amount": 100},
        {**GIFT, "amount": 250},
        {**GIFT, "kind": "reversal", "amount": 100},
        {**GIFT, "kind": "disbursement", "amount": 200},
        {**GIFT, "kind": "account", "amount": 1},
        {**GIFT, "currency": "EUR", "amount": 7},
    ]
    assert totals_compute(entries) == {
        "EUR": Totals("EUR", raised=7, disbursed=0, balance=7, gifts=1),
        "VND": Totals(
            "VND", raised=250, disbursed=200, balance=50, gifts=1, reversed=100, reversals=1
        ),
    }
