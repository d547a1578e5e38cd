"""Receivers at /hooks/<name> through the Django test client: each protocol books a gift once;
unknown, oversized, unsigned, tampered, stale and malformed notifications book nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.banking.models import ReviewItem
from solidarity.apps.campaigns.services import AccountInput
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import feed_add, notifications_process
from solidarity.apps.partners.services import intent_create
from solidarity.core import webhooks as w
from tests.factories import campaign_factory, office_login

pytestmark = pytest.mark.django_db

ACCOUNT = AccountInput("970436", "0011001932418", "HOI CTD")


@pytest.fixture
def campaign():
    return campaign_factory(accounts=(ACCOUNT,))


def sepay_body(n: int = 1, amount: int = 200_000, content: str = "CUBA NGUYEN VAN A") -> bytes:
    return json.dumps(
        {
            "id": 90000 + n,
            "gateway": "Vietcombank",
            "transactionDate": "2025-08-25 14:02:37",
            "accountNumber": ACCOUNT.number,
            "content": content,
            "transferType": "in",
            "transferAmount": amount,
            "referenceCode": f"FT{n:08d}",
            "description": content,
        }
    ).encode()


def post_sepay(client: Client, body: bytes, secret: str, *, ts: int | None = None) -> Any:
    stamp = str(int(time.time()) if ts is None else ts)
    return client.post(
        "/hooks/vcb",
        body,
        content_type="application/json",
        headers={
            "X-SePay-Timestamp": stamp,
            "X-SePay-Signature": w.sepay_sign(secret, stamp, body),
        },
    )


def test_sepay_books_once_and_retries_are_acknowledged(campaign):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    # Given a signed SePay notification, when it arrives, then it is stored and acknowledged
    reply = post_sepay(client, sepay_body(), secret)
    assert reply.status_code == 200
    assert reply.json() == {"success": True}
    assert Notification.objects.get().status == "stored"
    assert Donation.objects.count() == 0
    # And the booker books it
    assert notifications_process() == 1
    row = Notification.objects.get()
    assert row.status == "booked"
    assert row.donation.amount_minor == 200_000
    assert row.donation.source == "bank:970436:0011001932418"
    assert row.donation.source_ref == "feed:vcb:90001"
    # When SePay retries it (same id), then it is acknowledged and nothing is booked again
    assert post_sepay(client, sepay_body(), secret).status_code == 200
    assert notifications_process() == 0
    assert Donation.objects.count() == Notification.objects.count() == 1


def test_sepay_apikey_and_unmatched_goes_to_review(campaign):
    # Given a second campaign on the same account, a memo naming neither is for review
    campaign_factory(slug="lu-lut", code="LULUT", accounts=(ACCOUNT,))
    _, secret = feed_add(name="vcb", kind="sepay", auth="apikey", account="970436:0011001932418")
    client = Client()
    reply = client.post(
        "/hooks/vcb",
        sepay_body(2, content="chuyen tien"),
        content_type="application/json",
        headers={"Authorization": f"Apikey {secret}"},
    )
    assert reply.status_code == 200
    notifications_process()
    assert Notification.objects.get().status == "review"
    assert ReviewItem.objects.get().source_ref == "feed:vcb:90002"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown", 404),
        ("big", 413),
        ("unsigned", 401),
        ("tampered", 401),
        ("stale", 401),
        ("json", 400),
    ],
)
def test_sepay_refusals_book_nothing(campaign, case, status, caplog):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    body = sepay_body()
    if case == "unknown":
        reply = client.post("/hooks/nope", body, content_type="application/json")
    elif case == "big":
        reply = post_sepay(client, body + b" " * (65 * 1024), secret)
    elif case == "unsigned":
        reply = client.post("/hooks/vcb", body, content_type="application/json")
    elif case == "tampered":
        stamp = str(int(time.time()))
        sig = w.sepay_sign(secret, stamp, body)
        reply = client.post(
            "/hooks/vcb",
            body.replace(b"200000", b"900000"),
            content_type="application/json",
            headers={"X-SePay-Timestamp": stamp, "X-SePay-Signature": sig},
        )
    elif case == "stale":
        reply = post_sepay(client, body, secret, ts=int(time.time()) - 3600)
    else:
        reply = post_sepay(client, b'{"id": 1, "transferType": ', secret)
    assert reply.status_code == status
    assert Notification.objects.count() == Donation.objects.count() == 0
    assert any("rejected" in r.message for r in caplog.records)


def test_rotation_keeps_both_secrets_then_revoke(campaign):
    from solidarity.apps.feeds.services import feed_revoke, feed_rotate

    feed, old = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    _new_id, new = feed_rotate(feed=feed)
    client = Client()
    assert post_sepay(client, sepay_body(1), old).status_code == 200
    assert post_sepay(client, sepay_body(2), new).status_code == 200
    feed_revoke(feed=feed, secret_id=feed.secret_ids[0])
    assert post_sepay(client, sepay_body(3), old).status_code == 401
    feed_revoke(feed=feed)
    assert post_sepay(client, sepay_body(4), new).status_code == 404
    assert notifications_process() == 2
    assert Donation.objects.count() == 2


def test_casso_v2(campaign):
    _, secret = feed_add(name="casso", kind="casso", account="970436:0011001932418")
    data = {
        "error": 0,
        "data": {
            "id": 123456,
            "reference": "FT25237AAA",
            "description": "CUBA TRAN THI B",
            "amount": 150000,
            "runningBalance": 1,
            "transactionDateTime": "2025-08-25 15:41:00",
            "accountNumber": ACCOUNT.number,
            "bankName": "Vietcombank",
            "counterAccountName": "TRAN THI B",
            "counterAccountNumber": "0123456789",
        },
    }
    t = str(int(time.time() * 1000))
    sig = w.casso_sign(secret, t, data)
    client = Client()
    reply = client.post(
        "/hooks/casso",
        json.dumps(data, indent=2),  # any spacing: Casso signs the sorted compact form
        content_type="application/json",
        headers={"X-Casso-Signature": f"t={t},v1={sig}"},
    )
    assert reply.status_code == 200
    notifications_process()
    assert Notification.objects.get().donation.amount_minor == 150000
    bad = client.post(
        "/hooks/casso",
        json.dumps({**data, "error": 1}),
        content_type="application/json",
        headers={"X-Casso-Signature": f"t={t},v1={sig}"},
    )
    assert bad.status_code == 401


def test_standard_webhooks_gateway_payment(campaign):
    _, secret = feed_add(name="momo-gw", kind="standard")
    body = json.dumps(
        {
            "type": "payment.succeeded",
            "data": {
                "id": "pay_1",
                "amount": 75000,
                "currency": "VND",
                "occurred_at": "2025-08-25T08:00:00Z",
                "campaign": campaign.slug,
                "donor_name": "Le Van C",
                "privacy": "named",
            },
        }
    ).encode()
    ts = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": w.standard_sign(secret, "msg_1", ts, body),
    }
    client = Client()
    assert (
        client.post(
            "/hooks/momo-gw", body, content_type="application/json", headers=headers
        ).status_code
        == 200
    )
    notifications_process()
    gift = Notification.objects.get().donation
    assert (gift.source, gift.source_ref, gift.display_name) == (
        "feed:momo-gw",
        "pay_1",
        "Le Van C",
    )
    # replayed: acknowledged, not booked twice
    assert (
        client.post(
            "/hooks/momo-gw", body, content_type="application/json", headers=headers
        ).status_code
        == 200
    )
    assert notifications_process() == 0
    assert Donation.objects.count() == 1


def test_vnpay_ipn_codes(campaign):
    _, _secret = feed_add(name="vnpay", kind="vnpay", secret="VNPAYSECRET")
    intent, _ = intent_create(campaign=campaign, amount_minor=50_000)
    params = {
        "vnp_TmnCode": "DEMOV210",
        "vnp_Amount": "5000000",
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": "VNP14226112",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Ung ho Cuba",
        "vnp_PayDate": "20250825140237",
        "vnp_ResponseCode": "00",
        "vnp_TransactionNo": "14226112",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": intent.reference,
    }

    def ipn(p: dict[str, str]) -> dict[str, str]:
        signed = {**p, "vnp_SecureHash": w.vnpay_sign("VNPAYSECRET", p)}
        return Client().get("/hooks/vnpay", signed).json()

    assert ipn({**params, "vnp_TxnRef": "NOPE"})["RspCode"] == "01"
    assert ipn({**params, "vnp_Amount": "6000000"})["RspCode"] == "04"
    bad = {**params, "vnp_SecureHash": "00" * 64}
    assert Client().get("/hooks/vnpay", bad).json()["RspCode"] == "97"
    assert ipn(params) == {"RspCode": "00", "Message": "Confirm Success"}
    assert ipn(params)["RspCode"] == "02"
    gift = Donation.objects.get()
    assert (gift.source, gift.source_ref, gift.channel) == ("feed:vnpay", "14226112", "card")


def test_office_lists_and_replays(campaign):
    _, secret = feed_add(name="vcb", kind="sepay")
    client = Client()
    # a notification for an account no campaign owns fails to book, and is kept
    body = json.loads(sepay_body(7))
    body["accountNumber"] = "999"
    post_sepay(client, json.dumps(body).encode(), secret)
    assert notifications_process() == 0
    row = Notification.objects.get()
    assert row.status == "failed"
    user_add(username="kt", role="accountant", password="a-long-passphrase-1")
    office = Client()
    assert office_login(office, "kt", "a-long-passphrase-1")
    page = office.get("/office/notifications/?status=failed")
    assert page.status_code == 200
    assert row.provider_id in page.content.decode()
    assert Client().get("/office/notifications/").status_code == 302


def test_a_burst_is_booked_together_and_a_bad_notification_fails_alone(campaign):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    # Given 30 stored notifications, one of them for an account no campaign owns
    for n in range(1, 31):
        body = json.loads(sepay_body(n, amount=10_000 * n))
        if n == 17:
            body["accountNumber"] = "999"
        assert post_sepay(client, json.dumps(body).encode(), secret).status_code == 200
    # When the booker runs, then the 29 good ones are booked once each and the bad one fails
    assert notifications_process() == 29
    statuses = dict(Notification.objects.values_list("provider_id", "status"))
    assert statuses.pop("90017") == "failed"
    assert set(statuses.values()) == {"booked"}
    assert Donation.objects.count() == 29
    assert sum(Donation.objects.values_list("amount_minor", flat=True)) == 10_000 * (465 - 17)
    # And a second pass books nothing more
    assert notifications_process() == 0


def test_a_busy_database_leaves_notifications_stored_for_the_next_pass(campaign, monkeypatch):
    from django.db import OperationalError

    from solidarity.apps.feeds import services

    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    for n in (1, 2):
        assert post_sepay(client, sepay_body(n), secret).status_code == 200

    def busy(**kwargs):
        raise OperationalError("database is locked")

    # Given a database that refuses the bookings and then this pass's record of them too
    # (busy or gone), the pass fails and records nothing
    with monkeypatch.context() as m:
        m.setattr(services, "bank_transactions_book", busy)
        m.setattr(services, "_attempt_record", lambda *a: False)
        with pytest.raises(OperationalError):
            notifications_process()
    assert list(Notification.objects.values_list("status", "attempts")) == [("stored", 0)] * 2
    # Given one that refuses only the bookings, each counts an attempt and stays stored
    with monkeypatch.context() as m:
        m.setattr(services, "bank_transactions_book", busy)
        assert notifications_process() == 0
    rows = Notification.objects.values_list("status", "attempts", "error")
    assert set(rows) == {("stored", 1, "OperationalError: database is locked")}
    # Then the next pass books both
    assert notifications_process() == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"booked"}


def test_another_process_revoking_a_feed_takes_effect_within_the_cache_time(campaign, monkeypatch):
    from solidarity.apps.feeds import services
    from solidarity.apps.feeds.models import Feed

    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    assert post_sepay(client, sepay_body(1), secret).status_code == 200
    # Given another process revokes the feed (a row update this process does not see)
    Feed.objects.filter(name="vcb").update(active=False)
    # When a notification arrives within FEED_CACHE_SECONDS, the cached feed still answers
    clock[0] += services.FEED_CACHE_SECONDS / 2
    assert post_sepay(client, sepay_body(2), secret).status_code == 200
    # Then once that time has passed the receiver reads the row again and refuses
    clock[0] += services.FEED_CACHE_SECONDS
    assert post_sepay(client, sepay_body(3), secret).status_code == 404


def test_one_store_transaction_keeps_each_provider_id_once(campaign):
    from solidarity.apps.feeds.models import Feed
    from solidarity.apps.feeds.services import _notification_new, _notifications_insert

    feed, _ = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    feed = Feed.objects.get(pk=feed.pk)
    first, again = (w.sepay_parse(sepay_body(n)) for n in (1, 1))
    other = w.sepay_parse(sepay_body(2))
    rows = [_notification_new(feed, t, {}, "{}") for t in (first, again, other)]
    # Given three notifications in one group commit, two with the same provider id
    assert _notifications_insert(rows) == [True, False, True]
    # When the same id arrives in a later commit, it is not new either
    assert _notifications_insert([_notification_new(feed, first, {}, "{}")]) == [False]
    assert sorted(Notification.objects.values_list("provider_id", flat=True)) == [
        "90001",
        "90002",
    ]


def test_inside_a_transaction_a_notification_is_stored_alone(campaign, monkeypatch):
    """A caller holding the write lock must not wait for another thread's group commit."""
    from solidarity.apps.feeds import services

    feed, _ = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")

    def no_group(item: Any) -> bool:
        raise AssertionError("a transaction's caller joined the group commit")

    monkeypatch.setattr(services._STORE_GROUP, "submit", no_group)
    transfer = w.sepay_parse(sepay_body(5))
    stored = services.notification_store_grouped(
        feed=feed, transfer=transfer, headers={}, body="{}"
    )
    assert stored is True
    assert Notification.objects.get().provider_id == "90005"
