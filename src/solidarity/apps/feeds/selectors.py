"""Reads for feeds: the notification log, and which published gifts are unconfirmed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from solidarity.apps.feeds.models import Feed, Notification, Partner


def notifications_list(
    *, status: str | None = None, limit: int | None = 100
) -> QuerySet[Notification]:
    """Newest first; `status` is a Notification.Status value or "flagged"; no limit: all."""
    rows = Notification.objects.select_related("feed", "donation").order_by("-id")
    if status == "flagged":
        rows = rows.filter(flagged_at__isnull=False, confirmed_at__isnull=True)
    elif status:
        rows = rows.filter(status=status)
    return rows if limit is None else rows[:limit]


def feeds_list() -> QuerySet[Feed]:
    return Feed.objects.order_by("name")


def partners_list() -> QuerySet[Partner]:
    return Partner.objects.prefetch_related("keys").order_by("name")


def unconfirmed_refs(*, refs: Iterable[str]) -> set[str]:
    """The public references among `refs` of gifts a bank feed booked and no statement
    confirmed within SOLIDARITY_FEED_CONFIRM_DAYS (flagged as possibly forged)."""
    refs = [r for r in refs if r]
    if not refs:
        return set()
    return set(
        Notification.objects.filter(
            donation__public_ref__in=refs, flagged_at__isnull=False, confirmed_at__isnull=True
        ).values_list("donation__public_ref", flat=True)
    )
