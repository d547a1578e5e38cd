"""What a receiver refuses before storing anything: JSON nested too deep, amounts no real
transfer has; and the terms that tell a provider's retry from a conflict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core import webhooks as w


def sepay(amount: object, kind: str = "in") -> bytes:
    return json.dumps(
        {
            "id": 1,
            "transferType": kind,
            "transferAmount": amount,
            "transactionDate": "2025-08-25 14:02:37",
        }
    ).encode()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_deeper_than_the_limit_is_malformed_not_a_recursion_error():
    assert w.json_parse(nested(w.MAX_JSON_DEPTH)) is not None
    for depth in (w.MAX_JSON_DEPTH + 1, 900, 30_000, 1_000_000):
        with pytest.raises(w.Malformed, match="nested deeper"):
            w.json_parse(nested(depth))
    # unbalanced: the parser gives up on the depth or the syntax, never with anything else
    with pytest.raises(w.Malformed):
        w.json_parse(b"[" * 30_000)
    deep_object = b'{"a":' * 40 + b"1" + b"}" * 40
    with pytest.raises(w.Malformed, match="nested deeper"):
        w.json_parse(deep_object)
    # brackets inside strings are not nesting
    assert w.json_parse(json.dumps({"content": "[" * 500}).encode()) == {"content": "[" * 500}


def test_json_that_is_not_json_is_malformed():
    for body in (b"\xff\xfe", b"{", b"1" * 5000, b"NaN]"):
        with pytest.raises(w.Malformed):
            w.json_parse(body)


@given(
    st.recursive(st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c))
)
def test_json_within_the_depth_parses_as_json_does(value):
    body = json.dumps(value).encode()
    if body.count(b"[") + body.count(b"{") <= w.MAX_JSON_DEPTH:
        assert w.json_parse(body) == value


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (0, "zero"),
        (-200_000, "negative"),
        (10**13 + 1, "beyond any real transfer"),
        (10**20, "past the largest storable value"),
        (2**63, "past the largest storable value"),
        (1e20, "not a whole number"),
        ("1" * 5000, "not a whole number"),
        (True, "not an amount"),
    ],
)
def test_sepay_amounts_no_transfer_has_are_malformed(amount, reason):
    with pytest.raises(w.Malformed, match=reason):
        w.sepay_parse(sepay(amount))


def test_the_plausible_range_follows_the_currency():
    assert w.amount_check(10**13, "VND", "amount") == 10**13
    assert w.amount_check(10**15, "USD", "amount") == 10**15  # ten trillion dollars, in cents
    assert w.amount_check(-(10**13), "VND", "amount") == -(10**13)  # a debit, signed
    with pytest.raises(w.Malformed, match="beyond"):
        w.amount_check(10**15 + 1, "USD", "amount")
    with pytest.raises(w.Malformed, match="unknown currency"):
        w.amount_check(1, "XXZ", "amount")


def test_casso_standard_and_vnpay_amounts():
    casso = {"data": {"id": 1, "amount": -(10**14), "transactionDateTime": "2025-08-25 15:41:00"}}
    with pytest.raises(w.Malformed, match=r"data\.amount"):
        w.casso_parse(casso)
    assert w.casso_parse({"data": {**casso["data"], "amount": -5}}).direction == "debit"
    standard = {
        "type": "payment.succeeded",
        "data": {"id": "p", "occurred_at": "2025-08-25T08:00:00Z"},
    }
    for amount, currency in ((0, "VND"), (-1, "VND"), (10**16, "USD"), (5, "ABC")):
        body = {**standard, "data": {**standard["data"], "amount": amount, "currency": currency}}
        with pytest.raises(w.Malformed, match=r"data\.amount"):
            w.standard_parse({}, json.dumps(body).encode())
    lower = {**standard, "data": {**standard["data"], "amount": 5, "currency": "usd"}}
    assert w.standard_parse({}, json.dumps(lower).encode()).currency == "USD"
    vnpay = {
        "vnp_TxnRef": "G1",
        "vnp_Amount": str(10**22),
        "vnp_TransactionNo": "1",
        "vnp_ResponseCode": "00",
    }
    with pytest.raises(w.Malformed, match="vnp_Amount"):
        w.vnpay_parse(vnpay)


def test_terms_tell_a_retry_from_a_conflict():
    first = w.sepay_parse(sepay(200_000))
    assert tuple(w.transfer_terms(first)) == w.TERMS
    assert w.terms_differ(w.transfer_terms(first), w.transfer_terms(first)) == []
    other = w.transfer_terms(w.sepay_parse(sepay(2_000_000)))
    assert w.terms_differ(w.transfer_terms(first), other) == ["amount"]
    out = w.transfer_terms(w.sepay_parse(sepay(200_000, kind="out")))
    assert w.terms_differ(w.transfer_terms(first), out) == ["direction"]
    assert w.terms_version(other) != w.terms_version(w.transfer_terms(first))
    assert w.terms_version(other) == w.terms_version(dict(reversed(other.items())))
    assert w.terms_differ({"amount": 1}, {"amount": 1, "campaign": "cuba"}) == ["campaign"]
