"""`ledger check`: recompute every maintained figure from the postings and the log entries."""

from __future__ import annotations

from typing import Any

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.core.tlog.entry import rfc3339


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
