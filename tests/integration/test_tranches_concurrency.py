"""Racing approvals and hand-overs on PostgreSQL never take the balance below zero.

PostgreSQL only: these tests commit (transaction=True), and on SQLite the flush after them
would hit the append-only triggers. Each thread has its own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import close_old_connections, connection

from solidarity.apps.accounts.roles import ROLES
from solidarity.apps.banking.check import ledger_check
from solidarity.apps.disbursements.models import Tranche, TrancheEvent
from solidarity.apps.disbursements.services import (
    TrancheRefused,
    tranche_approve,
    tranche_handover,
)
from solidarity.apps.donations.services import donations_record_many
from solidarity.apps.ledger.selectors import campaign_totals
from tests.factories import campaign_factory, gift
from tests.integration.tranche_helpers import people, propose

# available_apps makes the flush after each test TRUNCATE ... CASCADE, which the raw
# donations_search table (donations migration 0002, a foreign key to donations_donation) needs.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(
        transaction=True, available_apps=[a.name for a in apps.get_app_configs()]
    ),
]


@pytest.fixture(autouse=True)
def _fast_hashers_and_roles(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The flush before this test removed the role groups that migration data created.
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return call()
        except TrancheRefused as exc:
            return exc
        finally:
            close_old_connections()
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_racing_final_approvals_never_promise_more_than_the_balance():
    # Given VND 1,000,000 and eight tranches of 300,000, each with one of two approvals
    who = people()
    campaign = campaign_factory(slug="race-approve", goal=10**12)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 250_000) for _ in range(4)])
    tranches = [propose(campaign, who["thu"], 300_000) for _ in range(8)]
    for t in tranches:
        tranche_approve(tranche=t, by=who["lan"])
    # When eight second approvals arrive at the same moment
    results = race([lambda t=t: tranche_approve(tranche=t, by=who["minh"]) for t in tranches])
    # Then exactly three fit; the others are refused with nothing written
    approved = Tranche.objects.filter(campaign=campaign, status=Tranche.Status.APPROVED)
    assert approved.count() == 3
    assert sum(isinstance(r, TrancheRefused) for r in results) == 5
    assert TrancheEvent.objects.filter(action="approved", by=who["minh"]).count() == 3
    # And handing all of them over at once spends exactly what was promised
    race([lambda t=t: tranche_handover(tranche=t, by=who["thu"]) for t in approved])
    totals = campaign_totals(campaign=campaign)
    assert totals["disbursed_minor"] == 900_000
    assert totals["balance_minor"] == 100_000
    assert ledger_check().ok


def test_the_same_approver_racing_with_themselves_counts_once():
    who = people()
    campaign = campaign_factory(slug="race-same", goal=10**12)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 1_000_000)])
    t = propose(campaign, who["thu"], 500_000)
    results = race([lambda: tranche_approve(tranche=t, by=who["lan"]) for _ in range(6)])
    assert sum(not isinstance(r, TrancheRefused) for r in results) == 1
    assert TrancheEvent.objects.filter(tranche=t, action="approved").count() == 1
    t.refresh_from_db()
    assert t.status == Tranche.Status.PROPOSED


@pytest.mark.parametrize("round_", range(3))
def test_handovers_racing_approvals_never_overdraw(round_):
    # Given VND 1,000,000, two approved tranches of 400,000 and four more of 300,000 that
    # each wait for their second approval
    who = people()
    campaign = campaign_factory(slug=f"race-hand-{round_}", goal=10**12)
    donations_record_many(campaign=campaign, gifts=[gift(campaign, 250_000) for _ in range(4)])
    waiting = [propose(campaign, who["thu"], 300_000) for _ in range(4)]
    for t in waiting:
        tranche_approve(tranche=t, by=who["lan"])
    ready = [propose(campaign, who["thu"], 400_000) for _ in range(2)]
    for t in ready:
        tranche_approve(tranche=t, by=who["lan"])
        tranche_approve(tranche=t, by=who["minh"])
    # When both hand-overs and the four second approvals arrive at the same moment
    results = race(
        [lambda t=t: tranche_handover(tranche=t, by=who["thu"]) for t in ready]
        + [lambda t=t: tranche_approve(tranche=t, by=who["minh"]) for t in waiting]
    )
    # Then both promised tranches go, none of the new ones fits, and nothing is overdrawn
    assert [isinstance(r, TrancheRefused) for r in results] == [False] * 2 + [True] * 4
    totals = campaign_totals(campaign=campaign)
    assert totals["disbursed_minor"] == 800_000
    assert totals["balance_minor"] == 200_000
    assert not Tranche.objects.filter(campaign=campaign, status=Tranche.Status.APPROVED).exists()
    assert ledger_check().ok
