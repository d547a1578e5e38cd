"""The audit trail is append-only in the database itself (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from solidarity.apps.accounts.models import AuditEvent
from solidarity.apps.accounts.selectors import audit_list
from solidarity.apps.accounts.services import audit_record, user_add, user_has_role
from solidarity.apps.disbursements.services import TrancheRefused, tranche_approve
from tests.integration.tranche_helpers import PASSWORD, funded_campaign, people, propose

pytestmark = pytest.mark.django_db


def test_rows_of_the_trail_cannot_be_changed_or_deleted():
    # Given a recorded change
    event = audit_record(
        via="office", action="office.review_decide", username="kt", target="/x", ip="192.0.2.7"
    )
    # When anyone tries to rewrite or remove it, through the ORM or plain SQL, it is refused
    attempts = (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(username="someone-else"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda: connection.cursor().execute("DELETE FROM accounts_auditevent"),
    )
    for attempt in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    # Then it reads as written
    (row,) = audit_list()
    assert (row["username"], row["action"], row["ip"]) == (
        "kt",
        "office.review_decide",
        "192.0.2.7",
    )


def test_a_superuser_is_an_admin_but_never_an_approver():
    who = people()
    tranche = propose(funded_campaign(1_000_000), who["thu"], 100_000)
    boss = user_add(username="boss", role="admin", password=PASSWORD)
    assert user_has_role(boss, "admin")
    assert not user_has_role(boss, "approver", "accountant", "auditor")
    with pytest.raises(TrancheRefused):
        tranche_approve(tranche=tranche, by=boss)
    tranche_approve(tranche=tranche, by=who["lan"])
    assert tranche.events.filter(action="approved").count() == 1
