"""A campaign's rule for one gift (its smallest and largest gift), through every channel:
refused before money moves (intents, the partner API), never refused once the money has
arrived (statements and bank feeds hold it for review; gateway payments are booked and
noted). Runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from solidarity.apps.accounts.services import user_add
from solidarity.apps.banking.check import ledger_check
from solidarity.apps.banking.models import AccountMovement, ReviewItem
from solidarity.apps.banking.review import review_assign, review_reject
from solidarity.apps.donations.models import Donation
from solidarity.apps.feeds.models import Notification
from solidarity.apps.feeds.services import feed_add, notifications_process
from solidarity.apps.imports.services import statement_import
from solidarity.apps.ledger.selectors import campaign_totals
from solidarity.apps.partners.services import partner_add
from tests.factories import campaign_factory
from tests.functional.test_feeds_http import ACCOUNT, post_sepay, sepay_body
from tests.functional.test_feeds_poison import post_standard, standard_body
from tests.integration.test_imports import _csv

pytestmark = pytest.mark.django_db

SMALLEST, LARGEST = 10_000, 1_000_000


@pytest.fixture
def campaign():
    return campaign_factory(
        goal=10**12, accounts=(ACCOUNT,), min_gift_minor=SMALLEST, max_gift_minor=LARGEST
    )


@pytest.fixture
def accountant():
    return user_add(username="ke-toan", role="accountant", password="a-long-passphrase-1")


def _partner_post(key: str, path: str, body: dict, **headers: str):
    return Client().post(
        f"/api/v1/partner/{path}",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **headers},
    )


def test_a_statement_credit_outside_the_rule_waits_for_a_decision(
    campaign, accountant, tmp_path: Path
):
    # Given a statement with a gift below the smallest, one above the largest, one between
    rows = [
        ("25/08/2025", "FT25237000000001", "", "5.000", "NGUYEN VAN AN ung ho CUBA"),
        ("25/08/2025", "FT25237000000002", "", "2.000.000", "TRAN THI BINH ung ho CUBA"),
        ("25/08/2025", "FT25237000000003", "", "50.000", "LE VAN CUONG ung ho CUBA"),
    ]
    # When it is imported
    report = statement_import(path=_csv(tmp_path / "a.csv", rows))
    # Then the money outside the rule is held for review with the rule's reason, not refused
    assert (report.counts.booked, report.counts.to_review) == (1, 2)
    reasons = dict(ReviewItem.objects.values_list("amount_minor", "reason"))
    assert reasons == {
        5_000: f"amount below the campaign's minimum {SMALLEST}",
        2_000_000: f"amount above the campaign's maximum {LARGEST}",
    }
    totals = campaign_totals(campaign=campaign)
    assert (totals["raised_minor"], totals["review_count"]) == (50_000, 2)
    # and an accountant books one as a gift all the same, the other as a transfer in
    small = ReviewItem.objects.get(amount_minor=5_000)
    assert review_assign(item=small, campaign=campaign, by=accountant).created
    large = ReviewItem.objects.get(amount_minor=2_000_000)
    review_reject(item=large, by=accountant, reason="a loan, to be paid back")
    assert AccountMovement.objects.get().kind == "transfer_in"
    totals = campaign_totals(campaign=campaign)
    assert (totals["raised_minor"], totals["review_count"]) == (55_000, 0)
    # Importing the statement again books nothing twice
    again = statement_import(path=_csv(tmp_path / "b.csv", rows))
    assert (again.counts.booked, again.counts.to_review, again.counts.duplicates) == (0, 0, 3)
    assert ledger_check().ok, ledger_check().problems


def test_a_bank_feed_transfer_outside_the_rule_waits_for_review_once(campaign, tmp_path: Path):
    # Given a bank feed that reports a transfer above the largest gift
    _, secret = feed_add(name="vcb", kind="sepay", account="970436:0011001932418")
    assert post_sepay(Client(), sepay_body(1, amount=2_000_000), secret).status_code == 200
    # When it is booked
    notifications_process()
    # Then it is held for review (the notification says so), not failed and not a gift
    notification = Notification.objects.get()
    assert (notification.status, notification.error) == ("review", "")
    (item,) = ReviewItem.objects.all()
    assert item.reason == f"amount above the campaign's maximum {LARGEST}"
    assert not Donation.objects.exists()
    # and the statement that later reports the same transfer finds it there: one review item
    row = ("25/08/2025", "FT00000001", "", "2.000.000", "CUBA NGUYEN VAN A")
    report = statement_import(path=_csv(tmp_path / "s.csv", [row]))
    assert (report.counts.to_review, report.counts.duplicates) == (0, 1)
    assert ReviewItem.objects.count() == 1
    assert ledger_check().ok, ledger_check().problems


def test_a_gateway_payment_outside_the_rule_is_booked_and_noted(campaign):
    # Given a gateway that reports a paid gift below the smallest gift
    _, secret = feed_add(name="gw", kind="standard")
    assert post_standard(Client(), standard_body(5_000), secret).status_code == 200
    # When it is booked, then the payment received is a gift, the breach noted for the office
    notifications_process()
    notification = Notification.objects.select_related("donation").get()
    assert notification.status == "booked" and notification.donation.amount_minor == 5_000
    assert f"amount below the campaign's minimum {SMALLEST}" in notification.error
    assert campaign_totals(campaign=campaign)["raised_minor"] == 5_000


def test_intents_and_partner_gifts_outside_the_rule_are_refused(campaign):
    _, key = partner_add(name="momo", scopes=["intents:write", "gifts:write"])
    # An intent above the largest gift is refused, as the give page refuses it
    intent = _partner_post(key, "intents", {"campaign": "cuba", "amount": 2_000_000})
    assert intent.status_code == 400
    assert intent.json()["detail"] == f"amount above the campaign's maximum {LARGEST}"
    # A partner's gift below the smallest is refused before anything is booked
    gift = {"campaign": "cuba", "id": "tx-1", "occurred_at": "2025-08-25T08:00:00Z"}
    refused = _partner_post(key, "gifts", {**gift, "amount": 5_000}, **{"Idempotency-Key": "k1"})
    assert refused.status_code == 400
    assert f"amount below the campaign's minimum {SMALLEST}" in refused.json()["detail"]
    assert not Donation.objects.exists()
    # and one within the rule is booked
    booked = _partner_post(key, "gifts", {**gift, "amount": 50_000}, **{"Idempotency-Key": "k2"})
    assert booked.status_code == 201
    # A gift in another currency is refused for its currency, not for the campaign's bounds
    usd = {**gift, "id": "tx-2", "amount": 5, "currency": "USD"}
    other = _partner_post(key, "gifts", usd, **{"Idempotency-Key": "k3"})
    assert other.status_code == 400 and "USD" in other.json()["detail"]
