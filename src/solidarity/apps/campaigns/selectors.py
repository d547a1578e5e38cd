"""Reads about campaigns: the totals people see."""

from __future__ import annotations

from typing import Any

from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.ledger.models import CampaignTotals
from solidarity.apps.transparency.services import rfc3339


def campaign_get(*, slug: str) -> Campaign:
    """The campaign named `slug`; Campaign.DoesNotExist otherwise."""
    return Campaign.objects.get(slug=slug)


def campaign_public_get(*, slug: str) -> Campaign:
    """The campaign named `slug` if the public may see it (not a draft); DoesNotExist else."""
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).get(slug=slug)


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
