"""Concurrent booking on PostgreSQL: 8 processes, 5,000 gifts each, overlapping identities."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from solidarity.apps.banking.check import ledger_check
from solidarity.apps.donations.models import Donation
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.transparency.models import LogEntry
from tests.factories import campaign_factory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKER = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime, timedelta
    import django
    django.setup()
    from solidarity.apps.campaigns.models import Campaign
    from solidarity.apps.donations.services import GiftInput, donations_record_many
    worker, per_worker, shared = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    campaign = Campaign.objects.get(slug="race")
    account = campaign.accounts.first()
    opens = datetime(2025, 8, 25, 1, tzinfo=UTC)
    def gift(ref, n):
        return GiftInput(amount_minor=10_000 * (1 + n % 100), currency="VND",
                         received_at=opens + timedelta(seconds=n), channel="bank_transfer",
                         source="race", source_ref=ref, donor_name="TRAN THI B",
                         memo="ung ho cuba", account=account, sender_account=f"acct{n % 3000}")
    refs = []
    for i in range(per_worker):
        # the first `shared` gifts of every worker are the same bank transactions
        refs.append(f"shared-{i}" if i < shared else f"w{worker}-{i}")
    for start in range(0, per_worker, 250):
        chunk = refs[start:start + 250]
        donations_record_many(campaign=campaign,
                              gifts=[gift(r, int(r.split("-")[1])) for r in chunk])
    """
)


def test_eight_processes_book_every_distinct_gift_once():
    # Given an open campaign committed to the test database
    campaign = campaign_factory(slug="race", goal=10**15)
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    url = f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "solidarity.web.settings"}
    workers, per_worker, shared = 8, 5000, 1000
    # When 8 processes book 5,000 gifts each, 1,000 of them the same in every process
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(w), str(per_worker), str(shared)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    # Then every distinct gift is booked once and the totals are exact
    distinct = shared + workers * (per_worker - shared)
    assert Donation.objects.filter(campaign=campaign).count() == distinct
    expected = sum(10_000 * (1 + i % 100) for i in range(shared)) + workers * sum(
        10_000 * (1 + i % 100) for i in range(shared, per_worker)
    )
    totals = campaign_totals(campaign=campaign)
    assert totals["raised_minor"] == expected
    assert totals["donation_count"] == distinct
    assert totals["donor_count"] == 3000
    report = ledger_check()
    assert report.ok, report.problems
    # And the log entries hold the indexes 0..n-1, each once, in commit order of the bookings
    entries = LogEntry.objects.filter(campaign=campaign)
    indexes = sorted(entries.values_list("index", flat=True))
    assert indexes == list(range(1 + distinct)) == list(range(campaign.log_head.size))
