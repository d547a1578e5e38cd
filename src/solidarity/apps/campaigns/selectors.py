"""Reads about campaigns. The totals people see are `ledger.selectors.campaign_totals`."""

from __future__ import annotations

from solidarity.apps.campaigns.models import Campaign


def campaign_get(*, slug: str) -> Campaign:
    """The campaign named `slug`; Campaign.DoesNotExist otherwise."""
    return Campaign.objects.get(slug=slug)


def campaign_public_get(*, slug: str) -> Campaign:
    """The campaign named `slug` if the public may see it (not a draft); DoesNotExist else."""
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).get(slug=slug)
