"""Entries: canonical JSON, schema errors, commitments and the totals rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidarity.core.tlog import entry as entry_module
from solidarity.core.tlog.entry import (
    EntryError,
    Totals,
    TotalsCounter,
    commitment,
    entries_decode,
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


# --- many entries at once: the fast path gives the full path's verdict ------------------------


def _full_verdict(data: bytes) -> dict[str, Any] | str:
    try:
        return entry_module._entry_decode_full(data)
    except EntryError as e:
        return f"refused: {e}"


def _batch_verdict(data: bytes) -> dict[str, Any] | str:
    try:
        return entries_decode([data])[0]
    except EntryError as e:
        return f"refused: {e}"


TRICKY = [
    b'{"amount":1,' + VALID,
    b'{"amount":-0,' + VALID,
    b'{"amount":01,' + VALID,
    b'{"amount":1e3,' + VALID,
    b'{"amount":99999999999999999999999999,' + VALID,
    b'{"amount":1,"at":"2024-02-30T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-02-28T24:00:00Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-02-28T23:59:60Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-02-28T23:59:59.123Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-02-28T23:59:59+07:00","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"vnd","kind":"donation"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"Gift"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","memo":"a\\"b"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","memo":"\\u00e9"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","memo":"\\u001f"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","memo":"\xed\xa0\x80"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","memo":"\x7f\xe2\x80\xa8"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","items":[{"b":1,"a":2}],"kind":"in_kind"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","items":[{"a":2,"b":1.5}],"kind":"in_kind"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","x":true}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation","x":null}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","kind":"account"}',
    b'{"at":"2024-09-12T08:15:30Z","campaign":"c","kind":"account"}',
    b'{"amount":1, "at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"} ',
    b' {"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}',
    b'{"amount":1,"at":"2024-09-12T08:15:30Z","campaign":"c","currency":"VND","kind":"donation"}{}',
    b'{"amount":true,' + VALID,
    b'{"amount":"1",' + VALID,
    b'"x"',
    b"null",
    b"",
]


@pytest.mark.parametrize("data", TRICKY)
def test_fast_path_agrees_with_full_path(data: bytes) -> None:
    assert _batch_verdict(data) == _full_verdict(data)


def test_fast_path_caches_never_admit_a_bad_entry_after_good_ones() -> None:
    good = b'{"amount":1,' + VALID
    bad_time = good.replace(b"T08:15:30Z", b"T08:15:61Z")
    bad_day = good.replace(b"2024-09-12", b"2024-13-12")
    for bad in (bad_time, bad_day):
        with pytest.raises(EntryError) as info:
            entries_decode([good, good, bad, good])
        assert info.value.index == 2


def test_entries_decode_counts_like_totals_compute() -> None:
    objs = [
        GIFT,
        {**GIFT, "amount": 7, "memo": 'a "quoted" memo'},
        {**GIFT, "kind": "reversal", "amount": 3},
        {**GIFT, "kind": "in_kind", "direction": "out", "amount": 11},
        {**GIFT, "kind": "in_kind", "direction": "in", "amount": 13},
        {"kind": "account", "campaign": "c", "at": "2024-09-12T08:15:30Z"},
    ]
    counter = TotalsCounter()
    decoded = entries_decode([entry_encode(o) for o in objs], counter)
    assert decoded == objs
    assert counter.totals() == totals_compute(objs)
    assert counter.kinds() == {"donation": 2, "reversal": 1, "in_kind": 2, "account": 1}


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_value = st.one_of(st.integers(), _text, st.booleans(), st.none(), st.floats(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(
    extra=st.dictionaries(st.sampled_from(["donor", "memo", "ref", "x"]), _value, max_size=3),
    amount=st.one_of(st.integers(min_value=-2, max_value=2**70), st.floats(allow_nan=False)),
    at=st.sampled_from(["2024-09-12T08:15:30Z", "2024-09-31T08:15:30Z", "2024-09-12T08:15:30.5Z"]),
    cut=st.integers(min_value=0, max_value=3),
)
def test_fast_path_agrees_on_generated_entries(
    extra: dict[str, Any], amount: Any, at: str, cut: int
) -> None:
    obj = {"kind": "donation", "campaign": "c", "currency": "VND", "amount": amount, "at": at}
    obj.update(extra)
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    variants = [data, data.replace(b":", b": ", 1), json.dumps(obj).encode(), data + b" "]
    assert _batch_verdict(variants[cut]) == _full_verdict(variants[cut])


# --- a whole bundle at once: the batch path gives the one-by-one verdict ----------------------

GOOD = b'{"amount":1,' + VALID


def _verdicts(datas: list[bytes]) -> tuple[str, int] | list[dict[str, Any]]:
    try:
        return entries_decode(datas)
    except EntryError as e:
        return (str(e), e.index)


def _one_by_one(datas: list[bytes]) -> tuple[str, int] | list[dict[str, Any]]:
    try:
        return entry_module._entries_decode_each(datas)
    except EntryError as e:
        return (str(e), e.index)


@pytest.mark.parametrize("data", TRICKY)
def test_batch_path_agrees_with_one_by_one_among_good_entries(data: bytes) -> None:
    # Given a bundle of good entries with one tricky entry in the middle
    datas = [GOOD, GOOD.replace(b"08:15:30", b"23:59:59"), data, GOOD]
    # Then the batch verdict is the one-by-one verdict, the failing index included
    assert _verdicts(datas) == _one_by_one(datas)


def test_batch_path_refuses_entries_whose_boundaries_shift_inside_a_string() -> None:
    # Given two entries that, joined by a comma, parse as two objects though neither is one
    datas = [b'{"amount":1,"at":"', b'","campaign":"c","currency":"VND","kind":"donation"}']
    assert entry_module._batch_decode(datas) is None
    with pytest.raises(EntryError) as info:
        entries_decode(datas)
    assert info.value.index == 0


def test_batch_path_takes_a_bundle_of_gifts_and_counts_it() -> None:
    objs = [
        {**GIFT, "amount": n, "at": f"2024-09-{d:02d}T0{n}:15:30Z"}
        for n in range(1, 9)
        for d in (1, 30)
    ]
    datas = [entry_encode(o) for o in objs]
    assert entry_module._batch_decode(datas) == objs
    counter = TotalsCounter()
    assert entries_decode(datas, counter) == objs
    assert counter.totals() == totals_compute(objs)
    assert counter.kinds() == {"donation": len(objs)}


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["donation", "reversal", "in_kind", "account"]),
                "campaign": st.sampled_from(["c", "d"]),
                "amount": st.integers(min_value=1, max_value=10**12),
                "currency": st.sampled_from(["VND", "USD"]),
                "at": st.sampled_from(["2024-09-12T08:15:30Z", "2024-02-29T23:59:59Z"]),
                "direction": st.sampled_from(["in", "out"]),
            }
        ),
        min_size=2,
        max_size=20,
    )
)
@settings(max_examples=50, deadline=None)
def test_batch_counts_like_totals_compute(objs: list[dict[str, Any]]) -> None:
    datas = [entry_encode(o) for o in objs]
    counter = TotalsCounter()
    assert entries_decode(datas, counter) == objs
    assert counter.totals() == totals_compute(objs)


_ANY_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",))  # no lone surrogates: not UTF-8 at all
    | st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\x7f", "\u2028", "\ufeff", "đ", "😀"]),
    max_size=12,
)


@settings(max_examples=500)
@given(
    st.dictionaries(
        _ANY_TEXT,
        _ANY_TEXT | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans(),
        max_size=6,
    )
)
def test_the_fast_canonical_encoding_writes_the_canonical_encoders_bytes(obj):
    # canonical_json takes orjson's encoding when it wrote no escape; the bytes must be the
    # canonical encoder's own for any keys and values, escapes and big integers included.
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry_module.canonical_json(obj) == canonical.encode()
