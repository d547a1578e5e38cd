"""Conflicts are loud: a notification or partner gift whose id is stored with another amount,
currency, account or campaign is kept beside the first as a conflict, never booked, shown to
accountants and counted; the partner API answers 409 with the stored gift."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds import services
from solidarity.apps.feeds.models import Conflict, Notification
from solidarity.apps.feeds.selectors import notifications_health
from solidarity.apps.feeds.services import feed_add, notifications_process
from solidarity.apps.partners.services import partner_add
from solidarity.cli import main
from solidarity.core import webhooks as w
from solidarity.infra.inbox import Inbox
from tests.factories import campaign_factory, office_login
from tests.functional.test_feeds_http import ACCOUNT, post_sepay, sepay_body
from tests.functional.test_feeds_poison import post_casso, post_standard, standard_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return campaign_factory(accounts=(ACCOUNT,))


@pytest.fixture
def office():
    user_add(username="kt", role="accountant", password="a-long-passphrase-1")
    client = Client()
    office_login(client, "kt", "a-long-passphrase-1")
    return client


@pytest.fixture(params=["database", "inbox"])
def storage(request, tmp_path, monkeypatch):
    """Receivers store into the database (PostgreSQL, or SQLite in memory), or into the
    receivers' inbox the booker moves later (a SQLite file)."""
    if request.param == "inbox":
        box = Inbox(tmp_path / "solidarity.sqlite3-inbox")
        monkeypatch.setattr(services, "_inbox", lambda: box)
    return request.param


def test_sepay_same_id_other_amount_is_a_conflict_not_a_gift(campaign, storage, office, capsys):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    # Given a notification acknowledged (and, on one path, already booked)
    assert post_sepay(client, sepay_body(1, amount=200_000), secret).status_code == 200
    if storage == "database":
        notifications_process()
    # When the same SePay id arrives with another amount, then it is acknowledged like a
    # retry (so SePay stops sending it) ...
    forged = sepay_body(1, amount=20_000_000)
    reply = post_sepay(client, forged, secret)
    assert (reply.status_code, reply.json()) == (200, {"success": True})
    # ... and, sent again, adds nothing; a plain retry of the first is no conflict either
    assert post_sepay(client, forged, secret).status_code == 200
    assert post_sepay(client, sepay_body(1, amount=200_000), secret).status_code == 200
    notifications_process()
    # Then one gift of the first amount is booked, and one conflict holds both versions
    assert list(Donation.objects.values_list("amount_minor", flat=True)) == [200_000]
    first = Notification.objects.get()
    conflict = Conflict.objects.get()
    assert (conflict.source, conflict.provider_id, conflict.differs) == (
        "feed:vcb",
        "90001",
        "amount",
    )
    assert conflict.notification == first
    assert (conflict.stored["amount"], conflict.received["amount"]) == (200_000, 20_000_000)
    assert json.loads(conflict.body)["transferAmount"] == 20_000_000
    assert conflict.resolved_at is None
    # And it is counted, listed for accountants and on the command line
    assert notifications_health().conflicts == 1
    page = office.get("/office/notifications/").content.decode()
    assert "1 xung đột cần xem xét" in page  # the office speaks Vietnamese
    listed = office.get("/office/notifications/?status=conflict").content.decode()
    # both amounts, as the office writes them in Vietnamese
    assert "90001" in listed and "20.000.000\xa0₫" in listed and "200.000\xa0₫" in listed
    assert main(["notifications", "list", "--status", "conflict", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["provider_id"], row["differs"], row["resolved_at"]) == ("90001", "amount", None)
    # When an accountant marks it resolved, it stays listed and is no longer counted
    office.post(f"/office/notifications/conflicts/{conflict.pk}/resolve/")
    conflict.refresh_from_db()
    assert (conflict.resolved_by, notifications_health().conflicts) == ("kt", 0)
    assert "kt" in office.get("/office/notifications/?status=conflict").content.decode()


def test_sepay_conflict_within_one_inbox_wait_and_within_one_store(campaign, storage):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    # Given both versions acknowledged before the booker passes once
    assert post_sepay(client, sepay_body(3, amount=50_000), secret).status_code == 200
    other = json.loads(sepay_body(3, amount=50_000))
    other["accountNumber"] = "0099887766"
    assert post_sepay(client, json.dumps(other).encode(), secret).status_code == 200
    notifications_process()
    # Then the first is booked and the second, with another account, is a conflict
    assert Donation.objects.get().amount_minor == 50_000
    assert Conflict.objects.get().differs == "account"


def test_casso_another_account_and_amount(campaign, storage):
    _, secret = feed_add(name="casso", kind="casso", account="970436:0011001932418")
    client = Client()
    data = {"id": 77, "amount": 150_000, "transactionDateTime": "2025-08-25 15:41:00",
            "accountNumber": ACCOUNT.number, "description": "CUBA TRAN THI B"}  # fmt: skip
    assert (
        post_casso(client, json.dumps({"error": 0, "data": data}).encode(), secret).status_code
        == 200
    )
    notifications_process()
    changed = {**data, "amount": -150_000, "accountNumber": "123"}
    assert (
        post_casso(client, json.dumps({"error": 0, "data": changed}).encode(), secret).status_code
        == 200
    )
    # a memo written differently under the same id is the same transfer: no conflict
    reworded = {**data, "description": "CUBA  TRAN THI B."}
    assert (
        post_casso(client, json.dumps({"error": 0, "data": reworded}).encode(), secret).status_code
        == 200
    )
    notifications_process()
    assert Donation.objects.count() == 1
    assert Conflict.objects.get().differs == "direction, account"


def test_standard_webhooks_another_campaign_or_currency(campaign, storage):
    campaign_factory(slug="lu-lut", code="LULUT")
    _, secret = feed_add(name="gw", kind="standard")
    client = Client()
    assert post_standard(client, standard_body(75_000), secret).status_code == 200
    notifications_process()
    moved = json.loads(standard_body(75_000))
    moved["data"]["campaign"] = "lu-lut"
    assert post_standard(client, json.dumps(moved).encode(), secret).status_code == 200
    assert post_standard(client, standard_body(75_000, currency="USD"), secret).status_code == 200
    notifications_process()
    assert list(Donation.objects.values_list("campaign__slug", "amount_minor")) == [
        ("cuba", 75_000)
    ]
    assert sorted(Conflict.objects.values_list("differs", flat=True)) == ["campaign", "currency"]
    assert notifications_health().conflicts == 2


def partner_post(key: str, body: dict, idem: str):
    return Client().post(
        "/api/v1/partner/gifts",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem},
    )


