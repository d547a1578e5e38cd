"""Reads about campaigns. The totals people see are `ledger.selectors.campaign_totals`."""

from __future__ import annotations

import threading
import time
from typing import Final

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from solidarity.apps.campaigns.models import Campaign, campaigns_updated
from solidarity.core.gift_rules import AmountProblem, gift_amount_problem


def campaign_get(*, slug: str) -> Campaign:
    """The campaign named `slug`; Campaign.DoesNotExist otherwise."""
    return Campaign.objects.get(slug=slug)


def campaign_public_get(*, slug: str) -> Campaign:
    """The campaign named `slug` if the public may see it (not a draft); DoesNotExist else."""
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).get(slug=slug)


RECENT_SECONDS: Final = 1.0

_recent: dict[str, tuple[float, Campaign]] = {}
_recent_lock = threading.Lock()
_forgotten = 0  # how many times forgotten: a reading begun before a change is not kept


def campaign_public_recent(*, slug: str) -> Campaign:
    """`campaign_public_get` as this process read it at most RECENT_SECONDS ago.

    For the public statement and its API, which ask for the campaign on every search: the read
    cost a database round trip and about 1,200 Python calls, a fifth of a search through the
    API. A change saved in this process shows at once (`campaigns_recent_forget`, on every
    save, delete and queryset update of a campaign, and again at its commit); one saved by
    another process within RECENT_SECONDS, as the public micro-cache already allows. The
    instance is shared by the process's threads: callers read it, never change it."""
    now = time.monotonic()
    held = _recent.get(slug)
    if held is not None and now - held[0] < RECENT_SECONDS:
        return held[1]
    generation = _forgotten
    campaign = campaign_public_get(slug=slug)
    with _recent_lock:
        if _forgotten == generation:
            _recent[slug] = (now, campaign)
    return campaign


def campaigns_recent_forget(**_signal: object) -> None:
    """Forget every campaign `campaign_public_recent` holds (a campaign changed): now, and
    again when the change commits (a reading between the two saw the row as it was)."""
    _recent_clear()
    transaction.on_commit(_recent_clear)


def _recent_clear() -> None:
    global _forgotten  # noqa: PLW0603 (the process's one count, under the lock)
    with _recent_lock:
        _forgotten += 1
        _recent.clear()


post_save.connect(campaigns_recent_forget, sender=Campaign, weak=False)
post_delete.connect(campaigns_recent_forget, sender=Campaign, weak=False)
campaigns_updated.connect(campaigns_recent_forget, sender=Campaign, weak=False)


def campaign_gift_problem(campaign: Campaign, amount_minor: int) -> AmountProblem | None:
    """Why `campaign`'s rule for one gift refuses `amount_minor` (`core.gift_rules`, under the
    campaign's currency and bounds), or None. Every channel asks this, never the bounds."""
    return gift_amount_problem(
        amount_minor,
        currency=campaign.currency,
        min_gift_minor=campaign.min_gift_minor,
        max_gift_minor=campaign.max_gift_minor,
    )
