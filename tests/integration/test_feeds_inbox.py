"""Receivers on a SQLite file commit to the inbox; the booker moves it into the database:
nothing is lost or stored twice, whether the provider retries before or after the move or the
move is cut off between its commit and the inbox's removal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds import services
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import (
    feed_add,
    inbox_drain,
    notification_store_grouped,
    notifications_process,
)
from solidarity.cli import main
from solidarity.core import webhooks as w
from solidarity.infra.inbox import Inbox
from tests.factories import campaign_factory, office_login
from tests.functional.test_feeds_http import ACCOUNT, post_sepay, sepay_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(tmp_path, monkeypatch):
    """The receivers' inbox, as on a SQLite file (the test database is in memory)."""
    box = Inbox(tmp_path / "solidarity.sqlite3-inbox")
    monkeypatch.setattr(services, "_inbox", lambda: box)
    return box


@pytest.fixture
def feed():
    campaign_factory(accounts=(ACCOUNT,))
    return feed_add(name="vcb", kind="sepay", account="970436:0011001932418")


def store(feed, n: int) -> bool:
    body = sepay_body(n)
    return notification_store_grouped(
        feed=feed,
        transfer=w.sepay_parse(body),
        headers={"x-sepay-timestamp": "1"},
        body=body.decode(),
    )


def test_a_receiver_commits_to_the_inbox_and_the_booker_moves_and_books_it(inbox, feed):
    row_feed, secret = feed
    # Given a signed notification acknowledged by the receiver
    assert post_sepay(Client(), sepay_body(1), secret).status_code == 200
    # Then it waits in the inbox, not yet in the database
    assert inbox.count() == 1
    assert Notification.objects.count() == 0
    # When the booker passes, then it is moved, with what reconciliation needs, and booked
    assert notifications_process() == 1
    assert inbox.count() == 0
    row = Notification.objects.get()
    assert (row.feed_id, row.provider_id, row.status) == (row_feed.pk, "90001", "booked")
    assert (row.number, row.amount_minor, row.currency, row.bank_ref) == (
        ACCOUNT.number,
        200_000,
        "VND",
        "FT00000001",
    )
    assert row.occurred_at == datetime(2025, 8, 25, 7, 2, 37, tzinfo=UTC)  # 14:02:37 in Vietnam
    assert row.received_at.tzinfo is not None
    assert row.donation.source_ref == "feed:vcb:90001"


def test_retries_before_and_after_the_move_are_stored_once(inbox, feed):
    row_feed, _ = feed
    assert store(row_feed, 1) is True
    assert store(row_feed, 1) is False  # a retry while it waits in the inbox
    assert inbox_drain() == 1
    assert store(row_feed, 1) is True  # a retry after the move waits again ...
    assert inbox_drain() == 0  # ... and is not stored twice
    assert inbox.count() == 0
    assert Notification.objects.count() == 1


def test_a_move_cut_off_before_the_inbox_removal_is_not_stored_twice(inbox, feed):
    row_feed, _ = feed
    for n in range(1, 4):
        store(row_feed, n)
    # Given a move that committed to the database and died before removing from the inbox
    records = [record for _, _, record in inbox.take(10)]
    assert services._notifications_insert([services._inbox_row(r) for r in records[:2]]) == [
        True,
        True,
    ]
    # When the booker runs again, then the rest is moved and nothing twice
    assert notifications_process() == 3
    assert sorted(Notification.objects.values_list("provider_id", flat=True)) == [
        "90001",
        "90002",
        "90003",
    ]
    assert Donation.objects.count() == 3
    assert inbox.count() == 0


def test_a_notification_of_a_feed_gone_since_is_dropped_not_blocking_the_rest(inbox, feed):
    row_feed, _ = feed
    store(row_feed, 1)
    inbox.put_many([("999:1", {**inbox.take(1)[0][2], "feed_id": 999, "provider_id": "1"})])
    assert inbox_drain() == 1
    assert inbox.count() == 0
    assert Notification.objects.get().provider_id == "90001"


def test_operators_see_what_waits_in_the_inbox(inbox, feed, capsys):
    row_feed, _ = feed
    store(row_feed, 1)
    store(row_feed, 2)
    user_add(username="kt", role="accountant", password="a-long-passphrase-1")
    office = Client()
    assert office_login(office, "kt", "a-long-passphrase-1")
    page = office.get("/office/notifications/").content.decode()
    assert "2 thông báo đã nhận, đang chờ ghi sổ." in page  # the office speaks Vietnamese
    assert main(["notifications", "list"]) == 0
    assert "2 acknowledged, waiting for the booker" in capsys.readouterr().out
    notifications_process()
    assert "đang chờ ghi sổ" not in office.get("/office/notifications/").content.decode()
