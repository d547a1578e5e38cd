"""Signature vectors for every receiver protocol; tampered, stale and foreign messages fail."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core import webhooks as w

STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STD_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STD_TS = 1614265330
STD_BODY = b'{"test": 2432232314}'
STD_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _std_headers(sig: str = STD_SIG, ts: int = STD_TS) -> dict[str, str]:
    return {"webhook-id": STD_ID, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_standard_webhooks_own_vector():
    assert w.standard_sign(STD_SECRET, STD_ID, STD_TS, STD_BODY) == STD_SIG
    w.standard_verify(_std_headers(), STD_BODY, [STD_SECRET], now=STD_TS)
    # several signatures offered, and rotation: an old secret beside the right one
    w.standard_verify(
        _std_headers("v1,AAAA v1a,x " + STD_SIG), STD_BODY, ["whsec_AAAA", STD_SECRET], now=STD_TS
    )


@pytest.mark.parametrize(
    ("headers", "body", "now"),
    [
        (_std_headers(), b'{"test": 2432232315}', STD_TS),  # tampered body
        (_std_headers(ts=STD_TS + 1), STD_BODY, STD_TS),  # tampered timestamp
        (_std_headers(), STD_BODY, STD_TS + 301),  # stale
        (_std_headers(), STD_BODY, STD_TS - 301),  # from the future
        ({"webhook-id": STD_ID}, STD_BODY, STD_TS),  # headers missing
    ],
)
def test_standard_webhooks_refuses(headers, body, now):
    with pytest.raises(w.NotAuthentic):
        w.standard_verify(headers, body, [STD_SECRET], now=now)


def test_sepay_hmac_vector_and_refusals():
    body = b'{"id":92704,"transferAmount":50000}'
    expected = "35da1c2d88b431a666502a365f7ccc93e201123a541af8356d10942423fa4848"
    independent = hmac.new(b"sepay-secret", b"1756090800." + body, hashlib.sha256).hexdigest()
    assert w.sepay_sign("sepay-secret", "1756090800", body) == expected == independent
    ok = {"X-SePay-Timestamp": "1756090800", "X-SePay-Signature": expected}
    w.sepay_verify(ok, body, ["old", "sepay-secret"], auth="hmac", now=1756090800)
    w.sepay_verify(
        {**ok, "X-SePay-Signature": "sha256=" + expected}, body, ["sepay-secret"], auth="hmac",
        now=1756090900,
    )  # fmt: skip
    for headers, data, now in [
        (ok, body.replace(b"50000", b"500000"), 1756090800),
        (ok, body, 1756090800 + 301),
        ({"X-SePay-Timestamp": "1756090800"}, body, 1756090800),
    ]:
        with pytest.raises(w.NotAuthentic):
            w.sepay_verify(headers, data, ["sepay-secret"], auth="hmac", now=now)


def test_sepay_apikey():
    w.sepay_verify({"Authorization": "Apikey K1"}, b"{}", ["K0", "K1"], auth="apikey", now=0)
    for value in ("Apikey K2", "Bearer K1", ""):
        with pytest.raises(w.NotAuthentic):
            w.sepay_verify({"Authorization": value}, b"{}", ["K1"], auth="apikey", now=0)


def test_casso_vector_sorts_keys_recursively():
    data = {"error": 0, "data": {"id": 1, "amount": 50000, "b": {"z": 1, "a": 2}}}
    canonical = b'{"data":{"amount":50000,"b":{"a":2,"z":1},"id":1},"error":0}'
    assert w.casso_canonical(data) == canonical
    expected = (
        "858d9b4990ce394f7bee65cb71ea7334498371fc8fb1e37ff8338fe47a8951b7"
        "b7691457212efad9b80bdbc34555d99fd9e1dc372b17b59bfaaae1c80e0b70f7"
    )
    independent = hmac.new(b"casso-secret", b"1756090800000." + canonical, hashlib.sha512)
    assert w.casso_sign("casso-secret", "1756090800000", data) == expected
    assert independent.hexdigest() == expected
    header = {"X-Casso-Signature": f"t=1756090800000,v1={expected}"}
    w.casso_verify(header, data, ["casso-secret"], now=1756090800)
    with pytest.raises(w.NotAuthentic):
        w.casso_verify(header, {**data, "error": 1}, ["casso-secret"], now=1756090800)
    with pytest.raises(w.NotAuthentic):
        w.casso_verify(header, data, ["casso-secret"], now=1756090800 + 301)


def test_vnpay_vector_excludes_hash_fields_and_url_encodes():
    params = {
        "vnp_Amount": "5000000",
        "vnp_TxnRef": "G123",
        "vnp_OrderInfo": "Ung ho Cuba",
        "vnp_SecureHashType": "x",
        "vnp_ResponseCode": "00",
    }
    text = "vnp_Amount=5000000&vnp_OrderInfo=Ung+ho+Cuba&vnp_ResponseCode=00&vnp_TxnRef=G123"
    expected = hmac.new(b"VNPAYSECRET", text.encode(), hashlib.sha512).hexdigest()
    assert w.vnpay_sign("VNPAYSECRET", params) == expected
    assert expected.startswith("6d0e1c95e3c165da")
    w.vnpay_verify({**params, "vnp_SecureHash": expected.upper()}, ["VNPAYSECRET"])
    with pytest.raises(w.NotAuthentic):
        w.vnpay_verify(
            {**params, "vnp_Amount": "6000000", "vnp_SecureHash": expected}, ["VNPAYSECRET"]
        )


def test_parsers():
    sepay = w.sepay_parse(
        b'{"id": 92704, "gateway": "Vietcombank", "transactionDate": "2025-08-25 14:02:37",'
        b' "accountNumber": "0011001932418", "content": "CUBA NGUYEN VAN A", "transferType": "in",'
        b' "transferAmount": 200000, "referenceCode": "FT25237", "description": "x"}'
    )
    assert (sepay.provider_id, sepay.amount_minor, sepay.direction) == ("92704", 200000, "credit")
    assert sepay.occurred_at.isoformat() == "2025-08-25T14:02:37+07:00"
    for bad in (
        b"[1]",
        b"{",
        b'{"id": 1}',
        b'{"id":1,"transferType":"x","transferAmount":1,"transactionDate":"2025-08-25 00:00:00"}',
    ):
        with pytest.raises(w.Malformed):
            w.sepay_parse(bad)


@given(st.text(st.characters(exclude_categories=("Cs",))))
def test_vnpay_form_quote_is_what_urllib_writes(value: str) -> None:
    from urllib.parse import quote_plus

    from solidarity.core.webhooks import form_quote

    assert form_quote(value) == quote_plus(value)
