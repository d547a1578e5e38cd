"""A transfer the feed booker and a statement import book at the same moment is booked once:
the booker looks for the statement's gift and books in one transaction holding the receiving
account's lock, and a statement batch of that account waits for it. PostgreSQL (SQLite runs
one writer at a time, so the same transaction is enough there)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection

from solidarity.apps.banking.reconciliation import StatementSide
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import (
    feed_add,
    notification_book,
    notification_store,
    notifications_process,
)
from solidarity.core import webhooks as w
from tests.factories import campaign_factory
from tests.integration.test_feeds_reconcile import ACCOUNT, WHEN, statement

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(
        transaction=True, available_apps=[a.name for a in apps.get_app_configs()]
    ),
]


@pytest.mark.parametrize("alone", [False, True], ids=["batch", "alone"])
def test_a_statement_batch_waits_for_the_booker_and_confirms_its_gift(monkeypatch, alone):
    """`alone`: the booker books the notification by itself (`notification_book`, as after a
    batch failed), not in a batch: the same transaction holds the lock and the outcome."""
    campaign_factory(accounts=(ACCOUNT,))
    feed, _ = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    body = json.dumps(
        {
            "id": 1,
            "transactionDate": WHEN.strftime("%Y-%m-%d %H:%M:%S"),
            "accountNumber": ACCOUNT.number,
            "content": "CUBA NGUYEN VAN 1",
            "transferType": "in",
            "transferAmount": 200_000,
            "referenceCode": "FT1",
        }
    ).encode()
    row, _ = notification_store(
        feed=feed, transfer=w.sepay_parse(body), headers={}, body=body.decode()
    )

    # Given the booker has looked for the statement's gift (none yet) and not booked yet
    looked, go = threading.Event(), threading.Event()
    fetch = StatementSide.fetch

    def fetch_then_pause(*args, **kwargs):
        side = fetch(*args, **kwargs)
        looked.set()
        assert go.wait(20)
        return side

    monkeypatch.setattr(StatementSide, "fetch", fetch_then_pause)
    results: dict[str, object] = {}

    def in_thread(name, call):
        def run():
            try:
                results[name] = call()
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    if alone:
        booker = in_thread(
            "booker", lambda: int(notification_book(notification=row).donation_id is not None)
        )
    else:
        booker = in_thread("booker", notifications_process)
    assert looked.wait(20)
    # When the statement with the same transfer is imported meanwhile
    importer = in_thread(
        "import", lambda: statement(("stmt|1", 200_000, "FT1", timedelta(hours=2), "CUBA"))
    )
    importer.join(1.0)
    # Then the import waits for the booker's transaction ...
    assert importer.is_alive()
    go.set()
    booker.join(20)
    importer.join(20)
    # ... and finds its gift: one gift, confirmed by the statement line
    assert results["booker"] == 1
    assert (results["import"].booked, results["import"].duplicates) == (0, 1)
    assert Donation.objects.count() == 1
    assert Notification.objects.get().confirmed_by == "stmt|1"
