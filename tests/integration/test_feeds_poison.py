"""A notification the booker cannot book fails alone, with its reason, after a bounded
number of attempts, while everything after it books; on SQLite, a record in the receivers'
inbox the database cannot hold does not hold up the inbox."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds import services
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.selectors import notifications_health
from solidarity.apps.feeds.services import BOOK_ATTEMPTS, feed_add, notifications_process
from solidarity.core import webhooks as w
from solidarity.infra.inbox import Inbox
from tests.factories import campaign_factory, office_login
from tests.functional.test_feeds_http import ACCOUNT, post_sepay, sepay_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return campaign_factory(accounts=(ACCOUNT,))


def _bad_booking_trigger(source_ref: str) -> str:
    """A real database error on one gift, from a trigger on the gift table, of the kind that
    may pass (OperationalError): a cancelled statement on PostgreSQL, an integer overflow
    on SQLite. Returns the error's text."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE FUNCTION poison_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.source_ref = '{source_ref}' THEN RAISE EXCEPTION 'poison gift' "
                "USING ERRCODE = '57014'; END IF; RETURN NEW; END $$"
            )
            cur.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON donations_donation "
                "FOR EACH ROW EXECUTE FUNCTION poison_refuse()"
            )
            return "poison gift"
        cur.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON donations_donation "
            f"WHEN NEW.source_ref = '{source_ref}' "
            "BEGIN SELECT abs(-9223372036854775807 - 1); END"
        )
        return "integer overflow"


def test_one_bad_notification_among_1000_fails_alone_and_the_rest_book(campaign):
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    # Given 1,001 acknowledged notifications, the 501st of which the database refuses to book
    reason = _bad_booking_trigger("feed:vcb:90501")
    for n in range(1, 1002):
        assert post_sepay(client, sepay_body(n, amount=1000 + n), secret).status_code == 200
    # When the booker passes until nothing is left to try (at most BOOK_ATTEMPTS passes)
    booked = [notifications_process() for _ in range(BOOK_ATTEMPTS)]
    # Then the first pass booked the 1,000 good ones, each once
    assert booked[0] == 1000 and sum(booked) == 1000
    assert Donation.objects.count() == 1000
    assert sum(Donation.objects.values_list("amount_minor", flat=True)) == sum(
        1000 + n for n in range(1, 1002) if n != 501
    )
    # And the bad one ended failed with its reason, after a bounded number of attempts
    bad = Notification.objects.get(provider_id="90501")
    assert (bad.status, bad.attempts) == ("failed", BOOK_ATTEMPTS)
    assert bad.error.startswith(f"gave up after {BOOK_ATTEMPTS} attempts: OperationalError")
    assert reason in bad.error
    assert set(Notification.objects.exclude(pk=bad.pk).values_list("status", flat=True)) == {
        "booked"
    }
    # And it is counted and shown to accountants
    health = notifications_health()
    assert (health.waiting, health.failed) == (0, 1)
    user_add(username="kt", role="accountant", password="a-long-passphrase-1")
    office = Client()
    office_login(office, "kt", "a-long-passphrase-1")
    page = office.get("/office/notifications/?status=failed").content.decode()
    assert "90501" in page and reason in page
    # And a notification arriving after it books at once
    assert post_sepay(client, sepay_body(2000), secret).status_code == 200
    assert notifications_process() == 1


def test_a_poison_record_in_the_receivers_inbox_is_stored_failed_and_the_rest_move(
    campaign, tmp_path, monkeypatch
):
    # Given the inbox of a SQLite installation (the test database is in memory) holding,
    # between good notifications, one an older receiver acknowledged with transferAmount 10^20
    box = Inbox(tmp_path / "solidarity.sqlite3-inbox")
    monkeypatch.setattr(services, "_inbox", lambda: box)
    feed, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    client = Client()
    for n in range(1, 51):
        assert post_sepay(client, sepay_body(n), secret).status_code == 200
    poison = json.loads(sepay_body(500))
    poison["transferAmount"] = 10**20
    body = json.dumps(poison)
    (_, record), *_ = [services._inbox_record(services._notification_new(
        feed, w.sepay_parse(sepay_body(500)), {}, body
    ))]  # fmt: skip
    box.put_many([("old:500", {**record, "amount_minor": 10**20})])
    for n in range(51, 101):
        assert post_sepay(client, sepay_body(n), secret).status_code == 200
    # When the booker passes
    assert notifications_process() == 100
    # Then the inbox is empty, the 100 good ones are booked and the poison is failed, kept
    assert box.count() == 0
    assert Donation.objects.count() == 100
    bad = Notification.objects.get(provider_id="90500")
    assert (bad.status, bad.amount_minor, bad.body) == ("failed", 0, body)
    assert "not stored as received" in bad.error
    # And booking it again (an operator's replay) refuses it with the parser's reason
    services.notification_replay(notification=bad)
    bad.refresh_from_db()
    assert bad.status == "failed" and "past the largest storable value" in bad.error
    assert notifications_health().failed == 1
