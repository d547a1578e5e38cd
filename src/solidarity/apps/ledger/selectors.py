"""`ledger check`: recompute every maintained figure from the postings and the log entries."""

from __future__ import annotations

from typing import Any

from django.db import connection

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.core.tlog.entry import rfc3339


def campaign_gift_count(*, campaign: Campaign) -> int:
    """The campaign's gifts (the maintained count): one indexed row read, as plain SQL since
    every statement page asks it."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT donation_count FROM ledger_campaigntotals WHERE campaign_id = %s",
            [campaign.pk],
        )
        row = cur.fetchone()
    return int(row[0]) if row else 0


def campaign_totals(*, campaign: Campaign) -> dict[str, Any]:
    """The maintained totals: one indexed row read, whatever the number of gifts."""
    totals = CampaignTotals.objects.get(campaign=campaign)
    reached = campaign.goal_reached_at
    return {
        "campaign": campaign.slug,
        "currency": campaign.currency,
        "goal_minor": campaign.goal_minor,
        "raised_minor": totals.raised_minor,
        "donation_count": totals.donation_count,
        "reversal_count": totals.reversal_count,
        "reversed_minor": totals.reversed_minor,
        "donor_count": totals.donor_count,
        "review_count": totals.review_count,
        "disbursed_minor": totals.disbursed_minor,
        "balance_minor": totals.balance_minor,
        "goal_reached_at": rfc3339(reached) if reached else None,
        "goal_reached_after_hours": (
            round((reached - campaign.opens_at).total_seconds() / 3600, 1) if reached else None
        ),
        "status": campaign.state(),  # "closed" from the closing time on
        "opens_at": rfc3339(campaign.opens_at),
        "closes_at": rfc3339(campaign.closes_at),
    }
