"""Poison input is refused at the receiver before anything is stored: JSON nested too deep,
bodies too large, amounts no real transfer has (every receiver and the partner API). What
the booker cannot book: tests/integration/test_feeds_poison.py."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import feed_add
from solidarity.apps.partners.services import intent_create, partner_add
from solidarity.core import webhooks as w
from tests.factories import campaign_factory
from tests.functional.test_feeds_http import ACCOUNT, post_sepay, sepay_body

pytestmark = pytest.mark.django_db

DEEP = b"[" * 30_000 + b"]" * 30_000


@pytest.fixture
def campaign():
    return campaign_factory(accounts=(ACCOUNT,))


def post_casso(client: Client, body: bytes, secret: str | None) -> Any:
    t = str(int(time.time() * 1000))
    headers = {}
    if secret is not None:
        headers["X-Casso-Signature"] = f"t={t},v1={w.casso_sign(secret, t, json.loads(body))}"
    return client.post("/hooks/casso", body, content_type="application/json", headers=headers)


def post_standard(client: Client, body: bytes, secret: str, msg_id: str = "msg_1") -> Any:
    ts = int(time.time())
    return client.post(
        "/hooks/gw",
        body,
        content_type="application/json",
        headers={
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": w.standard_sign(secret, msg_id, ts, body),
        },
    )


def casso_body(amount: Any) -> bytes:
    data = {"id": 7, "amount": amount, "transactionDateTime": "2025-08-25 15:41:00"}
    return json.dumps({"error": 0, "data": {**data, "accountNumber": ACCOUNT.number}}).encode()


def standard_body(amount: Any, currency: str = "VND") -> bytes:
    data = {"id": "pay_1", "amount": amount, "currency": currency, "campaign": "cuba"}
    return json.dumps(
        {"type": "payment.succeeded", "data": {**data, "occurred_at": "2025-08-25T08:00:00Z"}}
    ).encode()


def test_json_nested_30000_deep_is_refused_with_400_before_anything_is_stored(campaign):
    _, sepay = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    feed_add(name="casso", kind="casso", account="970436:0011001932418")
    _, standard = feed_add(name="gw", kind="standard")
    _, key = partner_add(name="momo", scopes=["gifts:write"])
    client = Client(raise_request_exception=False)
    # Given a body of 30,000 nested arrays (under the 64 KiB limit), signed where it can be
    assert post_sepay(client, DEEP, sepay).status_code == 400
    # Casso signs the parsed JSON: the body is refused before the signature is looked at
    unsigned = client.post("/hooks/casso", DEEP, content_type="application/json")
    assert unsigned.status_code == 400
    assert "nested deeper" in unsigned.json()["message"]
    assert post_standard(client, DEEP, standard).status_code == 400
    partner = client.post(
        "/api/v1/partner/gifts",
        DEEP,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k"},
    )
    assert partner.status_code == 400
    # A body over the size limit is refused too (413), by every receiver
    big = b'{"pad": "' + b"x" * (70 * 1024) + b'"}'
    assert post_sepay(client, big, sepay).status_code == 413
    assert client.post("/hooks/casso", big, content_type="application/json").status_code == 413
    assert post_standard(client, big, standard).status_code == 413
    assert Notification.objects.count() == Donation.objects.count() == 0


@pytest.mark.parametrize("amount", [10**20, 2**63, 10**13 + 1, 0, -200_000])
def test_amounts_no_transfer_has_are_refused_at_every_receiver(campaign, amount):
    _, sepay = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    _, casso = feed_add(name="casso", kind="casso", account="970436:0011001932418")
    _, standard = feed_add(name="gw", kind="standard")
    feed_add(name="vnpay", kind="vnpay", secret="VNPAYSECRET")
    _, key = partner_add(name="momo", scopes=["gifts:write"])
    client = Client(raise_request_exception=False)
    # Given a correctly signed notification whose amount no real transfer has
    reply = post_sepay(client, sepay_body(1, amount=amount), sepay)
    assert reply.status_code == 400, reply.content
    assert "transferAmount" in reply.json()["message"]
    if amount > 0:  # Casso's sign is the direction: -200,000 is a real debit
        assert post_casso(client, casso_body(amount), casso).status_code == 400
        assert post_casso(client, casso_body(-amount), casso).status_code == 400
    assert post_standard(client, standard_body(amount), standard).status_code == 400
    intent, _ = intent_create(campaign=campaign, amount_minor=50_000)
    params = {
        "vnp_Amount": str(amount * 100),
        "vnp_ResponseCode": "00",
        "vnp_TransactionNo": "1",
        "vnp_TxnRef": intent.reference,
    }
    ipn = client.get(
        "/hooks/vnpay", {**params, "vnp_SecureHash": w.vnpay_sign("VNPAYSECRET", params)}
    )
    assert ipn.status_code == 200  # VNPay's protocol: the refusal is in RspCode
    assert ipn.json()["RspCode"] in ("04", "99")
    gift = {"campaign": "cuba", "id": "tx", "amount": amount, "occurred_at": "2025-08-25T08:00:00Z"}
    partner = client.post(
        "/api/v1/partner/gifts",
        json.dumps(gift),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k"},
    )
    assert partner.status_code in (400, 422)
    # Then nothing was stored, nothing booked
    assert Notification.objects.count() == Donation.objects.count() == 0