GIFT = {"campaign": "cuba", "id": "tx-9", "amount": 50_000, "occurred_at": "2025-08-25T08:00:00Z"}


def test_partner_gift_with_another_amount_or_campaign_is_409_with_the_stored_gift(campaign):
    campaign_factory(slug="lu-lut", code="LULUT")
    _, key = partner_add(name="momo", scopes=["gifts:write"])
    first = partner_post(key, GIFT, "k1")
    assert first.status_code == 201
    stored = first.json()
    # When the same id comes with another amount, the answer is the stored gift, with 409
    again = partner_post(key, {**GIFT, "amount": 5_000_000}, "k2")
    assert again.status_code == 409
    body = again.json()
    assert body["conflict"] == ["amount"]
    assert {k: body[k] for k in stored} == {**stored, "created": False}
    assert body["amount"] == 50_000 and "amount" in body["detail"]
    # and with another campaign too: never an echo of the request
    moved = partner_post(key, {**GIFT, "campaign": "lu-lut"}, "k3")
    assert (moved.status_code, moved.json()["campaign"], moved.json()["conflict"]) == (
        409, "cuba", ["campaign"],
    )  # fmt: skip
    # The same Idempotency-Key and body answers the same 409 again
    assert partner_post(key, {**GIFT, "amount": 5_000_000}, "k2").json() == body
    # A retry with the same terms (another donor name) is the stored gift, 200, no conflict
    same = partner_post(key, {**GIFT, "donor_name": "Someone Else"}, "k4")
    assert (same.status_code, same.json()) == (200, {**stored, "created": False})
    # Then one gift is booked, and the two conflicts keep both versions
    assert list(Donation.objects.values_list("amount_minor", "campaign__slug")) == [
        (50_000, "cuba")
    ]
    conflicts = {c.differs: c for c in Conflict.objects.all()}
    assert set(conflicts) == {"amount", "campaign"}
    assert conflicts["amount"].source == "partner:momo"
    assert conflicts["amount"].donation.public_ref == stored["ref"]
    assert conflicts["amount"].received["amount"] == 5_000_000
    assert json.loads(conflicts["campaign"].body)["campaign"] == "lu-lut"
    assert notifications_health().conflicts == 2


def test_health_counts_waiting_failed_conflicts_and_the_oldest_age(campaign, storage):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    _, other = feed_add(name="other", kind="sepay")  # no receiving account of its own
    client = Client()
    assert notifications_health().as_dict() == {
        "waiting": 0, "failed": 0, "conflicts": 0, "oldest_waiting_seconds": 0.0,
    }  # fmt: skip
    # Given two notifications waiting for the booker, one for an account no campaign owns
    assert post_sepay(client, sepay_body(2), secret).status_code == 200
    stray = json.loads(sepay_body(3))
    stray["accountNumber"] = "999"
    stamp = str(int(time.time()))
    stray_body = json.dumps(stray).encode()
    reply = client.post(
        "/hooks/other",
        stray_body,
        content_type="application/json",
        headers={
            "X-SePay-Timestamp": stamp,
            "X-SePay-Signature": w.sepay_sign(other, stamp, stray_body),
        },
    )
    assert reply.status_code == 200
    # Then both wait, the oldest as old as the first one received
    assert notifications_health().waiting == 2
    if storage == "database":
        oldest = Notification.objects.order_by("id").first().received_at
    else:
        oldest = services.inbox_oldest()
    assert oldest is not None
    later = notifications_health(now=oldest + timedelta(seconds=90))
    assert later.oldest_waiting_seconds == pytest.approx(90)
    # When the booker passes and a conflicting notification arrives
    notifications_process()
    assert post_sepay(client, sepay_body(2, amount=1), secret).status_code == 200
    notifications_process()
    # Then nothing waits, one failed, one conflict
    assert notifications_health().as_dict() == {
        "waiting": 0, "failed": 1, "conflicts": 1, "oldest_waiting_seconds": 0.0,
    }  # fmt: skip
