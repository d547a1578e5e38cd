"""The identity of recovered gifts: a gift booked from the published log is recognised when
its statement line or notification arrives again, through any channel, and booked once."""

from __future__ import annotations

import pytest
from django.db import transaction

from solidarity.apps.donations import recovery
from solidarity.apps.donations.models import Donation
from solidarity.apps.donations.services import (
    RECOVERED_SOURCE,
    _prepare,
    donations_record_many,
)
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.core.tlog.entry import entry_decode
from tests.factories import campaign_factory, gift

pytestmark = pytest.mark.django_db


def test_a_recovered_gift_is_recognised_when_it_arrives_again():
    campaign = campaign_factory(slug="again")
    original = gift(campaign, 123_456, source="feed:sepay:acct", source_ref="tx-42")
    # Given the gift's public entry, as a mirror of the log holds it, booked by recovery
    prepared = _prepare(campaign.slug, original, {})
    entry = entry_decode(prepared.entry)
    assert (entry["kind"], entry["ref"], entry["commit"]) == (
        "donation", prepared.public_ref, prepared.commitment,
    )  # fmt: skip
    with transaction.atomic():
        recovery._gift_book(campaign, 7, entry)
    recovered = Donation.objects.get(source=RECOVERED_SOURCE)
    assert recovered.public_ref == entry["ref"] and recovered.source_ref == entry["ref"]
    assert recovered.txn.memo == "recovered from log entry 7"
    # When the same notification (same source and source reference) is booked again
    (result,) = donations_record_many(campaign=campaign, gifts=[original])
    # Then it is the recovered gift, not a second one
    assert (result.created, result.donation_id) == (False, recovered.pk)
    # While another gift of the same source still books
    (other,) = donations_record_many(
        campaign=campaign,
        gifts=[gift(campaign, 1_000, source="feed:sepay:acct", source_ref="tx-43")],
    )
    assert other.created
    totals = CampaignTotals.objects.get(campaign=campaign)
    assert (totals.donation_count, totals.raised_minor) == (2, 124_456)
    assert Donation.objects.filter(campaign=campaign).count() == 2
