"""Reads about campaigns. The totals people see are `ledger.selectors.campaign_totals`."""

from __future__ import annotations

from solidarity.apps.campaigns.models import Campaign
from solidarity.core.gift_rules import AmountProblem, gift_amount_problem


def campaign_get(*, slug: str) -> Campaign:
    """The campaign named `slug`; Campaign.DoesNotExist otherwise."""
    return Campaign.objects.get(slug=slug)


def campaign_public_get(*, slug: str) -> Campaign:
    """The campaign named `slug` if the public may see it (not a draft); DoesNotExist else."""
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).get(slug=slug)


def campaign_gift_problem(campaign: Campaign, amount_minor: int) -> AmountProblem | None:
    """Why `campaign`'s rule for one gift refuses `amount_minor` (`core.gift_rules`, under the
    campaign's currency and bounds), or None. Every channel asks this, never the bounds."""
    return gift_amount_problem(
        amount_minor,
        currency=campaign.currency,
        min_gift_minor=campaign.min_gift_minor,
        max_gift_minor=campaign.max_gift_minor,
    )
